package org.sparktransfer.io;

import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * {@code Nd4j.write}'s encoding (what {@code ModelSerializer} stores and {@code Nd4j.read} reads: the shape
 * buffer, then the data buffer as allocation mode, length, data type and big-endian elements), with float
 * data copied in bulk. ND4J M2.1 writes every element through {@code DataOutputStream.writeFloat}: for
 * ResNet-18's parameters and momentum (23M floats) ~1.8 s of TrainJob's driver per epoch in JFR, while the
 * executors wait for the checkpoint. Same bytes (NetworkZipTest compares them with {@code Nd4j.write}'s), except
 * that a NaN keeps its payload instead of becoming the canonical NaN.
 */
public final class NdArrayStreams {
    private static final int CHUNK_FLOATS = 1 << 16;

    private NdArrayStreams() {
    }

    public static void write(INDArray arr, DataOutputStream out) throws IOException {
        if (arr.dataType() != DataType.FLOAT || arr.data() == null || arr.data().length() > Integer.MAX_VALUE / 4) {
            Nd4j.write(arr, out);
            return;
        }
        // As M2.1's Nd4j.write: a view goes as a compact copy (same ordering), then shape buffer and data buffer.
        INDArray src = arr.isView() ? arr.dup() : arr;
        src.shapeInfoDataBuffer().write(out);
        DataBuffer data = src.data();
        out.writeUTF(data.allocationMode().name());
        out.writeLong(data.length());
        out.writeUTF(data.dataType().name());
        if (data.length() == 0) {
            return;
        }
        // The NIO view does not keep the array (nor the buffer it holds) alive, see NdArrayKryoSerializer: fence it
        // until the copy is done.
        try {
            FloatBuffer in = data.asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
            in.position(0).limit((int) data.length());
            float[] floats = new float[(int) Math.min(CHUNK_FLOATS, data.length())];
            byte[] bytes = new byte[floats.length * 4];
            FloatBuffer bigEndian = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
            while (in.hasRemaining()) {
                int n = Math.min(floats.length, in.remaining());
                in.get(floats, 0, n);
                bigEndian.clear();
                bigEndian.put(floats, 0, n);
                out.write(bytes, 0, n * 4);
            }
        } finally {
            Reference.reachabilityFence(src);
        }
    }
}
