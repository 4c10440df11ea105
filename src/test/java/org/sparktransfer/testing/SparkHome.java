package org.sparktransfer.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sparktransfer.runtime.NativeRuntime;

/**
 * A stand-in Spark distribution for {@code local-cluster} masters, whose worker launches executor
 * JVMs with {@code $SPARK_HOME/jars/*} as their class path and refuses to start unless
 * {@code SPARK_SCALA_VERSION} is set. Both environment variables come from surefire (pom.xml);
 * this class fills {@code $SPARK_HOME/jars} with links to the jars of the test class path and
 * passes the class directories and the JVM flags as executor settings.
 */
public final class SparkHome {
    /** The pom passes its {@code jvm.opens} (the Java 17 --add-opens list) in this system property. */
    public static final String JVM_OPENS_PROPERTY = "sparktransfer.test.jvmOpens";

    private final Path home;
    private final List<String> classDirs;

    private SparkHome(Path home, List<String> classDirs) {
        this.home = home;
        this.classDirs = classDirs;
    }

    public Path home() {
        return home;
    }

    /** Links every jar of the test class path into {@code $SPARK_HOME/jars} (idempotent). */
    public static synchronized SparkHome prepare() {
        String env = System.getenv("SPARK_HOME");
        if (env == null || env.isBlank() || System.getenv("SPARK_SCALA_VERSION") == null) {
            throw new IllegalStateException("local-cluster tests need SPARK_HOME and SPARK_SCALA_VERSION in the "
                    + "environment of the test JVM (surefire's environmentVariables in pom.xml)");
        }
        Path home = Paths.get(env).toAbsolutePath();
        Path jars = home.resolve("jars");
        List<String> classDirs = new ArrayList<>();
        try {
            Files.createDirectories(jars);
            for (String entry : testClassPath()) {
                Path p = Paths.get(entry).toAbsolutePath();
                if (Files.isDirectory(p)) {
                    classDirs.add(p.toString());
                } else if (p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p)) {
                    // Names can repeat across groups; prefix with a hash of the full path.
                    Path link = jars.resolve(Integer.toHexString(p.toString().hashCode()) + "-" + p.getFileName());
                    if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        Files.createSymbolicLink(link, p);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + jars, e);
        }
        return new SparkHome(home, classDirs);
    }

    /**
     * What an executor JVM needs beyond {@code jars/}: this project's class directories, the same
     * --add-opens as the driver, DL4J's helper switch (as the jobs' own sessions set it), memory.
     */
    public Map<String, String> executorSettings(int memoryMb) {
        String opens = System.getProperty(JVM_OPENS_PROPERTY, "");
        if (!opens.contains("--add-opens")) {
            throw new IllegalStateException("system property " + JVM_OPENS_PROPERTY + " (pom.xml's jvm.opens) is not set");
        }
        Map<String, String> m = new LinkedHashMap<>();
        m.put("spark.executor.extraClassPath", String.join(File.pathSeparator, classDirs));
        m.put("spark.executor.extraJavaOptions", opens + " -D" + NativeRuntime.HELPERS_DISABLE + "=false");
        m.put("spark.executor.memory", memoryMb + "m");
        return m;
    }

    /** Surefire runs tests through a manifest-only jar; it keeps the real class path in this property. */
    public static List<String> testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        return List.of(cp.split(File.pathSeparator));
    }

    /**
     * The command that runs {@code mainClass} in a new JVM as the tests run: this JVM's java, the pom's --add-opens,
     * {@code jvmArgs}, the test class path.
     */
    public static List<String> testJvmCommand(List<String> jvmArgs, String mainClass) {
        String opens = System.getProperty(JVM_OPENS_PROPERTY, "");
        if (!opens.contains("--add-opens")) {
            throw new IllegalStateException("system property " + JVM_OPENS_PROPERTY + " (pom.xml's jvm.opens) is not set");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(opens.trim().split("\\s+")));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", String.join(File.pathSeparator, testClassPath()), mainClass));
        return cmd;
    }
}
