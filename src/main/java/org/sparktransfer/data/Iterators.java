package org.sparktransfer.data;

import java.util.Iterator;
import java.util.function.Function;

/** Lazy iterator mapping, so partitions stream through executors instead of being buffered. */
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
}
