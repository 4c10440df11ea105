package org.sparktransfer.jobs;

/** The input was readable but failed a data-quality limit; exits with {@link ExitCode#DATA_ERROR}. */
public class DataQualityException extends RuntimeException {
    public DataQualityException(String message) {
        super(message);
    }
}
