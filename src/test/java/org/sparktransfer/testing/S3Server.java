package org.sparktransfer.testing;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * An S3-compatible server in this JVM: s3proxy over jclouds' in-memory {@code transient} blob
 * store, AWS V2/V4 signatures checked, plain HTTP on a random loopback port, with one bucket.
 * {@link #s3aSettings()} are the Hadoop settings that point S3A at it:
 *
 * <pre>{@code
 * s3 = S3Server.start();
 * spark = LocalSpark.builder().hadoop(s3.s3aSettings()).start();
 * String root = s3.uri("data");          // s3a://<bucket>/data
 * }</pre>
 *
 * <p>Each server gets a bucket name of its own, because Hadoop caches file systems by scheme and
 * bucket for the JVM's lifetime: a second server with the same bucket name would be reached
 * through the first one's cached client.
 */
public final class S3Server implements AutoCloseable {
    public static final String ACCESS_KEY = "test-access";
    public static final String SECRET_KEY = "test-secret";

    private final S3Proxy proxy;
    private final BlobStoreContext context;
    private final String bucket;

    private S3Server(S3Proxy proxy, BlobStoreContext context, String bucket) {
        this.proxy = proxy;
        this.context = context;
        this.bucket = bucket;
    }

    public static S3Server start() throws Exception {
        Properties props = new Properties();
        BlobStoreContext context = ContextBuilder.newBuilder("transient")
                .credentials("unused", "unused")
                .overrides(props)
                .build(BlobStoreContext.class);
        S3Proxy proxy = null;
        try {
            BlobStore store = context.getBlobStore();
            String bucket = "test-" + UUID.randomUUID().toString().substring(0, 8);
            store.createContainerInLocation(null, bucket);
            proxy = S3Proxy.builder()
                    .blobStore(store)
                    .endpoint(URI.create("http://127.0.0.1:0"))
                    .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                    .build();
            proxy.start(); // Jetty's start() returns once the connector is bound
            return new S3Server(proxy, context, bucket);
        } catch (Exception e) {
            if (proxy != null) {
                proxy.stop();
            }
            context.close();
            throw e;
        }
    }

    public String bucket() {
        return bucket;
    }

    /** {@code http://127.0.0.1:<port>} */
    public String endpoint() {
        return "http://127.0.0.1:" + proxy.getPort();
    }

    /** {@code s3a://<bucket>/<key>}; an empty key is the bucket root. */
    public String uri(String key) {
        return "s3a://" + bucket + "/" + key.replaceFirst("^/+", "");
    }

    /** The {@code fs.s3a.*} settings for this server (also usable as {@code spark.hadoop.*} without the prefix). */
    public Map<String, String> s3aSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("fs.s3a.endpoint", endpoint());
        m.put("fs.s3a.path.style.access", "true");
        m.put("fs.s3a.connection.ssl.enabled", "false");
        m.put("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
        m.put("fs.s3a.access.key", ACCESS_KEY);
        m.put("fs.s3a.secret.key", SECRET_KEY);
        // No region lookup against real AWS; fail fast instead of retrying for minutes.
        m.put("fs.s3a.endpoint.region", "us-east-1");
        m.put("fs.s3a.attempts.maximum", "2");
        m.put("fs.s3a.retry.limit", "2");
        return m;
    }

    /** A Hadoop configuration with {@link #s3aSettings()}. */
    public Configuration configuration() {
        Configuration conf = new Configuration();
        s3aSettings().forEach(conf::set);
        return conf;
    }

    @Override
    public void close() throws Exception {
        try {
            proxy.stop();
        } finally {
            context.close();
        }
    }
}
