package org.sparktransfer.model.layers;

import java.util.Arrays;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.factory.Nd4j;

/** Runtime side of {@link AddRelu}. */
public class AddReluImpl extends BaseGraphVertex {

    private INDArray output;

    public AddReluImpl(ComputationGraph graph, String name, int vertexIndex, DataType dataType) {
        super(graph, name, vertexIndex, null, null, dataType);
    }

    /** Input 0's buffer may be overwritten only if this vertex is its producer's sole consumer. */
    private boolean branchIsOnlyOurs() {
        GraphVertex producer = graph.getVertices()[inputVertices[0].getVertexIndex()];
        return !producer.isInputVertex() && producer.getOutputVertices() != null
                && producer.getOutputVertices().length == 1;
    }

    @Override
    public boolean hasLayer() {
        return false;
    }

    @Override
    public Layer getLayer() {
        return null;
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr mgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("Cannot do forward pass in " + vertexName + ": inputs not set");
        }
        INDArray a = cast(inputs[0]), b = cast(inputs[1]);
        if (!a.equalShapes(b)) {
            throw new IllegalStateException("Residual add of different shapes in " + vertexName + ": "
                    + Arrays.toString(a.shape()) + " + " + Arrays.toString(b.shape()));
        }
        boolean inPlace = branchIsOnlyOurs() && a == inputs[0] && InPlace.allowed(a, dataType, mgr, ArrayType.ACTIVATIONS);
        INDArray out = inPlace ? a : mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, a.shape(), 'c');
        Nd4j.exec(new AddOp(a, b, out));
        Nd4j.exec(new RectifiedLinear(out, out, 0.0));
        output = out;
        return out;
    }

    private INDArray cast(INDArray x) {
        return x.dataType() == dataType ? x : x.castTo(dataType);
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr mgr) {
        if (!canDoBackward() || output == null) {
            throw new IllegalStateException("Cannot do backward pass in " + vertexName + ": no forward output or errors");
        }
        INDArray dBranch = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, output.shape(), 'c');
        Nd4j.exec(new Step(output, dBranch, 0.0));
        dBranch.muli(epsilon);
        // The graph adds later gradients into the first array it receives for a vertex with several consumers
        // (the shortcut's source usually has two), so the shortcut gets its own copy.
        INDArray dShortcut = mgr.dup(ArrayType.ACTIVATION_GRAD, dBranch);
        return new Pair<>(null, new INDArray[]{dBranch, dShortcut});
    }

    @Override
    public void clear() {
        super.clear();
        output = null;
    }

    @Override
    public void setBackpropGradientsViewArray(INDArray backpropGradientsViewArray) {
        if (backpropGradientsViewArray != null) {
            throw new IllegalArgumentException("AddRelu has no parameters");
        }
    }

    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
                                                           int minibatchSize) {
        // Image activations carry no masks.
        return new Pair<>(maskArrays == null || maskArrays.length == 0 ? null : maskArrays[0], currentMaskState);
    }

    @Override
    public String toString() {
        return "AddReluImpl(" + vertexName + ")";
    }
}
