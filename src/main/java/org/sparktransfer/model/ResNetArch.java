package org.sparktransfer.model;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The torchvision ResNet variants this project builds; names match torchvision's constructors. */
public enum ResNetArch {
    RESNET18(false, 2, 2, 2, 2),
    RESNET34(false, 3, 4, 6, 3),
    RESNET50(true, 3, 4, 6, 3);

    private final boolean bottleneck;
    private final int[] blocks;

    ResNetArch(boolean bottleneck, int... blocks) {
        this.bottleneck = bottleneck;
        this.blocks = blocks;
    }

    /** Command-line / torchvision name, e.g. "resnet18". */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ResNetArch fromCliName(String name) {
        if (name != null) {
            for (ResNetArch a : values()) {
                if (a.cliName().equals(name.trim().toLowerCase(Locale.ROOT))) {
                    return a;
                }
            }
        }
        throw new IllegalArgumentException("Unknown architecture '" + name + "'; choose one of: "
                + Arrays.stream(values()).map(ResNetArch::cliName).collect(Collectors.joining(", ")));
    }

    /** Width of the pooled feature vector that feeds {@code fc}. */
    public int featureDim() {
        return 512 * expansion();
    }

    /** True for Bottleneck blocks (1x1, 3x3, 1x1), false for BasicBlock (3x3, 3x3). */
    public boolean bottleneck() {
        return bottleneck;
    }

    /** Channel multiplier of a block's output relative to its width (torchvision's {@code expansion}). */
    public int expansion() {
        return bottleneck ? 4 : 1;
    }

    /** Number of blocks in stage {@code layer1..layer4} (stage index 1-based). */
    public int blocks(int stage) {
        return blocks[stage - 1];
    }
}
