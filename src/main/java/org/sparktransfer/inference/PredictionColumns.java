package org.sparktransfer.inference;

import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The predictions table contract (README, "Output tables"). */
public final class PredictionColumns {
    private PredictionColumns() {}

    public static final StructType TOP_K_ENTRY = new StructType()
            .add("label", DataTypes.StringType, false)
            .add("probability", DataTypes.DoubleType, false);

    /** Rows as the scorer emits them; run_date is added by the job before writing. */
    public static final StructType SCORED = new StructType()
            .add("image_path", DataTypes.StringType, false)
            .add("predicted_label", DataTypes.StringType, false)
            .add("predicted_index", DataTypes.IntegerType, false)
            .add("confidence", DataTypes.DoubleType, false)
            .add("top_k", new ArrayType(TOP_K_ENTRY, false), false)
            .add("probabilities", new ArrayType(DataTypes.DoubleType, false), false)
            .add("true_label", DataTypes.StringType, true)
            .add("true_index", DataTypes.IntegerType, true)
            .add("correct", DataTypes.BooleanType, true)
            .add("in_top_k", DataTypes.BooleanType, true)
            .add("model_id", DataTypes.StringType, false)
            .add("run_id", DataTypes.StringType, false)
            .add("scored_at", DataTypes.TimestampType, false);
}
