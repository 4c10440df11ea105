package org.sparktransfer.data;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;

/** Lazy iterator mapping and grouping, so partitions stream through executors instead of being buffered. */
public final class Iterators {
    private Iterators() {}

    public static <A, B> Iterator<B> map(Iterator<A> in, Function<? super A, ? extends B> f) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return in.hasNext();
            }

            @Override
            public B next() {
                return f.apply(in.next());
            }
        };
    }

    /** Consecutive groups of {@code size} elements (the last may be smaller), as TensorBatcher groups its rows. */
    public static <A> Iterator<List<A>> chunks(Iterator<A> in, int size) {
        if (size < 1) {
            throw new IllegalArgumentException("chunk size must be positive, got " + size);
        }
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return in.hasNext();
            }

            @Override
            public List<A> next() {
                if (!in.hasNext()) {
                    throw new NoSuchElementException();
                }
                List<A> chunk = new ArrayList<>(size);
                while (in.hasNext() && chunk.size() < size) {
                    chunk.add(in.next());
                }
                return chunk;
            }
        };
    }
}
