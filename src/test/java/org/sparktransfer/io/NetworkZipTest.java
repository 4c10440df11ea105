package org.sparktransfer.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.ResNetFactory;

/** NetworkZip writes what ModelSerializer reads back exactly, in ModelSerializer's layout, uncompressed. */
class NetworkZipTest {

    private static ComputationGraph trained;

    @BeforeAll
    static void trainOneStep() {
        trained = ResNetFactory.build(ResNetArch.RESNET18, 3, 32, 7, new Nesterovs(0.01, 0.9));
        Nd4j.getRandom().setSeed(7);
        DataSet batch = new DataSet(Nd4j.randn(DataType.FLOAT, 2, 3, 32, 32), Nd4j.eye(3).getRows(0, 2).castTo(DataType.FLOAT));
        trained.fit(batch);
        assertNotEquals(0.0, trained.getUpdater().getStateViewArray().amaxNumber().doubleValue(), "momentum after a step");
    }

    private static byte[] ours(boolean withUpdater) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NetworkZip.write(trained, out, withUpdater);
        out.write(42); // left open for the caller
        byte[] b = out.toByteArray();
        return java.util.Arrays.copyOf(b, b.length - 1);
    }

    /** The same network and updater as ModelSerializer writes them (deflated, arrays through Nd4j.write). */
    private static byte[] modelSerializers() throws IOException {
        ByteArrayOutputStream theirs = new ByteArrayOutputStream();
        ModelSerializer.writeModel(trained, theirs, true);
        return theirs.toByteArray();
    }

    /** Entry name to {uncompressed size, compressed size} (read through the stream, as any zip reader may). */
    private static Map<String, long[]> entries(byte[] zip) throws IOException {
        Map<String, long[]> e = new LinkedHashMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry z; (z = in.getNextEntry()) != null; ) {
                long n = in.transferTo(java.io.OutputStream.nullOutputStream());
                e.put(z.getName(), new long[] {n, z.getCompressedSize()});
            }
        }
        return e;
    }

    @Test
    void modelSerializerRestoresTheNetworkAndItsUpdaterStateExactly() throws IOException {
        ComputationGraph back = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(ours(true)), true);
        assertEquals(trained.getConfiguration().toJson(), back.getConfiguration().toJson());
        assertEquals(trained.params(), back.params());
        assertEquals(trained.getUpdater().getStateViewArray(), back.getUpdater().getStateViewArray());
        Nd4j.getRandom().setSeed(3);
        var x = Nd4j.randn(DataType.FLOAT, 2, 3, 32, 32);
        assertEquals(trained.outputSingle(false, x), back.outputSingle(false, x));
    }

    @Test
    void sameEntriesAsModelSerializerButStored() throws IOException {
        Map<String, long[]> expected = entries(modelSerializers());
        Map<String, long[]> actual = entries(ours(true));
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, sizes) -> assertEquals(sizes[0], actual.get(name)[0], "uncompressed size of " + name));
        long[] coefficients = actual.get(ModelSerializer.COEFFICIENTS_BIN);
        assertTrue(coefficients[1] >= coefficients[0], "coefficients stored, not deflated: " + coefficients[1] + " bytes for "
                + coefficients[0]);
        assertTrue(expected.get(ModelSerializer.COEFFICIENTS_BIN)[1] < coefficients[0], "ModelSerializer deflates them");
    }

    /** The arrays' entries hold ModelSerializer's bytes exactly (its Nd4j.write against our bulk writer). */
    @Test
    void entriesHoldModelSerializersBytes() throws IOException {
        Map<String, byte[]> expected = contents(modelSerializers());
        Map<String, byte[]> actual = contents(ours(true));
        for (String name : new String[] {ModelSerializer.COEFFICIENTS_BIN, ModelSerializer.UPDATER_BIN}) {
            assertTrue(expected.get(name).length > 1000, name);
            assertArrayEquals(expected.get(name), actual.get(name), name);
        }
    }

    private static Map<String, byte[]> contents(byte[] zip) throws IOException {
        Map<String, byte[]> e = new LinkedHashMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry z; (z = in.getNextEntry()) != null; ) {
                e.put(z.getName(), in.readAllBytes());
            }
        }
        return e;
    }

    @Test
    void withoutTheUpdaterThereIsNoUpdaterEntry() throws IOException {
        byte[] zip = ours(false);
        assertFalse(entries(zip).containsKey(ModelSerializer.UPDATER_BIN));
        ComputationGraph back = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(zip), false);
        assertEquals(trained.params(), back.params());
    }

    /** NetworkZip.read against ModelSerializer, on our stored files and on ModelSerializer's deflated ones. */
    @Test
    void readRestoresWhatModelSerializerRestores() throws IOException {
        Nd4j.getRandom().setSeed(5);
        var x = Nd4j.randn(DataType.FLOAT, 2, 3, 32, 32);
        for (byte[] zip : new byte[][] {ours(true), ours(false), modelSerializers()}) {
            for (boolean withUpdater : new boolean[] {true, false}) {
                ComputationGraph expected = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(zip), withUpdater);
                ComputationGraph actual = NetworkZip.read(new ByteArrayInputStream(zip), withUpdater);
                assertEquals(expected.getConfiguration().toJson(), actual.getConfiguration().toJson());
                assertEquals(expected.params(), actual.params());
                assertEquals(trained.params(), actual.params());
                assertEquals(expected.getUpdater().getStateViewArray(), actual.getUpdater().getStateViewArray(),
                        "updater state, withUpdater " + withUpdater);
                assertEquals(expected.outputSingle(false, x), actual.outputSingle(false, x));
            }
        }
        assertEquals(trained.getUpdater().getStateViewArray(),
                NetworkZip.read(new ByteArrayInputStream(ours(true)), true).getUpdater().getStateViewArray());
    }

    /** A file with more in it, or another kind of network, is ModelSerializer's to read (same result, same error). */
    @Test
    void otherFilesAreLeftToModelSerializer() throws IOException {
        java.io.File withNormalizer = java.io.File.createTempFile("network", ".zip");
        try {
            java.nio.file.Files.write(withNormalizer.toPath(), ours(true));
            var normalizer = new org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize();
            normalizer.fit(new DataSet(Nd4j.rand(DataType.FLOAT, 4, 3), Nd4j.rand(DataType.FLOAT, 4, 1)));
            ModelSerializer.addNormalizerToModel(withNormalizer, normalizer);
            byte[] zip = java.nio.file.Files.readAllBytes(withNormalizer.toPath());
            assertTrue(contents(zip).size() > entries(ours(true)).size(), "a normalizer entry was added");
            assertEquals(trained.params(), NetworkZip.read(new ByteArrayInputStream(zip), true).params());
        } finally {
            java.nio.file.Files.deleteIfExists(withNormalizer.toPath());
        }
        var mln = new org.deeplearning4j.nn.multilayer.MultiLayerNetwork(new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
                .list().layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder().nIn(3).nOut(2).build()).build());
        mln.init();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ModelSerializer.writeModel(mln, out, false);
        RuntimeException ours = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> NetworkZip.read(new ByteArrayInputStream(out.toByteArray()), false));
        assertTrue(ours.getMessage().contains("MultiLayerNetwork"), ours.getMessage());
    }
}
