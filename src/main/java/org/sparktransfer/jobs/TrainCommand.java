package org.sparktransfer.jobs;

import java.io.IOException;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.sparktransfer.config.TrainConfig;
import org.sparktransfer.config.TrainingMasterSettings;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.data.ImageCatalog;
import org.sparktransfer.data.ImageSource;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.io.SparkSessions;
import org.sparktransfer.io.Storage;
import org.sparktransfer.model.FreezePolicy;
import org.sparktransfer.model.ModelSummary;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.train.InitialNetwork;
import org.sparktransfer.train.LearningRateSchedule;
import org.sparktransfer.train.OptimizerKind;
import org.sparktransfer.train.TrainPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "TrainJob", mixinStandardHelpOptions = false, sortOptions = false,
        versionProvider = ProjectVersion.class,
        description = "Fine-tunes a pretrained ResNet on labelled images with parameter-averaged Spark training.",
        footer = "%nSpark settings (master, executors, memory) come from spark-submit.")
public final class TrainCommand extends JobCommand {

    @Mixin
    ImageInputOptions input;

    @Option(names = "--output", required = true, paramLabel = "URI",
            description = "Base directory of training runs; the run is written to <output>/<run-name>.")
    String output;

    @Option(names = "--run-name", paramLabel = "NAME", description = "Run directory name (default: <arch>-<yyyyMMdd-HHmmss>).")
    String runName;

    @Option(names = "--arch", defaultValue = "resnet18", paramLabel = "ARCH",
            description = "resnet18, resnet34 or resnet50 (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--weights", paramLabel = "URI",
            description = "Pretrained weights: torchvision/timm .safetensors, a DL4J model zip, or a model "
                    + "artifact directory of an earlier run. Default: none (random initialisation, said so in the log).")
    String weights;

    @Option(names = "--freeze", defaultValue = "layer2", paramLabel = "STAGE",
            description = "Freeze up to and including: none, stem, layer1, layer2, layer3, layer4, backbone (default: ${DEFAULT-VALUE}).")
    String freeze;

    @Option(names = "--image-size", defaultValue = "224", description = "Crop size fed to the network (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--resize-size", defaultValue = "256", description = "Shorter side before the centre crop at evaluation (default: ${DEFAULT-VALUE}).")
    int resizeSize;

    @Option(names = "--crop-scale", defaultValue = "0.08,1.0", split = ",", paramLabel = "MIN,MAX",
            description = "RandomResizedCrop area range as a share of the image; raise MIN for small images (default: ${DEFAULT-VALUE}).")
    List<Double> cropScale;

    @Option(names = "--epochs", defaultValue = "5", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "16", description = "Minibatch size per worker (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--workers", defaultValue = "0", description = "Parallel workers; 0 = the tasks that run at once: default parallelism / spark.task.cpus (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--averaging-frequency", defaultValue = "0",
            description = "Minibatches each worker fits between parameter averagings; 0 = auto: one round per epoch with a single worker "
                    + "in local mode (averaging one worker changes nothing), else 5 (default: ${DEFAULT-VALUE}).")
    int averagingFrequency;

    @Option(names = "--prefetch", defaultValue = "2", description = "Minibatches prefetched per worker (default: ${DEFAULT-VALUE}).")
    int prefetch;

    @Option(names = "--repartition", defaultValue = "ALWAYS",
            description = "When to repartition before fitting: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    TrainingMasterSettings.Repartition repartition;

    @Option(names = "--repartition-strategy", defaultValue = "BALANCED",
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    TrainingMasterSettings.RepartitionStrategy repartitionStrategy;

    @Option(names = "--rdd-approach", defaultValue = "EXPORT",
            description = "${COMPLETION-CANDIDATES}; EXPORT needs a shared file system for multi-node masters (default: ${DEFAULT-VALUE}).")
    TrainingMasterSettings.RddApproach rddApproach;

    @Option(names = "--storage-level", defaultValue = "MEMORY_AND_DISK_SER",
            description = "Storage level of the cached image rows and minibatches (default: ${DEFAULT-VALUE}).")
    String storageLevel;

    @Option(names = "--average-updaters", defaultValue = "true", negatable = true, fallbackValue = "true",
            description = "Average optimizer state with the parameters (default: ${DEFAULT-VALUE}).")
    boolean averageUpdaters;

    @Option(names = "--export-dir", paramLabel = "URI",
            description = "Where EXPORT writes minibatches (default: <run>/tmp-export).")
    String exportDir;

    @Option(names = "--optimizer", defaultValue = "SGD", description = "${COMPLETION-CANDIDATES}; SGD uses Nesterov momentum (default: ${DEFAULT-VALUE}).")
    OptimizerKind optimizer;

    @Option(names = "--lr", defaultValue = "0.01", description = "Base learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default: ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--weight-decay", defaultValue = "1e-4", description = "Weight decay of trainable weights (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--lr-schedule", defaultValue = "COSINE", description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    LearningRateSchedule.Kind schedule;

    @Option(names = "--warmup-epochs", defaultValue = "0", description = "Linear warm-up epochs (default: ${DEFAULT-VALUE}).")
    int warmupEpochs;

    @Option(names = "--lr-step-epochs", defaultValue = "3", description = "STEP schedule: epochs per step (default: ${DEFAULT-VALUE}).")
    int stepEpochs;

    @Option(names = "--lr-gamma", defaultValue = "0.1", description = "STEP schedule: factor per step (default: ${DEFAULT-VALUE}).")
    double gamma;

    @Option(names = "--val-fraction", defaultValue = "0.2", description = "Share of images held out for validation, by path hash (default: ${DEFAULT-VALUE}).")
    double validationFraction;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the split, initialisation and augmentation (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-reject-fraction", defaultValue = "0.05",
            description = "Fail when more than this share of images is rejected (default: ${DEFAULT-VALUE}).")
    double maxRejectFraction;

    @Option(names = "--early-stopping-patience", defaultValue = "0",
            description = "Stop after this many epochs without a better validation metric; 0 = off (default: ${DEFAULT-VALUE}).")
    int patience;

    @Option(names = "--early-stopping-metric", defaultValue = "ACCURACY",
            description = "Validation metric that picks the best epoch and drives early stopping: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    TrainConfig.StoppingMetric stoppingMetric;

    @Option(names = "--class-weights", defaultValue = "NONE",
            description = "Loss weights per class for imbalanced data: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    TrainConfig.ClassWeights classWeights;

    @Option(names = "--cache-features", defaultValue = "true", negatable = true, fallbackValue = "true",
            description = "With --freeze backbone: run the backbone once per image and train the head on cached features (default: ${DEFAULT-VALUE}).")
    boolean cacheFeatures;

    @Option(names = "--resume", description = "Continue the run from its latest checkpoint.")
    boolean resume;

    @Option(names = "--summary", description = "Print the model summary (layers, shapes, parameters) and exit without training.")
    boolean summary;

    private TrainConfig config;

    @Override
    protected void validate() {
        ResNetArch a;
        FreezePolicy f;
        try {
            a = ResNetArch.fromCliName(arch);
            f = FreezePolicy.fromCliName(freeze);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        String name = runName != null ? runName
                : a.cliName() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        ImageSource source = input.imageSource();
        try {
            require(cropScale.size() == 2, "--crop-scale takes MIN,MAX, got " + cropScale);
            Preprocessing pre = Preprocessing.builder().resizeSize(resizeSize).cropSize(imageSize)
                    .scale(cropScale.get(0), cropScale.get(1)).build();
            TrainingMasterSettings tm = new TrainingMasterSettings(workers, batchSize, averagingFrequency, prefetch,
                    repartition, repartitionStrategy, rddApproach, storageLevel, averageUpdaters, exportDir);
            LearningRateSchedule lr = new LearningRateSchedule(schedule, learningRate, warmupEpochs, epochs, stepEpochs, gamma);
            config = new TrainConfig(source, output, name, a, weights, f, pre, epochs, optimizer, momentum,
                    weightDecay, lr, tm, validationFraction, seed, maxRejectFraction, input.maxPixels, patience, stoppingMetric, classWeights, cacheFeatures, resume);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    TrainConfig config() {
        return config;
    }

    /**
     * The network training would start from, without training: the data's classes listed as training lists
     * them (an ImageFolder without Spark; a manifest's labels with the job's Spark session), the head sized to
     * them, the weights (if given) loaded and the freeze policy applied.
     */
    private void printSummary() throws IOException {
        ClassIndex classes;
        Storage storage;
        if (config.images().kind() == ImageSource.Kind.FOLDER) {
            storage = Storage.fromSparkConf();
            classes = ImageCatalog.classes(config.images(), storage, null);
        } else {
            try (SparkSessions.Handle session = SparkSessions.open("TrainJob summary " + config.runName())) {
                storage = new Storage(session.spark().sparkContext().hadoopConfiguration());
                classes = ImageCatalog.classes(config.images(), storage, session::spark);
            }
        }
        System.out.println(classes.size() + " classes: " + String.join(", ", classes.names()));
        ComputationGraph net = InitialNetwork.create(config, classes.size(), storage).network();
        System.out.println(ModelSummary.render(net, config.preprocessing().cropSize()));
    }

    @Override
    protected ExitCode execute() throws Exception {
        if (summary) {
            printSummary();
            return ExitCode.OK;
        }
        try (SparkSessions.Handle session = SparkSessions.open("TrainJob " + config.runName())) {
            new TrainPipeline(session.spark(), config).run();
            return ExitCode.OK;
        }
    }
}
