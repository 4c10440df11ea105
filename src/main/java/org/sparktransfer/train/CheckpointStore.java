package org.sparktransfer.train;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.sparktransfer.io.Json;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.Storage;

/**
 * Checkpoints of one run on the output file system: after each epoch the network with its
 * optimizer state and the loop state ({@code state.json}), and the best model so far. Each is
 * published atomically, so the latest complete checkpoint is always readable after a crash.
 */
public final class CheckpointStore {
    static final String STATE = "state.json";
    private final Storage storage;
    private final Path dir;

    /** Where the loop stands after an epoch (bestMetric: higher is better, see TrainingLoop); seeds derive from it. */
    public record LoopState(int completedEpochs, List<EpochResult> history, double bestMetric, int bestEpoch,
                            int epochsWithoutImprovement) {}

    public CheckpointStore(Storage storage, Path runDir) {
        this.storage = storage;
        this.dir = new Path(runDir, "checkpoints");
    }

    public Path bestModelDir() {
        return new Path(dir, "best");
    }

    public void save(ModelArtifact withUpdater, LoopState state) throws IOException {
        Path target = new Path(dir, String.format("epoch-%04d", state.completedEpochs()));
        // The loop state goes into the directory before it is published: a crash while writing it
        // leaves an unpublished staging directory, never a checkpoint with a truncated state.json.
        withUpdater.save(storage, target, true, Map.of(STATE, Json.write(state)));
    }

    public void saveBest(ModelArtifact model) throws IOException {
        model.save(storage, bestModelDir(), false);
    }

    /** The newest checkpoint that has both its model and its state. */
    public Optional<Path> latest() throws IOException {
        if (!storage.exists(dir)) {
            return Optional.empty();
        }
        List<Path> epochs = new ArrayList<>();
        for (FileStatus s : storage.fs(dir).listStatus(dir)) {
            if (s.isDirectory() && s.getPath().getName().matches("epoch-\\d{4}")
                    && storage.exists(new Path(s.getPath(), STATE))
                    && ModelArtifact.isArtifact(storage, s.getPath())) {
                epochs.add(s.getPath());
            }
        }
        return epochs.stream().max((a, b) -> a.getName().compareTo(b.getName()));
    }

    public LoopState readState(Path checkpoint) throws IOException {
        return Json.read(storage.readString(new Path(checkpoint, STATE)), LoopState.class);
    }

    public ModelArtifact readModel(Path checkpoint) throws IOException {
        return ModelArtifact.load(storage, checkpoint, true);
    }

    public ModelManifest readManifest(Path checkpoint) throws IOException {
        return ModelArtifact.readManifest(storage, checkpoint);
    }
}
