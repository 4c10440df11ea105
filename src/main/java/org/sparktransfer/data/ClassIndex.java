package org.sparktransfer.data;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.hadoop.fs.Path;
import org.sparktransfer.io.Storage;

/**
 * The class names of a model in index order. Sorted by name as torchvision's ImageFolder does, so
 * index i means the same class here, in PyTorch, and in every saved artifact.
 */
public final class ClassIndex implements Serializable {
    private static final long serialVersionUID = 1L;
    private final List<String> names;
    private final Map<String, Integer> indexByName;

    public ClassIndex(List<String> namesInIndexOrder) {
        if (namesInIndexOrder.isEmpty()) {
            throw new IllegalArgumentException("a model needs at least one class");
        }
        this.names = List.copyOf(namesInIndexOrder);
        this.indexByName = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (name.isBlank()) {
                throw new IllegalArgumentException("class " + i + " has an empty name");
            }
            if (indexByName.put(name, i) != null) {
                throw new IllegalArgumentException("class name '" + name + "' appears twice");
            }
        }
    }

    public static ClassIndex sortedFrom(Collection<String> labels) {
        return new ClassIndex(new ArrayList<>(new TreeSet<>(labels)));
    }

    public int size() {
        return names.size();
    }

    public String name(int index) {
        return names.get(index);
    }

    public List<String> names() {
        return names;
    }

    /** The index of a label, or -1 when the model does not know it. */
    public int indexOf(String name) {
        Integer i = indexByName.get(name);
        return i == null ? -1 : i;
    }

    public String toText() {
        return String.join("\n", names) + "\n";
    }

    public static ClassIndex fromText(String text) {
        List<String> names = new ArrayList<>();
        for (String line : text.split("\\R")) {
            String trimmed = line.strip();
            if (!trimmed.isEmpty()) {
                names.add(trimmed);
            }
        }
        return new ClassIndex(names);
    }

    public void save(Storage storage, Path file) throws IOException {
        storage.writeString(file, toText());
    }

    public static ClassIndex load(Storage storage, Path file) throws IOException {
        return fromText(storage.readString(file));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClassIndex && ((ClassIndex) o).names.equals(names);
    }

    @Override
    public int hashCode() {
        return names.hashCode();
    }

    @Override
    public String toString() {
        return names.toString();
    }
}
