package org.sparktransfer.jobs;

/** A problem with what the user asked for, reported as one line without a stack trace. */
public class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
