package org.sparktransfer.model;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;

import java.io.BufferedInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Where pretrained weights come from: a torchvision/timm {@code .safetensors} state dict or a DL4J
 * ModelSerializer zip, on any Hadoop FileSystem ({@code file://}, {@code hdfs://}, {@code s3a://}; a path
 * without a scheme is a local file), or an http(s) URL that is downloaded once into a cache directory.
 */
public final class WeightSources {

    /** Cache directory for downloads, any Hadoop FileSystem URI. Default: ~/.cache/spark-transfer/weights. */
    public static final String CACHE_DIR_KEY = "sparktransfer.weights.cache.dir";
    /** Connect/read timeout for downloads, milliseconds. */
    public static final String TIMEOUT_KEY = "sparktransfer.weights.download.timeout.ms";

    private WeightSources() {
    }

    /**
     * Loads an {@code arch} network with {@code numClasses} outputs from {@code uri}. If the checkpoint's head
     * has another number of classes (or none), {@code fc} is freshly initialised from {@code seed}.
     */
    public static ComputationGraph loadBackbone(String uri, ResNetArch arch, int numClasses, int inputSize,
                                                long seed, Configuration conf) throws IOException {
        Path path = isHttp(uri) ? download(uri, conf) : toPath(uri);
        FileSystem fs = path.getFileSystem(conf);
        try (InputStream in = new BufferedInputStream(fs.open(path), 1 << 20)) {
            in.mark(4);
            byte[] magic = in.readNBytes(4);
            in.reset();
            // A zip (ModelSerializer) starts with "PK\3\4"; safetensors with a little-endian header length.
            if (magic.length == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) {
                ComputationGraph g;
                try {
                    g = ModelSerializer.restoreComputationGraph(in, false);
                } catch (RuntimeException e) {
                    throw new IOException(path + ": not a DL4J ComputationGraph zip: " + e.getMessage(), e);
                }
                return fromGraph(g, arch, numClasses, inputSize, seed);
            }
            return fromStateDict(SafetensorsReader.read(in, path.toString()), arch, numClasses, inputSize, seed);
        }
    }

    /** Builds the network and copies a torchvision state dict into it (head only if its shape fits). */
    public static ComputationGraph fromStateDict(Map<String, SafetensorsReader.Tensor> sd, ResNetArch arch,
                                                 int numClasses, int inputSize, long seed) {
        SafetensorsReader.Tensor fcW = sd.containsKey("fc.weight") ? sd.get("fc.weight") : sd.get("module.fc.weight");
        boolean headFits = fcW != null && fcW.shape().length == 2 && fcW.shape()[0] == numClasses
                && fcW.shape()[1] == arch.featureDim();
        ComputationGraph g = ResNetFactory.build(arch, numClasses, inputSize, seed);
        TorchvisionWeights.load(g, arch, sd, headFits);
        if (!headFits) {
            HeadReplacer.initHead(g, seed);
        }
        return g;
    }

    /**
     * Hook for a graph that is already loaded (e.g. a model artifact this project trained earlier): checks the
     * architecture and replaces the head when {@code numClasses} differs. A DL4J zoo ResNet-50 in Keras layout
     * (see {@link KerasResNet}) is used as it is, with a new head; it needs {@code arch} resnet50.
     */
    public static ComputationGraph fromGraph(ComputationGraph g, ResNetArch arch, int numClasses, int inputSize, long seed) {
        if (KerasResNet.matches(g)) {
            if (arch != ResNetArch.RESNET50) {
                throw new IllegalArgumentException("Model is DL4J's zoo ResNet-50 (Keras layout), expected "
                        + arch.cliName() + ": pass --arch resnet50");
            }
            return KerasResNet.withHead(g, numClasses, inputSize, seed);
        }
        ResNetArch found = ResNetFactory.detect(g);
        if (found != arch) {
            throw new IllegalArgumentException("Model is a " + found.cliName() + ", expected " + arch.cliName());
        }
        long classes = g.getLayer(ResNetFactory.FC).getParam("W").size(1);
        return classes == numClasses ? g : HeadReplacer.replaceHead(g, numClasses, seed);
    }

    static boolean isHttp(String uri) {
        String u = uri.toLowerCase(Locale.ROOT);
        return u.startsWith("http://") || u.startsWith("https://");
    }

    /** A URI with a scheme goes to that FileSystem; a bare path is local (not the cluster's default FS). */
    static Path toPath(String uri) {
        URI u = URI.create(uri.replace(" ", "%20"));
        if (u.getScheme() == null || u.getScheme().length() == 1 /* Windows drive letter */) {
            return new Path(new File(uri).getAbsoluteFile().toURI());
        }
        return new Path(u);
    }

    /** Where a URL is cached: {@code <cache dir>/<8 hex of sha256(url)>-<file name>} (names like model.safetensors repeat). */
    public static Path cachePath(String url, Configuration conf) {
        String dir = conf.get(CACHE_DIR_KEY,
                new File(System.getProperty("user.home"), ".cache/spark-transfer/weights").toURI().toString());
        String name = URI.create(url).getPath();
        name = name.substring(name.lastIndexOf('/') + 1).replaceAll("[^A-Za-z0-9._-]", "_");
        if (name.isEmpty()) {
            name = "weights";
        }
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(url.getBytes(StandardCharsets.UTF_8));
            return new Path(toPath(dir), HexFormat.of().formatHex(h, 0, 4) + "-" + name);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Downloads {@code url} into the cache unless it is already there; returns the cached path. */
    public static Path download(String url, Configuration conf) throws IOException {
        Path target = cachePath(url, conf);
        FileSystem fs = target.getFileSystem(conf);
        if (fs.exists(target)) {
            return target;
        }
        fs.mkdirs(target.getParent());
        // Write to a unique temporary name, then rename: concurrent executors never see a partial file.
        Path tmp = new Path(target.getParent(), "." + target.getName() + "." + UUID.randomUUID() + ".part");
        int timeout = conf.getInt(TIMEOUT_KEY, 30_000);
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(timeout);
            c.setReadTimeout(timeout);
            c.setInstanceFollowRedirects(true);
            int code = c.getResponseCode();
            if (code != 200) {
                throw new IOException("Download of " + url + " failed: HTTP " + code + " " + c.getResponseMessage());
            }
            long expected = c.getContentLengthLong();
            long n;
            try (InputStream in = c.getInputStream(); FSDataOutputStream out = fs.create(tmp, true)) {
                n = in.transferTo(out);
            }
            if (expected >= 0 && n != expected) {
                throw new IOException("Download of " + url + " is incomplete: " + n + " of " + expected + " bytes");
            }
            if (!fs.rename(tmp, target) && !fs.exists(target)) {
                throw new IOException("Cannot move the download " + tmp + " to " + target);
            }
            return target;
        } catch (UnknownHostException | ConnectException | NoRouteToHostException | SocketTimeoutException e) {
            throw new IOException("Cannot download " + url + ": the host is unreachable (offline? " + e + "). "
                    + "Download the file elsewhere and place it at " + target
                    + " (cache directory set by " + CACHE_DIR_KEY + "), or pass a file://, hdfs:// or s3a:// URI.", e);
        } finally {
            fs.delete(tmp, false);
        }
    }
}
