package org.sparktransfer.runtime;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.sparktransfer.data.ImageColumns;

/**
 * Turns one listed image row into Spark's internal form and back, as the first task of an executor does when it
 * reads the listing as {@code Row}s ({@code Dataset.javaRDD()}): generating that conversion's code initialises
 * Scala's runtime reflection ({@code ScalaReflection}) and the Janino compiler, mostly class loading. Measured in
 * PredictJob's first task (local mode, 2 cores): 1.8-1.9 s between the task's start and its first row, of which
 * ScalaReflection's initialisation was the largest part; done ahead, 0.26 s. On an executor, which is idle until
 * its first task arrives, that time is free; in local mode the warm-up shares the cores with the driver's
 * planning. The generated classes themselves differ per query; their compilers are what is warm.
 */
final class RowConversionWarmup {
    private RowConversionWarmup() {
    }

    /** The row after the round trip through the internal form (equal to the given one). */
    static Row roundTrip(Row listed) {
        ExpressionEncoder<Row> encoder = ExpressionEncoder.apply(ImageColumns.LISTED);
        ExpressionEncoder<Row> bound = encoder.resolveAndBind(encoder.resolveAndBind$default$1(),
                encoder.resolveAndBind$default$2());
        InternalRow internal = bound.createSerializer().apply(listed);
        return bound.createDeserializer().apply(internal);
    }

    /** A listed row of the shape tasks read: path, relative path, label, split, bytes, no read error. */
    static Row sampleListedRow() {
        return RowFactory.create("file:/warmup/a/0.jpg", "a/0.jpg", "a", "train", new byte[] {(byte) 0xFF, (byte) 0xD8},
                null);
    }
}
