package org.sparktransfer.model.layers;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this JVM runs convolutions and batch norms through oneDNN 3.3 ({@link OneDnnConvolution},
 * {@link OneDnnBatchNorm}) instead of libnd4j's {@code conv2d} ops and ND4J-op batch norm: on ND4J's CPU backend, when the bytedeco {@code dnnl} preset loads, unless
 * {@code -Dsparktransfer.onednn=false}. Decided once per JVM and logged; every failure to load falls back to
 * libnd4j's ops, which is also the path on nd4j-cuda (cuDNN) and in the GPU jar (built without the preset).
 *
 * <p>Only this class and the {@code OneDnn*} kernels name the preset's classes, and those are loaded
 * only after {@link #available()} said yes, so a jar without the preset never loads them.
 */
public final class OneDnn {
    private static final Logger LOG = LoggerFactory.getLogger(OneDnn.class);

    /** System property: {@code false} keeps every convolution and batch norm on libnd4j's / ND4J's ops. */
    public static final String PROPERTY = "sparktransfer.onednn";

    private static volatile Boolean available;
    /** Per-thread override for benchmarks that time both paths in one JVM (a layer decides on its first pass). */
    private static final ThreadLocal<Boolean> OVERRIDE = new ThreadLocal<>();

    private OneDnn() {
    }

    /** Whether convolutions and batch norms of data type {@code type} go through oneDNN 3.3 in this JVM. */
    static boolean usable(DataType type) {
        Boolean forced = OVERRIDE.get();
        return type == DataType.FLOAT && available() && (forced == null || forced);
    }

    /**
     * Layers that make their first pass on this thread while {@code enabled} is false use libnd4j's ops even where
     * oneDNN 3.3 is available; null removes the override. For side-by-side benchmarks
     * ({@code ConvolutionPathBenchmark}); the jobs use {@code -Dsparktransfer.onednn}.
     */
    public static void overrideInThisThread(Boolean enabled) {
        if (enabled == null) {
            OVERRIDE.remove();
        } else {
            OVERRIDE.set(enabled);
        }
    }

    /** Whether oneDNN 3.3 is enabled and loaded on ND4J's CPU backend (decided on the first call). */
    public static boolean available() {
        Boolean a = available;
        if (a == null) {
            synchronized (OneDnn.class) {
                if (available == null) {
                    available = probe();
                }
                a = available;
            }
        }
        return a;
    }

    private static boolean probe() {
        if ("false".equalsIgnoreCase(System.getProperty(PROPERTY, "true"))) {
            LOG.info("oneDNN 3 off (-D{}=false): convolutions and batch norms on libnd4j's / ND4J's ops", PROPERTY);
            return false;
        }
        String backend = String.valueOf(Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend"));
        if (!backend.equalsIgnoreCase("CPU")) {
            LOG.info("ND4J backend {}: convolutions and batch norms stay on libnd4j's ops (cuDNN)", backend);
            return false;
        }
        try {
            String version = OneDnnRuntime.version();
            LOG.info("Convolutions and batch norms run on oneDNN {} (bytedeco dnnl preset); -D{}=false for libnd4j's ops",
                    version, PROPERTY);
            return true;
        } catch (Throwable t) { // NoClassDefFoundError (GPU jar), UnsatisfiedLinkError (no natives for this platform)
            LOG.warn("oneDNN 3 is not usable here ({}); convolutions and batch norms stay on libnd4j's ops", t.toString());
            return false;
        }
    }
}
