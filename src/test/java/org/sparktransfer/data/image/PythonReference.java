package org.sparktransfer.data.image;

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
 * Runs src/test/python/torchvision_reference.py with Debian's /usr/bin/python3 (torch 1.13, torchvision
 * 0.14, PIL 9.4), or the interpreter named by the system property / environment variable
 * {@code SPARKTRANSFER_PYTHON}. A missing interpreter or module is a failure, not a skip: CI installs them.
 */
final class PythonReference {
    private PythonReference() {
    }

    static String python() {
        String p = System.getProperty("sparktransfer.python");
        if (p == null || p.isBlank()) {
            p = System.getenv("SPARKTRANSFER_PYTHON");
        }
        return p == null || p.isBlank() ? "/usr/bin/python3" : p;
    }

    static Path script() {
        Path p = Paths.get("src/test/python/torchvision_reference.py").toAbsolutePath();
        if (!Files.isRegularFile(p)) {
            throw new AssertionError("reference script not found: " + p);
        }
        return p;
    }

    /** Runs the script with the arguments; returns stdout, fails with stderr on a non-zero exit. */
    static String run(long timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(python());
        cmd.add(script().toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process proc;
        try {
            proc = pb.start();
        } catch (IOException e) {
            throw new AssertionError("cannot start " + python() + " (install python3 with torch, torchvision, PIL)", e);
        }
        byte[] out = proc.getInputStream().readAllBytes();
        if (!proc.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            proc.destroyForcibly();
            throw new AssertionError("python timed out: " + cmd);
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (proc.exitValue() != 0) {
            throw new AssertionError("python failed (" + proc.exitValue() + "): " + cmd + "\n" + text);
        }
        return text;
    }

    static float[] readF32(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }

    /** Reads a .rgb file: int32 width, int32 height, then width*height RGB bytes; returns {w, h, packed...}. */
    static int[] readRgb(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        int w = b.getInt();
        int h = b.getInt();
        int[] r = new int[2 + w * h];
        r[0] = w;
        r[1] = h;
        for (int i = 0; i < w * h; i++) {
            r[2 + i] = ((b.get() & 0xFF) << 16) | ((b.get() & 0xFF) << 8) | (b.get() & 0xFF);
        }
        return r;
    }
}
