package org.sparktransfer.jobs;

/** Process exit codes of every job; schedulers retry on ERROR, never on USAGE_ERROR. */
public enum ExitCode {
    OK(0),
    ERROR(1),
    USAGE_ERROR(2),
    /** The data was read but too much of it was bad (see --max-reject-fraction). */
    DATA_ERROR(3);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
