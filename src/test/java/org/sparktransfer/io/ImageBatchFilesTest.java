package org.sparktransfer.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;

/** Image minibatch files: rows come back as written; foreign and truncated files fail with the file's name. */
class ImageBatchFilesTest {

    private static byte[] written(List<Row> rows) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageBatchFiles.write(rows, out);
        return out.toByteArray();
    }

    @Test
    void rowsReadBackAsWritten() throws IOException {
        byte[] jpeg = {(byte) 0xFF, (byte) 0xD8, 1, 2, 3, (byte) 0xFF, (byte) 0xD9};
        List<Row> rows = List.of(
                RowFactory.create("s3a://bucket/data/cats/\u00e9t\u00e9 1.jpg", 2, jpeg, "cats/\u00e9t\u00e9 1.jpg"),
                RowFactory.create("file:/data/dogs/b.png", 0, new byte[0], null),
                RowFactory.create("hdfs://nn/data/dogs/c.png", 1, new byte[] {9}));
        List<Row> back = ImageBatchFiles.read(new ByteArrayInputStream(written(rows)), "memory");
        assertEquals(3, back.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(rows.get(i).getString(0), back.get(i).getString(0));
            assertEquals(rows.get(i).getInt(1), back.get(i).getInt(1));
            assertArrayEquals((byte[]) rows.get(i).get(2), (byte[]) back.get(i).get(2));
        }
        assertEquals("cats/\u00e9t\u00e9 1.jpg", back.get(0).getString(3));
        assertNull(back.get(1).get(3), "a null relative path stays null");
        assertNull(back.get(2).get(3), "a row without one reads back with null");
    }

    @Test
    void foreignAndTruncatedFilesFailWithTheirName() throws IOException {
        IOException foreign = assertThrows(IOException.class,
                () -> ImageBatchFiles.read(new ByteArrayInputStream(new byte[] {1, 2, 3, 4, 5, 6}), "hdfs://nn/run/x.bin"));
        assertTrue(foreign.getMessage().contains("hdfs://nn/run/x.bin") && foreign.getMessage().contains("not an image minibatch"),
                foreign.getMessage());
        byte[] whole = written(List.of(RowFactory.create("file:/a.png", 0, new byte[100], "a.png")));
        byte[] cut = Arrays.copyOf(whole, whole.length - 10);
        IOException truncated = assertThrows(IOException.class,
                () -> ImageBatchFiles.read(new ByteArrayInputStream(cut), "file:/run/y.bin"));
        assertTrue(truncated.getMessage().contains("file:/run/y.bin") && truncated.getMessage().contains("truncated"),
                truncated.getMessage());
    }
}
