package org.sparktransfer.data.image;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.awt.image.BufferedImage;
import java.util.Locale;

/**
 * Whether this JVM decodes JPEG with libjpeg-turbo ({@link LeptonicaJpegReader}, through the copy bundled in
 * bytedeco's leptonica preset) before falling back to ImageIO: yes where the preset loads, unless
 * {@code -Dsparktransfer.jpeg=imageio}. Decided once per JVM and logged.
 *
 * <p>Why: JPEG decoding is most of an image's preprocessing cost, and on an executor whose cores run the
 * forward pass it is paid on the same cores. ImageIO's libjpeg (6b, without SIMD) decodes a 500x375 photo in
 * ~2.3 ms, libjpeg-turbo in ~1.3 ms (PIL, torchvision's loader, uses libjpeg-turbo too). The pixels are the
 * same: both use the islow IDCT and libjpeg 6b's fancy upsampling, which libjpeg-turbo keeps bit-exact, and
 * {@code TorchvisionParityTest} asserts both paths equal PIL's to the byte.
 *
 * <p>libjpeg-turbo is only the fast path for the common case. It declines (returns null) whatever ImageIO
 * handles differently or must classify: CMYK/YCCK files (PIL's conversion is reproduced on the ImageIO path),
 * images over the pixel limit, and any file on which libjpeg reports a warning or an error (truncated or
 * corrupt data); ImageIO then decodes them exactly as before, and rejects them with the same reasons.
 *
 * <p>Only {@link LeptonicaJpegReader} names the preset's classes, and it is loaded only after
 * {@link #available()} said yes, so a jar without the preset (the GPU jar) never loads it.
 */
final class TurboJpeg {
    private static final Logger LOG = LoggerFactory.getLogger(TurboJpeg.class);

    /** System property: {@code imageio} decodes every JPEG with ImageIO. */
    static final String PROPERTY = "sparktransfer.jpeg";

    private static volatile Boolean available;

    private TurboJpeg() {
    }

    /** JPEG files start with SOI (FF D8) followed by a marker; null and empty input are ImageIO's path to reject. */
    static boolean looksLikeJpeg(byte[] b) {
        return b != null && b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF;
    }

    /** Whether libjpeg-turbo decodes JPEG in this JVM (decided on the first call). */
    static boolean available() {
        Boolean a = available;
        if (a == null) {
            synchronized (TurboJpeg.class) {
                if (available == null) {
                    available = probe(System.getProperty(PROPERTY, "turbo"));
                }
                a = available;
            }
        }
        return a;
    }

    static boolean probe(String setting) {
        String s = setting.trim().toLowerCase(Locale.ROOT);
        if (s.equals("imageio")) {
            LOG.info("JPEG decoding with ImageIO (-D{}=imageio)", PROPERTY);
            return false;
        }
        if (!s.equals("turbo")) {
            throw new IllegalArgumentException("-D" + PROPERTY + " must be turbo or imageio, not '" + setting + "'");
        }
        try {
            String version = LeptonicaJpegReader.load();
            LOG.info("JPEG decoding with libjpeg-turbo ({}, bytedeco preset), ImageIO for the files it declines; "
                    + "-D{}=imageio for ImageIO only", version, PROPERTY);
            return true;
        } catch (Throwable t) { // NoClassDefFoundError (jar without the preset), UnsatisfiedLinkError (no natives)
            LOG.warn("libjpeg-turbo is not usable here ({}); JPEG decoding with ImageIO", t.toString());
            return false;
        }
    }

    /**
     * @return the image as TYPE_INT_RGB without EXIF orientation applied, or null where libjpeg-turbo is not
     *         available or declines the file (see the class comment): the caller then decodes it with ImageIO
     */
    static BufferedImage decode(byte[] bytes, long maxPixels) {
        if (!looksLikeJpeg(bytes) || !available()) {
            return null;
        }
        try {
            return LeptonicaJpegReader.decode(bytes, maxPixels);
        } catch (RuntimeException e) {
            return null; // ImageIO decodes or classifies it
        }
    }
}
