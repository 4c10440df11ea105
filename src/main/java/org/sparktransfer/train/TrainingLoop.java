package org.sparktransfer.train;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.RepartitionStrategy;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.config.TrainConfig;
import org.sparktransfer.config.TrainingMasterSettings;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.SparkSessions;
import org.sparktransfer.jobs.ProjectVersion;

/**
 * Epoch after epoch of parameter-averaged fitting, distributed validation, checkpoint, and early
 * stopping. A fresh training master per epoch, seeded from (seed, epoch), makes an epoch's
 * shuffling depend only on where the run stands, so a resumed run repeats an uninterrupted one.
 */
final class TrainingLoop {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);

    private final JavaSparkContext jsc;
    private final TrainConfig config;
    private final ClassIndex classes;
    private final String weightsDescription;
    private final String fingerprint;
    private final long trainCount;
    private final org.apache.hadoop.fs.Path runDir;
    private int loggedPerRound;

    TrainingLoop(org.apache.hadoop.fs.Path runDir, JavaSparkContext jsc, TrainConfig config, ClassIndex classes, String weightsDescription,
                 String fingerprint, long trainCount) {
        this.runDir = runDir;
        this.jsc = jsc;
        this.config = config;
        this.classes = classes;
        this.weightsDescription = weightsDescription;
        this.fingerprint = fingerprint;
        this.trainCount = trainCount;
    }

    CheckpointStore.LoopState run(ComputationGraph net, CheckpointStore.LoopState state, EpochData data,
                                  long valCount, CheckpointStore checkpoints) throws IOException {
        List<EpochResult> history = new ArrayList<>(state.history());
        double bestMetric = state.bestMetric();
        int bestEpoch = state.bestEpoch();
        int stale = state.epochsWithoutImprovement();
        int epochs = config.epochs();
        long started = System.nanoTime();
        int startEpoch = state.completedEpochs();
        int nc = classes.size();
        for (int epoch = startEpoch; epoch < epochs; epoch++) {
            int shown = epoch + 1;
            double lr = config.schedule().rate(epoch);
            net.setLearningRate(lr);
            jsc.setJobDescription(String.format("epoch %d/%d: train (%d images)", shown, epochs, trainCount));
            long broadcasts = RoundBroadcasts.mark(jsc);
            long t0 = System.nanoTime();
            SparkComputationGraph sparkNet;
            int workers = workers();
            if (config.master().rddApproach() == TrainingMasterSettings.RddApproach.EXPORT) {
                MinibatchExport export = data.exportTrain(jsc, epoch, exportRoot(), "epoch-" + shown);
                try {
                    int perRound = minibatchesPerRound(workers, export.minibatches());
                    // An epoch that is one round goes to dl4j-spark already cut into one equal slice per worker (the
                    // driver holds the list of files): its balanced repartitioning would make the same slices with
                    // three small jobs and a shuffle.
                    boolean oneRound = export.minibatches() <= (long) workers * perRound;
                    sparkNet = new SparkComputationGraph(jsc, net, trainingMaster(epoch, workers, perRound, oneRound));
                    sparkNet.fitPaths(oneRound ? export.paths(workers) : export.paths(), data.trainLoader(epoch));
                } finally {
                    export.delete();
                }
            } else {
                JavaRDD<DataSet> train = data.train(epoch);
                int perRound = minibatchesPerRound(workers, AveragingRounds.minibatchBound(trainCount,
                        config.master().batchSizePerWorker(), train.getNumPartitions()));
                sparkNet = new SparkComputationGraph(jsc, net, trainingMaster(epoch, workers, perRound, false));
                sparkNet.fit(train);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double trainLoss = sparkNet.getScore();
            net = sparkNet.getNetwork();
            // Without this every averaging round's network copy would stay on the driver (the cleaner is off).
            int released = RoundBroadcasts.release(jsc, broadcasts);
            LOG.debug("epoch {}: released {} averaging-round broadcasts", shown, released);

            Double valLoss = null;
            Double valAccuracy = null;
            Map<String, Double> recall = new TreeMap<>();
            if (valCount > 0) {
                jsc.setJobDescription(String.format("epoch %d/%d: validate (%d images)", shown, epochs, valCount));
                Validation.Result v = Validation.run(jsc, net, data.validation(), classes.names());
                Evaluation eval = v.evaluation();
                valLoss = v.meanLoss();
                valAccuracy = eval.accuracy();
                for (int c = 0; c < nc; c++) {
                    recall.put(classes.name(c), eval.recall(c, Double.NaN));
                }
            }
            // Higher is better: accuracy, or minus the loss. Without validation data the latest epoch wins:
            // dl4j-spark's score is the last averaged minibatch's, too noisy to pick an epoch by.
            double metric = valAccuracy == null ? shown
                    : config.earlyStoppingMetric() == TrainConfig.StoppingMetric.ACCURACY ? valAccuracy : -valLoss;
            boolean best = bestEpoch < 0 || metric > bestMetric;
            if (best) {
                bestMetric = metric;
                bestEpoch = shown;
                stale = 0;
            } else {
                stale++;
            }
            EpochResult result = new EpochResult(shown, trainLoss, valLoss, valAccuracy, lr, trainCount,
                    trainCount / seconds, seconds, best);
            history.add(result);
            CheckpointStore.LoopState next = new CheckpointStore.LoopState(shown, history, bestMetric, bestEpoch, stale);
            jsc.setJobDescription(String.format("epoch %d/%d: checkpoint", shown, epochs));
            ModelManifest manifest = manifest(result, recall);
            if (best) {
                checkpoints.saveBest(new ModelArtifact(data.toModel(net), manifest));
            }
            checkpoints.save(new ModelArtifact(net, manifest), next);

            double elapsed = (System.nanoTime() - started) / 1e9;
            double eta = elapsed / (shown - startEpoch) * (epochs - shown);
            LOG.info(String.format("epoch %d/%d  train_loss %.4f  val_loss %s  val_acc %s  lr %.5f  %.1f img/s  %.0fs  ETA %.0fs%s",
                    shown, epochs, trainLoss, fmt(valLoss), fmt(valAccuracy), lr, trainCount / seconds, seconds, eta,
                    best ? "  (best)" : ""));
            if (!recall.isEmpty()) {
                LOG.info("epoch {}/{} validation recall per class: {}", shown, epochs, recall);
            }
            state = next;
            if (config.earlyStoppingPatience() > 0 && stale >= config.earlyStoppingPatience()) {
                LOG.info("Early stopping after epoch {}: no better validation {} for {} epochs", shown,
                        config.earlyStoppingMetric().name().toLowerCase(java.util.Locale.ROOT), stale);
                break;
            }
        }
        jsc.setJobDescription(null);
        // In local mode the workers' kept network lives in this JVM: not needed once training is over.
        WorkerNetworks.clear();
        return state;
    }

    private ModelManifest manifest(EpochResult e, Map<String, Double> recall) {
        Map<String, Double> metrics = new TreeMap<>();
        metrics.put("epoch", (double) e.epoch());
        metrics.put("train_loss", e.trainLoss());
        if (e.valAccuracy() != null) {
            metrics.put("val_accuracy", e.valAccuracy());
            metrics.put("val_loss", e.valLoss());
        }
        recall.forEach((k, v) -> metrics.put("val_recall." + k, v));
        var pre = config.preprocessing();
        return new ModelManifest(ModelManifest.FORMAT_VERSION, TrainPipeline.modelId(config), Instant.now().toString(),
                ProjectVersion.get(), config.arch().cliName(), classes.names(), pre.cropSize(), pre.resizeSize(),
                pre.mean(), pre.std(), config.freeze().cliName(), weightsDescription,
                TrainPipeline.hyperParameters(config), fingerprint, metrics);
    }

    /** By default one worker per task slot: more workers than slots would run one after another, each averaging in fewer minibatches. */
    private int workers() {
        int w = config.master().workers();
        return w > 0 ? w : SparkSessions.taskSlots(jsc.sc());
    }

    /** @param epochMinibatches the epoch's minibatches, or an upper bound (see {@link AveragingRounds}) */
    private int minibatchesPerRound(int workers, long epochMinibatches) {
        TrainingMasterSettings s = config.master();
        int perRound = AveragingRounds.minibatchesPerRound(s.averagingFrequency(), workers, jsc.master(), epochMinibatches);
        if (perRound != loggedPerRound) {
            loggedPerRound = perRound;
            LOG.info("averaging every {} minibatches per worker ({} worker{}, --averaging-frequency {})", perRound,
                    workers, workers == 1 ? "" : "s", s.averagingFrequencySetting());
        }
        return perRound;
    }

    /** @param balanced the data comes in one equal slice per worker already: no repartitioning */
    private ParameterAveragingTrainingMaster trainingMaster(int epoch, int workers, int perRound, boolean balanced) {
        TrainingMasterSettings s = config.master();
        ParameterAveragingTrainingMaster.Builder b = new ParameterAveragingTrainingMaster.Builder(workers, s.batchSizePerWorker())
                .batchSizePerWorker(s.batchSizePerWorker())
                .averagingFrequency(perRound)
                .workerPrefetchNumBatches(s.prefetchBatches())
                .saveUpdater(s.averageUpdaters())
                .repartionData(balanced ? Repartition.Never : switch (s.repartition()) {
                    case ALWAYS -> Repartition.Always;
                    case NEVER -> Repartition.Never;
                    case WHEN_WORKERS_DIFFER -> Repartition.NumPartitionsWorkersDiffers;
                })
                .repartitionStrategy(switch (s.repartitionStrategy()) {
                    case BALANCED -> RepartitionStrategy.Balanced;
                    case APPROXIMATE_BALANCED -> RepartitionStrategy.ApproximateBalanced;
                    case SPARK_DEFAULT -> RepartitionStrategy.SparkDefault;
                })
                // EXPORT: the loop exports each epoch itself (MinibatchExport) and fits the paths; dl4j-spark's
                // own export is never reached.
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .storageLevel(StorageLevel.fromString(s.storageLevel()))
                .rngSeed(config.seed() * 1_000_003L + epoch)
                .collectTrainingStats(false);
        ParameterAveragingTrainingMaster master = ReusingTrainingMaster.enabled() ? new ReusingTrainingMaster(b) : b.build();
        return org.sparktransfer.runtime.RoundMemory.install(master); // frees each finished round's arrays
    }

    /** Where epochs' minibatches are exported: on the run's own file system by default, shared by all executors
     *  when the output is on HDFS/S3. */
    private org.apache.hadoop.fs.Path exportRoot() {
        String dir = config.master().exportDirectory();
        return dir != null ? new org.apache.hadoop.fs.Path(dir) : new org.apache.hadoop.fs.Path(runDir, "tmp-export");
    }

    private static String fmt(Double d) {
        return d == null ? "n/a" : String.format("%.4f", d);
    }
}
