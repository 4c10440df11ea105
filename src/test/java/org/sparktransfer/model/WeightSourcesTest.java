package org.sparktransfer.model;

import com.sun.net.httpserver.HttpServer;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class WeightSourcesTest {

    @TempDir
    static Path dir;
    static ComputationGraph src;
    static Path safetensors;
    static Path zip;

    @BeforeAll
    static void writeCheckpoints() throws IOException {
        src = ResNetFactory.build(ResNetArch.RESNET18, 10, 64, 1);
        // Non-default BN statistics, so a lost buffer would show.
        src.getLayer("layer2.1.bn1").getParam("var").addi(0.25);
        safetensors = dir.resolve("r18.safetensors");
        try (OutputStream out = Files.newOutputStream(safetensors)) {
            SafetensorsWriter.write(out, TorchvisionWeights.stateDict(src));
        }
        zip = dir.resolve("r18.zip");
        ModelSerializer.writeModel(src, zip.toFile(), false);
    }

    static float[] bits(INDArray a) {
        return a.dup('c').data().asFloat();
    }

    static void assertSameBackbone(ComputationGraph a, ComputationGraph b) {
        for (String n : new String[]{"conv1", "bn1", "layer2.1.bn1", "layer4.0.downsample.0", "layer4.1.bn2"}) {
            assertArrayEquals(bits(a.getLayer(n).params()), bits(b.getLayer(n).params()), n);
        }
    }

    @Test
    void safetensorsFromPlainPathAndFileUri() throws IOException {
        ComputationGraph g = WeightSources.loadBackbone(safetensors.toString(), ResNetArch.RESNET18, 10, 64, 5,
                new Configuration());
        assertArrayEquals(bits(src.params()), bits(g.params()), "same classes: everything, head included");

        ComputationGraph h = WeightSources.loadBackbone(safetensors.toUri().toString(), ResNetArch.RESNET18, 3, 64,
                5, new Configuration());
        assertSameBackbone(src, h);
        assertArrayEquals(new long[]{512, 3}, h.getLayer("fc").getParam("W").shape());
    }

    @Test
    void dl4jZipWithAndWithoutNewHead() throws IOException {
        ComputationGraph g = WeightSources.loadBackbone(zip.toString(), ResNetArch.RESNET18, 10, 64, 5, new Configuration());
        assertArrayEquals(bits(src.params()), bits(g.params()));
        ComputationGraph h = WeightSources.loadBackbone("file://" + zip, ResNetArch.RESNET18, 4, 64, 5, new Configuration());
        assertSameBackbone(src, h);
        assertArrayEquals(new long[]{512, 4}, h.getLayer("fc").getParam("W").shape());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightSources.loadBackbone(zip.toString(), ResNetArch.RESNET34, 4, 64, 5, new Configuration()));
        assertTrue(e.getMessage().contains("resnet18") && e.getMessage().contains("resnet34"), e.getMessage());
    }

    @Test
    void wrongArchitectureFromSafetensors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightSources.loadBackbone(safetensors.toString(), ResNetArch.RESNET34, 10, 64, 5, new Configuration()));
        assertTrue(e.getMessage().contains("missing tensor 'layer1.2.conv1.weight'"), e.getMessage());
    }

    @Test
    void httpDownloadIsCachedOnce() throws IOException {
        AtomicInteger hits = new AtomicInteger();
        byte[] body = Files.readAllBytes(safetensors);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/models/model.safetensors", ex -> {
            hits.incrementAndGet();
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(body);
            }
        });
        server.start();
        try {
            Configuration conf = new Configuration();
            conf.set(WeightSources.CACHE_DIR_KEY, dir.resolve("cache").toUri().toString());
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/models/model.safetensors";
            ComputationGraph g = WeightSources.loadBackbone(url, ResNetArch.RESNET18, 10, 64, 5, conf);
            assertArrayEquals(bits(src.params()), bits(g.params()));
            WeightSources.loadBackbone(url, ResNetArch.RESNET18, 2, 64, 5, conf);
            assertEquals(1, hits.get(), "second load must come from the cache");
            Path cached = Path.of(WeightSources.cachePath(url, conf).toUri());
            assertTrue(Files.exists(cached) && cached.getFileName().toString().endsWith("-model.safetensors"), cached.toString());
            try (var files = Files.list(cached.getParent())) {
                assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".part")));
            }
        } finally {
            server.stop(0);
        }
    }

    @Test
    void offlineErrorNamesTheFileToPlace() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Configuration conf = new Configuration();
        conf.set(WeightSources.CACHE_DIR_KEY, dir.resolve("cache2").toUri().toString());
        String url = "http://127.0.0.1:" + port + "/x/resnet18.safetensors";
        IOException e = assertThrows(IOException.class,
                () -> WeightSources.loadBackbone(url, ResNetArch.RESNET18, 10, 64, 5, conf));
        String expectedPath = WeightSources.cachePath(url, conf).toString();
        assertTrue(e.getMessage().contains("offline") && e.getMessage().contains("place it at " + expectedPath),
                e.getMessage());
        // Placing the file by hand makes the same call work without a network.
        Files.createDirectories(Path.of(WeightSources.cachePath(url, conf).getParent().toUri()));
        Files.copy(safetensors, Path.of(WeightSources.cachePath(url, conf).toUri()));
        ComputationGraph g = WeightSources.loadBackbone(url, ResNetArch.RESNET18, 10, 64, 5, conf);
        assertArrayEquals(bits(src.params()), bits(g.params()));
    }

    @Test
    void corruptFile() throws IOException {
        Path bad = dir.resolve("bad.safetensors");
        byte[] all = Files.readAllBytes(safetensors);
        Files.write(bad, java.util.Arrays.copyOf(all, all.length / 2));
        IOException e = assertThrows(IOException.class,
                () -> WeightSources.loadBackbone(bad.toString(), ResNetArch.RESNET18, 10, 64, 5, new Configuration()));
        assertTrue(e.getMessage().contains("bad.safetensors") && e.getMessage().contains("truncated"), e.getMessage());
    }
}
