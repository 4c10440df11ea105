package org.sparktransfer.bench;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a PredictJob's scoring stage spent its seconds: the stage's seconds (its summary's {@code seconds}) and
 * what its tasks logged ({@code CheckAndScore}'s "Task scored" line), summed over the tasks. The benchmark runs one
 * task at a time ({@code local[T]}, {@code spark.task.cpus=T}), so the sums are wall time within the stage.
 *
 * <p>Why: on an executor whose cores run the forward passes, decoding is paid on the same cores, so it bounds
 * the job's ratio to the model-only rate whatever the rest of the pipeline does. {@link #row} prints that bound
 * beside the measured parts, so every run shows which part of the gap is decoding and which is everything else.
 */
record ScoringTime(long images, double stageSeconds, double taskSeconds, double decodeSeconds, double modelLoadSeconds,
                   double forwardSeconds) {

    private static final Pattern TASK = Pattern.compile("Task scored (\\d+) images, rejected \\d+ in ([0-9.]+) s: "
            + "decoding ([0-9.]+) s, model load ([0-9.]+) s, forward passes ([0-9.]+) s");

    static final ScoringTime NONE = new ScoringTime(0, 0, 0, 0, 0, 0);

    static final String HEADER = "| PredictJob run | images | scoring stage s | at the model-only rate s "
            + "| forward passes s (rate / model-only) | decoding s | model load s | rest of the tasks s "
            + "| outside the tasks s | ratio with decoding the only cost added |" + System.lineSeparator()
            + "|---|---|---|---|---|---|---|---|---|---|";

    /** This sum plus one task's log line; any other line leaves it as it is. */
    ScoringTime plusTaskLine(String line) {
        Matcher m = TASK.matcher(line);
        if (!m.find()) {
            return this;
        }
        return new ScoringTime(images + Long.parseLong(m.group(1)), stageSeconds,
                taskSeconds + Double.parseDouble(m.group(2)), decodeSeconds + Double.parseDouble(m.group(3)),
                modelLoadSeconds + Double.parseDouble(m.group(4)), forwardSeconds + Double.parseDouble(m.group(5)));
    }

    ScoringTime withStageSeconds(double seconds) {
        return new ScoringTime(images, seconds, taskSeconds, decodeSeconds, modelLoadSeconds, forwardSeconds);
    }

    /**
     * @param modelOnlyImgPerS the model-only rate the run is compared with (the mean of the rows either side)
     * @return a table row; the last column is model-only seconds over (model-only seconds + decoding seconds): the
     *         job's ratio if its forward passes ran at the model-only rate and decoding were all it added
     */
    String row(String label, double modelOnlyImgPerS) {
        double modelOnlySeconds = images / modelOnlyImgPerS;
        double forwardRatio = forwardSeconds > 0 ? images / forwardSeconds / modelOnlyImgPerS : Double.NaN;
        double restOfTasks = taskSeconds - decodeSeconds - modelLoadSeconds - forwardSeconds;
        return String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f (%.2f) | %.1f | %.1f | %.1f | %.1f | %.2f |",
                label, images, stageSeconds, modelOnlySeconds, forwardSeconds, forwardRatio, decodeSeconds,
                modelLoadSeconds, restOfTasks, stageSeconds - taskSeconds,
                modelOnlySeconds / (modelOnlySeconds + decodeSeconds));
    }
}
