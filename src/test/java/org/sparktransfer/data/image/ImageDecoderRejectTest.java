package org.sparktransfer.data.image;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad inputs map to the right {@link RejectReason}, quickly, and bombs never get a raster. */
class ImageDecoderRejectTest {
    private final ImageDecoder decoder = new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS);

    static BufferedImage pattern(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, ((x * 7) & 0xFF) << 16 | ((y * 5) & 0xFF) << 8 | ((x ^ y) & 0xFF));
            }
        }
        return img;
    }

    static byte[] encode(BufferedImage img, String format) throws Exception {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, bo), "writer for " + format);
        return bo.toByteArray();
    }

    private RejectReason reject(byte[] b) {
        return assertThrows(ImageRejectedException.class, () -> decoder.decodeRgb(b)).reason();
    }

    @Test
    void emptyAndNull() {
        assertEquals(RejectReason.EMPTY, reject(new byte[0]));
        assertEquals(RejectReason.EMPTY, reject(null));
    }

    @Test
    void textIsNotAnImage() {
        assertEquals(RejectReason.NOT_AN_IMAGE, reject("label,path\ncat,/a/b.jpg\n".getBytes(StandardCharsets.UTF_8)));
        assertEquals(RejectReason.NOT_AN_IMAGE, reject(new byte[] {0x50, 0x4B, 3, 4, 0, 0, 0, 0}));
    }

    @Test
    void truncatedJpegIsRejectedNotGreyFilled() throws Exception {
        byte[] jpeg = encode(pattern(320, 240), "jpeg");
        assertEquals(320, decoder.decodeRgb(jpeg).getWidth());
        for (double f : new double[] {0.3, 0.7, 0.98}) {
            RejectReason r = reject(Arrays.copyOf(jpeg, (int) (jpeg.length * f)));
            assertEquals(RejectReason.TRUNCATED, r, "cut at " + f);
        }
        // Only the headers: no frame at all.
        RejectReason r = reject(Arrays.copyOf(jpeg, 30));
        assertTrue(r == RejectReason.TRUNCATED || r == RejectReason.UNDECODABLE, r.toString());
    }

    @Test
    void truncatedPngIsRejected() throws Exception {
        byte[] png = encode(pattern(300, 200), "png");
        assertEquals(200, decoder.decodeRgb(png).getHeight());
        for (double f : new double[] {0.1, 0.5, 0.95}) {
            RejectReason r = reject(Arrays.copyOf(png, (int) (png.length * f)));
            assertEquals(RejectReason.TRUNCATED, r, "cut at " + f);
        }
    }

    @Test
    void corruptJpegDataIsNotAccepted() throws Exception {
        byte[] jpeg = encode(pattern(64, 64), "jpeg");
        byte[] bad = jpeg.clone();
        // Destroy the frame header (SOF0 length and precision): the decoder must refuse, not guess.
        for (int i = 2; i + 1 < bad.length; i++) {
            if ((bad[i] & 0xFF) == 0xFF && (bad[i + 1] & 0xFF) == 0xC0) {
                bad[i + 4] = 3; // precision 3 bits: invalid
                break;
            }
        }
        RejectReason r = reject(bad);
        assertTrue(r == RejectReason.UNDECODABLE || r == RejectReason.TRUNCATED, r.toString());
    }

    /** A 120-byte PNG whose IHDR claims 100000 x 100000 RGB pixels (30 GB decoded). */
    static byte[] pngBomb(int w, int h) {
        ByteBuffer b = ByteBuffer.allocate(8 + 25 + 12);
        b.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        byte[] ihdr = ByteBuffer.allocate(17).put("IHDR".getBytes(StandardCharsets.US_ASCII))
                .putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0).array();
        CRC32 crc = new CRC32();
        crc.update(ihdr);
        b.putInt(13).put(ihdr).putInt((int) crc.getValue());
        b.putInt(0).put("IEND".getBytes(StandardCharsets.US_ASCII));
        crc.reset();
        crc.update("IEND".getBytes(StandardCharsets.US_ASCII));
        b.putInt((int) crc.getValue());
        return b.array();
    }

    @Test
    void pngBombIsRejectedFromTheHeader() {
        long before = usedHeap();
        long t0 = System.nanoTime();
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> decoder.decodeRgb(pngBomb(100_000, 100_000)));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(RejectReason.TOO_MANY_PIXELS, e.reason(), e.getMessage());
        assertTrue(ms < 2000, "took " + ms + " ms");
        assertTrue(usedHeap() - before < 64L << 20, "no raster allocated");
    }

    @Test
    void jpegBombIsRejectedFromTheHeader() throws Exception {
        byte[] jpeg = encode(pattern(16, 16), "jpeg");
        for (int i = 2; i + 8 < jpeg.length; i++) {
            if ((jpeg[i] & 0xFF) == 0xFF && (jpeg[i + 1] & 0xFF) == 0xC0) {
                // SOF0: length(2) precision(1) height(2) width(2) -> 65000 x 65000
                jpeg[i + 5] = (byte) 0xFD;
                jpeg[i + 6] = (byte) 0xE8;
                jpeg[i + 7] = (byte) 0xFD;
                jpeg[i + 8] = (byte) 0xE8;
                break;
            }
        }
        long t0 = System.nanoTime();
        assertEquals(RejectReason.TOO_MANY_PIXELS, reject(jpeg));
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 2000);
    }

    @Test
    void limitIsInclusive() throws Exception {
        byte[] png = encode(pattern(100, 50), "png");
        assertEquals(100, new ImageDecoder(5000).decodeRgb(png).getWidth());
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> new ImageDecoder(4999).decodeRgb(png));
        assertEquals(RejectReason.TOO_MANY_PIXELS, e.reason());
        assertThrows(IllegalArgumentException.class, () -> new ImageDecoder(0));
        assertEquals(89_478_485L, ImageDecoder.DEFAULT_MAX_PIXELS);
    }

    @Test
    void returnsIntRgbForEveryJavaWrittenFormat() throws Exception {
        BufferedImage src = pattern(37, 23);
        for (String f : new String[] {"png", "bmp", "gif", "tiff", "jpeg"}) {
            BufferedImage img = decoder.decodeRgb(encode(src, f));
            assertEquals(BufferedImage.TYPE_INT_RGB, img.getType(), f);
            assertEquals(37, img.getWidth(), f);
            assertEquals(23, img.getHeight(), f);
            if (f.equals("png") || f.equals("bmp") || f.equals("tiff")) { // lossless
                for (int y = 0; y < 23; y++) {
                    for (int x = 0; x < 37; x++) {
                        assertEquals(src.getRGB(x, y), img.getRGB(x, y), f + " at " + x + "," + y);
                    }
                }
            }
        }
    }

    @Test
    void grayscaleIsReplicatedNotGammaConverted() throws Exception {
        BufferedImage gray = new BufferedImage(16, 1, BufferedImage.TYPE_BYTE_GRAY);
        for (int x = 0; x < 16; x++) {
            gray.getRaster().setSample(x, 0, 0, x * 16);
        }
        BufferedImage img = decoder.decodeRgb(encode(gray, "png"));
        for (int x = 0; x < 16; x++) {
            assertEquals(x * 16 * 0x010101, img.getRGB(x, 0) & 0xFFFFFF, "x=" + x);
        }
    }

    @Test
    void serializable() throws Exception {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(bo)) {
            o.writeObject(new ImageDecoder(1234));
            o.writeObject(new EvalTransform(Preprocessing.imagenetDefaults()));
            o.writeObject(new TrainTransform(Preprocessing.imagenetDefaults()));
        }
        try (ObjectInputStream in = new ObjectInputStream(new java.io.ByteArrayInputStream(bo.toByteArray()))) {
            assertEquals(1234, ((ImageDecoder) in.readObject()).maxPixels());
            EvalTransform ev = (EvalTransform) in.readObject();
            assertEquals(Preprocessing.imagenetDefaults(), ev.preprocessing());
            float[] out = new float[ev.preprocessing().outputLength()];
            ev.apply(pattern(300, 260), out, 0); // the transient table is rebuilt after deserialization
            assertTrue(out[0] != 0f);
            assertSame(TrainTransform.class, in.readObject().getClass());
        }
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }
}
