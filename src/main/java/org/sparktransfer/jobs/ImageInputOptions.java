package org.sparktransfer.jobs;

import java.util.List;
import org.sparktransfer.data.ImageSource;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * The image input both jobs read, as one picocli mixin: a folder or a manifest (exactly one), the extensions read
 * from a folder, and the decompression-bomb guard applied to every image.
 */
final class ImageInputOptions {

    static final class Source {
        @Option(names = "--images", paramLabel = "URI",
                description = "Folder of images, searched recursively, on file://, hdfs:// or s3a://; for TrainJob an "
                        + "ImageFolder root: <root>/<class>/.../<image>.")
        String images;

        @Option(names = "--manifest", paramLabel = "URI",
                description = "CSV (with header) or Parquet manifest with a path column and optional label "
                        + "(and, for TrainJob, split) columns.")
        String manifest;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--extensions", defaultValue = "jpg,jpeg,png,bmp,gif,tif,tiff", split = ",",
            description = "Image file extensions read from a folder (default: ${DEFAULT-VALUE}).")
    List<String> extensions;

    @Option(names = "--max-pixels", defaultValue = "89478485",
            description = "Decompression-bomb guard: most pixels per image (default: ${DEFAULT-VALUE}).")
    long maxPixels;

    ImageSource imageSource() {
        return source.images != null ? ImageSource.folder(source.images, extensions) : ImageSource.manifest(source.manifest);
    }
}
