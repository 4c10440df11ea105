package org.sparktransfer.io;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.kryo.Nd4jSerializer;

/**
 * Kryo serializer for CPU-backend INDArrays that copies an array's memory in bulk. nd4j-kryo's
 * {@link Nd4jSerializer} goes through {@code Nd4j.write/read}, which moves one element at a time through a
 * {@code DataOutputStream}: 0.45 s each way for ResNet-18's parameters plus updater state (85 MB), paid by
 * every parameter-averaging round on the driver (broadcast, result) and the executor (result, broadcast on a
 * cluster). Copied in bulk, the same array takes a few tens of milliseconds.
 *
 * <p>Format: data type, ordering, shape, then the elements in that ordering as little-endian bytes. Arrays of
 * strings, compressed arrays, buffers over 2 GiB and the CUDA backend's arrays go through {@link Nd4jSerializer}
 * (a flag says which; M2.1's reader cannot read string arrays back either way, and the jobs never send them).
 */
public final class NdArrayKryoSerializer extends Serializer<INDArray> {
    private static final int CHUNK = 1 << 20;
    private final Nd4jSerializer fallback = new Nd4jSerializer();

    @Override
    public void write(Kryo kryo, Output out, INDArray arr) {
        boolean bulk = bulk(arr);
        out.writeBoolean(bulk);
        if (!bulk) {
            fallback.write(kryo, out, arr);
            return;
        }
        // A view (sub-array, permuted or strided) goes as a compact copy of itself.
        INDArray src = arr.isView() || !Shape.hasDefaultStridesForShape(arr) ? arr.dup(arr.ordering()) : arr;
        out.writeString(src.dataType().name());
        out.writeChar(src.ordering());
        long[] shape = src.shape();
        out.writeVarInt(shape.length, true);
        for (long d : shape) {
            out.writeVarLong(d, true);
        }
        long bytes = src.length() * src.dataType().width();
        if (bytes == 0) {
            return;
        }
        // The NIO view does not keep the array alive, and once this method is compiled a copy made above is
        // unreachable after asNio(): without the fence a collection during the loop let ND4J free its memory
        // (measured: corrupted bytes, and SIGSEGV on TrainJob's driver broadcasting the updater state, a view).
        try {
            ByteBuffer data = src.data().asNio().order(ByteOrder.LITTLE_ENDIAN);
            data.position(0).limit((int) bytes);
            byte[] chunk = new byte[(int) Math.min(CHUNK, bytes)];
            while (data.hasRemaining()) {
                int n = Math.min(chunk.length, data.remaining());
                data.get(chunk, 0, n);
                out.writeBytes(chunk, 0, n);
            }
        } finally {
            Reference.reachabilityFence(src);
        }
    }

    @Override
    public INDArray read(Kryo kryo, Input in, Class<INDArray> type) {
        if (!in.readBoolean()) {
            return fallback.read(kryo, in, type);
        }
        DataType dataType = DataType.valueOf(in.readString());
        char order = in.readChar();
        long[] shape = new long[in.readVarInt(true)];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = in.readVarLong(true);
        }
        long length = 1;
        for (long d : shape) {
            length *= d;
        }
        if (length == 0) {
            return Nd4j.create(dataType, shape, order);
        }
        INDArray arr = Nd4j.createUninitialized(dataType, shape, order);
        try {
            ByteBuffer data = arr.data().asNio().order(ByteOrder.LITTLE_ENDIAN);
            data.position(0).limit((int) (length * dataType.width()));
            byte[] chunk = new byte[Math.min(CHUNK, data.remaining())];
            while (data.hasRemaining()) {
                int n = Math.min(chunk.length, data.remaining());
                in.readBytes(chunk, 0, n);
                data.put(chunk, 0, n);
            }
        } finally {
            Reference.reachabilityFence(arr); // as in write: the NIO view does not hold the array
        }
        return arr;
    }

    /** Whether the array's memory can be copied as it lies: numeric, uncompressed, host memory in little-endian order. */
    static boolean bulk(INDArray arr) {
        DataType t = arr.dataType();
        return Nd4j.getEnvironment().isCPU() && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
                && !arr.isCompressed() && t != DataType.UTF8 && t != DataType.COMPRESSED && t != DataType.UNKNOWN
                && arr.length() * t.width() <= Integer.MAX_VALUE;
    }
}
