package org.sparktransfer.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Deleting the fixtures' temporary directories. */
final class TempDirs {
    private TempDirs() {}

    static void delete(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    /** For cleanup after another failure, which must stay the one reported. */
    static void deleteQuietly(Path dir) {
        try {
            delete(dir);
        } catch (RuntimeException ignored) {
            // the original failure matters more than a leftover temp directory
        }
    }
}
