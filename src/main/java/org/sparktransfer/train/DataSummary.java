package org.sparktransfer.train;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;

/**
 * Counts of the checked images per split and class, and of the rejects per reason, from one
 * aggregation over the checked rows.
 */
public record DataSummary(Map<String, Map<String, Long>> goodBySplitAndLabel, Map<String, Long> rejectsByReason, long total) {

    /** Rows of (split, label, reject_reason, count). */
    public static DataSummary from(List<Row> counts) {
        Map<String, Map<String, Long>> good = new TreeMap<>();
        Map<String, Long> rejects = new TreeMap<>();
        long total = 0;
        for (Row r : counts) {
            long n = r.getLong(3);
            total += n;
            if (r.isNullAt(2)) {
                good.computeIfAbsent(r.getString(0), k -> new TreeMap<>()).merge(r.getString(1), n, Long::sum);
            } else {
                rejects.merge(r.getString(2), n, Long::sum);
            }
        }
        return new DataSummary(good, rejects, total);
    }

    public long good(String split) {
        return goodBySplitAndLabel.getOrDefault(split, Map.of()).values().stream().mapToLong(Long::longValue).sum();
    }

    public long rejected() {
        return rejectsByReason.values().stream().mapToLong(Long::longValue).sum();
    }

    public double rejectFraction() {
        return total == 0 ? 0 : rejected() / (double) total;
    }
}
