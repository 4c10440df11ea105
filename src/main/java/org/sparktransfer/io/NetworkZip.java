package org.sparktransfer.io;

import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes a network in DL4J's {@link ModelSerializer} format (a zip of {@code configuration.json},
 * {@code coefficients.bin} and {@code updaterState.bin}, the arrays in {@code Nd4j.write}'s encoding, written in bulk by
 * {@link NdArrayStreams}), with the entries left uncompressed. {@code ModelSerializer.restoreComputationGraph} and every zip reader read it as they
 * read ModelSerializer's own files.
 *
 * <p>Why not {@code ModelSerializer.writeModel}: it deflates at zlib's default level, which float32 weights barely
 * reward and which is slow: ResNet-18 with its momentum (94 MB of arrays) took 3.9 s of one core for an 83 MB file;
 * stored, 0.6 s for 90 MB. TrainJob's driver writes a checkpoint and often the best model after every epoch, and
 * serialises the network for validation, while the executors wait.
 *
 * <p>{@link #read} restores what {@code ModelSerializer.restoreComputationGraph} restores, with the arrays read in
 * bulk ({@link NdArrayStreams#read}); a file with anything else in it (a normalizer, a data set preprocessor) is
 * left to {@code ModelSerializer}.
 */
public final class NetworkZip {
    private NetworkZip() {
    }

    /** The network, and with {@code withUpdater} its updater state, to {@code out} (left open). */
    public static void write(ComputationGraph net, OutputStream out, boolean withUpdater) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(leftOpen(out))) {
            zip.setLevel(Deflater.NO_COMPRESSION);
            zip.putNextEntry(new ZipEntry(ModelSerializer.CONFIGURATION_JSON));
            zip.write(net.getConfiguration().toJson().getBytes(StandardCharsets.UTF_8));
            DataOutputStream data = new DataOutputStream(new BufferedOutputStream(zip, 1 << 16));
            INDArray params = net.params();
            if (params == null) {
                zip.putNextEntry(new ZipEntry(ModelSerializer.NO_PARAMS_MARKER));
            } else {
                zip.putNextEntry(new ZipEntry(ModelSerializer.COEFFICIENTS_BIN));
                NdArrayStreams.write(params, data);
                data.flush();
            }
            INDArray state = withUpdater ? net.getUpdater().getStateViewArray() : null;
            if (state != null && state.length() > 0) {
                zip.putNextEntry(new ZipEntry(ModelSerializer.UPDATER_BIN));
                NdArrayStreams.write(state, data);
                data.flush();
            }
        }
    }

    /** The entries {@link #read} restores itself: what {@link #write} and {@code ModelSerializer.writeModel} write. */
    private static final Set<String> NETWORK_ENTRIES = Set.of(ModelSerializer.CONFIGURATION_JSON,
            ModelSerializer.COEFFICIENTS_BIN, ModelSerializer.UPDATER_BIN, ModelSerializer.NO_PARAMS_MARKER);

    /**
     * The network in {@code in} (read to its end, not closed), with its updater state when {@code withUpdater} and
     * the file has one: the graph {@code ModelSerializer.restoreComputationGraph(in, withUpdater)} returns.
     */
    public static ComputationGraph read(InputStream in, boolean withUpdater) throws IOException {
        byte[] file = in.readAllBytes();
        Map<String, byte[]> entries = new HashMap<>();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(file))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                entries.put(e.getName(), zip.readAllBytes());
            }
        }
        byte[] json = entries.get(ModelSerializer.CONFIGURATION_JSON);
        byte[] coefficients = entries.get(ModelSerializer.COEFFICIENTS_BIN);
        ComputationGraphConfiguration conf = NETWORK_ENTRIES.containsAll(entries.keySet()) && json != null
                && coefficients != null && coefficients.length > 0 ? graphConfiguration(json) : null;
        if (conf == null) {
            // Extra entries, no parameters, not a graph or not a model zip at all: ModelSerializer's handling and
            // messages.
            return ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(file), withUpdater);
        }
        INDArray params = NdArrayStreams.read(new DataInputStream(new ByteArrayInputStream(coefficients)));
        conf.setDataType(params.dataType()); // as ModelSerializer: files from before the configuration held it
        ComputationGraph net = new ComputationGraph(conf);
        net.init(params, false);
        byte[] updater = withUpdater ? entries.get(ModelSerializer.UPDATER_BIN) : null;
        if (updater != null) {
            net.getUpdater().setStateViewArray(NdArrayStreams.read(new DataInputStream(new ByteArrayInputStream(updater))));
        }
        return net;
    }

    /** The graph configuration in {@code json}, or null where it holds none (another kind of network). */
    private static ComputationGraphConfiguration graphConfiguration(byte[] json) {
        try {
            ComputationGraphConfiguration conf = ComputationGraphConfiguration.fromJson(new String(json, StandardCharsets.UTF_8));
            boolean empty = conf.getNetworkInputs() == null && (conf.getVertices() == null || conf.getVertices().isEmpty());
            return empty ? null : conf;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** {@code out}, which closing the zip only flushes: the caller owns it. */
    private static OutputStream leftOpen(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                out.flush();
            }
        };
    }
}
