package org.sparktransfer.inference;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Schemas of PredictJob's report tables (README, "Output tables"). */
final class ReportTables {
    private ReportTables() {}

    static final StructType CONFUSION_MATRIX = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("model_id", DataTypes.StringType, false)
            .add("actual_label", DataTypes.StringType, false)
            .add("predicted_label", DataTypes.StringType, false)
            .add("count", DataTypes.LongType, false)
            .add("run_date", DataTypes.DateType, false);

    static final StructType CLASS_METRICS = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("model_id", DataTypes.StringType, false)
            .add("label", DataTypes.StringType, false)
            .add("class_index", DataTypes.IntegerType, false)
            .add("precision", DataTypes.DoubleType, false)
            .add("recall", DataTypes.DoubleType, false)
            .add("f1", DataTypes.DoubleType, false)
            .add("support", DataTypes.LongType, false)
            .add("predicted", DataTypes.LongType, false)
            .add("run_date", DataTypes.DateType, false);

    static final StructType SUMMARY = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("model_id", DataTypes.StringType, false)
            .add("images_source", DataTypes.StringType, false)
            .add("images_scored", DataTypes.LongType, false)
            .add("images_rejected", DataTypes.LongType, false)
            .add("images_skipped", DataTypes.LongType, false)
            .add("labelled_images", DataTypes.LongType, false)
            .add("labelled_unknown_class", DataTypes.LongType, false)
            .add("accuracy", DataTypes.DoubleType, true)
            .add("macro_f1", DataTypes.DoubleType, true)
            .add("weighted_f1", DataTypes.DoubleType, true)
            .add("top_k_accuracy", DataTypes.DoubleType, true)
            .add("top_k", DataTypes.IntegerType, false)
            .add("seconds", DataTypes.DoubleType, false)
            .add("images_per_second", DataTypes.DoubleType, false)
            .add("scored_at", DataTypes.TimestampType, false)
            .add("run_date", DataTypes.DateType, false);
}
