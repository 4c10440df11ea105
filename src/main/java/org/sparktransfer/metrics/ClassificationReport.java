package org.sparktransfer.metrics;

import java.util.ArrayList;
import java.util.List;

/**
 * Per-class precision, recall, F1 and support, accuracy and macro/weighted F1 from a confusion
 * matrix (rows = actual, columns = predicted), with scikit-learn's conventions: a class that is
 * never predicted has precision 0, a class with no support has recall 0, and both count in the
 * macro average (which is what makes macro F1 honest about ignored classes).
 */
public final class ClassificationReport {

    public record ClassMetrics(int index, String label, double precision, double recall, double f1, long support,
                               long predicted) {}

    private final List<ClassMetrics> perClass;
    private final double accuracy;
    private final double macroF1;
    private final double weightedF1;
    private final long total;

    public ClassificationReport(List<String> labels, long[][] confusion) {
        int n = labels.size();
        if (confusion.length != n) {
            throw new IllegalArgumentException("confusion matrix has " + confusion.length + " rows for " + n + " classes");
        }
        long correct = 0;
        long all = 0;
        long[] predictedTotals = new long[n];
        long[] support = new long[n];
        for (int a = 0; a < n; a++) {
            if (confusion[a].length != n) {
                throw new IllegalArgumentException("confusion matrix row " + a + " has " + confusion[a].length + " columns");
            }
            for (int p = 0; p < n; p++) {
                long c = confusion[a][p];
                support[a] += c;
                predictedTotals[p] += c;
                all += c;
                if (a == p) {
                    correct += c;
                }
            }
        }
        List<ClassMetrics> rows = new ArrayList<>(n);
        double macro = 0;
        double weighted = 0;
        for (int i = 0; i < n; i++) {
            long tp = confusion[i][i];
            double precision = predictedTotals[i] == 0 ? 0 : tp / (double) predictedTotals[i];
            double recall = support[i] == 0 ? 0 : tp / (double) support[i];
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            rows.add(new ClassMetrics(i, labels.get(i), precision, recall, f1, support[i], predictedTotals[i]));
            macro += f1;
            weighted += f1 * support[i];
        }
        this.perClass = List.copyOf(rows);
        this.total = all;
        this.accuracy = all == 0 ? Double.NaN : correct / (double) all;
        this.macroF1 = n == 0 ? Double.NaN : macro / n;
        this.weightedF1 = all == 0 ? Double.NaN : weighted / all;
    }

    public List<ClassMetrics> perClass() {
        return perClass;
    }

    public double accuracy() {
        return accuracy;
    }

    public double macroF1() {
        return macroF1;
    }

    public double weightedF1() {
        return weightedF1;
    }

    public long total() {
        return total;
    }
}
