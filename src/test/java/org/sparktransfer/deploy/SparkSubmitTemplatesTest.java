package org.sparktransfer.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * spark-submit/conf/*.conf load as Spark loads them (java.util.Properties) and keep the settings
 * dl4j-spark needs; the GPU discovery script prints Spark's resource JSON or fails loudly.
 */
class SparkSubmitTemplatesTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();

    @Test
    void everyTemplateCarriesTheRequiredSettings() throws IOException {
        List<String> opens = ManifestRules.jobJvmFlags(ROOT);
        List<String> problems = new ArrayList<>();
        List<Path> templates;
        try (Stream<Path> s = Files.list(ROOT.resolve("spark-submit/conf"))) {
            templates = s.filter(p -> p.toString().endsWith(".conf")).sorted().toList();
        }
        assertEquals(List.of("kubernetes-gpu.conf", "kubernetes.conf", "local.conf", "standalone-gpu.conf", "standalone.conf",
                "yarn-gpu.conf", "yarn.conf"), templates.stream().map(p -> p.getFileName().toString()).toList());
        for (Path t : templates) {
            String name = t.getFileName().toString();
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(t, StandardCharsets.UTF_8)) {
                p.load(r);
            }
            expect(p, name, "spark.cleaner.referenceTracking", "false", problems);
            expect(p, name, "spark.serializer", "org.apache.spark.serializer.KryoSerializer", problems);
            expect(p, name, "spark.kryo.registrator", "org.sparktransfer.io.Nd4jKryoRegistrator", problems);
            List<String> sides = name.equals("local.conf") ? List.of("driver") : List.of("driver", "executor");
            for (String side : sides) {
                String opts = p.getProperty("spark." + side + ".extraJavaOptions", "");
                List<String> flags = Arrays.asList(opts.split("\\s+"));
                for (String f : opens) {
                    if (!flags.contains(f)) {
                        problems.add(name + ": spark." + side + ".extraJavaOptions lacks " + f);
                    }
                }
                if (!flags.contains("-Dorg.eclipse.deeplearning4j.helpers.disable=false")) {
                    problems.add(name + ": " + side + " lacks the DL4J helper switch");
                }
                Long physical = ManifestRules.flagBytes(opts, "-Dorg.bytedeco.javacpp.maxphysicalbytes=");
                Long max = ManifestRules.flagBytes(opts, "-Dorg.bytedeco.javacpp.maxbytes=");
                Long heap = ManifestRules.bytes(p.getProperty("spark." + side + ".memory"));
                Long overhead = ManifestRules.bytes(p.getProperty("spark." + side + ".memoryOverhead"));
                if (physical == null || max == null || heap == null) {
                    problems.add(name + ": " + side + " needs memory, javacpp.maxbytes and maxphysicalbytes");
                } else if (overhead != null && (physical >= heap + overhead || max > overhead)) {
                    problems.add(name + ": " + side + " ND4J limits do not fit memory + memoryOverhead");
                }
            }
            if (!name.equals("local.conf")) {
                expect(p, name, "spark.task.cpus", p.getProperty("spark.executor.cores"), problems);
                expect(p, name, "spark.executorEnv.OMP_NUM_THREADS", p.getProperty("spark.executor.cores"), problems);
                expect(p, name, "spark.dynamicAllocation.enabled", "false", problems);
            }
            boolean gpu = name.contains("-gpu");
            if (gpu) {
                expect(p, name, "spark.executor.resource.gpu.amount", "1", problems);
                expect(p, name, "spark.task.resource.gpu.amount", p.getProperty("spark.executor.resource.gpu.amount"), problems);
                expect(p, name, "spark.driver.resource.gpu.amount", "1", problems);
                String script = p.getProperty("spark.executor.resource.gpu.discoveryScript", "");
                if (!script.endsWith("getGpusResources.sh")) {
                    problems.add(name + ": discoveryScript " + script);
                }
                if (name.startsWith("kubernetes")) {
                    expect(p, name, "spark.executor.resource.gpu.vendor", "nvidia.com", problems);
                    assertTrue(p.getProperty("spark.kubernetes.container.image", "").contains("-cuda"), name + " uses the CUDA image");
                }
            } else if (p.stringPropertyNames().stream().anyMatch(k -> k.contains("resource.gpu"))) {
                problems.add(name + ": GPU settings in a CPU template");
            }
        }
        assertEquals(List.of(), problems);
    }

    private static void expect(Properties p, String file, String key, String value, List<String> problems) {
        if (value == null || !value.equals(p.getProperty(key))) {
            problems.add(file + ": " + key + " should be " + value + ", is " + p.getProperty(key));
        }
    }

    @Test
    void discoveryScriptReportsVisibleGpus(@TempDir Path dir) throws Exception {
        Path smi = dir.resolve("fake-nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\n[ \"$1\" = --query-gpu=index ] || exit 9\nprintf '0\\n1\\n 3\\n'\n");
        smi.toFile().setExecutable(true);
        assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\",\"3\"]}", run(smi.toString(), null, 0));
        assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\",\"3\"]}", run(smi.toString(), "3,0", 0));
        assertTrue(run(smi.toString(), "5", 1).contains("no usable GPU"));
        assertTrue(run(dir.resolve("absent").toString(), null, 1).contains("not found"));
        Path broken = dir.resolve("broken-nvidia-smi");
        Files.writeString(broken, "#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver\"\nexit 9\n");
        broken.toFile().setExecutable(true);
        assertTrue(run(broken.toString(), null, 1).contains("couldn't communicate"));
    }

    private static String run(String smi, String visible, int expectedExit) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", ROOT.resolve("spark-submit/getGpusResources.sh").toString());
        pb.environment().put("NVIDIA_SMI", smi);
        pb.environment().remove("CUDA_VISIBLE_DEVICES");
        if (visible != null) {
            pb.environment().put("CUDA_VISIBLE_DEVICES", visible);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(expectedExit, p.exitValue(), "stdout: " + out + " stderr: " + err);
        return expectedExit == 0 ? out : err;
    }
}
