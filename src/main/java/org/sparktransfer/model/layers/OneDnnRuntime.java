package org.sparktransfer.model.layers;

import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the oneDNN 3.3 kernels share: the CPU engine, a stream and a scratchpad buffer per thread, and ND4J arrays
 * seen as oneDNN memory.
 * Loading this class loads the preset's native libraries, so only code that runs after {@link OneDnn#available()}
 * said yes may touch it.
 */
final class OneDnnRuntime {
    static final engine ENGINE = new engine(engine.kind.cpu, 0);
    private static final ThreadLocal<stream> STREAM = ThreadLocal.withInitial(() -> new stream(ENGINE));
    /**
     * The thread's scratchpad ({@link OneDnnPrimitive}): grown to the largest size a primitive run on this thread
     * has asked for, freed with the thread (the memory object's native part goes when it is collected).
     */
    private static final ThreadLocal<Scratchpad> SCRATCHPAD = ThreadLocal.withInitial(Scratchpad::new);

    private static final class Scratchpad {
        memory buffer;
        /** The buffer's address, asked for once per allocation instead of on every primitive run. */
        Pointer address;
        long bytes;
    }

    private OneDnnRuntime() {
    }

    static String version() {
        var v = dnnl.dnnl_version();
        return v.major() + "." + v.minor() + "." + v.patch() + " (" + ENGINE.get_kind() + ")";
    }

    static stream stream() {
        return STREAM.get();
    }

    /**
     * The calling thread's scratchpad buffer, at least {@code bytes} long. Primitives run one at a time on a thread
     * and each waits for its stream, so the previous, smaller buffer is no longer in use when a larger one replaces
     * it.
     */
    static Pointer threadScratchpad(long bytes) {
        Scratchpad s = SCRATCHPAD.get();
        if (s.bytes < bytes) {
            if (s.buffer != null) {
                s.buffer.close();
            }
            // Allocated by oneDNN: aligned as its kernels expect.
            s.buffer = new memory(new memory.desc(new LongPointer(new long[]{bytes}), memory.data_type.u8, memory.format_tag.a), ENGINE);
            s.address = s.buffer.get_data_handle();
            s.bytes = bytes;
        }
        return s.address;
    }

    /** Bytes of the calling thread's scratchpad buffer (0 before its first primitive that needs one). */
    static long threadScratchpadBytes() {
        return SCRATCHPAD.get().bytes;
    }

    /**
     * The address of a c-ordered, gap-free array's first element. The pointer does not keep the array alive: a
     * caller must keep {@code a} reachable until the primitive that uses the address has run
     * ({@code Reference.reachabilityFence}), or a collection may let ND4J free the memory meanwhile.
     */
    static Pointer ptr(INDArray a) {
        if (!NativeConvolutionImpl.dense(a)) {
            throw new IllegalStateException("oneDNN needs c-ordered contiguous arrays, got " + a.shapeInfoToString());
        }
        // A view's data buffer already starts at the view's offset.
        return a.data().addressPointer();
    }

    /** A float32 memory descriptor; {@code dims} in oneDNN's order (n, c, h, w for activations). */
    static memory.desc desc(memory.format_tag tag, long... dims) {
        return new memory.desc(new LongPointer(dims), memory.data_type.f32, tag);
    }
}
