package org.sparktransfer.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.Storage;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.SafetensorsReader;
import org.sparktransfer.model.WeightSources;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Turns a complete torchvision classifier (its own fc included) and its class names into a model
 * artifact that PredictJob scores with as it is. No Spark is needed: this runs on the driver only.
 */
@Command(name = "ImportModel", sortOptions = false, versionProvider = ProjectVersion.class,
        description = "Imports a torchvision/timm classifier (.safetensors or DL4J zip) as a model artifact.")
public final class ImportModelCommand extends JobCommand {

    @Option(names = "--weights", required = true, paramLabel = "URI",
            description = "The classifier's state dict (.safetensors) or a DL4J ComputationGraph zip; file://, hdfs://, s3a:// or http(s).")
    String weights;

    @Option(names = "--arch", required = true, paramLabel = "ARCH", description = "resnet18, resnet34 or resnet50.")
    String arch;

    @Option(names = "--classes", required = true, paramLabel = "FILE",
            description = "Class names, one per line, in the classifier's output order.")
    String classes;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Model artifact directory to create.")
    String output;

    @Option(names = "--image-size", defaultValue = "224", description = "Input crop size (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--resize-size", defaultValue = "256", description = "Shorter side before the centre crop (default: ${DEFAULT-VALUE}).")
    int resizeSize;

    @Option(names = "--model-id", paramLabel = "ID", description = "Model id (default: imported-<arch>-<weights file name>).")
    String modelId;

    private ResNetArch resnet;
    private Preprocessing preprocessing;

    @Override
    protected void validate() {
        try {
            resnet = ResNetArch.fromCliName(arch);
            preprocessing = Preprocessing.builder().resizeSize(resizeSize).cropSize(imageSize).build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    @Override
    protected ExitCode execute() throws IOException {
        Storage storage = new Storage(new Configuration());
        ClassIndex names = ClassIndex.load(storage, storage.qualify(classes));
        ComputationGraph net = load(storage, names.size());
        String id = modelId != null ? modelId
                : "imported-" + resnet.cliName() + "-" + new Path(weights).getName().replaceAll("[^A-Za-z0-9._-]", "_");
        Map<String, Object> hyper = new TreeMap<>();
        hyper.put("imported_from", weights);
        ModelManifest manifest = new ModelManifest(ModelManifest.FORMAT_VERSION, id, Instant.now().toString(),
                ProjectVersion.get(), resnet.cliName(), names.names(), preprocessing.cropSize(), preprocessing.resizeSize(),
                preprocessing.mean(), preprocessing.std(), "none", weights, hyper, null, Map.of());
        Path out = storage.qualify(output);
        new ModelArtifact(net, manifest).save(storage, out, false);
        System.out.println("Imported " + resnet.cliName() + " with " + names.size() + " classes as model " + id + " at " + out);
        return ExitCode.OK;
    }

    /** The classifier exactly as saved: a head of another size is an error here, never re-initialised. */
    private ComputationGraph load(Storage storage, int numClasses) throws IOException {
        boolean http = weights.startsWith("http://") || weights.startsWith("https://");
        Path path = http ? WeightSources.download(weights, storage.conf()) : storage.qualify(weights);
        byte[] magic;
        try (InputStream in = storage.open(path)) {
            magic = in.readNBytes(2);
        }
        if (magic.length == 2 && magic[0] == 'P' && magic[1] == 'K') {
            ComputationGraph g = WeightSources.loadBackbone(path.toString(), resnet, numClasses, imageSize, 0, storage.conf());
            long found = g.getLayer("fc").getParam("W").size(1);
            if (found != numClasses) {
                throw new UsageException("--classes lists " + numClasses + " classes but the model has " + found + " outputs");
            }
            return g;
        }
        Map<String, SafetensorsReader.Tensor> sd;
        try (InputStream in = storage.open(path)) {
            sd = SafetensorsReader.read(in, path.toString());
        }
        SafetensorsReader.Tensor fc = sd.containsKey("fc.weight") ? sd.get("fc.weight") : sd.get("module.fc.weight");
        if (fc == null) {
            throw new UsageException(path + " has no fc.weight: it is a backbone without a classifier; "
                    + "use TrainJob --weights to fine-tune it on your classes instead");
        }
        long[] shape = fc.shape();
        if (shape.length != 2 || shape[0] != numClasses || shape[1] != resnet.featureDim()) {
            throw new UsageException("fc.weight of " + path + " has shape " + java.util.Arrays.toString(shape) + ", expected ["
                    + numClasses + ", " + resnet.featureDim() + "] for " + numClasses + " classes of a " + resnet.cliName());
        }
        return WeightSources.fromStateDict(sd, resnet, numClasses, imageSize, 0);
    }
}
