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
        String smi = fakeSmi(dir, "fake-nvidia-smi", "0, 8.6\n1, 8.0\n 3, 8.9\n");
        assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\",\"3\"]}", run(smi, null, 0));
        assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\",\"3\"]}", run(smi, "3,0", 0));
        assertTrue(run(smi, "5", 1).contains("no usable GPU"));
        assertTrue(run(dir.resolve("absent").toString(), null, 1).contains("not found"));
        Path broken = dir.resolve("broken-nvidia-smi");
        Files.writeString(broken, "#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver\"\nexit 9\n");
        broken.toFile().setExecutable(true);
        assertTrue(run(broken.toString(), null, 1).contains("couldn't communicate"));
    }

    /**
     * nd4j-cuda-11.6 1.0.0-M2.1's libnd4jcuda.so holds machine code for sm_37 to sm_86 and no PTX (its fatbins,
     * read in the twelfth session), so a Hopper GPU (9.0) or a Kepler K40 (3.5) cannot run its kernels: the
     * discovery script refuses them instead of letting the executor fail at its first kernel.
     */
    @Test
    void discoveryScriptRefusesGpusTheCudaKernelsDoNotCover(@TempDir Path dir) throws Exception {
        String hopperAndAmpere = fakeSmi(dir, "h200-a100", "0, 9.0\n1, 8.0\n");
        String err = run(hopperAndAmpere, null, 1);
        assertTrue(err.contains("GPU 0 has compute capability 9.0") && err.contains("sm_86; no PTX"), err);
        assertEquals("{\"name\":\"gpu\",\"addresses\":[\"1\"]}", run(hopperAndAmpere, "1", 0),
                "only the GPUs this executor may use are checked");
        assertTrue(run(fakeSmi(dir, "k40", "0, 3.5\n"), null, 1).contains("compute capability 3.5"));
        assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\"]}", run(fakeSmi(dir, "l4", "0, 8.9\n"), null, 0),
                "8.9 runs sm_86 code");
        // A driver that cannot report compute_cap: discovery still works, with a warning on stderr.
        Path old = dir.resolve("old-driver-smi");
        Files.writeString(old, "#!/bin/sh\ncase \"$1\" in --query-gpu=index) printf '0\\n2\\n';; "
                + "*) echo 'Field \"compute_cap\" is not a valid field to query.'; exit 2;; esac\n");
        old.toFile().setExecutable(true);
        assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\",\"2\"]}", run(old.toString(), null, 0));
    }

    /** An nvidia-smi that answers the discovery script's query with {@code lines} ("index, major.minor"). */
    private static String fakeSmi(Path dir, String name, String lines) throws Exception {
        Path smi = dir.resolve(name);
        Files.writeString(smi, "#!/bin/sh\n[ \"$1\" = --query-gpu=index,compute_cap ] || exit 9\nprintf '"
                + lines.replace("\n", "\\n") + "'\n");
        smi.toFile().setExecutable(true);
        return smi.toString();
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
