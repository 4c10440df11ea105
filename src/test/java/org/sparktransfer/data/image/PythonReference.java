package org.sparktransfer.data.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.sparktransfer.testing.PythonScripts;

/**
 * Runs src/test/python/torchvision_reference.py through {@link PythonScripts} (Debian's /usr/bin/python3
 * with torch 1.13, torchvision 0.14, PIL 9.4 unless {@code SPARKTRANSFER_PYTHON} names another).
 */
final class PythonReference {
    private PythonReference() {
    }

    /** Runs the script with the arguments; returns stdout, fails with its output on a non-zero exit. */
    static String run(long timeoutSeconds, String... args) throws IOException, InterruptedException {
        return PythonScripts.run("torchvision_reference.py", timeoutSeconds, args);
    }

    static float[] readF32(Path p) throws IOException {
        return PythonScripts.readF32(p);
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
