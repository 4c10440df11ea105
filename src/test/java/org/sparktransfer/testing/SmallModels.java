package org.sparktransfer.testing;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.Storage;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.ResNetFactory;

/** Small model artifacts for tests: a randomly initialised ResNet-18 on 32 px crops of 36 px images. */
public final class SmallModels {
    public static final int CROP = 32;
    public static final int RESIZE = 36;

    private SmallModels() {
    }

    /** Saves a random ResNet-18 artifact with these classes (in index order) at {@code dir}. */
    public static void saveResNet18(Storage storage, Path dir, String modelId, List<String> classes, long seed)
            throws IOException {
        Preprocessing pre = Preprocessing.builder().resizeSize(RESIZE).cropSize(CROP).build();
        ModelManifest manifest = new ModelManifest(ModelManifest.FORMAT_VERSION, modelId, "2026-11-28T00:00:00Z", "test",
                "resnet18", classes, CROP, RESIZE, pre.mean(), pre.std(), "none", "random (test)", Map.of(), null, Map.of());
        new ModelArtifact(ResNetFactory.build(ResNetArch.RESNET18, classes.size(), CROP, seed), manifest)
                .save(storage, dir, false);
    }
}
