package org.sparktransfer.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparktransfer.jobs.Cli;
import org.sparktransfer.jobs.TrainCommand;

/**
 * Feature extraction with and without the feature cache, side by side in one process: the same
 * TrainJob (--freeze backbone) on the same generated JPEG photos, once training the head on cached
 * features and once running the frozen backbone every epoch. Prints the seconds of every epoch from
 * the runs' history tables, the one-off cost of building the cache, and the ratio.
 *
 * <p>{@code java <jvm flags> -cp <classpath> org.sparktransfer.bench.FeatureCacheBenchmark [images] [size] [epochs]}
 * (defaults 240 images, 224 px, 3 epochs); the {@code bench} Maven profile runs it with
 * {@code -Dbench.main=org.sparktransfer.bench.FeatureCacheBenchmark}.
 */
public final class FeatureCacheBenchmark {
    private FeatureCacheBenchmark() {}

    public static void main(String[] args) throws IOException {
        int images = args.length > 0 ? Integer.parseInt(args[0]) : 240;
        int size = args.length > 1 ? Integer.parseInt(args[1]) : 224;
        int epochs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path dir = Files.createTempDirectory("feature-cache-bench");
        writePhotos(dir.resolve("images"), images, 500, 375);
        SparkSession spark = SparkSession.builder().master("local[*]").appName("FeatureCacheBenchmark")
                .config("spark.cleaner.referenceTracking", "false").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                .getOrCreate();
        try {
            long cached = run(dir, "cached", size, epochs, "--cache-features");
            long uncached = run(dir, "uncached", size, epochs, "--no-cache-features");
            double[] c = epochSeconds(spark, dir, "cached");
            double[] u = epochSeconds(spark, dir, "uncached");
            System.out.printf("%nResNet-18 feature extraction, %d images of 500x375 at %d px, %d epochs, %s cores%n",
                    images, size, epochs, Runtime.getRuntime().availableProcessors());
            System.out.println("| epoch | cached s | uncached s | speed-up |");
            System.out.println("|---|---|---|---|");
            for (int e = 0; e < Math.min(c.length, u.length); e++) {
                System.out.printf("| %d | %.2f | %.2f | %.1fx |%n", e + 1, c[e], u[e], u[e] / c[e]);
            }
            System.out.printf("Whole job: cached %.1f s (including building the cache once), uncached %.1f s%n",
                    cached / 1e3, uncached / 1e3);
        } finally {
            spark.stop();
        }
    }

    private static long run(Path dir, String name, int size, int epochs, String cacheFlag) {
        long t0 = System.currentTimeMillis();
        int code = Cli.run(new TrainCommand(), new String[] {"--images", dir.resolve("images").toString(),
            "--output", dir.resolve("runs").toString(), "--run-name", name, "--freeze", "backbone", cacheFlag,
            "--image-size", String.valueOf(size), "--resize-size", String.valueOf(size * 8 / 7),
            "--epochs", String.valueOf(epochs), "--batch-size", "16", "--val-fraction", "0.2", "--optimizer", "ADAM",
            "--lr", "0.001"});
        if (code != 0) {
            throw new IllegalStateException("TrainJob " + name + " exited with " + code);
        }
        return System.currentTimeMillis() - t0;
    }

    private static double[] epochSeconds(SparkSession spark, Path dir, String name) {
        List<Row> rows = spark.read().parquet(dir.resolve("runs").resolve(name).resolve("history").toString())
                .orderBy("epoch").select("seconds").collectAsList();
        return rows.stream().mapToDouble(r -> r.getDouble(0)).toArray();
    }

    /** Smooth gradients plus noise in four classes, written as quality-90 JPEGs like typical photos. */
    static void writePhotos(Path root, int count, int width, int height) throws IOException {
        Random rnd = new Random(3);
        List<String> classes = new ArrayList<>(List.of("a", "b", "c", "d"));
        for (int i = 0; i < count; i++) {
            int c = i % classes.size();
            Path file = root.resolve(classes.get(c)).resolve(String.format("photo-%05d.jpg", i));
            Files.createDirectories(file.getParent());
            BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int r = (x * 255 / width + 60 * c + rnd.nextInt(20)) & 0xff;
                    int g = (y * 255 / height + rnd.nextInt(20)) & 0xff;
                    int b = ((x + y) * 128 / (width + height) + 40 * c) & 0xff;
                    img.setRGB(x, y, (r << 16) | (g << 8) | b);
                }
            }
            ImageIO.write(img, "jpg", file.toFile());
        }
    }
}
