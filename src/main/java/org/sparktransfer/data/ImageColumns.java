package org.sparktransfer.data;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Column names and schemas of the image rows that flow between the data stages. */
public final class ImageColumns {
    private ImageColumns() {}

    public static final String PATH = "path";
    public static final String RELATIVE_PATH = "relative_path";
    public static final String LABEL = "label";
    public static final String SPLIT = "split";
    public static final String CONTENT = "content";
    /** Why the bytes could not be read (manifest paths that do not exist); null when they were. */
    public static final String READ_ERROR = "read_error";

    /** One listed image: its bytes (or why they are missing), its label and split when known. */
    public static final StructType LISTED = new StructType()
            .add(PATH, DataTypes.StringType, false)
            .add(RELATIVE_PATH, DataTypes.StringType, false)
            .add(LABEL, DataTypes.StringType, true)
            .add(SPLIT, DataTypes.StringType, true)
            .add(CONTENT, DataTypes.BinaryType, true)
            .add(READ_ERROR, DataTypes.StringType, true);

    public static final String LABEL_INDEX = "label_index";
    public static final String BYTES = "bytes";
    public static final String WIDTH = "width";
    public static final String HEIGHT = "height";
    public static final String REJECT_STAGE = "reject_stage";
    public static final String REJECT_REASON = "reject_reason";
    public static final String REJECT_MESSAGE = "reject_message";

    /** A listed image after the decode check: good rows have a null reject_reason. */
    public static final StructType CHECKED = new StructType()
            .add(PATH, DataTypes.StringType, false)
            .add(RELATIVE_PATH, DataTypes.StringType, false)
            .add(LABEL, DataTypes.StringType, true)
            .add(LABEL_INDEX, DataTypes.IntegerType, false)
            .add(SPLIT, DataTypes.StringType, true)
            .add(CONTENT, DataTypes.BinaryType, true)
            .add(BYTES, DataTypes.LongType, false)
            .add(WIDTH, DataTypes.IntegerType, false)
            .add(HEIGHT, DataTypes.IntegerType, false)
            .add(REJECT_STAGE, DataTypes.StringType, true)
            .add(REJECT_REASON, DataTypes.StringType, true)
            .add(REJECT_MESSAGE, DataTypes.StringType, true);
}
