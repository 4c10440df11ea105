package org.sparktransfer.io;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Minibatch files of still-encoded images: what an epoch's export writes for image training, so that decoding
 * and augmentation run in the training workers' prefetch thread, beside the steps, instead of in an export job
 * before them. A file holds a minibatch's rows {@code (path, label_index, content, relative_path)} as they were
 * checked: a 16-image minibatch of photos is ~1-2 MB here against 9.6 MB as 224 px float tensors.
 *
 * <p>Format: a magic int, a version byte, the row count, then per row the path, the label index, the relative
 * path (a presence flag first) and the encoded bytes (length first).
 */
public final class ImageBatchFiles {
    private static final int MAGIC = 0x53544942; // "STIB"
    private static final byte VERSION = 1;
    private static final int BUFFER = 1 << 16;

    private ImageBatchFiles() {
    }

    /** Writes {@code rows} (path, label_index, content[, relative_path]) to {@code out} (not closed). */
    public static void write(List<Row> rows, OutputStream out) throws IOException {
        DataOutputStream o = new DataOutputStream(new BufferedOutputStream(out, BUFFER));
        o.writeInt(MAGIC);
        o.writeByte(VERSION);
        o.writeInt(rows.size());
        for (Row r : rows) {
            o.writeUTF(r.getString(0));
            o.writeInt(r.getInt(1));
            String relative = r.size() > 3 ? r.getString(3) : null;
            o.writeBoolean(relative != null);
            if (relative != null) {
                o.writeUTF(relative);
            }
            byte[] content = (byte[]) r.get(2);
            o.writeInt(content.length);
            o.write(content);
        }
        o.flush();
    }

    /** The rows a file {@link #write} wrote, with a null relative path where none was written. */
    public static List<Row> read(InputStream in, String path) throws IOException {
        DataInputStream i = new DataInputStream(new BufferedInputStream(in, BUFFER));
        try {
            if (i.readInt() != MAGIC) {
                throw new IOException(path + " is not an image minibatch file written by " + ImageBatchFiles.class.getName());
            }
            byte version = i.readByte();
            if (version != VERSION) {
                throw new IOException(path + ": image minibatch file version " + version + ", this build reads " + VERSION);
            }
            int n = i.readInt();
            if (n < 0) {
                throw new IOException(path + ": negative row count " + n);
            }
            List<Row> rows = new ArrayList<>(n);
            for (int k = 0; k < n; k++) {
                String imagePath = i.readUTF();
                int label = i.readInt();
                String relative = i.readBoolean() ? i.readUTF() : null;
                int length = i.readInt();
                if (length < 0) {
                    throw new IOException(path + ": negative image length " + length + " for " + imagePath);
                }
                byte[] content = new byte[length];
                i.readFully(content);
                rows.add(RowFactory.create(imagePath, label, content, relative));
            }
            return rows;
        } catch (EOFException e) {
            throw new IOException(path + " ends before its last image (truncated image minibatch file)", e);
        }
    }
}
