package org.sparktransfer.tools;

import static org.apache.spark.sql.functions.col;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** Prints one line from PredictJob's summary table: {@code PrintSummary <output> <run-id>}. */
public final class PrintSummary {
    private PrintSummary() {}

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: PrintSummary <predict output dir> <run id>");
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().master("local[1]").appName("PrintSummary")
                .config("spark.ui.enabled", "false").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        try {
            List<Row> rows = spark.read().parquet(args[0] + "/summary").filter(col("run_id").equalTo(args[1]))
                    .select("images_scored", "images_rejected", "accuracy", "macro_f1", "top_k", "top_k_accuracy", "images_per_second")
                    .collectAsList();
            if (rows.isEmpty()) {
                System.err.println("no summary row for run " + args[1] + " under " + args[0]);
                System.exit(1);
            }
            Row r = rows.get(0);
            System.out.printf("Accuracy:          %.4f on %d held-out images (macro F1 %.4f, top-%d %.4f; %d rejected; %.1f images/s)%n",
                    r.getDouble(2), r.getLong(0), r.getDouble(3), r.getInt(4), r.getDouble(5), r.getLong(1), r.getDouble(6));
        } finally {
            spark.stop();
        }
    }
}
