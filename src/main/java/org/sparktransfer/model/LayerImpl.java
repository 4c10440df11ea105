package org.sparktransfer.model;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which layer implementations {@link ResNetFactory} puts into the graph for conv, batch norm and pooling.
 * Both build the same vertex names and parameter layouts, so weights, freezing and saved models are
 * interchangeable; only speed differs.
 *
 * <ul>
 *   <li>{@link #NATIVE} (default): layers that call the libnd4j ops ({@code conv2d}, {@code batchnorm},
 *   pooling and their {@code _bp} ops) directly, which run oneDNN on CPU and cuDNN on nd4j-cuda.</li>
 *   <li>{@link #DL4J}: DL4J's stock layers (fallback; with helpers enabled they use oneDNN for convolutions
 *   but run batch norm and much glue in generic kernels).</li>
 * </ul>
 * Selected by the system property {@value #PROPERTY} ({@code native} or {@code dl4j}).
 */
public enum LayerImpl {
    NATIVE, DL4J;

    public static final String PROPERTY = "sparktransfer.layers";

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static LayerImpl fromCliName(String name) {
        for (LayerImpl l : values()) {
            if (l.cliName().equalsIgnoreCase(name.trim())) {
                return l;
            }
        }
        throw new IllegalArgumentException("Unknown layer implementation '" + name + "'; choose one of: "
                + Arrays.stream(values()).map(LayerImpl::cliName).collect(Collectors.joining(", ")));
    }

    /** The implementation chosen by {@value #PROPERTY}, else the default. */
    public static LayerImpl current() {
        String p = System.getProperty(PROPERTY);
        return p == null || p.isBlank() ? defaultImpl() : fromCliName(p);
    }

    public static LayerImpl defaultImpl() {
        return NATIVE;
    }
}
