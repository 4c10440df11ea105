package org.sparktransfer.inference;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.SerializableConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.config.PredictConfig;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.data.ImageCatalog;
import org.sparktransfer.data.ImageColumns;
import org.sparktransfer.data.ImageSource;
import org.sparktransfer.data.SplitAssigner;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.io.SparkSessions;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.OutputTables;
import org.sparktransfer.io.Storage;
import org.sparktransfer.jobs.UsageException;
import org.sparktransfer.metrics.ClassificationReport;

/**
 * Batch inference: check the model against what was asked, list the images, check and score them
 * on the executors in one pass (each image decoded once), and write the five tables. Every table is written with dynamic partition
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
        jsc.setJobDescription("list images");
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
        Preprocessing pre = Preprocessing.builder().resizeSize(manifest.resizeSize()).cropSize(manifest.inputSize())
                .mean(manifest.mean()).std(manifest.std()).build();
        // Millisecond precision survives the persisted rows' serialization unchanged.
        Timestamp scoredAt = Timestamp.from(Instant.now().truncatedTo(ChronoUnit.MILLIS));
        Date runDate = Date.valueOf(config.runDate());
        PredictionRows rows = new PredictionRows(classes, config.topK(), manifest.modelId(), runId, scoredAt);

        jsc.setJobDescription("score images");
        long t0 = System.nanoTime();
        JavaRDD<Row> listedRows = listed.javaRDD();
        int partitions = ScoringPartitions.count(listedRows.getNumPartitions(), listedImages(listed),
                SparkSessions.taskSlots(spark.sparkContext()),
                config.batchSize());
        // Each image is read, decoded and scored (or rejected) in this one pass; the rows are kept for the tables.
        // Plain RDD operations: the rows are tallied without a SQL query to plan and compile on the driver.
        JavaRDD<Row> outcomeRows = listedRows.coalesce(partitions)
                .mapPartitions(new CheckAndScore(modelDir.toString(), pre, config.batchSize(), config.maxPixels(), rows,
                        new SerializableConfiguration(storage.conf())))
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        RunStats stats = RunStats.of(outcomeRows, classes.size());
        double seconds = (System.nanoTime() - t0) / 1e9;
        long count = stats.scored();
        long rejected = stats.rejected();
        double rate = count / Math.max(seconds, 1e-9);
        LOG.info("Scored {} images ({} rejected) in {} s ({} images/s, {} tasks)", count, rejected,
                String.format("%.1f", seconds), String.format("%.1f", rate), partitions);

        jsc.setJobDescription("write tables");
        Dataset<Row> outcome = spark.createDataFrame(outcomeRows, PredictionColumns.OUTCOME).withColumn("run_date", lit(runDate));
        Dataset<Row> scored = outcome.filter(col(PredictionColumns.REJECT_REASON).isNull());
        writePartition(scored.select(PredictionColumns.PREDICTIONS.stream().map(c -> col(c)).toArray(Column[]::new)),
                out, OutputTables.PREDICTIONS);
        ClassificationReport report = new ClassificationReport(classes.names(), stats.confusion());
        Dataset<Row> rejects = outcome.filter(col(PredictionColumns.REJECT_REASON).isNotNull())
                .select(col("image_path").as("path"), col("bytes"), col("reject_stage").as("stage"),
                        col(PredictionColumns.REJECT_REASON).as("reason"), col("reject_message").as("message"),
                        col("model_id"), col("run_id"), col("run_date"));

        writePartition(spark.createDataFrame(confusionRows(classes, stats.confusion(), manifest.modelId(), runId, runDate),
                ReportTables.CONFUSION_MATRIX), out, OutputTables.CONFUSION_MATRIX);
        writePartition(spark.createDataFrame(classMetricRows(report, manifest.modelId(), runId, runDate),
                ReportTables.CLASS_METRICS), out, OutputTables.CLASS_METRICS);
        writePartition(rejects.coalesce(1), out, OutputTables.REJECTS);
        boolean labelled = report.total() > 0;
        Row summary = RowFactory.create(runId, manifest.modelId(), config.images().toString(), count, rejected, skipped,
                report.total(), stats.unknownClass(),
                labelled ? report.accuracy() : null, labelled ? report.macroF1() : null,
                labelled ? report.weightedF1() : null, stats.topKAccuracy(),
                Math.min(config.topK(), classes.size()), seconds, rate, scoredAt, runDate);
        writePartition(spark.createDataFrame(List.of(summary), ReportTables.SUMMARY), out, OutputTables.SUMMARY);
        outcomeRows.unpersist();
        jsc.setJobDescription(null);
        LOG.info("Wrote predictions, confusion_matrix, class_metrics, rejects and summary under {} (run_date={}, run_id={}); "
                        + "{} scored, {} rejected, accuracy {}", out, config.runDate(), runId, count, rejected,
                labelled ? String.format("%.4f", report.accuracy()) : "n/a (no labels)");
        return new Outcome(out, runId, count, rejected, labelled ? report.accuracy() : Double.NaN, rate);
    }

    /** Files a folder listing holds, known on the driver without reading them; -1 for a manifest. */
    private long listedImages(Dataset<Row> listing) {
        return config.images().kind() == ImageSource.Kind.FOLDER ? listing.inputFiles().length : -1;
    }

    /** TrainJob's run directory holds the artifact under model/; accept both. */
    private Path resolveModelDir(Path given) throws IOException {
        Path dir = ModelArtifact.resolve(storage, given);
        if (dir == null) {
            throw new UsageException("--model " + given + " is not a model artifact (no " + ModelArtifact.MANIFEST
                    + " and " + ModelArtifact.NETWORK + " there or under model/)");
        }
        return dir;
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
