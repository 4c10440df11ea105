package org.sparktransfer.testing;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * A real single-DataNode HDFS (hadoop-client-minicluster, the Hadoop version Spark ships) in this
 * JVM, on loopback, with its storage in a temporary directory. Start it in {@code @BeforeAll},
 * {@link #close()} it in {@code @AfterAll}:
 *
 * <pre>{@code
 * hdfs = MiniHdfs.start();
 * String root = hdfs.uri() + "/data";   // hdfs://127.0.0.1:<port>/data
 * }</pre>
 */
public final class MiniHdfs implements AutoCloseable {
    private final MiniDFSCluster cluster;
    private final Path baseDir;

    private MiniHdfs(MiniDFSCluster cluster, Path baseDir) {
        this.cluster = cluster;
        this.baseDir = baseDir;
    }

    public static MiniHdfs start() throws IOException {
        Path base = Files.createTempDirectory("minihdfs-");
        Configuration conf = new Configuration();
        // Every service on loopback, ephemeral ports; no web UIs needed.
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        // Small files only: do not wait for replication or safe mode.
        conf.setInt("dfs.replication", 1);
        conf.setInt("dfs.namenode.safemode.extension", 0);
        MiniDFSCluster cluster = null;
        try {
            cluster = new MiniDFSCluster.Builder(conf, new File(base.toString()))
                    .numDataNodes(1)
                    .checkDataNodeAddrConfig(true)
                    .build();
            cluster.waitActive();
            return new MiniHdfs(cluster, base);
        } catch (IOException | RuntimeException e) {
            if (cluster != null) {
                cluster.shutdown(true);
            }
            TempDirs.deleteQuietly(base);
            throw e;
        }
    }

    /** {@code hdfs://127.0.0.1:<port>}, without a trailing slash (the cluster itself says "localhost"). */
    public String uri() {
        return "hdfs://127.0.0.1:" + cluster.getNameNodePort();
    }

    /** A client configuration whose default file system is this cluster. */
    public Configuration configuration() {
        Configuration conf = new Configuration(cluster.getConfiguration(0));
        conf.set(FileSystem.FS_DEFAULT_NAME_KEY, uri());
        return conf;
    }

    /** A client of {@link #uri()} (Hadoop's cached instance: do not close it). */
    public FileSystem fileSystem() throws IOException {
        return FileSystem.get(URI.create(uri()), configuration());
    }

    @Override
    public void close() {
        try {
            cluster.shutdown(true);
        } finally {
            TempDirs.deleteQuietly(baseDir);
        }
    }
}
