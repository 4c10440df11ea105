package org.sparktransfer.io;

import org.nd4j.common.primitives.Triple;
import org.nd4j.linalg.api.buffer.BaseDataBuffer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.options.ArrayOptionsHelper;
import org.nd4j.linalg.compression.CompressedDataBuffer;
import org.nd4j.linalg.exception.ND4JUnknownDataTypeException;
import org.nd4j.linalg.factory.Nd4j;

import java.io.DataInputStream;
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
 *
 * <p>{@link #read} is {@code Nd4j.read} with float data copied in bulk: M2.1 reads every element through
 * {@code DataInputStream.readFloat} and a bounds-checked put (loading the best model took ~2.4 s of TrainJob's
 * driver in a JFR recording; every validation task and every executor's model load read the same way).
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

    /** What {@code Nd4j.read} returns for the same bytes; float data is copied in bulk, other types as ND4J does. */
    public static INDArray read(DataInputStream in) throws IOException {
        Triple<DataBuffer.AllocationMode, Long, DataType> shapeHeader = BaseDataBuffer.readHeader(in);
        DataBuffer shape = Nd4j.createBufferDetached(new long[] {shapeHeader.getMiddle()}, shapeHeader.getRight());
        shape.read(in, shapeHeader.getLeft(), shapeHeader.getMiddle(), shapeHeader.getRight());
        Triple<DataBuffer.AllocationMode, Long, DataType> dataHeader = BaseDataBuffer.readHeader(in);
        long length = dataHeader.getMiddle();
        DataBuffer data;
        if (dataHeader.getRight() == DataType.FLOAT && length > 0 && length <= Integer.MAX_VALUE / 4) {
            // Every allocation mode stores a FLOAT buffer's elements as big-endian floats (BaseDataBuffer.read).
            data = Nd4j.createBuffer(DataType.FLOAT, length, false);
            FloatBuffer target = data.asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
            byte[] bytes = new byte[(int) Math.min(CHUNK_FLOATS, length) * 4];
            FloatBuffer bigEndian = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
            float[] floats = new float[bytes.length / 4];
            try {
                for (long done = 0; done < length; ) {
                    int n = (int) Math.min(floats.length, length - done);
                    in.readFully(bytes, 0, n * 4);
                    bigEndian.clear();
                    bigEndian.get(floats, 0, n);
                    target.put(floats, 0, n);
                    done += n;
                }
            } finally {
                Reference.reachabilityFence(data);
            }
        } else {
            data = CompressedDataBuffer.readUnknown(in, dataHeader.getLeft(), length, dataHeader.getRight());
        }
        try {
            ArrayOptionsHelper.dataType(shape.asLong());
        } catch (ND4JUnknownDataTypeException e) {
            // As Nd4j.read: arrays written before the shape carried its data type.
            shape.put(shape.length() - 3, ArrayOptionsHelper.setOptionBit(0L, dataHeader.getRight()));
        }
        return Nd4j.createArrayFromShapeBuffer(data, shape);
    }
}
