package org.sparktransfer.data;

import java.io.Serializable;
import org.sparktransfer.data.image.ImageRejectedException;
import org.sparktransfer.data.image.RejectReason;

/** Why an image is quarantined: the stage it failed at, the rejects table's reason code and a message. */
public record RejectCause(String stage, String reason, String message) implements Serializable {

    /** The bytes could not be read from storage. */
    public static RejectCause unreadable(String readError) {
        return new RejectCause(ImageCheck.STAGE_READ, RejectReason.UNREADABLE.name(), readError);
    }

    /**
     * A failed decode: the decoder's own reason, or UNDECODABLE with the cause for anything else it threw
     * (a codec bug or an OutOfMemoryError must quarantine the file, not fail its partition).
     */
    public static RejectCause decodeFailure(Throwable e) {
        if (e instanceof ImageRejectedException r) {
            return new RejectCause(ImageCheck.STAGE_DECODE, r.reason().name(), r.getMessage());
        }
        return new RejectCause(ImageCheck.STAGE_DECODE, RejectReason.UNDECODABLE.name(),
                e.getClass().getSimpleName() + ": " + e.getMessage());
    }
}
