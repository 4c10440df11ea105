package org.sparktransfer.model.layers;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.Pointer;

/**
 * A oneDNN primitive with its argument map, built with a user-managed scratchpad and run with the calling thread's
 * scratchpad buffer ({@link OneDnnRuntime#threadScratchpad}).
 *
 * <p>Why not oneDNN's default (library-managed) scratchpad: there, the implementations that keep their temporary
 * buffer in the library's global scratchpad (the GEMM-based convolutions: im2col; chosen on CPUs without AVX-512
 * and for some shapes on AVX2) find it in a thread-local buffer sized by the primitives created <em>on the
 * executing thread</em>, so a primitive must run on the thread that created it. Ours do not stay put: a scoring
 * copy in {@code ModelCache} serves whichever Spark task thread borrows it, and a kept worker network moves to a new
 * trainer thread after an idle spell. Run elsewhere, such a primitive wrote through a null or too-small buffer
 * (reproduced: SIGSEGV in {@code im2col} with {@code ONEDNN_MAX_CPU_ISA=SSE41}, primitives built on one thread
 * and run on another). With the user mode every execution passes a buffer of the size this primitive needs,
 * owned by the executing thread, and one buffer per thread serves all its primitives in turn (they run one
 * after the other), as the library's global scratchpad would.
 */
final class OneDnnPrimitive {
    private final primitive primitive;
    private final IntMemoryMap args = new IntMemoryMap();
    /** The scratchpad argument (its buffer is set per execution), or null when the primitive needs none. */
    private final memory scratchpad;
    private final long scratchpadBytes;

    /** A primitive attribute asking for a user-managed scratchpad; build every primitive descriptor with it. */
    static primitive_attr attr() {
        primitive_attr a = new primitive_attr();
        a.set_scratchpad_mode(dnnl.scratchpad_mode.user);
        return a;
    }

    /** A reorder from {@code from}'s layout to {@code to}'s, between these two memory objects. */
    static OneDnnPrimitive reorder(memory from, memory to) {
        reorder.primitive_desc pd = new reorder.primitive_desc(OneDnnRuntime.ENGINE, from.get_desc(), OneDnnRuntime.ENGINE,
                to.get_desc(), attr(), false);
        return new OneDnnPrimitive(pd, new reorder(pd)).arg(DNNL_ARG_FROM, from).arg(DNNL_ARG_TO, to);
    }

    /**
     * @param pd the primitive's descriptor, built with {@link #attr()} (or an attribute that also asks for the user
     *           scratchpad mode)
     * @param primitive the primitive made from {@code pd}
     */
    OneDnnPrimitive(primitive_desc_base pd, primitive primitive) {
        // By value: the preset hands back enums as new instances, not the constants.
        if (pd.get_primitive_attr().get_scratchpad_mode().value != dnnl.scratchpad_mode.user.value) {
            throw new IllegalArgumentException("the primitive descriptor must be built with the user scratchpad mode");
        }
        this.primitive = primitive;
        memory.desc d = pd.scratchpad_desc();
        scratchpadBytes = d.get_size();
        scratchpad = scratchpadBytes > 0 ? new memory(d, OneDnnRuntime.ENGINE, (Pointer) null) : null;
        if (scratchpad != null) {
            args.put(DNNL_ARG_SCRATCHPAD, scratchpad);
        }
    }

    /** Adds an argument; its buffer is set with {@code memory.set_data_handle} before each run where it changes. */
    OneDnnPrimitive arg(int key, memory m) {
        args.put(key, m);
        return this;
    }

    /** Runs the primitive on the calling thread's stream and waits for it. */
    void run() {
        stream s = OneDnnRuntime.stream();
        if (scratchpad != null) {
            scratchpad.set_data_handle(OneDnnRuntime.threadScratchpad(scratchpadBytes));
        }
        primitive.execute(s, args);
        s._wait();
    }
}
