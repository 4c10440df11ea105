package org.sparktransfer.inference;

import java.util.List;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The predictions table contract (README, "Output tables") and the rows scoring emits. */
public final class PredictionColumns {
    private PredictionColumns() {}

    public static final StructType TOP_K_ENTRY = new StructType()
            .add("label", DataTypes.StringType, false)
            .add("probability", DataTypes.DoubleType, false);

    public static final String REJECT_REASON = "reject_reason";

    /**
     * One listed image after {@link CheckAndScore}: a prediction (reject_reason null) or a reject (the
     * prediction columns null, reject_stage/reject_reason/reject_message set). run_date is added by the job.
     */
    public static final StructType OUTCOME = new StructType()
            .add("image_path", DataTypes.StringType, false)
            .add("predicted_label", DataTypes.StringType, true)
            .add("predicted_index", DataTypes.IntegerType, true)
            .add("confidence", DataTypes.DoubleType, true)
            .add("top_k", new ArrayType(TOP_K_ENTRY, false), true)
            .add("probabilities", new ArrayType(DataTypes.DoubleType, false), true)
            .add("true_label", DataTypes.StringType, true)
            .add("true_index", DataTypes.IntegerType, true)
            .add("correct", DataTypes.BooleanType, true)
            .add("in_top_k", DataTypes.BooleanType, true)
            .add("model_id", DataTypes.StringType, false)
            .add("run_id", DataTypes.StringType, false)
            .add("scored_at", DataTypes.TimestampType, false)
            .add("bytes", DataTypes.LongType, false)
            .add("reject_stage", DataTypes.StringType, true)
            .add(REJECT_REASON, DataTypes.StringType, true)
            .add("reject_message", DataTypes.StringType, true);

    /** The predictions table's columns, in order (run_date is the partition column). */
    public static final List<String> PREDICTIONS = List.of("image_path", "predicted_label", "predicted_index",
            "confidence", "top_k", "probabilities", "true_label", "correct", "model_id", "run_id", "scored_at", "run_date");
}
