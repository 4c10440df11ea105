package org.sparktransfer.train;

import java.io.IOException;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.config.TrainConfig;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.Storage;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.model.KerasResNet;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.ResNetFactory;
import org.sparktransfer.model.WeightSources;

/**
 * The network a run starts from: pretrained weights (torchvision/timm safetensors, a DL4J zip, or
 * an artifact of an earlier run) or, when none are given, a random initialisation that the log
 * names as such. Then the head is sized to the data, the policy freezes the early stages, and the
 * optimizer settings apply to what stays trainable.
 */
public final class InitialNetwork {
    private static final Logger LOG = LoggerFactory.getLogger(InitialNetwork.class);

    private InitialNetwork() {}

    /**
     * @param preprocessing what the network expects: the run's own, or, for a DL4J zoo ResNet used as is, the
     *                      same sizes with its normalisation (see {@link KerasResNet#preprocessing})
     */
    public record Result(ComputationGraph network, String weightsDescription, Preprocessing preprocessing) {}

    public static Result create(TrainConfig config, int numClasses, Storage storage) throws IOException {
        ResNetArch arch = config.arch();
        int size = config.preprocessing().cropSize();
        ComputationGraph net;
        String described;
        if (config.weightsUri() == null) {
            net = ResNetFactory.build(arch, numClasses, size, config.seed());
            described = "random initialisation (seed " + config.seed() + "), no pretrained weights";
            LOG.warn("No --weights given: training {} from a random initialisation, NOT from ImageNet weights.", arch.cliName());
        } else {
            Path path = storage.qualify(config.weightsUri());
            if (ModelArtifact.isArtifact(storage, path)) {
                ModelArtifact earlier = ModelArtifact.load(storage, path, false);
                net = WeightSources.fromGraph(earlier.network(), arch, numClasses, size, config.seed());
                described = "model artifact " + path + " (" + earlier.manifest().modelId() + ")";
            } else {
                net = WeightSources.loadBackbone(config.weightsUri(), arch, numClasses, size, config.seed(), storage.conf());
                described = config.weightsUri();
            }
            LOG.info("Starting {} from pretrained weights: {}", arch.cliName(), described);
        }
        ComputationGraph frozen = config.freeze().apply(net);
        FineTuneConfiguration tune = new FineTuneConfiguration.Builder()
                .updater(config.optimizer().updater(config.schedule().rate(0), config.momentum()))
                .weightDecay(config.weightDecay(), true)
                .seed(config.seed())
                .build();
        ComputationGraph tuned = new TransferLearning.GraphBuilder(frozen).fineTuneConfiguration(tune).build();
        Preprocessing pre = config.preprocessing();
        if (KerasResNet.matches(tuned)) {
            pre = KerasResNet.preprocessing(pre);
            LOG.info("{} is DL4J's zoo ResNet-50 in Keras layout, used as is: inputs are RGB 0-255 minus the mean {}",
                    described, java.util.Arrays.toString(pre.mean()));
        }
        return new Result(tuned, described, pre);
    }
}
