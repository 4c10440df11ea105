package org.sparktransfer.model.layers;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;

/** When a layer may write its output over its input's buffer. */
final class InPlace {

    private InPlace() {
    }

    /**
     * True when {@code x} is a plain array of {@code dataType} living exactly where an output of {@code type}
     * would be created: both detached, or both in the same workspace. In training DL4J keeps every layer's
     * activations in one workspace, so the overwrite is free; in inference each layer has its own workspace,
     * closed once its consumers are done, so an output left in the producer's workspace would be freed under
     * the next layer: there this says no and the caller allocates.
     */
    static boolean allowed(INDArray x, DataType dataType, LayerWorkspaceMgr mgr, ArrayType type) {
        if (x.dataType() != dataType || x.isView() || x.ordering() != 'c') {
            return false;
        }
        if (mgr.isScopedOut(type) || !mgr.hasConfiguration(type)) {
            return !x.isAttached();
        }
        MemoryWorkspace ws = x.isAttached() ? x.data().getParentWorkspace() : null;
        return ws != null && ws.getId().equals(mgr.getWorkspaceName(type)) && mgr.isWorkspaceOpen(type);
    }
}
