package org.sparktransfer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.sparktransfer.data.image.EvalTransform;
import org.sparktransfer.data.image.ImageDecoder;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.testing.TestImages;

/** The decoder's threads fill every slot exactly as one image at a time does, rejects included, chunk after chunk. */
class ParallelEvalDecoderTest {
    private static final Preprocessing PRE = Preprocessing.builder().resizeSize(73).cropSize(64).build();

    @Test
    void threeThreadsGiveEveryImageItsOwnTensorOrItsReject() throws IOException {
        List<byte[]> contents = new ArrayList<>();
        Random rnd = new Random(3);
        for (int i = 0; i < 9; i++) {
            contents.add(jpeg(rnd, 90 + 7 * i, 70 + 5 * i));
        }
        TestImages.folder().classes("a", "b").perClass(2).size(80, 60).seed(5).truncated("a/cut.png").render()
                .values().forEach(contents::add);
        contents.add(null);
        contents.add(new byte[0]);
        contents.add("not an image".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        contents.add(jpeg(rnd, 64, 200));

        ImageDecoder one = new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS);
        EvalTransform transform = new EvalTransform(PRE);
        int rejects = 0;
        try (ParallelEvalDecoder decoder = new ParallelEvalDecoder(PRE, ImageDecoder.DEFAULT_MAX_PIXELS, 16, 3)) {
            // Two chunks through the same decoder: 16 slots, then the 2 left over (a chunk smaller than the threads).
            for (List<byte[]> chunk : List.of(contents.subList(0, 16), contents.subList(16, contents.size()))) {
                RejectCause[] causes = decoder.decode(chunk);
                assertEquals(chunk.size(), causes.length);
                for (int i = 0; i < chunk.size(); i++) {
                    byte[] bytes = chunk.get(i);
                    float[] expected = new float[decoder.floatsPerImage()];
                    RejectCause expectedCause = null;
                    try {
                        transform.apply(one.decodeRgb(bytes == null ? new byte[0] : bytes), expected, 0);
                    } catch (Exception e) {
                        expectedCause = RejectCause.decodeFailure(e);
                    }
                    if (expectedCause == null) {
                        assertNull(causes[i], "image " + i);
                        assertArrayEquals(expected, decoder.slot(i), "image " + i);
                    } else {
                        assertNotNull(causes[i], "image " + i + " is rejected");
                        assertEquals(expectedCause, causes[i], "image " + i);
                        rejects++;
                    }
                }
            }
        }
        assertEquals(4, rejects, "the truncated PNG, null, no bytes and text are rejected, the rest decoded");
    }

    @Test
    void oneThreadDecodesOnTheCallerAlone() throws Exception {
        Random rnd = new Random(4);
        List<byte[]> contents = List.of(jpeg(rnd, 100, 80), jpeg(rnd, 80, 100));
        try (ParallelEvalDecoder decoder = new ParallelEvalDecoder(PRE, ImageDecoder.DEFAULT_MAX_PIXELS, 4, 1)) {
            assertArrayEquals(new RejectCause[2], decoder.decode(contents));
            for (int i = 0; i < 2; i++) {
                float[] expected = new float[decoder.floatsPerImage()];
                new EvalTransform(PRE).apply(new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS).decodeRgb(contents.get(i)),
                        expected, 0);
                assertArrayEquals(expected, decoder.slot(i), "image " + i);
            }
        }
    }

    private static byte[] jpeg(Random rnd, int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, ((x * 3 + rnd.nextInt(16)) & 0xFF) << 16 | ((y * 2) & 0xFF) << 8 | rnd.nextInt(256));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        return out.toByteArray();
    }
}
