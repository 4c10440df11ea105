package org.sparktransfer.io;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Names and schemas of every Parquet table the jobs write (documented in the README). Column
 * names are snake_case so BI tools and SQL need no quoting.
 */
public final class OutputTables {
    private OutputTables() {}

    public static final String HISTORY = "history";
    public static final String REJECTS = "rejects";
    public static final String SPLIT_COUNTS = "split_counts";
    public static final String PREDICTIONS = "predictions";
    public static final String CONFUSION_MATRIX = "confusion_matrix";
    public static final String CLASS_METRICS = "class_metrics";
    public static final String SUMMARY = "summary";

    public static final StructType HISTORY_SCHEMA = new StructType()
            .add("run_name", DataTypes.StringType, false)
            .add("epoch", DataTypes.IntegerType, false)
            .add("train_loss", DataTypes.DoubleType, false)
            .add("val_loss", DataTypes.DoubleType, true)
            .add("val_accuracy", DataTypes.DoubleType, true)
            .add("learning_rate", DataTypes.DoubleType, false)
            .add("train_images", DataTypes.LongType, false)
            .add("images_per_second", DataTypes.DoubleType, false)
            .add("seconds", DataTypes.DoubleType, false)
            .add("is_best", DataTypes.BooleanType, false);

    public static final StructType REJECTS_SCHEMA = new StructType()
            .add("path", DataTypes.StringType, false)
            .add("bytes", DataTypes.LongType, false)
            .add("stage", DataTypes.StringType, false)
            .add("reason", DataTypes.StringType, false)
            .add("message", DataTypes.StringType, true);

    public static final StructType SPLIT_COUNTS_SCHEMA = new StructType()
            .add("split", DataTypes.StringType, false)
            .add("label", DataTypes.StringType, false)
            .add("images", DataTypes.LongType, false);

    /** Writes a small driver-side table as one Parquet file, replacing what was there. */
    public static void writeRows(SparkSession spark, List<Row> rows, StructType schema, String path) {
        spark.createDataFrame(rows, schema).coalesce(1).write().mode(SaveMode.Overwrite).parquet(path);
    }

    public static void overwrite(Dataset<Row> table, String path) {
        table.write().mode(SaveMode.Overwrite).parquet(path);
    }
}
