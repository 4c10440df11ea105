package org.sparktransfer.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads and writes small files (manifests, class lists, model zips) on any Hadoop FileSystem:
 * {@code file://}, {@code hdfs://}, {@code s3a://} or a plain local path.
 */
public final class Storage {
    private final Configuration conf;

    public Storage(Configuration conf) {
        this.conf = conf;
    }

    /**
     * Storage with the Hadoop settings a Spark job would get ({@code spark.hadoop.*} from spark-submit's
     * system properties and spark-defaults), for a driver-side step that runs before any SparkSession.
     */
    public static Storage fromSparkConf() {
        return fromSparkConf(new org.apache.spark.SparkConf(true));
    }

    /** Storage with the Hadoop defaults and site files plus {@code spark.hadoop.*} of {@code spark}. */
    public static Storage fromSparkConf(org.apache.spark.SparkConf spark) {
        Configuration conf = new Configuration();
        for (scala.Tuple2<String, String> kv : spark.getAllWithPrefix("spark.hadoop.")) {
            conf.set(kv._1(), kv._2());
        }
        return new Storage(conf);
    }

    public Configuration conf() {
        return conf;
    }

    public FileSystem fs(Path path) {
        try {
            return path.getFileSystem(conf);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the file system of " + path, e);
        }
    }

    /** A fully qualified path (scheme and authority filled in), so that equal locations compare equal. */
    public Path qualify(String uri) {
        Path p = new Path(uri);
        return fs(p).makeQualified(p);
    }

    public boolean exists(Path path) throws IOException {
        return fs(path).exists(path);
    }

    public InputStream open(Path path) throws IOException {
        return fs(path).open(path);
    }

    public byte[] readBytes(Path path) throws IOException {
        try (InputStream in = open(path)) {
            return in.readAllBytes();
        }
    }

    public String readString(Path path) throws IOException {
        return new String(readBytes(path), StandardCharsets.UTF_8);
    }

    public OutputStream create(Path path) throws IOException {
        FSDataOutputStream out = fs(path).create(path, true);
        return out;
    }

    public void writeString(Path path, String text) throws IOException {
        try (OutputStream out = create(path)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    public void mkdirs(Path path) throws IOException {
        fs(path).mkdirs(path);
    }

    public void delete(Path path) throws IOException {
        fs(path).delete(path, true);
    }

    /**
     * Publishes a directory written under a temporary name: delete-then-rename on file systems with
     * atomic rename (HDFS, local); readers only trust a directory that holds its completion marker.
     */
    public void publishDirectory(Path staging, Path target) throws IOException {
        FileSystem fs = fs(target);
        if (fs.exists(target)) {
            fs.delete(target, true);
        }
        fs.mkdirs(target.getParent());
        if (!fs.rename(staging, target)) {
            throw new IOException("could not rename " + staging + " to " + target);
        }
    }

    public Path stagingSibling(Path target) {
        return new Path(target.getParent(), "_staging-" + target.getName() + "-" + UUID.randomUUID());
    }
}
