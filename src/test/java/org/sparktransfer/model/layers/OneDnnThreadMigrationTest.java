package org.sparktransfer.model.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparktransfer.testing.SparkHome;

/**
 * A layer's oneDNN primitives built on one thread and run on others: what a scoring copy shared by Spark's task
 * threads and a worker network moved to a new trainer thread do. With oneDNN's default library-managed scratchpad
 * the GEMM-based implementations (picked on CPUs without AVX-512 and for some shapes on AVX2) crashed the JVM
 * there (SIGSEGV in im2col); {@link OneDnnPrimitive} hands each run the executing thread's scratchpad instead.
 */
class OneDnnThreadMigrationTest {
    static final long N = 4, HW = 28, C = 64;

    /**
     * A stem convolution (3 -> 64, 7x7, stride 2: its input gradient is GEMM-based on AVX2) forward and backward,
     * a 3x3 convolution forward + both backward passes (GEMM-based without AVX2), then batch norm forward +
     * backward; every output.
     */
    static INDArray[] passes(OneDnnConvolution stem, OneDnnConvolution conv, OneDnnBatchNorm bn, INDArray image,
                             INDArray stemW, INDArray x, INDArray w, INDArray gamma, INDArray beta) {
        INDArray s = Nd4j.create(DataType.FLOAT, N, 16, 16, C);
        stem.forward(image, stemW, null, s, true);
        INDArray ds = Nd4j.linspace(-1.0, 1.0, s.length(), DataType.FLOAT).reshape(s.shape());
        INDArray dImage = Nd4j.create(DataType.FLOAT, image.shape()), dStemW = Nd4j.create(DataType.FLOAT, stemW.shape());
        stem.backward(image, stemW, ds, dImage, dStemW, null);
        INDArray y = Nd4j.create(DataType.FLOAT, x.shape());
        conv.forward(x, w, beta, y, true);
        INDArray dy = Nd4j.linspace(-1.0, 1.0, y.length(), DataType.FLOAT).reshape(y.shape());
        INDArray dx = Nd4j.create(DataType.FLOAT, x.shape());
        INDArray dW = Nd4j.create(DataType.FLOAT, w.shape());
        INDArray dB = Nd4j.create(DataType.FLOAT, C);
        conv.backward(x, w, dy, dx, dW, dB);
        INDArray mean = Nd4j.create(DataType.FLOAT, C), var = Nd4j.create(DataType.FLOAT, C);
        INDArray z = Nd4j.create(DataType.FLOAT, x.shape());
        bn.forwardTraining(y, gamma, beta, mean, var, z);
        INDArray dz = Nd4j.create(DataType.FLOAT, x.shape());
        INDArray dGamma = Nd4j.create(DataType.FLOAT, C), dBeta = Nd4j.create(DataType.FLOAT, C);
        bn.backward(y, dy, gamma, mean, var, dz, dGamma, dBeta);
        return new INDArray[]{s, dImage, dStemW, y, dx, dW, dB, mean, var, z, dz, dGamma, dBeta};
    }

    /** Builds the primitives on this thread, reruns them on three fresh threads; the outputs must be identical. */
    static void migrate() throws Exception {
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.randn(DataType.FLOAT, N, HW, HW, C);
        INDArray w = Nd4j.randn(DataType.FLOAT, C, C, 3, 3).divi(24);
        INDArray gamma = Nd4j.rand(DataType.FLOAT, C).addi(0.5), beta = Nd4j.randn(DataType.FLOAT, C);
        INDArray image = Nd4j.randn(DataType.FLOAT, N, 32, 32, 3);
        INDArray stemW = Nd4j.randn(DataType.FLOAT, C, 3, 7, 7).divi(12);
        OneDnnConvolution stem = new OneDnnConvolution(new int[]{7, 7}, new int[]{2, 2}, new int[]{3, 3}, false, false);
        OneDnnConvolution conv = new OneDnnConvolution(new int[]{3, 3}, new int[]{1, 1}, new int[]{1, 1}, true, false);
        OneDnnBatchNorm bn = new OneDnnBatchNorm(1e-5);
        INDArray[] built = passes(stem, conv, bn, image, stemW, x, w, gamma, beta);
        for (int round = 0; round < 3; round++) {
            ExecutorService other = Executors.newSingleThreadExecutor();
            try {
                INDArray[] moved = other.submit(() -> passes(stem, conv, bn, image, stemW, x, w, gamma, beta)).get(120, TimeUnit.SECONDS);
                for (int k = 0; k < built.length; k++) {
                    assertEquals(built[k], moved[k], "output " + k + " on another thread, round " + round);
                }
            } finally {
                other.shutdown();
            }
        }
    }

    @Test
    void primitivesRunOnAnyThreadWithItsOwnScratchpad() throws Exception {
        assertTrue(OneDnn.available(), "the CPU build ships oneDNN 3.3 and must load it");
        migrate();
        // A fresh thread gets a scratchpad as large as the largest primitive it runs needs, and no more.
        ExecutorService fresh = Executors.newSingleThreadExecutor();
        try {
            long[] bytes = fresh.submit(() -> {
                long before = OneDnnRuntime.threadScratchpadBytes();
                OneDnnRuntime.threadScratchpad(1000);
                long first = OneDnnRuntime.threadScratchpadBytes();
                OneDnnRuntime.threadScratchpad(10);
                long smaller = OneDnnRuntime.threadScratchpadBytes();
                OneDnnRuntime.threadScratchpad(5000);
                return new long[]{before, first, smaller, OneDnnRuntime.threadScratchpadBytes()};
            }).get();
            assertEquals(List.of(0L, 1000L, 1000L, 5000L), List.of(bytes[0], bytes[1], bytes[2], bytes[3]));
        } finally {
            fresh.shutdown();
        }
    }

    /**
     * The crash itself: a JVM whose oneDNN may use only SSE4.1 or AVX2 instructions picks GEMM-based convolution
     * kernels for some of these passes; it must finish and exit 0.
     */
    @ParameterizedTest(name = "ONEDNN_MAX_CPU_ISA={0}")
    @ValueSource(strings = {"SSE41", "AVX2"})
    void gemmKernelsRunOnAnotherThread(String isa, @TempDir Path tmp) throws Exception {
        List<String> cmd = SparkHome.testJvmCommand(List.of("-Xmx1g", "-XX:ErrorFile=" + tmp.resolve("hs_err_pid%p.log")),
                OneDnnThreadMigrationTest.class.getName());
        Path log = tmp.resolve("child.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("ONEDNN_MAX_CPU_ISA", isa);
        pb.environment().put("OMP_NUM_THREADS", "2");
        Process child = pb.start();
        assertTrue(child.waitFor(180, TimeUnit.SECONDS), "child JVM finished");
        String out = Files.readString(log);
        assertEquals(0, child.exitValue(), "child JVM (ONEDNN_MAX_CPU_ISA=" + isa + ") exit; its output:\n"
                + out.substring(Math.max(0, out.length() - 4000)));
        assertTrue(out.contains("primitives moved between threads: identical outputs"), out);
    }

    /** The child JVM of {@link #gemmKernelsRunOnAnotherThread}. */
    public static void main(String[] args) throws Exception {
        if (!OneDnn.available()) {
            throw new IllegalStateException("oneDNN 3.3 did not load");
        }
        migrate();
        System.out.println("primitives moved between threads: identical outputs");
        System.exit(0);
    }
}
