package org.sparktransfer.tools;

import java.awt.image.BufferedImage;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Writes Fashion-MNIST (Debian's dataset-fashion-mnist IDX files) out as an ImageFolder of PNG
 * files, the real labelled image set of the quickstart and the transfer experiment. Takes the
 * first N images of each chosen class from the IDX order, so the output is deterministic.
 */
@Command(name = "FashionMnistExport", mixinStandardHelpOptions = true,
        description = "Exports Fashion-MNIST IDX files as <output>/<class>/<n>.png.")
public final class FashionMnistExport implements Callable<Integer> {

    /** Class names in label order, as the dataset's authors publish them (folder-safe spelling). */
    public static final List<String> CLASS_NAMES = List.of("t-shirt_top", "trouser", "pullover", "dress", "coat",
            "sandal", "shirt", "sneaker", "bag", "ankle_boot");

    @Option(names = "--source", defaultValue = "/usr/share/datasets/fashion-mnist",
            description = "Folder with the IDX .gz files (default: ${DEFAULT-VALUE}).")
    Path source;

    @Option(names = "--set", defaultValue = "train", description = "train or t10k (default: ${DEFAULT-VALUE}).")
    String set;

    @Option(names = "--output", required = true, description = "ImageFolder root to create.")
    Path output;

    @Option(names = "--classes", split = ",", defaultValue = "0,1,2,3,4,5,6,7,8,9",
            description = "Label numbers to export (default: ${DEFAULT-VALUE}).")
    List<Integer> classes;

    @Option(names = "--per-class", defaultValue = "50", description = "Images per class (default: ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--skip-per-class", defaultValue = "0",
            description = "Skip this many images of each class first, for disjoint sets (default: ${DEFAULT-VALUE}).")
    int skipPerClass;

    public static void main(String[] args) {
        System.exit(new CommandLine(new FashionMnistExport()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        int written = export(source, set, output, classes, perClass, skipPerClass);
        System.out.println("wrote " + written + " PNG files under " + output);
        return 0;
    }

    public static int export(Path source, String set, Path output, List<Integer> classes, int perClass, int skip)
            throws IOException {
        byte[][] images = readImages(source.resolve(set + "-images-idx3-ubyte.gz"));
        byte[] labels = readLabels(source.resolve(set + "-labels-idx1-ubyte.gz"));
        if (images.length != labels.length) {
            throw new IOException("image and label files disagree: " + images.length + " vs " + labels.length);
        }
        Map<Integer, Integer> seen = new HashMap<>();
        Map<Integer, Integer> kept = new HashMap<>();
        List<Integer> wanted = new ArrayList<>(classes);
        int written = 0;
        for (int i = 0; i < images.length; i++) {
            int label = labels[i];
            if (!wanted.contains(label)) {
                continue;
            }
            int s = seen.merge(label, 1, Integer::sum);
            if (s <= skip || kept.getOrDefault(label, 0) >= perClass) {
                continue;
            }
            kept.merge(label, 1, Integer::sum);
            Path dir = output.resolve(CLASS_NAMES.get(label));
            Files.createDirectories(dir);
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setDataElements(0, 0, 28, 28, images[i]);
            ImageIO.write(img, "png", dir.resolve(String.format("%s-%05d.png", set, i)).toFile());
            written++;
        }
        return written;
    }

    static byte[][] readImages(Path file) throws IOException {
        try (DataInputStream in = idx(file, 2051)) {
            int n = in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            byte[][] out = new byte[n][rows * cols];
            for (byte[] image : out) {
                in.readFully(image);
            }
            return out;
        }
    }

    static byte[] readLabels(Path file) throws IOException {
        try (DataInputStream in = idx(file, 2049)) {
            byte[] out = new byte[in.readInt()];
            in.readFully(out);
            return out;
        }
    }

    private static DataInputStream idx(Path file, int magic) throws IOException {
        if (!Files.exists(file)) {
            throw new IOException(file + " not found; install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)");
        }
        InputStream raw = Files.newInputStream(file);
        DataInputStream in = new DataInputStream(new GZIPInputStream(raw, 1 << 16));
        int m = in.readInt();
        if (m != magic) {
            in.close();
            throw new IOException(file + " is not an IDX file with magic " + magic + " (found " + m + ")");
        }
        return in;
    }
}
