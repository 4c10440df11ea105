package org.sparktransfer.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the reference generators in src/test/python with Debian's /usr/bin/python3 (torch 1.13,
 * torchvision 0.14, PIL 9.4), or the interpreter named by the system property {@code sparktransfer.python}
 * or the environment variable {@code SPARKTRANSFER_PYTHON} (or {@code PARITY_PYTHON}). A missing
 * interpreter or module is a failure, not a skip: CI installs them.
 */
public final class PythonScripts {
    private PythonScripts() {
    }

    public static String interpreter() {
        String p = System.getProperty("sparktransfer.python");
        for (String env : new String[] {"SPARKTRANSFER_PYTHON", "PARITY_PYTHON"}) {
            if (p == null || p.isBlank()) {
                p = System.getenv(env);
            }
        }
        return p == null || p.isBlank() ? "/usr/bin/python3" : p;
    }

    /** A script under src/test/python; fails when it is not there. */
    public static Path script(String name) {
        Path p = Paths.get("src/test/python", name).toAbsolutePath();
        if (!Files.isRegularFile(p)) {
            throw new AssertionError("reference script not found: " + p);
        }
        return p;
    }

    /** Runs src/test/python/{@code script} with the arguments; returns stdout, fails with the output on a non-zero exit. */
    public static String run(String script, long timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(interpreter());
        cmd.add(script(script).toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process proc;
        try {
            proc = pb.start();
        } catch (IOException e) {
            throw new AssertionError("cannot start " + interpreter() + " (install python3 with torch, torchvision, PIL)", e);
        }
        byte[] out = proc.getInputStream().readAllBytes();
        if (!proc.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            proc.destroyForcibly();
            throw new AssertionError("python timed out: " + cmd);
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (proc.exitValue() != 0) {
            throw new AssertionError("python failed (" + proc.exitValue() + "; needs torch + torchvision for "
                    + interpreter() + "): " + cmd + "\n" + text);
        }
        return text;
    }

    /** Raw little-endian float32 values. */
    public static float[] readF32(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }
}
