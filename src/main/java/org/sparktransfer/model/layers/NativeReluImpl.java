package org.sparktransfer.model.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.ActivationLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.factory.Nd4j;

/** Runtime side of {@link NativeRelu}: the scalar {@code relu} transform forward, step times epsilon backward. */
public class NativeReluImpl extends ActivationLayer {

    public NativeReluImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private boolean inPlace() {
        return ((NativeRelu) conf.getLayer()).isInPlace();
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        INDArray x = input.dataType() == dataType ? input : input.castTo(dataType);
        boolean own = inPlace() && x == input && InPlace.allowed(x, dataType, mgr, ArrayType.ACTIVATIONS);
        INDArray out = own ? x : mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, x.shape(), 'c');
        Nd4j.exec(new RectifiedLinear(x, out, 0.0));
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        // d relu = 1 where the output is > 0; the input (or, in place, the output) has the same sign pattern.
        INDArray dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, input.shape(), 'c');
        Nd4j.exec(new Step(input.dataType() == dataType ? input : input.castTo(dataType), dx, 0.0));
        dx.muli(epsilon);
        return new Pair<>(new DefaultGradient(), dx);
    }
}
