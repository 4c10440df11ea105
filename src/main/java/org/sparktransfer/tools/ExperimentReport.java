package org.sparktransfer.tools;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparktransfer.io.Json;
import org.sparktransfer.io.ModelManifest;

/**
 * Prints the transfer experiment's results as a markdown table: one row per TrainJob run, joined
 * with the PredictJob summary row whose run id is the run's name.
 *
 * <pre>ExperimentReport &lt;predict output dir&gt; &lt;TrainJob output dir&gt; METHOD=RUN_NAME [METHOD=RUN_NAME ...]</pre>
 *
 * <p>Per run it reads {@code <runs>/<run>/model/manifest.json} (weights, frozen stages, epochs),
 * {@code <runs>/<run>/history} (training images, epochs run, training seconds) and the
 * {@code summary} table under the predict output (test accuracy, macro F1). With several runs of
 * one method (seeds) it adds a mean row per method.
 */
public final class ExperimentReport {
    private ExperimentReport() {}

    record Result(String method, String run, String weights, String frozen, long trainImages, int epochs,
                  int bestEpoch, double trainSeconds, long testImages, double accuracy, double macroF1) {}

    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: ExperimentReport <predict output dir> <TrainJob output dir> METHOD=RUN_NAME ...");
            System.exit(2);
        }
        String predictions = args[0];
        String runs = args[1];
        SparkSession spark = SparkSession.builder().master("local[1]").appName("ExperimentReport")
                .config("spark.ui.enabled", "false").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        List<Result> results = new ArrayList<>();
        int missing = 0;
        try {
            var summary = spark.read().parquet(predictions + "/summary").cache();
            for (int i = 2; i < args.length; i++) {
                int eq = args[i].indexOf('=');
                if (eq <= 0) {
                    System.err.println("expected METHOD=RUN_NAME, got " + args[i]);
                    System.exit(2);
                }
                String method = args[i].substring(0, eq);
                String run = args[i].substring(eq + 1);
                Path runDir = Path.of(runs, run);
                Path manifestFile = runDir.resolve("model").resolve("manifest.json");
                List<Row> s = summary.filter(col("run_id").equalTo(run))
                        .orderBy(col("scored_at").desc())
                        .select("images_scored", "accuracy", "macro_f1").limit(1).collectAsList();
                if (!Files.exists(manifestFile) || s.isEmpty()) {
                    System.err.println("no finished run or no summary row for " + run + "; left out");
                    missing++;
                    continue;
                }
                ModelManifest m = Json.read(Files.readString(manifestFile, StandardCharsets.UTF_8), ModelManifest.class);
                Row h = spark.read().parquet(runDir.resolve("history").toString())
                        .selectExpr("max(train_images)", "count(*)", "sum(seconds)").first();
                int best = m.metrics() != null && m.metrics().get("epoch") != null ? m.metrics().get("epoch").intValue() : -1;
                Object epochs = m.hyperParameters() == null ? null : m.hyperParameters().get("epochs");
                Row r = s.get(0);
                results.add(new Result(method, run, shortWeights(m.weightsSource()), m.freeze(), h.getLong(0),
                        epochs instanceof Number n ? n.intValue() : (int) h.getLong(1), best, h.getDouble(2),
                        r.getLong(0), r.isNullAt(1) ? Double.NaN : r.getDouble(1), r.isNullAt(2) ? Double.NaN : r.getDouble(2)));
            }
        } finally {
            spark.stop();
        }
        System.out.print(markdown(results));
        if (missing > 0) {
            System.exit(1);
        }
    }

    static String markdown(List<Result> results) {
        StringBuilder b = new StringBuilder();
        b.append("| method | run | weights | frozen | train images | epochs (best) | train s | test images | test accuracy | macro F1 |\n");
        b.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
        Map<String, List<Result>> byMethod = new LinkedHashMap<>();
        for (Result r : results) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %d | %d (%d) | %.0f | %d | %.4f | %.4f |%n",
                    r.method(), r.run(), r.weights(), r.frozen(), r.trainImages(), r.epochs(), r.bestEpoch(),
                    r.trainSeconds(), r.testImages(), r.accuracy(), r.macroF1()));
            byMethod.computeIfAbsent(r.method(), k -> new ArrayList<>()).add(r);
        }
        if (byMethod.values().stream().anyMatch(l -> l.size() > 1)) {
            b.append("\n| method | runs | test accuracy, mean ± sd | macro F1, mean ± sd |\n|---|---:|---:|---:|\n");
            byMethod.forEach((method, l) -> {
                double[] acc = l.stream().mapToDouble(Result::accuracy).toArray();
                double[] f1 = l.stream().mapToDouble(Result::macroF1).toArray();
                b.append(String.format(Locale.ROOT, "| %s | %d | %.4f ± %.4f | %.4f ± %.4f |%n",
                        method, l.size(), mean(acc), sd(acc), mean(f1), sd(f1)));
            });
        }
        return b.toString();
    }

    /** "model artifact file:/x/runs/source/model (resnet18-source)" becomes "resnet18-source". */
    static String shortWeights(String described) {
        if (described == null) {
            return "?";
        }
        if (described.startsWith("random initialisation")) {
            return "random init";
        }
        int open = described.lastIndexOf('(');
        if (described.startsWith("model artifact") && open > 0 && described.endsWith(")")) {
            return described.substring(open + 1, described.length() - 1);
        }
        return described;
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    private static double sd(double[] v) {
        if (v.length < 2) {
            return 0;
        }
        double m = mean(v);
        double s = 0;
        for (double x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / (v.length - 1));
    }
}
