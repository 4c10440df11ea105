package org.sparktransfer.inference;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.Encoders;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.SerializableConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.config.PredictConfig;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.data.ImageCatalog;
import org.sparktransfer.data.ImageCheck;
import org.sparktransfer.data.ImageColumns;
import org.sparktransfer.data.ImageSource;
import org.sparktransfer.data.SplitAssigner;
import org.sparktransfer.data.TensorBatcher;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.OutputTables;
import org.sparktransfer.io.Storage;
import org.sparktransfer.jobs.UsageException;
import org.sparktransfer.metrics.ClassificationReport;

/**
 * Batch inference: check the model against what was asked, list and check the images, score them
 * on the executors, and write the five tables. Every table is written with dynamic partition
 * overwrite on (run_date, run_id), so a rerun replaces its own partition and nothing else, and a
 * failed write leaves the previous partition as it was. The summary is written last: a run with
 * a summary row is complete.
 */
public final class PredictPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(PredictPipeline.class);

    private final SparkSession spark;
    private final PredictConfig config;
    private final Storage storage;

    public PredictPipeline(SparkSession spark, PredictConfig config) {
        this.spark = spark;
        this.config = config;
        this.storage = new Storage(spark.sparkContext().hadoopConfiguration());
    }

    public record Outcome(Path output, String runId, long scored, long rejected, double accuracy, double imagesPerSecond) {}

    public Outcome run() throws IOException {
        Path modelDir = resolveModelDir(storage.qualify(config.modelUri()));
        ModelManifest manifest = ModelArtifact.readManifest(storage, modelDir);
        ClassIndex classes = new ClassIndex(manifest.classes());
        checkModelFits(manifest, classes);
        String runId = config.runId() != null ? config.runId() : derivedRunId(manifest.modelId());
        Path out = storage.qualify(config.outputUri());
        LOG.info("Scoring {} with model {} ({}, {} classes, {} px); run_date {} run_id {}", config.images(),
                manifest.modelId(), manifest.arch(), classes.size(), manifest.inputSize(), config.runDate(), runId);

        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        jsc.setJobDescription("list and check images");
        Dataset<Row> listed = new ImageCatalog(spark).list(config.images(), new SplitAssigner(0, 0));
        if (!useLabels(classes)) {
            listed = listed.withColumn(ImageColumns.LABEL, lit(null).cast("string"));
        }
        long skipped = 0;
        if (config.skipScored()) {
            Dataset<Row> before = alreadyScored(out, manifest.modelId(), runId);
            if (before != null) {
                Dataset<Row> remaining = listed.join(before, listed.col(ImageColumns.PATH).equalTo(before.col("image_path")), "left_anti");
                skipped = listed.select(ImageColumns.PATH).count() - remaining.select(ImageColumns.PATH).count();
                listed = remaining;
                LOG.info("--skip-scored: {} images were scored by {} before and are skipped", skipped, manifest.modelId());
            }
        }
        Dataset<Row> checked = listed
                .mapPartitions(new ImageCheck(classes, config.maxPixels(), false), Encoders.row(ImageColumns.CHECKED))
                .persist(StorageLevel.MEMORY_AND_DISK_SER());

        Preprocessing pre = Preprocessing.builder().resizeSize(manifest.resizeSize()).cropSize(manifest.inputSize())
                .mean(manifest.mean()).std(manifest.std()).build();
        TensorBatcher batcher = new TensorBatcher(pre, TensorBatcher.Mode.EVAL, 0, 0, config.batchSize(), config.maxPixels());
        Timestamp scoredAt = Timestamp.from(Instant.now());
        Date runDate = Date.valueOf(config.runDate());
        Dataset<Row> scored = checked.filter(col(ImageColumns.REJECT_REASON).isNull())
                .select(col(ImageColumns.PATH), col(ImageColumns.LABEL_INDEX), col(ImageColumns.CONTENT), col(ImageColumns.LABEL))
                .mapPartitions(new BatchScorer(modelDir.toString(), manifest.modelId(), runId, classes, batcher,
                        config.topK(), scoredAt, new SerializableConfiguration(storage.conf())),
                        Encoders.row(PredictionColumns.SCORED))
                .withColumn("run_date", lit(runDate))
                .persist(StorageLevel.MEMORY_AND_DISK_SER());

        jsc.setJobDescription("score images");
        long t0 = System.nanoTime();
        long count = scored.count();
        double seconds = (System.nanoTime() - t0) / 1e9;
        double rate = count / Math.max(seconds, 1e-9);
        LOG.info("Scored {} images in {} s ({} images/s)", count, String.format("%.1f", seconds), String.format("%.1f", rate));

        jsc.setJobDescription("write predictions");
        writePartition(scored.drop("true_index", "in_top_k"), out, OutputTables.PREDICTIONS);

        long[][] confusion = new long[classes.size()][classes.size()];
        for (Row r : scored.filter(col("true_index").isNotNull())
                .groupBy(col("true_index"), col("predicted_index")).count().collectAsList()) {
            confusion[r.getInt(0)][r.getInt(1)] = r.getLong(2);
        }
        ClassificationReport report = new ClassificationReport(classes.names(), confusion);
        Row topK = scored.filter(col("in_top_k").isNotNull())
                .selectExpr("avg(cast(in_top_k as double))", "count(*)").first();
        long unknownClass = scored.filter(col("true_label").isNotNull().and(col("true_index").isNull())).count();
        Dataset<Row> rejects = checked.filter(col(ImageColumns.REJECT_REASON).isNotNull())
                .select(col(ImageColumns.PATH), col(ImageColumns.BYTES), col(ImageColumns.REJECT_STAGE).as("stage"),
                        col(ImageColumns.REJECT_REASON).as("reason"), col(ImageColumns.REJECT_MESSAGE).as("message"))
                .withColumn("model_id", lit(manifest.modelId()))
                .withColumn("run_id", lit(runId))
                .withColumn("run_date", lit(runDate));
        long rejected = rejects.count();

        writePartition(spark.createDataFrame(confusionRows(classes, confusion, manifest.modelId(), runId, runDate),
                ReportTables.CONFUSION_MATRIX), out, OutputTables.CONFUSION_MATRIX);
        writePartition(spark.createDataFrame(classMetricRows(report, manifest.modelId(), runId, runDate),
                ReportTables.CLASS_METRICS), out, OutputTables.CLASS_METRICS);
        writePartition(rejects.coalesce(1), out, OutputTables.REJECTS);
        boolean labelled = report.total() > 0;
        Row summary = RowFactory.create(runId, manifest.modelId(), config.images().toString(), count, rejected, skipped,
                report.total(), unknownClass,
                labelled ? report.accuracy() : null, labelled ? report.macroF1() : null,
                labelled ? report.weightedF1() : null, topK.isNullAt(0) ? null : topK.getDouble(0),
                Math.min(config.topK(), classes.size()), seconds, rate, scoredAt, runDate);
        writePartition(spark.createDataFrame(List.of(summary), ReportTables.SUMMARY), out, OutputTables.SUMMARY);
        scored.unpersist();
        checked.unpersist();
        jsc.setJobDescription(null);
        LOG.info("Wrote predictions, confusion_matrix, class_metrics, rejects and summary under {} (run_date={}, run_id={}); "
                        + "{} scored, {} rejected, accuracy {}", out, config.runDate(), runId, count, rejected,
                labelled ? String.format("%.4f", report.accuracy()) : "n/a (no labels)");
        return new Outcome(out, runId, count, rejected, labelled ? report.accuracy() : Double.NaN, rate);
    }

    /** TrainJob's run directory holds the artifact under model/; accept both. */
    private Path resolveModelDir(Path given) throws IOException {
        if (ModelArtifact.isArtifact(storage, given)) {
            return given;
        }
        Path nested = new Path(given, "model");
        if (ModelArtifact.isArtifact(storage, nested)) {
            return nested;
        }
        throw new UsageException("--model " + given + " is not a model artifact (no " + ModelArtifact.MANIFEST
                + " and " + ModelArtifact.NETWORK + " there or under model/)");
    }

    private void checkModelFits(ModelManifest manifest, ClassIndex classes) throws IOException {
        if (config.expectedImageSize() != null && config.expectedImageSize() != manifest.inputSize()) {
            throw new UsageException("model " + manifest.modelId() + " takes " + manifest.inputSize()
                    + " px images but --image-size is " + config.expectedImageSize());
        }
        if (config.expectedClassesUri() != null) {
            ClassIndex expected = ClassIndex.load(storage, storage.qualify(config.expectedClassesUri()));
            if (!expected.equals(classes)) {
                throw new UsageException("model " + manifest.modelId() + " has classes " + classes.names()
                        + " but --expect-classes lists " + expected.names());
            }
        }
    }

    private boolean useLabels(ClassIndex classes) throws IOException {
        PredictConfig.LabelSource source = config.labels();
        if (source == PredictConfig.LabelSource.NONE) {
            return false;
        }
        if (config.images().kind() == ImageSource.Kind.MANIFEST || source == PredictConfig.LabelSource.FOLDER) {
            return true;
        }
        Path root = storage.qualify(config.images().uri());
        if (!storage.exists(root)) {
            throw new UsageException("image folder does not exist: " + root);
        }
        Set<String> folders = new HashSet<>();
        for (FileStatus s : storage.fs(root).listStatus(root)) {
            if (s.isDirectory()) {
                folders.add(s.getPath().getName());
            }
        }
        boolean allClasses = !folders.isEmpty() && classes.names().containsAll(folders);
        LOG.info(allClasses ? "Folders under {} are classes of the model: using them as true labels"
                : "Folders under {} are not all classes of the model: scoring without true labels", root);
        return allClasses;
    }

    private Dataset<Row> alreadyScored(Path out, String modelId, String runId) throws IOException {
        Path predictions = new Path(out, OutputTables.PREDICTIONS);
        if (!storage.exists(predictions)) {
            return null;
        }
        return spark.read().parquet(predictions.toString())
                .filter(col("model_id").equalTo(modelId).and(col("run_id").notEqual(runId)))
                .select(col("image_path")).distinct();
    }

    private String derivedRunId(String modelId) {
        String key = modelId + "|" + config.images() + "|" + config.runDate();
        long h = org.apache.spark.unsafe.hash.Murmur3_x86_32.hashUnsafeBytes(key.getBytes(StandardCharsets.UTF_8),
                org.apache.spark.unsafe.Platform.BYTE_ARRAY_OFFSET, key.getBytes(StandardCharsets.UTF_8).length, 42);
        return config.runDate() + "-" + String.format("%08x", h & 0xffffffffL);
    }

    private static void writePartition(Dataset<Row> table, Path out, String name) {
        table.write().mode(SaveMode.Overwrite)
                .option("partitionOverwriteMode", "dynamic")
                .partitionBy("run_date", "run_id")
                .parquet(new Path(out, name).toString());
    }

    private static List<Row> confusionRows(ClassIndex classes, long[][] confusion, String modelId, String runId, Date runDate) {
        List<Row> rows = new ArrayList<>();
        for (int a = 0; a < classes.size(); a++) {
            for (int p = 0; p < classes.size(); p++) {
                rows.add(RowFactory.create(runId, modelId, classes.name(a), classes.name(p), confusion[a][p], runDate));
            }
        }
        return rows;
    }

    private static List<Row> classMetricRows(ClassificationReport report, String modelId, String runId, Date runDate) {
        List<Row> rows = new ArrayList<>();
        for (ClassificationReport.ClassMetrics m : report.perClass()) {
            rows.add(RowFactory.create(runId, modelId, m.label(), m.index(), m.precision(), m.recall(), m.f1(),
                    m.support(), m.predicted(), runDate));
        }
        return rows;
    }
}
