package org.sparktransfer.train;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.Encoders;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.config.TrainConfig;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.data.ImageCatalog;
import org.sparktransfer.data.ImageCheck;
import org.sparktransfer.data.ImageColumns;
import org.sparktransfer.data.SplitAssigner;
import org.sparktransfer.io.Json;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.OutputTables;
import org.sparktransfer.io.Storage;
import org.sparktransfer.jobs.DataQualityException;
import org.sparktransfer.jobs.UsageException;
import org.sparktransfer.model.FreezePolicy;
import org.sparktransfer.model.ResNetFactory;

/**
 * The training run: list and check the images, split them, fine-tune with parameter averaging
 * epoch by epoch (checkpointing each), and publish the model, history and data reports.
 *
 * <p>Run directory layout: {@code run.json}, {@code classes.txt}, {@code model/} (the best
 * epoch's artifact), {@code history/}, {@code split_counts/}, {@code rejects/} (Parquet),
 * {@code checkpoints/}, and {@code _SUCCESS} written last.
 */
public final class TrainPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(TrainPipeline.class);
    public static final String SUCCESS = "_SUCCESS";

    private final SparkSession spark;
    private final JavaSparkContext jsc;
    private final TrainConfig config;
    private final Storage storage;

    public TrainPipeline(SparkSession spark, TrainConfig config) {
        this.spark = spark;
        this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        this.config = config;
        this.storage = new Storage(spark.sparkContext().hadoopConfiguration());
    }

    /** Where the outputs went, for the job's closing lines and the tests. */
    public record Outcome(Path runDir, Path modelDir, ModelManifest manifest, List<EpochResult> history, DataSummary data) {}

    public Outcome run() throws IOException {
        Path runDir = new Path(storage.qualify(config.outputUri()), config.runName());
        CheckpointStore checkpoints = new CheckpointStore(storage, runDir);
        Optional<Path> latest = checkpoints.latest();
        if (storage.exists(new Path(runDir, SUCCESS))) {
            throw new UsageException("run " + runDir + " already finished; choose another --run-name");
        }
        if (latest.isPresent() && !config.resume()) {
            throw new UsageException("run " + runDir + " has checkpoints; pass --resume to continue it or choose another --run-name");
        }
        storage.mkdirs(runDir);
        storage.writeString(new Path(runDir, "run.json"), Json.write(config));

        StorageLevel level = StorageLevel.fromString(config.master().storageLevel());
        ClassIndex classes = ImageCatalog.classes(config.images(), storage, () -> spark);
        storage.writeString(new Path(runDir, ModelArtifact.CLASSES), classes.toText());
        LOG.info("{} classes: {}", classes.size(), classes.names());

        jsc.setJobDescription("check images");
        SplitAssigner splitter = new SplitAssigner(config.validationFraction(), config.seed());
        Dataset<Row> checked = new ImageCatalog(spark).list(config.images(), splitter)
                .mapPartitions(new ImageCheck(classes, config.maxPixels(), true), Encoders.row(ImageColumns.CHECKED))
                .persist(level);
        DataSummary data = DataSummary.from(checked
                .groupBy(col(ImageColumns.SPLIT), col(ImageColumns.LABEL), col(ImageColumns.REJECT_REASON)).count()
                .collectAsList());
        writeDataReports(runDir, checked, data);
        logData(data);
        if (data.rejectFraction() > config.maxRejectFraction()) {
            throw new DataQualityException(String.format(
                    "%d of %d images (%.2f%%) were rejected, more than --max-reject-fraction %.4f; see %s",
                    data.rejected(), data.total(), 100 * data.rejectFraction(), config.maxRejectFraction(),
                    new Path(runDir, OutputTables.REJECTS)));
        }
        long trainCount = data.good(SplitAssigner.TRAIN);
        long valCount = data.good(SplitAssigner.VALIDATION);
        if (trainCount == 0) {
            throw new DataQualityException("no usable training images in " + config.images());
        }
        String fingerprint = fingerprint(checked);

        Dataset<Row> good = checked.filter(col(ImageColumns.REJECT_REASON).isNull());
        org.sparktransfer.runtime.NativeRuntime.configure(Runtime.getRuntime().availableProcessors());
        // The driver's own native work is light (building the network, averaging): one thread, no OpenMP pool
        // beside the workers' (in local mode they share this JVM; see NativeRuntime.serialOnThisThread).
        org.sparktransfer.runtime.NativeRuntime.serialOnThisThread();
        InitialNetwork.Result initial = InitialNetwork.create(config, classes.size(), storage);
        ComputationGraph full = initial.network();
        // From here on the run's preprocessing is what the starting network expects (a zoo graph's own).
        TrainConfig run = config.withPreprocessing(initial.preprocessing());
        EpochData epochData;
        ComputationGraph fitted;
        if (run.freeze() == FreezePolicy.BACKBONE && run.cacheFeatures()) {
            epochData = FeatureCache.prepare(spark, storage, runDir, run, classes, full, good);
            fitted = FeatureCache.headOf(full, run, (int) full.getLayer(ResNetFactory.FC).getParam("W").size(0), classes.size());
        } else {
            // Projections of the persisted checked rows: each epoch re-decodes, nothing is listed twice.
            epochData = new ImageEpochData(run, bySplit(good, SplitAssigner.TRAIN),
                    bySplit(good, SplitAssigner.VALIDATION), classes.size());
            fitted = full;
        }
        CheckpointStore.LoopState state = new CheckpointStore.LoopState(0, new ArrayList<>(), -1, -1, 0);
        int resumedAfter = 0;
        if (latest.isPresent()) {
            state = checkpoints.readState(latest.get());
            resumedAfter = state.completedEpochs();
            fitted = checkpoints.readModel(latest.get()).network();
            LOG.info("Resuming {} after epoch {} from {}", run.runName(), state.completedEpochs(), latest.get());
        } else if (run.classWeights() == TrainConfig.ClassWeights.BALANCED) {
            ClassWeighting.applyBalanced(fitted, classes, data.goodBySplitAndLabel().get(SplitAssigner.TRAIN));
        }

        TrainingLoop loop = new TrainingLoop(runDir, jsc, run, classes, initial.weightsDescription(), fingerprint, trainCount);
        state = loop.run(fitted, state, epochData, valCount, checkpoints);
        checked.unpersist();

        Path modelDir = new Path(runDir, "model");
        ModelManifest manifest;
        if (storage.exists(checkpoints.bestModelDir())) {
            ModelArtifact best = ModelArtifact.load(storage, checkpoints.bestModelDir(), false);
            manifest = best.manifest();
            best.save(storage, modelDir, false);
        } else {
            throw new IllegalStateException("training finished without a saved model");
        }
        List<Row> historyRows = new ArrayList<>();
        for (EpochResult e : state.history()) {
            historyRows.add(RowFactory.create(run.runName(), e.epoch(), e.trainLoss(), e.valLoss(), e.valAccuracy(),
                    e.learningRate(), e.trainImages(), e.imagesPerSecond(), e.seconds(), e.best()));
        }
        OutputTables.writeRows(spark, historyRows, OutputTables.HISTORY_SCHEMA, new Path(runDir, OutputTables.HISTORY).toString());
        storage.delete(new Path(runDir, "tmp-export"));
        storage.writeString(new Path(runDir, SUCCESS), Instant.now().toString() + "\n");
        // The last line says whether this attempt continued an interrupted one, for logs and schedulers.
        LOG.info("Run {} complete: model {} (best epoch {}: {}); {}", run.runName(), modelDir,
                state.bestEpoch(), manifest.metrics().containsKey("val_accuracy")
                        ? String.format("validation accuracy %.4f, loss %.4f", manifest.metrics().get("val_accuracy"), manifest.metrics().get("val_loss"))
                        : String.format("no validation data, training loss %.4f", manifest.metrics().get("train_loss")),
                attempt(resumedAfter, state.completedEpochs()));
        return new Outcome(runDir, modelDir, manifest, state.history(), data);
    }

    static String attempt(int resumedAfter, int completedEpochs) {
        if (resumedAfter == 0) {
            return String.format("not resumed, trained epochs 1-%d in this attempt", completedEpochs);
        }
        return completedEpochs > resumedAfter
                ? String.format("resumed after epoch %d, trained epochs %d-%d in this attempt", resumedAfter, resumedAfter + 1, completedEpochs)
                : String.format("resumed after epoch %d, no epoch left to train", resumedAfter);
    }

    private JavaRDD<Row> bySplit(Dataset<Row> good, String split) {
        return good.filter(col(ImageColumns.SPLIT).equalTo(split))
                .select(col(ImageColumns.PATH), col(ImageColumns.LABEL_INDEX), col(ImageColumns.CONTENT),
                        col(ImageColumns.RELATIVE_PATH))
                .javaRDD();
    }

    private void writeDataReports(Path runDir, Dataset<Row> checked, DataSummary data) {
        OutputTables.overwrite(checked.filter(col(ImageColumns.REJECT_REASON).isNotNull())
                        .select(col(ImageColumns.PATH), col(ImageColumns.BYTES).as("bytes"),
                                col(ImageColumns.REJECT_STAGE).as("stage"), col(ImageColumns.REJECT_REASON).as("reason"),
                                col(ImageColumns.REJECT_MESSAGE).as("message"))
                        .coalesce(1),
                new Path(runDir, OutputTables.REJECTS).toString());
        List<Row> counts = new ArrayList<>();
        data.goodBySplitAndLabel().forEach((split, byLabel) ->
                byLabel.forEach((label, n) -> counts.add(RowFactory.create(split, label, n))));
        OutputTables.writeRows(spark, counts, OutputTables.SPLIT_COUNTS_SCHEMA,
                new Path(runDir, OutputTables.SPLIT_COUNTS).toString());
    }

    private void logData(DataSummary data) {
        data.goodBySplitAndLabel().forEach((split, byLabel) -> LOG.info("{} images per class: {}", split, byLabel));
        LOG.info("{} images listed, {} rejected {}", data.total(), data.rejected(), data.rejectsByReason());
    }

    /** An order-independent hash of the usable images (relative path and size), saved in the manifest. */
    private static String fingerprint(Dataset<Row> checked) {
        Row r = checked.filter(col(ImageColumns.REJECT_REASON).isNull())
                .selectExpr("sum(cast(xxhash64(relative_path, bytes) as decimal(38,0))) as h", "count(*) as n")
                .first();
        return "xxhash64-sum:" + (r.isNullAt(0) ? "0" : r.get(0).toString()) + ":n=" + r.getLong(1);
    }

    static Map<String, Object> hyperParameters(TrainConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epochs", c.epochs());
        m.put("optimizer", c.optimizer().name());
        m.put("learning_rate", c.schedule().baseRate());
        m.put("lr_schedule", c.schedule().kind().name());
        m.put("warmup_epochs", c.schedule().warmupEpochs());
        m.put("momentum", c.momentum());
        m.put("weight_decay", c.weightDecay());
        m.put("batch_size_per_worker", c.master().batchSizePerWorker());
        m.put("averaging_frequency", c.master().averagingFrequencySetting());
        m.put("validation_fraction", c.validationFraction());
        m.put("seed", c.seed());
        return m;
    }

    /** Stable across --resume, unique per run name. */
    static String modelId(TrainConfig c) {
        return c.arch().cliName() + "-" + c.runName();
    }

}
