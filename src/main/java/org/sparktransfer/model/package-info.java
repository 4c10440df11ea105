/**
 * torchvision-compatible ResNets for DL4J.
 *
 * <ul>
 *   <li>{@link org.sparktransfer.model.ResNetFactory} builds ResNet-18/34/50 ComputationGraphs whose vertex
 *   names are torchvision's state-dict prefixes, so {@link org.sparktransfer.model.TorchvisionWeights} maps
 *   weights one-to-one (conv W is OIHW in both; Linear is transposed; BN running stats are DL4J "mean"/"var").</li>
 *   <li>{@link org.sparktransfer.model.SafetensorsReader}/{@link org.sparktransfer.model.SafetensorsWriter}
 *   implement the file format directly; {@link org.sparktransfer.model.WeightSources} finds the bytes on any
 *   Hadoop FileSystem or downloads them once into a cache. A DL4J zoo ResNet-50 zip (Keras layout) is used as
 *   it is, with a new head ({@link org.sparktransfer.model.KerasResNet}).</li>
 *   <li>{@link org.sparktransfer.model.FreezePolicy} freezes by stage with DL4J's FrozenLayer (frozen BN runs
 *   in inference mode and keeps its statistics); {@link org.sparktransfer.model.HeadReplacer} swaps {@code fc}.</li>
 *   <li>{@link org.sparktransfer.model.ModelSummary} prints a torchinfo-style table with PyTorch's parameter
 *   counting (BN running statistics are buffers, not parameters).</li>
 * </ul>
 */
package org.sparktransfer.model;
