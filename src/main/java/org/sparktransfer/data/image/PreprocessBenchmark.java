package org.sparktransfer.data.image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Single-thread throughput of decode + eval preprocessing, this package against PIL + torchvision on
 * the same JPEG files (Python with {@code torch.set_num_threads(1)}).
 *
 * <pre>
 * mvn -o -q compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp target/classes:$(cat target/cp.txt) org.sparktransfer.data.image.PreprocessBenchmark \
 *     [--dir FOLDER_OF_JPEGS] [--count 200] [--repeat 5] [--python /usr/bin/python3] \
 *     [--script src/test/python/torchvision_reference.py]
 * </pre>
 * Without {@code --dir} it asks the script to write {@code --count} synthetic 500x375 photos (smooth
 * gradients + noise, quality 90) into a temporary folder. Rates are the best of {@code --repeat} passes
 * after a warm-up pass (JIT compilation, file cache).
 */
public final class PreprocessBenchmark {
    private PreprocessBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = null;
        int count = 200;
        int repeat = 5;
        String python = "/usr/bin/python3";
        String script = "src/test/python/torchvision_reference.py";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dir": dir = Paths.get(args[++i]); break;
                case "--count": count = Integer.parseInt(args[++i]); break;
                case "--repeat": repeat = Integer.parseInt(args[++i]); break;
                case "--python": python = args[++i]; break;
                case "--script": script = args[++i]; break;
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path tmp = null;
        if (dir == null) {
            tmp = Files.createTempDirectory("preprocess-bench");
            dir = tmp;
            run(python, script, "photos", dir.toString(), String.valueOf(count));
        }
        List<byte[]> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s.filter(f -> f.toString().toLowerCase(Locale.ROOT).endsWith(".jpg")).sorted()::iterator) {
                files.add(Files.readAllBytes(p));
            }
        }
        if (files.isEmpty()) {
            throw new IllegalStateException("no .jpg files in " + dir);
        }
        ImageDecoder decoder = new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS);
        Preprocessing p = Preprocessing.imagenetDefaults();
        EvalTransform eval = new EvalTransform(p);
        TrainTransform train = new TrainTransform(p);
        float[] out = new float[p.outputLength()];
        BufferedImage first = decoder.decodeRgb(files.get(0));
        for (int w = 0; w < 3; w++) { // warm-up: let the JIT compile the hot loops
            for (byte[] b : files) {
                eval.apply(decoder.decodeRgb(b), out, 0);
                decoder.decodeRgbWithImageIo(b);
                train.apply(first, w, out, 0);
            }
        }
        double bestDecode = Double.MAX_VALUE;
        double bestImageIo = Double.MAX_VALUE;
        double bestTotal = Double.MAX_VALUE;
        double bestEvalOnly = Double.MAX_VALUE;
        double bestTrainOnly = Double.MAX_VALUE;
        List<BufferedImage> decoded = new ArrayList<>();
        for (byte[] b : files) {
            decoded.add(decoder.decodeRgb(b));
        }
        for (int r = 0; r < repeat; r++) {
            long t0 = System.nanoTime();
            for (byte[] b : files) {
                decoder.decodeRgb(b);
            }
            long t1 = System.nanoTime();
            for (byte[] b : files) {
                eval.apply(decoder.decodeRgb(b), out, 0);
            }
            long t2 = System.nanoTime();
            for (BufferedImage img : decoded) {
                eval.apply(img, out, 0);
            }
            long t3 = System.nanoTime();
            long seed = r * 1_000_003L;
            for (BufferedImage img : decoded) {
                train.apply(img, seed++, out, 0);
            }
            long t4 = System.nanoTime();
            for (byte[] b : files) {
                decoder.decodeRgbWithImageIo(b);
            }
            long t5 = System.nanoTime();
            bestImageIo = Math.min(bestImageIo, (t5 - t4) / 1e9);
            bestDecode = Math.min(bestDecode, (t1 - t0) / 1e9);
            bestTotal = Math.min(bestTotal, (t2 - t1) / 1e9);
            bestEvalOnly = Math.min(bestEvalOnly, (t3 - t2) / 1e9);
            bestTrainOnly = Math.min(bestTrainOnly, (t4 - t3) / 1e9);
        }
        int n = files.size();
        double javaDecode = n / bestDecode;
        double javaTotal = n / bestTotal;

        String py = run(python, script, "bench", dir.toString(), String.valueOf(repeat));
        double pyDecode = Double.NaN;
        double pyTotal = Double.NaN;
        for (String line : py.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 2 && f[0].equals("decode_ips")) {
                pyDecode = Double.parseDouble(f[1]);
            } else if (f.length == 2 && f[0].equals("total_ips")) {
                pyTotal = Double.parseDouble(f[1]);
            }
        }
        System.out.printf(Locale.ROOT, "%d JPEG files, %dx%d first, one thread, best of %d passes%n",
                n, first.getWidth(), first.getHeight(), repeat);
        System.out.printf(Locale.ROOT, "%-40s %12s %14s %8s%n", "images/s", "Java", "PIL+torchvision", "ratio");
        System.out.printf(Locale.ROOT, "%-40s %12.1f %14.1f %8.2f%n",
                "decode to RGB" + (TurboJpeg.available() ? " (libjpeg-turbo)" : ""), javaDecode, pyDecode, javaDecode / pyDecode);
        System.out.printf(Locale.ROOT, "%-40s %12.1f %14.1f %8.2f%n", "decode to RGB (ImageIO only)",
                n / bestImageIo, pyDecode, n / bestImageIo / pyDecode);
        System.out.printf(Locale.ROOT, "%-40s %12.1f %14.1f %8.2f%n", "decode + Resize+CenterCrop+ToTensor+Norm",
                javaTotal, pyTotal, javaTotal / pyTotal);
        System.out.printf(Locale.ROOT, "%-40s %12.1f %14s%n", "eval transform only (decoded input)", n / bestEvalOnly, "-");
        System.out.printf(Locale.ROOT, "%-40s %12.1f %14s%n", "train transform only (decoded input)", n / bestTrainOnly, "-");
        if (tmp != null) {
            try (Stream<Path> s = Files.list(tmp)) {
                for (Path f : (Iterable<Path>) s::iterator) {
                    Files.delete(f);
                }
            }
            Files.delete(tmp);
        }
    }

    private static String run(String python, String script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(python, script));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process proc = pb.start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (proc.waitFor() != 0) {
            throw new IllegalStateException("python failed: " + cmd + "\n" + out);
        }
        return out;
    }
}
