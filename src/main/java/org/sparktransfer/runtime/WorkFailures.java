package org.sparktransfer.runtime;

import java.util.concurrent.ExecutionException;

/** What a thread that handed work to another thread throws when that work failed. */
public final class WorkFailures {
    private WorkFailures() {}

    /** The work's own unchecked exception to throw as is ({@code throw unchecked(e)}); errors are rethrown here, checked ones wrapped. */
    public static RuntimeException unchecked(ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException r) {
            return r;
        }
        if (cause instanceof Error err) {
            throw err;
        }
        return new IllegalStateException(cause);
    }
}
