package org.sparktransfer.train;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.SerializableConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.config.TrainConfig;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.data.EpochOrder;
import org.sparktransfer.data.ImageColumns;
import org.sparktransfer.data.TensorBatcher;
import org.sparktransfer.inference.ModelBatches;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.Storage;
import org.sparktransfer.model.ResNetFactory;

/**
 * Feature extraction done once: with the whole backbone frozen, every epoch would run the same
 * forward pass through it again. Instead each image goes through the backbone once (evaluation
 * preprocessing), the pooled features are stored as Parquet under {@code <run>/features/}, and
 * every epoch trains only the head on them. The cache is keyed by the run: a resumed run reuses it.
 *
 * <p>The trade-off: no random augmentation for the head, which is what feature extraction
 * usually means (and what the issue asks for); use {@code --no-cache-features} to keep it.
 */
final class FeatureCache {
    private static final Logger LOG = LoggerFactory.getLogger(FeatureCache.class);
    static final String DIR = "features";
    static final String FEATURES = "features";

    static final StructType SCHEMA = new StructType()
            .add(ImageColumns.PATH, DataTypes.StringType, false)
            .add(ImageColumns.LABEL_INDEX, DataTypes.IntegerType, false)
            .add(ImageColumns.SPLIT, DataTypes.StringType, false)
            .add(FEATURES, new ArrayType(DataTypes.FloatType, false), false)
            // Last, so that a cache written before it had this column still reads (its rows key by the path).
            .add(ImageColumns.RELATIVE_PATH, DataTypes.StringType, false);

    private FeatureCache() {}

    /** The epoch data for the head, building the cache unless a complete one is there. */
    static EpochData prepare(SparkSession spark, Storage storage, Path runDir, TrainConfig config, ClassIndex classes,
                             ComputationGraph network, Dataset<Row> goodRows) throws IOException {
        Path dir = new Path(runDir, DIR);
        Path table = new Path(dir, "table");
        Path done = new Path(dir, "_SUCCESS");
        if (!storage.exists(done)) {
            Path backbone = new Path(dir, "backbone");
            new ModelArtifact(network, backboneManifest(config, classes)).save(storage, backbone, false);
            TensorBatcher batcher = new TensorBatcher(config.preprocessing(), TensorBatcher.Mode.EVAL, config.seed(), 0,
                    config.master().batchSizePerWorker(), config.maxPixels());
            spark.sparkContext().setJobDescription("feature cache: backbone forward pass, once per image");
            long t0 = System.nanoTime();
            goodRows.select(col(ImageColumns.PATH), col(ImageColumns.LABEL_INDEX), col(ImageColumns.CONTENT), col(ImageColumns.SPLIT),
                            col(ImageColumns.RELATIVE_PATH))
                    .mapPartitions(new Extract(backbone.toString(), batcher, new SerializableConfiguration(storage.conf())),
                            Encoders.row(SCHEMA))
                    .write().mode(SaveMode.Overwrite).parquet(table.toString());
            storage.writeString(done, "");
            LOG.info("Feature cache written to {} in {} s", table, String.format("%.1f", (System.nanoTime() - t0) / 1e9));
        } else {
            LOG.info("Reusing the feature cache at {}", table);
        }
        Dataset<Row> features = spark.read().parquet(table.toString());
        int batch = config.master().batchSizePerWorker();
        int nc = classes.size();
        Dataset<Row> trainRows = features.filter(col(ImageColumns.SPLIT).equalTo("train"));
        // Spark packs the cache's part files into partitions in the order the file system lists them, and their
        // names change with every write, so which features share a partition (and a minibatch) would vary from
        // one run to the next. Hashed by the image's key (its path under the data root, as the images' own epochs
        // use), a seeded run trains on the same minibatches every time, wherever the data and the run lie.
        boolean relative = Arrays.asList(features.columns()).contains(ImageColumns.RELATIVE_PATH);
        JavaRDD<Row> train = trainRows.repartition(Math.max(1, trainRows.rdd().getNumPartitions()),
                        col(relative ? ImageColumns.RELATIVE_PATH : ImageColumns.PATH))
                .javaRDD().persist(StorageLevel.MEMORY_AND_DISK_SER());
        JavaRDD<Row> val = features.filter(col(ImageColumns.SPLIT).equalTo("validation")).javaRDD().persist(StorageLevel.MEMORY_AND_DISK_SER());
        return new EpochData() {
            @Override
            public JavaRDD<DataSet> train(int epoch) {
                long seed = config.seed();
                // Each epoch other minibatches, as for images (keyed by the path: the cache belongs to this run's root).
                return train.mapPartitions(it -> batches(EpochOrder.shuffle(it, FeatureCache::imageKey, seed, epoch), batch, nc));
            }

            @Override
            public JavaRDD<DataSet> validation() {
                return val.mapPartitions(it -> batches(it, batch, nc));
            }

            @Override
            public ComputationGraph toModel(ComputationGraph head) {
                ComputationGraph full = network.clone();
                full.getLayer(ResNetFactory.FC).setParam("W", head.getLayer(ResNetFactory.FC).getParam("W").dup());
                full.getLayer(ResNetFactory.FC).setParam("b", head.getLayer(ResNetFactory.FC).getParam("b").dup());
                return full;
            }
        };
    }

    /** A graph of the head alone (same layer, same optimizer settings), starting from the network's head. */
    static ComputationGraph headOf(ComputationGraph network, TrainConfig config, int featureDim, int numClasses) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(config.seed())
                .updater(config.optimizer().updater(config.schedule().rate(0), config.momentum()))
                .weightDecay(config.weightDecay(), true)
                .graphBuilder()
                .addInputs(FEATURES)
                .setInputTypes(InputType.feedForward(featureDim))
                .addLayer(ResNetFactory.FC, ResNetFactory.head(featureDim, numClasses), FEATURES)
                .setOutputs(ResNetFactory.FC)
                .build();
        ComputationGraph head = new ComputationGraph(conf);
        head.init();
        head.getLayer(ResNetFactory.FC).setParam("W", network.getLayer(ResNetFactory.FC).getParam("W").dup());
        head.getLayer(ResNetFactory.FC).setParam("b", network.getLayer(ResNetFactory.FC).getParam("b").dup());
        return head;
    }

    private static ModelManifest backboneManifest(TrainConfig config, ClassIndex classes) {
        var pre = config.preprocessing();
        return new ModelManifest(ModelManifest.FORMAT_VERSION, TrainPipeline.modelId(config) + "-backbone",
                java.time.Instant.now().toString(), org.sparktransfer.jobs.ProjectVersion.get(), config.arch().cliName(),
                classes.names(), pre.cropSize(), pre.resizeSize(), pre.mean(), pre.std(), config.freeze().cliName(),
                "feature cache", Map.of(), null, Map.of());
    }

    static Iterator<DataSet> batches(Iterator<Row> rows, int batch, int numClasses) {
        List<DataSet> out = new ArrayList<>();
        while (rows.hasNext()) {
            List<Row> chunk = new ArrayList<>(batch);
            while (rows.hasNext() && chunk.size() < batch) {
                chunk.add(rows.next());
            }
            int d = chunk.get(0).getList(3).size();
            float[] x = new float[chunk.size() * d];
            INDArray y = Nd4j.zeros(DataType.FLOAT, chunk.size(), numClasses);
            for (int i = 0; i < chunk.size(); i++) {
                List<Float> f = chunk.get(i).getList(3);
                for (int j = 0; j < d; j++) {
                    x[i * d + j] = f.get(j);
                }
                y.putScalar(i, chunk.get(i).getInt(1), 1f);
            }
            out.add(new DataSet(Nd4j.create(x, new long[] {chunk.size(), d}, 'c'), y));
        }
        return out.iterator();
    }

    private static final int KEY = SCHEMA.fieldIndex(ImageColumns.RELATIVE_PATH);

    /** What orders a cached image in an epoch: its relative path, or its path in a cache written without one. */
    static String imageKey(Row r) {
        return r.size() > KEY ? r.getString(KEY) : r.getString(0);
    }

    /**
     * Executor side: rows (path, label_index, content, split, relative_path) to (path, label_index, split, features,
     * relative_path).
     */
    static final class Extract implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final String backboneDir;
        private final TensorBatcher batcher;
        private final SerializableConfiguration conf;

        Extract(String backboneDir, TensorBatcher batcher, SerializableConfiguration conf) {
            this.backboneDir = backboneDir;
            this.batcher = batcher;
            this.conf = conf;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            return ModelBatches.run(rows, batcher, backboneDir, conf.value(), (net, b, sources, out) -> {
                int pool = net.getVertex(ResNetFactory.AVGPOOL).getVertexIndex();
                INDArray pooled = net.feedForward(new INDArray[] {b.features()}, pool, false, true).get(ResNetFactory.AVGPOOL);
                // [N, C] from ResNetFactory's global pooling; [N, C, 1, 1] from a zoo graph's pooling layer.
                float[][] f = pooled.reshape(pooled.size(0), pooled.length() / pooled.size(0)).toFloatMatrix();
                for (int i = 0; i < b.size(); i++) {
                    Row src = sources.get(i);
                    out.add(RowFactory.create(src.getString(0), src.getInt(1), src.getString(3), f[i], src.getString(4)));
                }
            });
        }
    }
}
