package org.sparktransfer.data;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.PartitioningAwareFileIndex;
import org.apache.spark.sql.Encoders;
import org.apache.spark.util.SerializableConfiguration;
import org.sparktransfer.io.Storage;
import org.sparktransfer.jobs.UsageException;
import scala.collection.JavaConverters;

/**
 * Lists the images of an {@link ImageSource} as rows of {@link ImageColumns#LISTED}. Folders are
 * read with Spark's binaryFile source, which packs many small files into one task by size
 * (spark.sql.files.maxPartitionBytes / openCostInBytes) and lists large trees in parallel.
 */
public final class ImageCatalog {
    private final SparkSession spark;
    private final Storage storage;

    public ImageCatalog(SparkSession spark) {
        this.spark = spark;
        this.storage = new Storage(spark.sparkContext().hadoopConfiguration());
    }

    public Dataset<Row> list(ImageSource source, SplitAssigner splitter) {
        return source.kind() == ImageSource.Kind.FOLDER
                ? listFolder(source, splitter)
                : listManifest(source, splitter);
    }

    private Dataset<Row> listFolder(ImageSource source, SplitAssigner splitter) {
        Path root = storage.qualify(source.uri());
        try {
            if (!storage.exists(root)) {
                throw new UsageException("image folder does not exist: " + root);
            }
        } catch (IOException e) {
            throw new UsageException("cannot read image folder " + root + ": " + e.getMessage());
        }
        Dataset<Row> scan = spark.read().format("binaryFile")
                .option("recursiveFileLookup", "true")
                .option("pathGlobFilter", source.globFilter())
                .load(root.toString());
        Dataset<Row> files = scan.select(col("path"), col("content"));
        // Spark's file scan drops zero-byte files without a trace; they come back as empty contents, which
        // decoding rejects as EMPTY, so an empty image is reported instead of lost.
        List<Row> empty = new ArrayList<>();
        for (String path : zeroByteFiles(scan)) {
            empty.add(RowFactory.create(path, new byte[0]));
        }
        if (!empty.isEmpty()) {
            files = files.union(spark.createDataFrame(empty, files.schema()));
        }
        String rootPrefix = withTrailingSlash(root.toString());
        return files.mapPartitions(new FolderRows(rootPrefix, splitter), Encoders.row(ImageColumns.LISTED));
    }

    /** Zero-byte files of a file-source scan, from the listing it already made (no second listing). */
    static List<String> zeroByteFiles(Dataset<Row> scan) {
        List<String> empty = new ArrayList<>();
        for (LogicalPlan leaf : JavaConverters.seqAsJavaList(scan.queryExecution().analyzed().collectLeaves())) {
            if (leaf instanceof LogicalRelation lr && lr.relation() instanceof HadoopFsRelation fs
                    && fs.location() instanceof PartitioningAwareFileIndex index) {
                for (FileStatus f : JavaConverters.seqAsJavaList(index.allFiles())) {
                    if (f.getLen() == 0) {
                        empty.add(f.getPath().toString());
                    }
                }
            }
        }
        return empty;
    }

    private Dataset<Row> listManifest(ImageSource source, SplitAssigner splitter) {
        Path manifest = storage.qualify(source.uri());
        Dataset<Row> table = readManifest(manifest);
        List<String> columns = List.of(table.columns());
        if (!columns.contains("path")) {
            throw new UsageException("manifest " + manifest + " has no 'path' column (columns: " + columns + ")");
        }
        Dataset<Row> selected = table.select(
                col("path").cast("string"),
                columns.contains("label") ? col("label").cast("string") : org.apache.spark.sql.functions.lit(null).cast("string").as("label"),
                columns.contains("split") ? col("split").cast("string") : org.apache.spark.sql.functions.lit(null).cast("string").as("split"));
        int partitions = Math.max(spark.sparkContext().defaultParallelism() * 4, 1);
        String base = withTrailingSlash(manifest.getParent().toString());
        return selected.repartition(partitions).mapPartitions(
                new ManifestRows(base, splitter, new SerializableConfiguration(storage.conf())),
                Encoders.row(ImageColumns.LISTED));
    }

    /**
     * The classes of a source in training's index order: an ImageFolder root's class folders (names starting
     * with '.' or '_' skipped; listed without Spark) or a manifest's distinct labels (read with the session
     * {@code spark} supplies, which is only called for a manifest), sorted by name as torchvision's ImageFolder.
     */
    public static ClassIndex classes(ImageSource source, Storage storage, Supplier<SparkSession> spark) throws IOException {
        if (source.kind() == ImageSource.Kind.FOLDER) {
            Path root = storage.qualify(source.uri());
            if (!storage.exists(root)) {
                throw new UsageException("image folder does not exist: " + root);
            }
            List<String> names = new ArrayList<>();
            for (FileStatus s : storage.fs(root).listStatus(root)) {
                if (s.isDirectory() && !s.getPath().getName().startsWith(".") && !s.getPath().getName().startsWith("_")) {
                    names.add(s.getPath().getName());
                }
            }
            if (names.isEmpty()) {
                throw new UsageException("image folder " + root + " has no class folders (expected <root>/<class>/<image>)");
            }
            return ClassIndex.sortedFrom(names);
        }
        // A manifest names its labels; reading only that column keeps this a cheap scan.
        List<String> labels = new ArrayList<>();
        for (Row r : new ImageCatalog(spark.get()).manifestLabels(source).collectAsList()) {
            labels.add(r.getString(0));
        }
        if (labels.isEmpty()) {
            throw new UsageException("manifest " + source.uri() + " has no labels; training needs a 'label' column");
        }
        return ClassIndex.sortedFrom(labels);
    }

    /** The distinct labels of a manifest, without reading any image. */
    public Dataset<Row> manifestLabels(ImageSource source) {
        Dataset<Row> table = readManifest(storage.qualify(source.uri()));
        if (!List.of(table.columns()).contains("label")) {
            throw new UsageException("manifest " + source.uri() + " has no 'label' column");
        }
        return table.select(col("label").cast("string")).where(col("label").isNotNull()).distinct();
    }

    private Dataset<Row> readManifest(Path manifest) {
        try {
            if (!storage.exists(manifest)) {
                throw new UsageException("manifest does not exist: " + manifest);
            }
        } catch (IOException e) {
            throw new UsageException("cannot read manifest " + manifest + ": " + e.getMessage());
        }
        String name = manifest.getName().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv") || name.endsWith(".csv.gz")) {
            return spark.read().option("header", "true").option("mode", "FAILFAST").csv(manifest.toString());
        }
        return spark.read().parquet(manifest.toString());
    }

    static String withTrailingSlash(String s) {
        return s.endsWith("/") ? s : s + "/";
    }

    /** binaryFile rows (path, content) to listed rows; the label is the first folder under the root. */
    static final class FolderRows implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final String rootPrefix;
        private final SplitAssigner splitter;

        FolderRows(String rootPrefix, SplitAssigner splitter) {
            this.rootPrefix = rootPrefix;
            this.splitter = splitter;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            return Iterators.map(input, r -> {
                String path = r.getString(0);
                String relative = path.startsWith(rootPrefix) ? path.substring(rootPrefix.length()) : path;
                int slash = relative.indexOf('/');
                String label = slash > 0 ? relative.substring(0, slash) : null;
                return RowFactory.create(path, relative, label, splitter.assign(relative), r.get(1), null);
            });
        }
    }

    /** Manifest rows (path, label, split) to listed rows, reading each file's bytes on the executor. */
    static final class ManifestRows implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final String base;
        private final SplitAssigner splitter;
        private final SerializableConfiguration conf;

        ManifestRows(String base, SplitAssigner splitter, SerializableConfiguration conf) {
            this.base = base;
            this.splitter = splitter;
            this.conf = conf;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            Configuration hadoop = conf.value();
            Storage storage = new Storage(hadoop);
            return Iterators.map(input, r -> {
                    String given = r.getString(0);
                    if (given == null || given.isBlank()) {
                        return RowFactory.create("", "", r.getString(1), null, null, "manifest row has an empty path");
                    }
                    boolean absolute = given.contains(":/") || given.startsWith("/");
                    String relative = absolute ? given : given.replaceFirst("^\\./", "");
                    String location = absolute ? given : base + relative;
                    String split = r.getString(2) != null ? normalizeSplit(r.getString(2)) : splitter.assign(relative);
                    try {
                        Path p = storage.qualify(location);
                        byte[] bytes = storage.readBytes(p);
                        return RowFactory.create(p.toString(), relative, r.getString(1), split, bytes, null);
                    } catch (IOException | RuntimeException e) {
                        return RowFactory.create(location, relative, r.getString(1), split, null,
                                e.getClass().getSimpleName() + ": " + e.getMessage());
                    }
            });
        }

        static String normalizeSplit(String split) {
            String s = split.strip().toLowerCase(Locale.ROOT);
            return switch (s) {
                case "val", "valid", "validation" -> SplitAssigner.VALIDATION;
                case "train", "training" -> SplitAssigner.TRAIN;
                default -> s;
            };
        }
    }
}
