package org.sparktransfer.data.image;

/** A checked rejection of one input with a machine-readable {@link RejectReason}. */
public final class ImageRejectedException extends Exception {
    private static final long serialVersionUID = 1L;

    private final RejectReason reason;

    public ImageRejectedException(RejectReason reason, String message) {
        super(message);
        if (reason == null) {
            throw new IllegalArgumentException("reason must not be null");
        }
        this.reason = reason;
    }

    public ImageRejectedException(RejectReason reason, String message, Throwable cause) {
        this(reason, message);
        initCause(cause);
    }

    public RejectReason reason() {
        return reason;
    }
}
