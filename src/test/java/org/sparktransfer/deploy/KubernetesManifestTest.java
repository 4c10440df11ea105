package org.sparktransfer.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Every document in k8s/ against the spark-operator CRD schema (v2.5.2, vendored under
 * src/test/resources/spark-operator-crd) and the project's own rules ({@link ManifestRules}); the
 * images' Dockerfiles against the pom. Negative cases break a copy of the real training manifest one
 * way each and require the matching complaint, so a rule that stops firing fails here.
 */
class KubernetesManifestTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static ManifestRules rules;

    @BeforeAll
    static void load() {
        rules = new ManifestRules(ROOT);
    }

    record Doc(String file, int index, Map<String, Object> content) {
        String where() {
            return file + "#" + index + " (" + content.get("kind") + " " + ManifestRules.map(content.get("metadata")).get("name") + ")";
        }
    }

    static List<Doc> manifests() throws IOException {
        List<Doc> docs = new ArrayList<>();
        try (Stream<Path> files = Files.list(ROOT.resolve("k8s"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().toList()) {
                int i = 0;
                for (Object o : yaml().loadAll(Files.readString(p))) {
                    if (o != null) {
                        docs.add(new Doc(ROOT.relativize(p).toString(), i++, ManifestRules.map(o)));
                    }
                }
            }
        }
        return docs;
    }

    private static Yaml yaml() {
        return new Yaml(new SafeConstructor(new LoaderOptions()));
    }

    @Test
    void everyManifestIsValidAndFollowsTheRules() throws IOException {
        List<Doc> docs = manifests();
        List<String> problems = new ArrayList<>();
        for (Doc d : docs) {
            problems.addAll(rules.check(d.where(), d.content()));
        }
        assertEquals(List.of(), problems, "k8s/ manifests");
        List<String> kinds = docs.stream().map(d -> String.valueOf(d.content().get("kind"))).toList();
        assertTrue(kinds.contains("SparkApplication") && kinds.contains("ScheduledSparkApplication"), "kinds found: " + kinds);
        assertTrue(docs.stream().anyMatch(d -> "TrainJob".equals(spec(d.content()).get("mainClass"))), "a TrainJob manifest");
        assertTrue(docs.stream().anyMatch(d -> "PredictJob".equals(spec(d.content()).get("mainClass"))), "a PredictJob manifest");
    }

    @Test
    void noLiteralSecretsInDeploymentFiles() throws IOException {
        List<String> problems = new ArrayList<>();
        for (String dir : List.of("k8s", "spark-submit")) {
            try (Stream<Path> files = Files.walk(ROOT.resolve(dir))) {
                for (Path p : files.filter(Files::isRegularFile).toList()) {
                    problems.addAll(ManifestRules.literalSecrets(ROOT.relativize(p).toString(), Files.readString(p)));
                }
            }
        }
        assertEquals(List.of(), problems);
        // The scanner itself: AWS's documented example credentials are caught.
        assertEquals(2, ManifestRules.literalSecrets("x", "id: AKIAIOSFODNN7EXAMPLE\nkey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n").size());
    }

    /** Every driver service account used by an application is defined and may manage executor pods. */
    @Test
    void driverServiceAccountsExistWithTheRightsSparkNeeds() throws IOException {
        List<Doc> docs = manifests();
        for (Doc d : docs) {
            Map<String, Object> spec = spec(d.content());
            Map<String, Object> driver = ManifestRules.map(spec.get("driver"));
            if (driver == null) {
                continue;
            }
            String account = String.valueOf(driver.get("serviceAccount"));
            String namespace = String.valueOf(ManifestRules.map(d.content().get("metadata")).get("namespace"));
            assertTrue(docs.stream().anyMatch(o -> is(o, "ServiceAccount", account, namespace)), d.where() + ": no ServiceAccount " + account);
            Doc binding = docs.stream().filter(o -> "RoleBinding".equals(o.content().get("kind"))
                            && namespace.equals(ManifestRules.map(o.content().get("metadata")).get("namespace"))
                            && String.valueOf(o.content().get("subjects")).contains("name=" + account))
                    .findFirst().orElseThrow(() -> new AssertionError(d.where() + ": no RoleBinding for " + account));
            String roleName = String.valueOf(ManifestRules.map(binding.content().get("roleRef")).get("name"));
            Doc role = docs.stream().filter(o -> is(o, "Role", roleName, namespace)).findFirst()
                    .orElseThrow(() -> new AssertionError("Role " + roleName + " missing"));
            String ruleText = String.valueOf(role.content().get("rules"));
            for (String needed : List.of("pods", "services", "configmaps", "create", "delete", "watch")) {
                assertTrue(ruleText.contains(needed), "Role " + roleName + " must cover " + needed + ": " + ruleText);
            }
        }
    }

    static Stream<Arguments> brokenManifests() {
        return Stream.of(
                Arguments.of("typo in a field name", (Consumer<Map<String, Object>>) s -> executor(s).put("gpus", executor(s).remove("gpu")),
                        "executor.gpus: unknown field"),
                Arguments.of("number where the CRD wants an integer", (Consumer<Map<String, Object>>) s -> executor(s).put("instances", "4"),
                        "spec.executor.instances: expected an integer"),
                Arguments.of("unquoted sparkConf number", (Consumer<Map<String, Object>>) s -> conf(s).put("spark.task.cpus", 8),
                        "spec.sparkConf.spark.task.cpus: expected a string"),
                Arguments.of("restart policy outside the enum", (Consumer<Map<String, Object>>) s ->
                        ManifestRules.map(s.get("restartPolicy")).put("type", "Sometimes"), "is not one of"),
                Arguments.of("missing required field", (Consumer<Map<String, Object>>) s -> s.remove("sparkVersion"),
                        "required field 'sparkVersion' is missing"),
                Arguments.of("option TrainJob does not know", (Consumer<Map<String, Object>>) s -> args(s).add("--epoch"),
                        "TrainJob rejects its arguments"),
                Arguments.of("enum value TrainJob does not know", (Consumer<Map<String, Object>>) s -> {
                    List<Object> a = args(s);
                    a.set(a.indexOf("--rdd-approach") + 1, "SHARED");
                }, "TrainJob rejects its arguments"),
                Arguments.of("local path for executors", (Consumer<Map<String, Object>>) s -> {
                    List<Object> a = args(s);
                    a.set(a.indexOf("--images") + 1, "/data/train");
                }, "must be on shared storage"),
                Arguments.of("wrong main class", (Consumer<Map<String, Object>>) s -> s.put("mainClass", "org.sparktransfer.Train"),
                        "mainClass must be TrainJob or PredictJob"),
                Arguments.of("cleaner left on", (Consumer<Map<String, Object>>) s -> conf(s).remove("spark.cleaner.referenceTracking"),
                        "spark.cleaner.referenceTracking must be false"),
                Arguments.of("a Java 17 opening missing", (Consumer<Map<String, Object>>) s -> conf(s).put("spark.executor.extraJavaOptions",
                        conf(s).get("spark.executor.extraJavaOptions").toString().replace("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "")),
                        "lacks [--add-opens=java.base/sun.nio.ch=ALL-UNNAMED]"),
                Arguments.of("ND4J limit above the pod", (Consumer<Map<String, Object>>) s -> executor(s).put("memoryOverhead", "4g"),
                        "must be below memory + memoryOverhead"),
                Arguments.of("GPU count disagrees", (Consumer<Map<String, Object>>) s ->
                        ManifestRules.map(executor(s).get("gpu")).put("quantity", 2), "differs from spark.executor.resource.gpu.amount"),
                Arguments.of("GPU only through the webhook", (Consumer<Map<String, Object>>) s ->
                        conf(s).remove("spark.executor.resource.gpu.amount"), "GPUs must be requested both"),
                Arguments.of("GPU on the CPU image", (Consumer<Map<String, Object>>) s ->
                        s.put("image", "registry.example.com/spark-transfer:0.1.0"), "need the CUDA image"),
                Arguments.of("tasks per executor disagree", (Consumer<Map<String, Object>>) s -> conf(s).put("spark.task.cpus", "1"),
                        "must equal executor.cores"),
                Arguments.of("literal key in env", (Consumer<Map<String, Object>>) s -> {
                    Map<String, Object> env = new LinkedHashMap<>();
                    env.put("name", "AWS_SECRET_ACCESS_KEY");
                    env.put("value", "not-a-real-key");
                    envOf(executor(s)).set(1, env);
                }, "must come from valueFrom.secretKeyRef"),
                Arguments.of("literal key in sparkConf", (Consumer<Map<String, Object>>) s ->
                        conf(s).put("spark.hadoop.fs.s3a.secret.key", "not-a-real-key"), "puts a credential into the manifest"),
                Arguments.of("env and sparkConf read different Secrets", (Consumer<Map<String, Object>>) s ->
                        conf(s).put("spark.kubernetes.driver.secretKeyRef.AWS_ACCESS_KEY_ID", "other:access-key"), "but sparkConf reads"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenManifests")
    void aBrokenManifestFails(String what, Consumer<Map<String, Object>> breakIt, String expected) throws IOException {
        Map<String, Object> doc = ManifestRules.map(yaml().load(Files.readString(ROOT.resolve("k8s/train-gpu.yaml"))));
        assertEquals(List.of(), rules.check("train-gpu.yaml", doc), "the unbroken manifest is clean");
        breakIt.accept(spec(doc));
        List<String> problems = rules.check("train-gpu.yaml", doc);
        assertTrue(problems.stream().anyMatch(p -> p.contains(expected)), what + ": expected a problem containing '" + expected
                + "', got " + problems);
    }

    @Test
    void aScheduledPredictJobThatPinsItsRunDateFails() throws IOException {
        Map<String, Object> doc = ManifestRules.map(yaml().load(Files.readString(ROOT.resolve("k8s/predict-nightly.yaml"))));
        Map<String, Object> template = spec(doc);
        args(template).addAll(List.of("--run-date", "2026-11-28"));
        ManifestRules.map(doc.get("spec")).put("concurrencyPolicy", "Never");
        List<String> problems = rules.check("predict-nightly.yaml", doc);
        assertTrue(problems.stream().anyMatch(p -> p.contains("must not fix --run-date")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("concurrencyPolicy must be")), problems.toString());
    }

    /** The images install the S3A jars Maven resolves for this pom, and the Spark line the jar is built for. */
    @Test
    void dockerfilesMatchThePom() throws Exception {
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        String hadoop = property(pom, "hadoop.version");
        String spark = property(pom, "spark.version");
        Map<String, String> jarSha = Map.of(
                "hadoop-aws-" + hadoop + ".jar", sha256(org.apache.hadoop.fs.s3a.S3AFileSystem.class),
                "aws-java-sdk-bundle-", sha256(com.amazonaws.auth.EnvironmentVariableCredentialsProvider.class));
        for (String dockerfile : List.of("k8s/Dockerfile", "k8s/Dockerfile.cuda")) {
            String text = Files.readString(ROOT.resolve(dockerfile));
            Matcher from = Pattern.compile("apache/spark:(\\d+\\.\\d+)\\.\\d+-scala2\\.12-java17").matcher(text);
            assertTrue(from.find(), dockerfile + " must build on an apache/spark Scala 2.12 / Java 17 image");
            assertTrue(spark.startsWith(from.group(1) + "."), dockerfile + ": Spark " + from.group(1) + " image, pom builds for " + spark);
            for (var e : jarSha.entrySet()) {
                Matcher add = Pattern.compile("--checksum=sha256:([0-9a-f]{64})\\s*\\\\\\s*\\n\\s*https://\\S+/(" + Pattern.quote(e.getKey())
                        + "[^/\\s]*)").matcher(text);
                assertTrue(add.find(), dockerfile + " must ADD " + e.getKey() + " with a checksum");
                assertEquals(e.getValue(), add.group(1), dockerfile + ": checksum of " + add.group(2) + " differs from the jar Maven resolves");
            }
            assertTrue(text.contains("target/spark-transfer.jar /opt/spark-transfer/spark-transfer.jar"), dockerfile + " copies the jar");
            assertTrue(text.contains("getGpusResources.sh " + ManifestRules.GPU_SCRIPT_IN_IMAGE), dockerfile + " copies the GPU script");
        }
        assertTrue(Files.readString(ROOT.resolve("k8s/Dockerfile.cuda")).contains("nvidia/cuda:11.6"),
                "the CUDA image must match nd4j-cuda-11.6");
        assertTrue(pom.contains("<nd4j.backend>nd4j-cuda-11.6</nd4j.backend>"), "the pom's cuda profile builds for CUDA 11.6");
    }

    private static String property(String pom, String name) {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</").matcher(pom);
        assertTrue(m.find(), "pom property " + name);
        return m.group(1).trim();
    }

    private static String sha256(Class<?> fromJar) throws Exception {
        Path jar = Path.of(fromJar.getProtectionDomain().getCodeSource().getLocation().toURI());
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(jar)) {
            md.update(in.readAllBytes());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static boolean is(Doc d, String kind, String name, String namespace) {
        Map<String, Object> meta = ManifestRules.map(d.content().get("metadata"));
        return kind.equals(d.content().get("kind")) && name.equals(meta.get("name")) && namespace.equals(meta.get("namespace"));
    }

    private static Map<String, Object> spec(Map<String, Object> doc) {
        Map<String, Object> spec = ManifestRules.map(doc.get("spec"));
        Map<String, Object> template = spec == null ? null : ManifestRules.map(spec.get("template"));
        return template != null && "ScheduledSparkApplication".equals(doc.get("kind")) ? template : spec == null ? Map.of() : spec;
    }

    private static Map<String, Object> executor(Map<String, Object> spec) {
        return ManifestRules.map(spec.get("executor"));
    }

    private static Map<String, Object> conf(Map<String, Object> spec) {
        return ManifestRules.map(spec.get("sparkConf"));
    }

    @SuppressWarnings("unchecked")
    private static List<Object> args(Map<String, Object> spec) {
        return (List<Object>) spec.get("arguments");
    }

    @SuppressWarnings("unchecked")
    private static List<Object> envOf(Map<String, Object> pod) {
        return (List<Object>) pod.get("env");
    }
}
