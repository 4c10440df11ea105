package org.nd4j.nativeblas;

/**
 * Adapter for a name mismatch inside DL4J 1.0.0-M2/M2.1, kept in the one place where it can be
 * repaired without patching DL4J.
 *
 * <p>DL4J's {@code org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper#mklDnnEnabled()} decides
 * whether convolution, batch-norm, pooling and activation layers may use the oneDNN kernels of
 * libnd4j by reflectively calling {@code org.nd4j.nativeblas.Nd4jCpu$Environment.getInstance()
 * .isUseMKLDNN()}. In M2/M2.1 that class lives at
 * {@code org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment} and the method is called
 * {@code isUseONEDNN}, so the lookup always fails and every layer silently falls back to DL4J's
 * slow built-in path (measured 5-10x slower on ResNet-18). This class supplies the name DL4J asks
 * for and answers with what the loaded native backend reports. On the CUDA backend it is never
 * consulted (the helper checks for the CPU backend first).
 */
public final class Nd4jCpu {
    private Nd4jCpu() {}

    public static final class Environment {
        private static final Environment INSTANCE = new Environment();

        private Environment() {}

        public static Environment getInstance() {
            return INSTANCE;
        }

        /** True when the loaded libnd4j build has oneDNN and it is switched on. */
        public boolean isUseMKLDNN() {
            try {
                Class<?> real = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment");
                Object env = real.getMethod("getInstance").invoke(null);
                return (Boolean) real.getMethod("isUseONEDNN").invoke(env);
            } catch (ReflectiveOperationException | LinkageError e) {
                return false;
            }
        }
    }
}
