package org.sparktransfer.model.layers;

import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.inputs.InvalidInputTypeException;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The end of a ResNet block, {@code relu(branch + shortcut)}, as one vertex. DL4J's ElementWiseVertex followed
 * by an ActivationLayer makes about seven passes over the block's output (copy, add, copy, relu forward; copy,
 * per-element {@code std::function} relu_bp, two gradient copies backward); this vertex makes two forward
 * (add, relu, accumulated into the branch's buffer when DL4J's workspaces allow, see {@link InPlace}) and
 * three backward (step, multiply, one copy for the shortcut). Shapes and output type are ElementWiseVertex's.
 */
public class AddRelu extends GraphVertex {

    private static final ElementWiseVertex ADD = new ElementWiseVertex(ElementWiseVertex.Op.Add);

    @Override
    public AddRelu clone() {
        return new AddRelu();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AddRelu;
    }

    @Override
    public int hashCode() {
        return AddRelu.class.hashCode();
    }

    @Override
    public long numParams(boolean backprop) {
        return 0;
    }

    @Override
    public int minVertexInputs() {
        return 2;
    }

    @Override
    public int maxVertexInputs() {
        return 2;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
            INDArray paramsView, boolean initializeParams, DataType networkDatatype) {
        return new AddReluImpl(graph, name, idx, networkDatatype);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) throws InvalidInputTypeException {
        return ADD.getOutputType(layerIndex, vertexInputs);
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        return ADD.getMemoryReport(inputTypes);
    }

    @Override
    public String toString() {
        return "AddRelu()";
    }
}
