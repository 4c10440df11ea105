package org.sparktransfer.tools;

import java.util.Locale;
import java.util.Properties;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Prints which ND4J backend this classpath loads (and its devices), so that a GPU check can prove it ran
 * on CUDA: {@code java -cp target/spark-transfer.jar org.sparktransfer.tools.BackendInfo [--require cuda|cpu]}.
 * With {@code --require} it exits 1 when another backend loaded.
 */
public final class BackendInfo {
    private BackendInfo() {}

    public static void main(String[] args) {
        String require = args.length == 2 && args[0].equals("--require") ? args[1].toLowerCase(Locale.ROOT) : null;
        if (args.length > 0 && require == null) {
            System.err.println("usage: BackendInfo [--require cuda|cpu]");
            System.exit(2);
        }
        boolean cpu = Nd4j.getEnvironment().isCPU();
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        System.out.printf(Locale.ROOT, "ND4J backend: %s (%s), %s%n", Nd4j.getBackend().getClass().getName(),
                env.getProperty("backend", "?"), cpu ? "CPU" : "CUDA");
        env.stringPropertyNames().stream().sorted()
                .filter(k -> k.startsWith("cuda.") || k.startsWith("blas.") || k.contains("device") || k.equals("cores"))
                .forEach(k -> System.out.println("  " + k + " = " + env.get(k)));
        if (require != null && cpu != require.equals("cpu")) {
            System.err.println("BackendInfo: expected the " + require + " backend, but ND4J loaded " + (cpu ? "the CPU" : "the CUDA")
                    + " backend: check the build profile (mvn -Pcuda) and the CUDA libraries on this node");
            System.exit(1);
        }
    }
}
