package org.sparktransfer.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.sparktransfer.jobs.PredictCommand;
import org.sparktransfer.jobs.TrainCommand;
import picocli.CommandLine;

/**
 * The project's rules for the documents in k8s/, beyond the CRD schema: the job must accept its
 * arguments, the Spark settings dl4j-spark needs must be there, GPU requests must agree with each
 * other and with the image, and credentials must come from Secrets. Each rule returns readable
 * problems instead of throwing, so one run lists everything that is wrong.
 */
final class ManifestRules {
    static final String JAR_IN_IMAGE = "local:///opt/spark-transfer/spark-transfer.jar";
    static final String GPU_SCRIPT_IN_IMAGE = "/opt/spark-transfer/getGpusResources.sh";
    static final Set<String> CREDENTIAL_ENV = Set.of("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN");
    /** Options that name data: executors read them too, so they must be on shared storage. */
    static final Set<String> URI_OPTIONS = Set.of("--images", "--manifest", "--output", "--model", "--weights",
            "--expect-classes", "--export-dir");
    private static final Pattern AWS_KEY_ID = Pattern.compile("\\b(AKIA|ASIA)[A-Z0-9]{16}\\b");
    private static final Pattern FORTY_CHAR_SECRET = Pattern.compile("(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])");
    private static final Set<String> S3A_LITERAL_KEYS = Set.of("spark.hadoop.fs.s3a.access.key",
            "spark.hadoop.fs.s3a.secret.key", "spark.hadoop.fs.s3a.session.token");

    private final Path root;
    private final OpenApiSchema sparkApplication = OpenApiSchema.load("/spark-operator-crd/sparkapplication-v1beta2.schema.json");
    private final OpenApiSchema scheduledSparkApplication =
            OpenApiSchema.load("/spark-operator-crd/scheduledsparkapplication-v1beta2.schema.json");
    private final List<String> jobJvmFlags;

    ManifestRules(Path root) {
        this.root = root;
        this.jobJvmFlags = jobJvmFlags(root);
    }

    /**
     * The flags of JAVA17_OPENS and JOB_JVM_FLAGS in spark-submit/env.sh: the lists every launcher shares, and
     * every job JVM (driver and executors) of the templates and manifests must carry.
     */
    static List<String> jobJvmFlags(Path root) {
        List<String> flags = new ArrayList<>(envFlags(root, "JAVA17_OPENS"));
        flags.addAll(envFlags(root, "JOB_JVM_FLAGS"));
        return flags;
    }

    private static List<String> envFlags(Path root, String variable) {
        try {
            String env = Files.readString(root.resolve("spark-submit/env.sh"));
            Matcher m = Pattern.compile(variable + "=\"([^\"]*)\"", Pattern.DOTALL).matcher(env);
            if (!m.find()) {
                throw new IllegalStateException(variable + " not found in spark-submit/env.sh");
            }
            return Arrays.stream(m.group(1).replace("\\\n", " ").split("\\s+")).filter(s -> !s.isBlank()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Problems of one parsed document; {@code where} prefixes each message. */
    @SuppressWarnings("unchecked")
    List<String> check(String where, Map<String, Object> doc) {
        List<String> problems = new ArrayList<>();
        String kind = String.valueOf(doc.get("kind"));
        switch (kind) {
            case "SparkApplication" -> {
                requireApiVersion(doc, problems);
                sparkApplication.validate(doc).forEach(problems::add);
                Map<String, Object> spec = map(doc.get("spec"));
                if (spec != null) {
                    checkApplication(spec, false, problems);
                }
            }
            case "ScheduledSparkApplication" -> {
                requireApiVersion(doc, problems);
                scheduledSparkApplication.validate(doc).forEach(problems::add);
                Map<String, Object> spec = map(doc.get("spec"));
                if (spec != null) {
                    checkSchedule(spec, problems);
                    Map<String, Object> template = map(spec.get("template"));
                    if (template != null) {
                        checkApplication(template, true, problems);
                    }
                }
            }
            case "Secret" -> {
                if (doc.containsKey("data") || doc.containsKey("stringData")) {
                    problems.add("a Secret with data must not live in the repository; create it in the cluster (k8s/README.md)");
                }
            }
            case "ServiceAccount", "Role", "RoleBinding" -> { }
            default -> problems.add("kind '" + kind + "' has no checks in KubernetesManifestTest: add rules for it");
        }
        problems.replaceAll(p -> where + ": " + p);
        return problems;
    }

    private static void requireApiVersion(Map<String, Object> doc, List<String> problems) {
        if (!"sparkoperator.k8s.io/v1beta2".equals(doc.get("apiVersion"))) {
            problems.add("apiVersion must be sparkoperator.k8s.io/v1beta2, got " + doc.get("apiVersion"));
        }
    }

    private static void checkSchedule(Map<String, Object> spec, List<String> problems) {
        Object schedule = spec.get("schedule");
        if (!(schedule instanceof String s) || !(s.startsWith("@") || s.trim().split("\\s+").length == 5)) {
            problems.add("spec.schedule must be a five-field cron expression or @daily etc., got " + schedule);
        }
        // The CRD types concurrencyPolicy as a free string; the operator knows only these three.
        Object policy = spec.get("concurrencyPolicy");
        if (!List.of("Allow", "Forbid", "Replace").contains(policy)) {
            problems.add("spec.concurrencyPolicy must be Allow, Forbid or Replace, got " + policy);
        }
        Map<String, Object> template = map(spec.get("template"));
        Map<String, Object> restart = template == null ? null : map(template.get("restartPolicy"));
        if (restart == null || "Never".equals(restart.get("type"))) {
            problems.add("spec.template.restartPolicy must retry (OnFailure or Always): a scheduled run has nobody to restart it");
        }
    }

    private void checkApplication(Map<String, Object> spec, boolean scheduled, List<String> problems) {
        String mainClass = String.valueOf(spec.get("mainClass"));
        Callable<Integer> command = switch (mainClass) {
            case "TrainJob" -> new TrainCommand();
            case "PredictJob" -> new PredictCommand();
            default -> null;
        };
        if (command == null) {
            problems.add("mainClass must be TrainJob or PredictJob, got " + mainClass);
        }
        if (!JAR_IN_IMAGE.equals(spec.get("mainApplicationFile"))) {
            problems.add("mainApplicationFile must be " + JAR_IN_IMAGE + " (where k8s/Dockerfile puts the jar), got "
                    + spec.get("mainApplicationFile"));
        }
        List<String> args = strings(spec.get("arguments"));
        if (command != null) {
            checkArguments(command, mainClass, args, problems);
        }
        if (scheduled && (args.contains("--run-date") || args.contains("--run-id")
                || args.stream().anyMatch(a -> a.startsWith("--run-date=") || a.startsWith("--run-id=")))) {
            problems.add("a scheduled PredictJob must not fix --run-date/--run-id: every night would replace the same partition");
        }
        Map<String, String> conf = new HashMap<>();
        Map<String, Object> sparkConf = map(spec.get("sparkConf"));
        if (sparkConf != null) {
            sparkConf.forEach((k, v) -> conf.put(k, String.valueOf(v)));
        }
        checkRequiredConf(conf, problems);
        Map<String, Object> driver = map(spec.get("driver"));
        Map<String, Object> executor = map(spec.get("executor"));
        checkMemory("driver", driver, conf.get("spark.driver.extraJavaOptions"), problems);
        checkMemory("executor", executor, conf.get("spark.executor.extraJavaOptions"), problems);
        if (executor != null && executor.get("cores") != null
                && !String.valueOf(executor.get("cores")).equals(conf.getOrDefault("spark.task.cpus", "1"))) {
            problems.add("spark.task.cpus (" + conf.getOrDefault("spark.task.cpus", "1") + ") must equal executor.cores ("
                    + executor.get("cores") + "): one multi-threaded DL4J worker per executor");
        }
        checkGpu("driver", driver, conf, spec, problems);
        checkGpu("executor", executor, conf, spec, problems);
        checkCredentials("driver", driver, conf, problems);
        checkCredentials("executor", executor, conf, problems);
        if (driver != null && driver.get("serviceAccount") == null) {
            problems.add("driver.serviceAccount is missing: the driver needs its RBAC identity (k8s/rbac.yaml)");
        }
    }

    private static void checkArguments(Callable<Integer> command, String mainClass, List<String> args, List<String> problems) {
        // Parse only: the same parser settings as Cli.run, no validation that needs the data, no Spark.
        CommandLine cl = new CommandLine(command).setCaseInsensitiveEnumValuesAllowed(true);
        try {
            cl.parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            problems.add(mainClass + " rejects its arguments: " + e.getMessage());
        }
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String option = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (!URI_OPTIONS.contains(option)) {
                continue;
            }
            String value = a.contains("=") ? a.substring(a.indexOf('=') + 1) : (i + 1 < args.size() ? args.get(i + 1) : "");
            if (!value.matches("(s3a|hdfs|abfss|gs)://.+")) {
                problems.add(option + " " + value + " must be on shared storage (s3a://, hdfs://...): executors read it too");
            }
        }
    }

    private void checkRequiredConf(Map<String, String> conf, List<String> problems) {
        Map<String, String> required = Map.of(
                "spark.cleaner.referenceTracking", "false",
                "spark.serializer", "org.apache.spark.serializer.KryoSerializer",
                "spark.kryo.registrator", "org.sparktransfer.io.Nd4jKryoRegistrator");
        required.forEach((k, v) -> {
            if (!v.equals(conf.get(k))) {
                problems.add("sparkConf " + k + " must be " + v + ", got " + conf.get(k));
            }
        });
        for (String side : List.of("driver", "executor")) {
            String key = "spark." + side + ".extraJavaOptions";
            List<String> flags = Arrays.asList(conf.getOrDefault(key, "").split("\\s+"));
            Set<String> missing = new LinkedHashSet<>(jobJvmFlags);
            missing.add("-Dorg.eclipse.deeplearning4j.helpers.disable=false");
            missing.removeAll(flags);
            if (!missing.isEmpty()) {
                problems.add("sparkConf " + key + " lacks " + missing);
            }
        }
        for (String k : S3A_LITERAL_KEYS) {
            if (conf.containsKey(k)) {
                problems.add("sparkConf " + k + " puts a credential into the manifest: use the Secret (k8s/README.md)");
            }
        }
    }

    /**
     * The JavaCPP limits must not contradict the pod limit (maxbytes within the overhead, maxphysicalbytes below
     * heap + overhead). They guard JavaCPP's own allocations only: ND4J M2.x arrays are not counted (README
     * "Executor memory"), so the pod limit, sized from the measured peak, is what bounds ND4J.
     */
    private static void checkMemory(String role, Map<String, Object> pod, String javaOptions, List<String> problems) {
        if (pod == null || javaOptions == null) {
            return;
        }
        Long maxPhysical = flagBytes(javaOptions, "-Dorg.bytedeco.javacpp.maxphysicalbytes=");
        Long maxBytes = flagBytes(javaOptions, "-Dorg.bytedeco.javacpp.maxbytes=");
        if (maxPhysical == null || maxBytes == null) {
            problems.add("spark." + role + ".extraJavaOptions must set javacpp.maxbytes and maxphysicalbytes (JavaCPP guards, kept within the pod limit)");
            return;
        }
        Long heap = bytes(pod.get("memory"));
        Long overhead = bytes(pod.get("memoryOverhead"));
        if (heap == null || overhead == null) {
            problems.add(role + ".memory and " + role + ".memoryOverhead must both be set (ND4J lives in the overhead)");
            return;
        }
        if (maxPhysical >= heap + overhead) {
            problems.add(role + ": javacpp.maxphysicalbytes (" + maxPhysical + ") must be below memory + memoryOverhead ("
                    + (heap + overhead) + ")");
        }
        if (maxBytes > overhead) {
            problems.add(role + ": javacpp.maxbytes (" + maxBytes + ") exceeds memoryOverhead (" + overhead
                    + "): ND4J's off-heap tensors would not fit beside the heap");
        }
    }

    private void checkGpu(String role, Map<String, Object> pod, Map<String, String> conf, Map<String, Object> spec,
            List<String> problems) {
        Map<String, Object> gpu = pod == null ? null : map(pod.get("gpu"));
        String prefix = "spark." + role + ".resource.gpu.";
        String amount = conf.get(prefix + "amount");
        if (gpu == null && amount == null) {
            return;
        }
        if (gpu == null || amount == null) {
            problems.add(role + ": GPUs must be requested both in " + role + ".gpu (operator webhook) and in sparkConf "
                    + prefix + "amount (ignored webhook or not)");
            return;
        }
        if (!String.valueOf(gpu.get("quantity")).equals(amount)) {
            problems.add(role + ".gpu.quantity " + gpu.get("quantity") + " differs from " + prefix + "amount " + amount);
        }
        String vendor = conf.get(prefix + "vendor");
        if (vendor == null || !(vendor + "/gpu").equals(gpu.get("name"))) {
            problems.add(role + ".gpu.name " + gpu.get("name") + " must be " + prefix + "vendor + '/gpu' (vendor " + vendor + ")");
        }
        if (!GPU_SCRIPT_IN_IMAGE.equals(conf.get(prefix + "discoveryScript"))) {
            problems.add(prefix + "discoveryScript must be " + GPU_SCRIPT_IN_IMAGE + " (copied there by k8s/Dockerfile.cuda), got "
                    + conf.get(prefix + "discoveryScript"));
        }
        if (!String.valueOf(spec.get("image")).contains("-cuda")) {
            problems.add("GPU pods need the CUDA image (k8s/Dockerfile.cuda, the -Pcuda jar), got " + spec.get("image"));
        }
        if (role.equals("executor") && !amount.equals(conf.get("spark.task.resource.gpu.amount"))) {
            problems.add("spark.task.resource.gpu.amount (" + conf.get("spark.task.resource.gpu.amount")
                    + ") must equal the executor's GPUs (" + amount + "): its single task owns them");
        }
    }

    @SuppressWarnings("unchecked")
    private static void checkCredentials(String role, Map<String, Object> pod, Map<String, String> conf, List<String> problems) {
        Map<String, String> fromEnv = new HashMap<>();
        for (Object o : pod == null || pod.get("env") == null ? List.of() : (List<Object>) pod.get("env")) {
            Map<String, Object> env = map(o);
            String name = String.valueOf(env.get("name"));
            boolean sensitive = CREDENTIAL_ENV.contains(name) || name.matches("(?i).*(SECRET|PASSWORD|TOKEN|ACCESS_KEY).*");
            if (!sensitive) {
                continue;
            }
            Map<String, Object> ref = map(map(env.get("valueFrom")) == null ? null : map(env.get("valueFrom")).get("secretKeyRef"));
            if (env.containsKey("value") || ref == null) {
                problems.add(role + ".env " + name + " must come from valueFrom.secretKeyRef, never a literal value");
                continue;
            }
            fromEnv.put(name, ref.get("name") + ":" + ref.get("key"));
        }
        for (var e : fromEnv.entrySet()) {
            String native_ = conf.get("spark.kubernetes." + role + ".secretKeyRef." + e.getKey());
            if (native_ != null && !native_.equals(e.getValue())) {
                problems.add(role + ": env " + e.getKey() + " reads " + e.getValue() + " but sparkConf reads " + native_);
            }
        }
        boolean anyCredential = !fromEnv.isEmpty()
                || conf.keySet().stream().anyMatch(k -> k.startsWith("spark.kubernetes." + role + ".secretKeyRef.AWS_"));
        if (anyCredential && !"com.amazonaws.auth.EnvironmentVariableCredentialsProvider"
                .equals(conf.get("spark.hadoop.fs.s3a.aws.credentials.provider"))) {
            problems.add("credentials arrive as environment variables, so spark.hadoop.fs.s3a.aws.credentials.provider must be "
                    + "com.amazonaws.auth.EnvironmentVariableCredentialsProvider");
        }
    }

    /** Literal secrets anywhere in a file's text, whatever the document structure. */
    static List<String> literalSecrets(String where, String text) {
        List<String> problems = new ArrayList<>();
        Matcher id = AWS_KEY_ID.matcher(text);
        while (id.find()) {
            problems.add(where + ": looks like an AWS access key id: " + id.group().substring(0, 4) + "...");
        }
        Matcher secret = FORTY_CHAR_SECRET.matcher(text);
        while (secret.find()) {
            String s = secret.group();
            // Paths and words can be 40 characters long too; a secret key mixes cases and digits.
            if (s.chars().anyMatch(Character::isDigit) && s.chars().anyMatch(Character::isUpperCase)
                    && s.chars().anyMatch(Character::isLowerCase) && !s.contains("//")) {
                problems.add(where + ": looks like a 40-character secret access key");
            }
        }
        return problems;
    }

    static Long flagBytes(String options, String flag) {
        for (String f : options.split("\\s+")) {
            if (f.startsWith(flag)) {
                return bytes(f.substring(flag.length()));
            }
        }
        return null;
    }

    /** Spark/JavaCPP sizes: 512m, 8g, 14G, plain bytes. */
    static Long bytes(Object size) {
        if (size == null) {
            return null;
        }
        Matcher m = Pattern.compile("(\\d+)([kmgt]?)b?").matcher(String.valueOf(size).trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            return null;
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "k" -> n << 10;
            case "m" -> n << 20;
            case "g" -> n << 30;
            case "t" -> n << 40;
            default -> n;
        };
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return o instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
    }

    static List<String> strings(Object o) {
        List<String> out = new ArrayList<>();
        if (o instanceof List<?> l) {
            l.forEach(v -> out.add(String.valueOf(v)));
        }
        return out;
    }

    Path root() {
        return root;
    }
}
