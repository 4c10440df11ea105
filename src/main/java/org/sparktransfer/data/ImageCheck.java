package org.sparktransfer.data;

import java.awt.image.BufferedImage;
import java.util.Iterator;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.sparktransfer.data.image.ImageDecoder;
import org.sparktransfer.data.image.ImageRejectedException;

/**
 * The decode check: every listed image is decoded once, and each row leaves either good (with its
 * label index and size) or marked with the stage and reason it failed. Nothing is dropped here, so
 * a bad file can never take the good files of its partition down with it.
 */
public final class ImageCheck implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    public static final String STAGE_READ = "read";
    public static final String STAGE_DECODE = "decode";
    public static final String STAGE_LABEL = "label";

    private final ClassIndex classes;
    private final long maxPixels;
    private final boolean labelsRequired;

    /**
     * @param classes the classes the model knows; images with other labels are rejected when
     *     labelsRequired (training) and kept with label index -1 otherwise (scoring)
     */
    public ImageCheck(ClassIndex classes, long maxPixels, boolean labelsRequired) {
        this.classes = classes;
        this.maxPixels = maxPixels;
        this.labelsRequired = labelsRequired;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        ImageDecoder decoder = new ImageDecoder(maxPixels);
        return Iterators.map(input, r -> check(decoder, r));
    }

    Row check(ImageDecoder decoder, Row r) {
        String path = r.getString(0);
        String relative = r.getString(1);
        String label = r.getString(2);
        String split = r.getString(3);
        byte[] content = (byte[]) r.get(4);
        String readError = r.getString(5);
        int labelIndex = label == null ? -1 : classes.indexOf(label);
        long bytes = content == null ? 0L : content.length;
        if (readError != null) {
            RejectCause c = RejectCause.unreadable(readError);
            return rejected(path, relative, label, split, bytes, c.stage(), c.reason(), c.message());
        }
        if (labelsRequired && label == null) {
            return rejected(path, relative, null, split, bytes, STAGE_LABEL, "NO_LABEL",
                    "the image has no label (not inside a class folder, or an empty manifest label)");
        }
        if (labelsRequired && labelIndex < 0) {
            return rejected(path, relative, label, split, bytes, STAGE_LABEL, "UNKNOWN_LABEL",
                    "label '" + label + "' is not one of the model's " + classes.size() + " classes");
        }
        try {
            BufferedImage image = decoder.decodeRgb(content == null ? new byte[0] : content);
            return RowFactory.create(path, relative, label, labelIndex, split, content, bytes,
                    image.getWidth(), image.getHeight(), null, null, null);
        } catch (ImageRejectedException | RuntimeException | OutOfMemoryError e) {
            RejectCause c = RejectCause.decodeFailure(e);
            return rejected(path, relative, label, split, bytes, c.stage(), c.reason(), c.message());
        }
    }

    private static Row rejected(String path, String relative, String label, String split, long bytes,
                                String stage, String reason, String message) {
        return RowFactory.create(path, relative, label, -1, split, null, bytes, 0, 0, stage, reason, message);
    }
}
