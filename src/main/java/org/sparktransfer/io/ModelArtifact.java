package org.sparktransfer.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparktransfer.data.ClassIndex;

/**
 * A model directory: {@code network.zip} (DL4J ModelSerializer's format, with updater state; written by
 * {@link NetworkZip}, uncompressed),
 * {@code manifest.json} and {@code classes.txt}. It is written under a staging name and renamed
 * into place, and the manifest is the last file written, so a directory without a manifest is
 * never mistaken for a model.
 */
public final class ModelArtifact {
    public static final String NETWORK = "network.zip";
    public static final String MANIFEST = "manifest.json";
    public static final String CLASSES = "classes.txt";

    private final ComputationGraph network;
    private final ModelManifest manifest;

    public ModelArtifact(ComputationGraph network, ModelManifest manifest) {
        this.network = network;
        this.manifest = manifest;
    }

    public ComputationGraph network() {
        return network;
    }

    public ModelManifest manifest() {
        return manifest;
    }

    public ClassIndex classes() {
        return new ClassIndex(manifest.classes());
    }

    public void save(Storage storage, Path dir, boolean withUpdater) throws IOException {
        save(storage, dir, withUpdater, Map.of());
    }

    /**
     * Saves the model with further text files (name to content) in the same directory, all written
     * before it is published, so none of them can be missing or truncated in a published directory.
     */
    public void save(Storage storage, Path dir, boolean withUpdater, Map<String, String> extraFiles) throws IOException {
        Path staging = storage.stagingSibling(dir);
        storage.mkdirs(staging);
        try (OutputStream out = storage.create(new Path(staging, NETWORK))) {
            NetworkZip.write(network, out, withUpdater);
        }
        for (Map.Entry<String, String> f : extraFiles.entrySet()) {
            storage.writeString(new Path(staging, f.getKey()), f.getValue());
        }
        storage.writeString(new Path(staging, CLASSES), classes().toText());
        storage.writeString(new Path(staging, MANIFEST), Json.write(manifest));
        storage.publishDirectory(staging, dir);
    }

    public static boolean isArtifact(Storage storage, Path dir) throws IOException {
        return storage.exists(new Path(dir, MANIFEST)) && storage.exists(new Path(dir, NETWORK));
    }

    /**
     * The artifact directory {@code given} names: itself, or its {@code model/} folder (TrainJob's run directory
     * holds the artifact there); null when neither holds an artifact.
     */
    public static Path resolve(Storage storage, Path given) throws IOException {
        if (isArtifact(storage, given)) {
            return given;
        }
        Path nested = new Path(given, "model");
        return isArtifact(storage, nested) ? nested : null;
    }

    public static ModelManifest readManifest(Storage storage, Path dir) throws IOException {
        Path file = new Path(dir, MANIFEST);
        if (!storage.exists(file)) {
            throw new IOException("no model at " + dir + ": " + MANIFEST + " is missing (an unfinished or foreign directory)");
        }
        return Json.read(storage.readString(file), ModelManifest.class);
    }

    public static ModelArtifact load(Storage storage, Path dir, boolean withUpdater) throws IOException {
        ModelManifest manifest = readManifest(storage, dir);
        try (InputStream in = storage.open(new Path(dir, NETWORK))) {
            return new ModelArtifact(NetworkZip.read(in, withUpdater), manifest);
        }
    }
}
