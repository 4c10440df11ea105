package org.sparktransfer.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A Spark standalone cluster made of real processes, on loopback: one Master and N Workers, each
 * its own JVM, laid out like a Spark distribution. {@code <base>/spark-home/jars} holds links to
 * Spark's and Hadoop's jars ({@link #distributionClassPath()}), the daemons run from them, and each
 * Worker launches executor JVMs with {@code $SPARK_HOME/jars/*}, so the application's own classes,
 * DL4J and ND4J's native libraries reach the executors only through the submitted (shaded) jar.
 *
 * <pre>{@code
 * cluster = StandaloneCluster.start(baseDir, 2, 1, "1536m");   // waits until both are ALIVE
 * cluster.masterUrl();                      // spark://127.0.0.1:<port>
 * cluster.executorLogs(1, appId);           // <worker 1 work dir>/<appId>/<executor>/stderr
 * cluster.killWorker(1);                    // SIGKILL, as when a node dies
 * }</pre>
 *
 * <p>{@link #close()} stops every process it started, executors included (their pids are taken
 * while their Worker is alive, because a killed Worker's children are re-parented).
 */
public final class StandaloneCluster implements AutoCloseable {
    private static final Pattern MASTER_URL = Pattern.compile("Starting Spark master at (spark://\\S+)");
    private static final Pattern MASTER_UI = Pattern.compile("Bound MasterWebUI to \\S+, and started at http://[^:/]+:(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path base;
    private final Path sparkHome;
    private final List<String> classPath;
    private final String jvmOpens;
    private Process master;
    private String masterUrl;
    private String webUi;
    private final List<Process> workers = new ArrayList<>();
    /** Executors and anything else the daemons started, seen while their parent was alive. */
    private final List<ProcessHandle> children = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private StandaloneCluster(Path base, Path sparkHome, List<String> classPath, String jvmOpens) {
        this.base = base;
        this.sparkHome = sparkHome;
        this.classPath = classPath;
        this.jvmOpens = jvmOpens;
    }

    /**
     * Starts a Master and {@code workers} Workers of {@code cores} cores and {@code memory} each and
     * returns once the Master's JSON lists them all ALIVE (or fails, stopping what it started).
     */
    public static StandaloneCluster start(Path base, int workers, int cores, String memory)
            throws IOException, InterruptedException {
        String opens = System.getProperty(SparkHome.JVM_OPENS_PROPERTY, "");
        if (!opens.contains("--add-opens")) {
            throw new IllegalStateException("system property " + SparkHome.JVM_OPENS_PROPERTY + " (pom.xml's jvm.opens) is not set");
        }
        List<String> cp = distributionClassPath();
        Path home = base.resolve("spark-home");
        Path jars = home.resolve("jars");
        Files.createDirectories(jars);
        for (String entry : cp) {
            Path p = Path.of(entry);
            if (Files.isRegularFile(p)) {
                Path link = jars.resolve(Integer.toHexString(entry.hashCode()) + "-" + p.getFileName());
                if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.createSymbolicLink(link, p);
                }
            }
        }
        StandaloneCluster c = new StandaloneCluster(base, home, cp, opens);
        try {
            c.startMaster(Duration.ofSeconds(90));
            for (int i = 0; i < workers; i++) {
                c.startWorker(i, cores, memory);
            }
            c.awaitAliveWorkers(workers, Duration.ofSeconds(120));
            return c;
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Where pom.xml's {@code spark-home-classpath} execution writes the compile + provided class path. */
    public static final String CLASSPATH_PROPERTY = "sparktransfer.test.sparkHomeClasspath";

    /** Groups of the application's own libraries: in the shaded jar, not in a Spark distribution. */
    private static final List<String> APPLICATION_GROUPS = List.of("/org/deeplearning4j/", "/org/nd4j/", "/org/datavec/",
            "/org/bytedeco/", "/info/picocli/", "/com/twelvemonkeys/");

    /**
     * The jars of the stand-in distribution: Spark, Hadoop and their dependencies, i.e. the compile +
     * provided class path without DL4J/ND4J/JavaCPP and the project's other libraries (Maven cannot
     * list "Spark's closure" alone: dependencies Spark shares with DL4J are mediated into compile scope).
     */
    public static List<String> distributionClassPath() throws IOException {
        String file = System.getProperty(CLASSPATH_PROPERTY);
        if (file == null || !Files.isRegularFile(Path.of(file))) {
            throw new IllegalStateException("system property " + CLASSPATH_PROPERTY + " must name pom.xml's spark-home-classpath "
                    + "output (run through `mvn verify`): " + file);
        }
        List<String> entries = new ArrayList<>();
        for (String e : Files.readString(Path.of(file)).trim().split(File.pathSeparator)) {
            String unix = e.replace(File.separatorChar, '/');
            if (APPLICATION_GROUPS.stream().noneMatch(unix::contains)) {
                entries.add(e);
            }
        }
        if (entries.stream().noneMatch(e -> e.contains("spark-core_"))) {
            throw new IllegalStateException("no spark-core in " + file);
        }
        return entries;
    }

    public String masterUrl() {
        return masterUrl;
    }

    /** {@code http://127.0.0.1:<port>} of the Master's web UI (its JSON is at {@code /json/}). */
    public String webUi() {
        return webUi;
    }

    public Path sparkHome() {
        return sparkHome;
    }

    public Path workDir(int worker) {
        return base.resolve("worker-" + worker).resolve("work");
    }

    public Path workerLog(int worker) {
        return base.resolve("worker-" + worker).resolve("worker.log");
    }

    public Path masterLog() {
        return base.resolve("master.log");
    }

    /** The Master's {@code /json/} view (workers, activeapps, completedapps). */
    public JsonNode state() throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(webUi + "/json/"))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("GET " + webUi + "/json/ -> " + r.statusCode());
        }
        return JSON.readTree(r.body());
    }

    /** The id of the application with this name, active or completed. */
    public Optional<String> appId(String name) throws IOException, InterruptedException {
        JsonNode s = state();
        for (String list : List.of("activeapps", "completedapps")) {
            for (JsonNode app : s.path(list)) {
                if (name.equals(app.path("name").asText())) {
                    return Optional.of(app.path("id").asText());
                }
            }
        }
        return Optional.empty();
    }

    /** The stderr files of the executors this worker ran for an application ({@code work/<app>/<id>/stderr}). */
    public List<Path> executorLogs(int worker, String appId) throws IOException {
        Path app = workDir(worker).resolve(appId);
        if (!Files.isDirectory(app)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(app)) {
            return s.map(d -> d.resolve("stderr")).filter(Files::isRegularFile).sorted().toList();
        }
    }

    /**
     * Kills a Worker's JVM at once (SIGKILL), as a lost node would, and returns the processes it had
     * started (its executors), which are left to notice on their own.
     */
    public List<ProcessHandle> killWorker(int worker) throws InterruptedException {
        Process p = workers.get(worker);
        List<ProcessHandle> orphans = p.descendants().toList();
        children.addAll(orphans);
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
        return orphans;
    }

    public boolean workerAlive(int worker) {
        return workers.get(worker).isAlive();
    }

    /** Remembers the daemons' current children, so that close() can stop them whatever happens later. */
    public void trackChildren() {
        List<Process> all = new ArrayList<>(workers);
        if (master != null) {
            all.add(master);
        }
        for (Process p : all) {
            p.descendants().forEach(h -> {
                if (children.stream().noneMatch(c -> c.pid() == h.pid())) {
                    children.add(h);
                }
            });
        }
    }

    private void startMaster(Duration timeout) throws IOException, InterruptedException {
        master = launch("org.apache.spark.deploy.master.Master", masterLog(), Map.of(),
                "--host", "127.0.0.1", "--port", "0", "--webui-port", "0");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (masterUrl == null || webUi == null) {
            if (!master.isAlive()) {
                throw new IllegalStateException("Master exited with " + master.exitValue() + "; see " + masterLog());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Master did not report its URL and web UI within " + timeout + "; see " + masterLog());
            }
            String log = Files.readString(masterLog(), StandardCharsets.UTF_8);
            Matcher url = MASTER_URL.matcher(log);
            Matcher ui = MASTER_UI.matcher(log);
            if (url.find()) {
                masterUrl = url.group(1);
            }
            if (ui.find()) {
                webUi = "http://127.0.0.1:" + ui.group(1);
            }
            Thread.sleep(200);
        }
    }

    private void startWorker(int i, int cores, String memory) throws IOException {
        Path dir = workDir(i);
        Files.createDirectories(dir);
        workers.add(launch("org.apache.spark.deploy.worker.Worker", workerLog(i),
                // Executors: classes from $SPARK_HOME/jars, no Spark build directories to find the Scala version in.
                Map.of("SPARK_HOME", sparkHome.toString(), "SPARK_SCALA_VERSION", "2.12", "OMP_NUM_THREADS", String.valueOf(cores)),
                "--host", "127.0.0.1", "--webui-port", "0", "--cores", String.valueOf(cores), "--memory", memory,
                "--work-dir", dir.toString(), masterUrl));
    }

    private void awaitAliveWorkers(int n, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (true) {
            for (int i = 0; i < workers.size(); i++) {
                if (!workers.get(i).isAlive()) {
                    throw new IllegalStateException("Worker " + i + " exited with " + workers.get(i).exitValue() + "; see " + workerLog(i));
                }
            }
            try {
                JsonNode s = state();
                last = s.path("workers").toString();
                long alive = 0;
                for (JsonNode w : s.path("workers")) {
                    alive += "ALIVE".equals(w.path("state").asText()) ? 1 : 0;
                }
                if (alive == n) {
                    return;
                }
            } catch (IOException e) {
                last = e.toString();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(n + " workers not ALIVE within " + timeout + ": " + last);
            }
            Thread.sleep(250);
        }
    }

    private Process launch(String mainClass, Path log, Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmOpens.trim().split("\\s+")));
        cmd.add("-Xmx512m");
        cmd.add("-cp");
        cmd.add(String.join(File.pathSeparator, classPath));
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().remove("SPARK_HOME");
        pb.environment().remove("SPARK_CONF_DIR");
        pb.environment().putAll(env);
        return pb.start();
    }

    /** Stops workers (and their executors), then the master; SIGKILL for whatever is still alive after 30 s. */
    @Override
    public void close() {
        trackChildren();
        List<Process> daemons = new ArrayList<>(workers);
        if (master != null) {
            daemons.add(master);
        }
        for (Process p : daemons) {
            p.destroy();
        }
        for (Process p : daemons) {
            try {
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        for (ProcessHandle h : children) {
            if (h.isAlive()) {
                h.destroyForcibly();
                try {
                    h.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // best effort: reported by leftovers() below
                }
            }
        }
    }

    /** Processes this cluster started that are still alive (after close(): none). */
    public List<ProcessHandle> leftovers() {
        List<ProcessHandle> alive = new ArrayList<>();
        for (Process p : workers) {
            if (p.isAlive()) {
                alive.add(p.toHandle());
            }
        }
        if (master != null && master.isAlive()) {
            alive.add(master.toHandle());
        }
        children.stream().filter(ProcessHandle::isAlive).forEach(alive::add);
        return alive;
    }
}
