package org.sparktransfer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.sparktransfer.io.DataSetFiles;
import org.sparktransfer.model.FreezePolicy;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.ResNetFactory;
import org.sparktransfer.testing.LocalSparkPerClass;

/** Workers that reuse their JVM's network between rounds average to exactly what dl4j-spark's own workers do. */
class ReusingTrainingMasterTest {
    @RegisterExtension
    static final LocalSparkPerClass SPARK = new LocalSparkPerClass();

    @Test
    void reusedNetworksGiveTheParametersAndUpdaterStateOfFreshOnes() {
        ComputationGraph fresh = network();
        ComputationGraph reusing = fresh.clone();
        JavaRDD<DataSet> data = data();
        long reusedBefore = WorkerNetworks.reused();
        StepThreads.BY_NETWORK.clear();
        // Two fits of 2 workers x 3 rounds each, the learning rate changed in between as TrainingLoop does per epoch.
        for (int epoch = 0; epoch < 2; epoch++) {
            double lr = epoch == 0 ? 0.1 : 0.05;
            fresh.setLearningRate(lr);
            reusing.setLearningRate(lr);
            fresh = fit(fresh, builder(epoch).build(), data);
            ReusingTrainingMaster master = new ReusingTrainingMaster(builder(epoch));
            master.addHook(new StepThreads());
            reusing = fit(reusing, master, data);
        }
        // Each kept network took all its steps on its own thread (TrainerThread), whatever task thread ran its round.
        assertEquals(2, StepThreads.BY_NETWORK.size(), StepThreads.BY_NETWORK.toString());
        StepThreads.BY_NETWORK.values().forEach(threads -> {
            assertEquals(1, threads.size(), threads.toString());
            assertTrue(threads.iterator().next().startsWith("sparktransfer-trainer-"), threads.toString());
        });
        // Every round but the very first reuses the networks, also after the learning rate changed: 2 workers x 5 rounds.
        assertEquals(10, WorkerNetworks.reused() - reusedBefore);
        assertEquals(fresh.params(), reusing.params());
        assertEquals(fresh.getUpdater().getStateViewArray(), reusing.getUpdater().getStateViewArray());
        assertEquals(fresh.getConfiguration().getIterationCount(), reusing.getConfiguration().getIterationCount());
        assertTrue(fresh.getConfiguration().getIterationCount() > 0);
    }

    /**
     * TrainJob's path: minibatch files through {@code fitPaths}, where dl4j-spark's worker steps with DataSets (the
     * test above goes through MultiDataSets). Same result as dl4j-spark's workers, steps on the networks' own threads.
     */
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES) // a step routed to a busy trainer thread would wait forever
    void exportedMinibatchesTrainOnTheNetworksOwnThreadsToo(@TempDir java.nio.file.Path dir) {
        ComputationGraph fresh = network();
        ComputationGraph reusing = fresh.clone();
        MinibatchExport export = MinibatchExport.write(SPARK.jsc(), data(), new org.apache.hadoop.fs.Path(dir.toUri()), "paths");
        StepThreads.BY_NETWORK.clear();
        try {
            for (int epoch = 0; epoch < 2; epoch++) {
                fresh = fitPaths(fresh, builder(epoch).build(), export);
                ReusingTrainingMaster master = new ReusingTrainingMaster(builder(epoch));
                master.addHook(new StepThreads());
                reusing = fitPaths(reusing, master, export);
            }
        } finally {
            export.delete();
        }
        assertFalse(StepThreads.BY_NETWORK.isEmpty());
        StepThreads.BY_NETWORK.values().forEach(threads -> {
            assertEquals(1, threads.size(), threads.toString());
            assertTrue(threads.iterator().next().startsWith("sparktransfer-trainer-"), threads.toString());
        });
        assertEquals(fresh.params(), reusing.params());
        assertEquals(fresh.getUpdater().getStateViewArray(), reusing.getUpdater().getStateViewArray());
    }

    private static ComputationGraph fitPaths(ComputationGraph net, ParameterAveragingTrainingMaster master,
                                             MinibatchExport export) {
        SparkComputationGraph spark = new SparkComputationGraph(SPARK.jsc(), net, master);
        // One partition per worker (no repartitioning here): every round gives each task 2 minibatches, the
        // averaging frequency, which dl4j-spark's own worker also fits in full (aRoundsWorkerFitsEveryMinibatchOfItsShare).
        spark.fitPaths(export.paths(2), new DataSetFiles.Loader());
        return spark.getNetwork();
    }

    /**
     * A frozen ResNet: reusing workers fit the copy with the frozen batch norms folded, and the averaged result is
     * dl4j-spark's own workers' (float64, where the two agree to rounding; FrozenPrefixFoldingTest says why).
     */
    @Test
    void foldedFrozenPrefixGivesTheResultOfTheGraphAsBuilt() {
        ComputationGraph fresh = FreezePolicy.LAYER2.apply(ResNetFactory.build(ResNetArch.RESNET18, 3, 64, 7,
                new Nesterovs(0.01, 0.9))).convertDataType(DataType.DOUBLE);
        ComputationGraph reusing = fresh.clone();
        JavaRDD<DataSet> data = images();
        long foldedBefore = WorkerNetworks.folded();
        for (int epoch = 0; epoch < 2; epoch++) {
            fresh = fit(fresh, builder(epoch).build(), data);
            reusing = fit(reusing, new ReusingTrainingMaster(builder(epoch)), data);
        }
        assertEquals(12, WorkerNetworks.folded() - foldedBefore, "2 workers x 3 rounds x 2 epochs on the folded copy");
        assertTrue(reusing.getVertex("bn1") != null, "the averaged network keeps its layout");
        double params = fresh.params().sub(reusing.params()).amaxNumber().doubleValue() / fresh.params().amaxNumber().doubleValue();
        INDArray a = fresh.getUpdater().getStateViewArray(), b = reusing.getUpdater().getStateViewArray();
        double state = a.sub(b).amaxNumber().doubleValue() / a.amaxNumber().doubleValue();
        System.out.printf("folded frozen prefix vs dl4j-spark workers: params %.2e, updater state %.2e%n", params, state);
        assertTrue(params < 1e-9, "parameters " + params);
        assertTrue(state < 1e-9, "updater state " + state);
        assertTrue(a.amaxNumber().doubleValue() > 0);
    }

    /**
     * Five minibatches in partitions of 2 and 3, one worker averaging every 2: dl4j-spark makes 5 / 2 = 2 rounds and
     * deals each partition's minibatches over them, one each in turn, which balances the rounds within a partition
     * but not across partitions: one round gets 3 minibatches (2 + 1), repartitioned onto its one worker, and
     * dl4j-spark's own worker fits 2 of them and drops the third. Ours fit all 5. The same for every seed.
     */
    @Test
    void aRoundsWorkerFitsEveryMinibatchOfItsShare() {
        JavaRDD<DataSet> data = SPARK.jsc().parallelize(minibatches(5, 44), 2);
        for (int seed = 0; seed < 3; seed++) {
            ParameterAveragingTrainingMaster.Builder b = oneWorkerDirect(2, seed);
            ReusingTrainingMaster ours = new ReusingTrainingMaster(b);
            ours.addHook(new CountSteps());
            CountSteps.STEPS.set(0);
            fit(network(), ours, data);
            assertEquals(5, CountSteps.STEPS.get(), "seed " + seed + ": every minibatch fitted");

            ParameterAveragingTrainingMaster theirs = b.build();
            theirs.addHook(new CountSteps());
            CountSteps.STEPS.set(0);
            fit(network(), theirs, data);
            assertEquals(4, CountSteps.STEPS.get(), "seed " + seed + ": dl4j-spark's own workers drop one (else this test shows nothing)");
        }
    }

    /**
     * Four minibatches in four partitions of one, one worker averaging every minibatch: four rounds, and dl4j-spark
     * deals each partition's one minibatch to a round of its own drawing, so some round stays empty unless all four
     * draw differently, and dl4j-spark's master then fails with a NullPointerException on the round's missing result.
     * Ours deals from one partition there and fits all four, for every seed.
     */
    @Test
    void noRoundIsEmptyWhenEveryPartitionHoldsFewerMinibatchesThanThereAreRounds() {
        JavaRDD<DataSet> data = SPARK.jsc().parallelize(minibatches(4, 45), 4);
        int theirsFailed = 0;
        for (int seed = 0; seed < 4; seed++) {
            ParameterAveragingTrainingMaster.Builder b = oneWorkerDirect(1, seed);
            ReusingTrainingMaster ours = new ReusingTrainingMaster(b);
            ours.addHook(new CountSteps());
            CountSteps.STEPS.set(0);
            ComputationGraph before = network();
            ComputationGraph after = fit(before.clone(), ours, data);
            assertEquals(4, CountSteps.STEPS.get(), "seed " + seed + ": every minibatch fitted, in four rounds");
            assertFalse(before.params().equals(after.params()), "seed " + seed + ": the averaged network moved");
            try {
                fit(network(), b.build(), data);
            } catch (NullPointerException e) {
                theirsFailed++;
            }
        }
        assertTrue(theirsFailed > 0, "dl4j-spark's own master left a round empty for some seed (else this test shows nothing)");
    }

    @Test
    void aRoundCanBeEmptyOnlyWhenNoPartitionHoldsOneMinibatchPerRound() {
        // dl4j-spark's count of rounds: minibatches over minibatches per round, rounded down, at least one.
        assertEquals(1, ReusingTrainingMaster.rounds(3, 4));
        assertEquals(2, ReusingTrainingMaster.rounds(5, 2));
        assertEquals(4, ReusingTrainingMaster.rounds(4, 1));
        assertTrue(ReusingTrainingMaster.someRoundCanBeEmpty(List.of(1L, 1L, 1L, 1L), 4));
        assertFalse(ReusingTrainingMaster.someRoundCanBeEmpty(List.of(0L, 4L), 4));
        assertFalse(ReusingTrainingMaster.someRoundCanBeEmpty(List.of(2L, 3L), 2));
        assertFalse(ReusingTrainingMaster.someRoundCanBeEmpty(List.of(0L, 1L), 1), "one round gets everything");
    }

    /** One worker fitting RDD minibatches of 4 (Direct), repartitioned before every round, averaging every {@code frequency}. */
    private static ParameterAveragingTrainingMaster.Builder oneWorkerDirect(int frequency, long seed) {
        return new ParameterAveragingTrainingMaster.Builder(1, 4)
                .batchSizePerWorker(4).averagingFrequency(frequency).workerPrefetchNumBatches(0).saveUpdater(true)
                .repartionData(Repartition.Always).rddTrainingApproach(RDDTrainingApproach.Direct)
                .rngSeed(seed).collectTrainingStats(false);
    }

    /** {@code count} minibatches of 4 rows of 6 uniform features, labels cycling through 3 classes. */
    private static List<DataSet> minibatches(int count, long seed) {
        Nd4j.getRandom().setSeed(seed);
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            var labels = Nd4j.zeros(DataType.FLOAT, 4, 3);
            for (int r = 0; r < 4; r++) {
                labels.putScalar(r, (i + r) % 3, 1.0);
            }
            batches.add(new DataSet(Nd4j.rand(DataType.FLOAT, 4, 6), labels));
        }
        return batches;
    }

    /** Counts the steps of every network in this JVM (local mode). */
    static final class CountSteps implements TrainingHook {
        private static final long serialVersionUID = 1L;
        static final java.util.concurrent.atomic.AtomicInteger STEPS = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public void preUpdate(org.nd4j.linalg.dataset.api.DataSet minibatch, Model model) {
            STEPS.incrementAndGet();
        }

        @Override
        public void postUpdate(org.nd4j.linalg.dataset.api.DataSet minibatch, Model model) {
        }

        @Override
        public void preUpdate(MultiDataSet minibatch, Model model) {
            STEPS.incrementAndGet();
        }

        @Override
        public void postUpdate(MultiDataSet minibatch, Model model) {
        }
    }

    /** Records the threads each network's steps ran on (local mode: the workers share this JVM). */
    static final class StepThreads implements TrainingHook {
        private static final long serialVersionUID = 1L;
        static final Map<Integer, Set<String>> BY_NETWORK = new ConcurrentHashMap<>();

        private static void record(Model model) {
            BY_NETWORK.computeIfAbsent(System.identityHashCode(model), k -> ConcurrentHashMap.newKeySet())
                    .add(Thread.currentThread().getName());
        }

        @Override
        public void preUpdate(org.nd4j.linalg.dataset.api.DataSet minibatch, Model model) {
            record(model);
        }

        @Override
        public void postUpdate(org.nd4j.linalg.dataset.api.DataSet minibatch, Model model) {
            record(model);
        }

        @Override
        public void preUpdate(MultiDataSet minibatch, Model model) {
            record(model);
        }

        @Override
        public void postUpdate(MultiDataSet minibatch, Model model) {
            record(model);
        }
    }

    private static ComputationGraph fit(ComputationGraph net, ParameterAveragingTrainingMaster master, JavaRDD<DataSet> data) {
        SparkComputationGraph spark = new SparkComputationGraph(SPARK.jsc(), net, master);
        spark.fit(data);
        return spark.getNetwork();
    }

    private static ParameterAveragingTrainingMaster.Builder builder(int epoch) {
        return new ParameterAveragingTrainingMaster.Builder(2, 4)
                .batchSizePerWorker(4)
                .averagingFrequency(2)
                .workerPrefetchNumBatches(0)
                .saveUpdater(true)
                .repartionData(Repartition.Never)
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .rngSeed(1234 + epoch)
                .collectTrainingStats(false);
    }

    private static ComputationGraph network() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(5).dataType(DataType.FLOAT).updater(new Nesterovs(0.1, 0.9))
                .graphBuilder().addInputs("in")
                .addLayer("h", new DenseLayer.Builder().nIn(6).nOut(10).activation(Activation.TANH).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(10).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "h")
                .setOutputs("out").build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    /** 12 minibatches of 4 rows of 6 uniform features in 2 partitions. */
    private static JavaRDD<DataSet> data() {
        return batches(42, DataType.FLOAT, () -> Nd4j.rand(DataType.FLOAT, 4, 6));
    }

    /** 12 minibatches of 4 images of 64 px in 2 partitions, float64. */
    private static JavaRDD<DataSet> images() {
        return batches(43, DataType.DOUBLE, () -> Nd4j.randn(DataType.DOUBLE, 4, 3, 64, 64));
    }

    /** 12 minibatches of 4 (3 rounds of 2 minibatches per worker), labels cycling through 3 classes. */
    private static JavaRDD<DataSet> batches(long seed, DataType type, Supplier<INDArray> features) {
        Nd4j.getRandom().setSeed(seed);
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            var labels = Nd4j.zeros(type, 4, 3);
            for (int r = 0; r < 4; r++) {
                labels.putScalar(r, (i + r) % 3, 1.0);
            }
            batches.add(new DataSet(features.get(), labels));
        }
        return SPARK.jsc().parallelize(batches, 2);
    }
}
