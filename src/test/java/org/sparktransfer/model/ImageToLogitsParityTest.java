package org.sparktransfer.model;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparktransfer.data.TensorBatch;
import org.sparktransfer.data.TensorBatcher;
import org.sparktransfer.data.image.ImageDecoder;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.testing.PythonScripts;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * From image files to logits, both ways: src/test/python/make_image_logits_parity.py writes JPEG (baseline,
 * progressive, EXIF orientation 6), PNG (RGB, RGBA), BMP, TIFF (LZW) and GIF files with PIL, runs torchvision's
 * eval pipeline (pil_loader + exif_transpose, Resize(256), CenterCrop(224), ToTensor, Normalize with ImageNet
 * mean/std) and a torchvision resnet18 with seeded weights and calibrated BN statistics (forward pass in float64),
 * and exports the weights as safetensors. The Java side reads the same files through the executors' path:
 * {@link TensorBatcher} in EVAL mode ({@code ImageDecoder} + {@code EvalTransform}, NCHW batch) and the network
 * from {@link WeightSources#loadBackbone}.
 *
 * <p>Tolerance reached (measured, 2-core VM, native layers): the eval tensors are identical (max |diff| = 0),
 * logits max |diff| / max |ref| = 4.8e-7 (PyTorch's own float32 pass differs from the float64 reference by
 * 3.8e-7), same predicted class for every image. Asserted: tensors within 1e-6, logits within {@link #TOL}.
 */
class ImageToLogitsParityTest {

    /** Logits: max |java - torch(float64)| relative to the largest |torch| value. */
    static final double TOL = 1e-4;

    @TempDir
    Path dir;

    @Test
    void imageFilesToLogitsMatchTorchvision() throws Exception {
        PythonScripts.run("make_image_logits_parity.py", 300, dir.toString());
        List<String> names = Files.readAllLines(dir.resolve("manifest.txt")).stream()
                .map(String::strip).filter(s -> !s.isEmpty()).toList();
        assertEquals(8, names.size(), "the generator writes eight image files");
        int n = names.size();
        int classes = 10;

        List<Row> rows = new ArrayList<>();
        for (String name : names) {
            rows.add(RowFactory.create(name, 0, Files.readAllBytes(dir.resolve(name))));
        }
        Preprocessing pre = Preprocessing.imagenetDefaults();
        Iterator<TensorBatch> batches = new TensorBatcher(pre, TensorBatcher.Mode.EVAL, 1, 0, n,
                ImageDecoder.DEFAULT_MAX_PIXELS).batches(rows.iterator());
        TensorBatch batch = batches.next();
        assertFalse(batches.hasNext(), "one batch holds every image");
        assertEquals(names, batch.paths());
        INDArray x = batch.features();
        ResNetParityTest.assertClose("image eval tensors", ResNetParityTest.readF32(dir.resolve("inputs.f32"), n, 3, 224, 224),
                x, 1e-6);

        long t0 = System.nanoTime();
        ComputationGraph g = WeightSources.loadBackbone(dir.resolve("resnet18.safetensors").toUri().toString(),
                ResNetArch.RESNET18, classes, pre.cropSize(), 1, new Configuration());
        INDArray logits = ResNetFactory.logits(g, g.feedForward(x, false).get(ResNetFactory.AVGPOOL));
        System.out.printf("image-to-logits: load + forward of %d images at 224 px in %.1f s%n", n, (System.nanoTime() - t0) / 1e9);

        INDArray expected = ResNetParityTest.readF32(dir.resolve("logits.f32"), n, classes);
        ResNetParityTest.assertClose("image-to-logits", expected, logits, TOL);
        // For scale: how far PyTorch's own float32 pass is from its float64 reference.
        INDArray torch32 = ResNetParityTest.readF32(dir.resolve("logits_torch_f32.f32"), n, classes);
        System.out.printf("torch float32 vs float64 max|diff|/max|ref| = %.3e%n",
                org.nd4j.linalg.ops.transforms.Transforms.abs(torch32.sub(expected)).maxNumber().doubleValue()
                        / expected.amaxNumber().doubleValue());
        // Same predicted class for every image.
        assertEquals(Nd4j.argMax(expected, 1), Nd4j.argMax(logits, 1));
    }
}
