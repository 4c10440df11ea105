package org.sparktransfer.data;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;

/**
 * Where the images of a job are: an ImageFolder root ({@code root/<class>/.../<image>}, labels from
 * the first folder level) or a manifest (CSV with a header, or Parquet) with {@code path},
 * optional {@code label} and optional {@code split} columns.
 */
public final class ImageSource implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Extensions read by default, matched case-insensitively. */
    public static final List<String> DEFAULT_EXTENSIONS =
            List.of("jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff");

    public enum Kind { FOLDER, MANIFEST }

    private final Kind kind;
    private final String uri;
    private final List<String> extensions;

    private ImageSource(Kind kind, String uri, List<String> extensions) {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException("an image location is required");
        }
        if (extensions.isEmpty()) {
            throw new IllegalArgumentException("at least one image extension is required");
        }
        this.kind = kind;
        this.uri = uri;
        this.extensions = extensions.stream().map(e -> e.toLowerCase(Locale.ROOT).replaceFirst("^\\.", "")).toList();
    }

    public static ImageSource folder(String uri, List<String> extensions) {
        return new ImageSource(Kind.FOLDER, uri, extensions);
    }

    public static ImageSource manifest(String uri) {
        return new ImageSource(Kind.MANIFEST, uri, DEFAULT_EXTENSIONS);
    }

    public Kind kind() {
        return kind;
    }

    public String uri() {
        return uri;
    }

    public List<String> extensions() {
        return extensions;
    }

    /** A Hadoop glob matching every extension in either case, for binaryFile's pathGlobFilter. */
    public String globFilter() {
        StringBuilder sb = new StringBuilder("*.{");
        for (int i = 0; i < extensions.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(extensions.get(i)).append(',').append(extensions.get(i).toUpperCase(Locale.ROOT));
        }
        return sb.append('}').toString();
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(Locale.ROOT) + ":" + uri;
    }
}
