package org.sparktransfer.data.image;

/** Why an input was not turned into an image; stable names, safe to store in output tables. */
public enum RejectReason {
    /** Zero bytes (or null). */
    EMPTY,
    /** No ImageIO reader recognises the bytes (text, archives, unsupported formats). */
    NOT_AN_IMAGE,
    /** A reader recognised the format but failed to decode it (corrupt data, unsupported variant). */
    UNDECODABLE,
    /** The data ends before the image does (PIL raises "image file is truncated" here too). */
    TRUNCATED,
    /** The header announces more pixels than the configured limit (decompression-bomb guard). */
    TOO_MANY_PIXELS,
    /** The bytes could not be read from storage (I/O failure outside the decoder). */
    UNREADABLE
}
