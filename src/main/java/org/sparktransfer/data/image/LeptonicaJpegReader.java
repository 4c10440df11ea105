package org.sparktransfer.data.image;

import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.leptonica.PIX;
import org.bytedeco.leptonica.global.leptonica;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;

/**
 * libjpeg-turbo decoding through leptonica's {@code pixReadMemJpeg} (leptonica links libjpeg-turbo
 * statically; the preset exposes no libjpeg API of its own). Loaded only through {@link TurboJpeg}.
 *
 * <p>Leptonica keeps a 32-bit pixel as one native-endian word {@code R<<24 | G<<16 | B<<8}, and an 8-bit
 * pixel as byte {@code x & 3} of word {@code x >> 2} counted from the most significant end.
 */
final class LeptonicaJpegReader {
    private LeptonicaJpegReader() {
    }

    /** Loads the natives and silences leptonica's stderr messages (a declined file is ImageIO's to report). */
    static String load() {
        Loader.load(leptonica.class);
        leptonica.setMsgSeverity(leptonica.L_SEVERITY_NONE);
        return leptonica.getLeptonicaVersion().getString();
    }

    static BufferedImage decode(byte[] bytes, long maxPixels) {
        int[] w = new int[1];
        int[] h = new int[1];
        int[] spp = new int[1];
        int[] ycck = new int[1];
        int[] cmyk = new int[1];
        if (leptonica.readHeaderMemJpeg(bytes, bytes.length, w, h, spp, ycck, cmyk) != 0
                || ycck[0] != 0 || cmyk[0] != 0 || (spp[0] != 1 && spp[0] != 3)
                || w[0] <= 0 || h[0] <= 0 || (long) w[0] * h[0] > maxPixels) {
            return null;
        }
        int[] warnings = new int[1];
        PIX pix = leptonica.pixReadMemJpeg(bytes, bytes.length, 0, 1, warnings, 0);
        if (pix == null) {
            return null;
        }
        try {
            int width = leptonica.pixGetWidth(pix);
            int height = leptonica.pixGetHeight(pix);
            int depth = leptonica.pixGetDepth(pix);
            int wpl = leptonica.pixGetWpl(pix);
            if (warnings[0] != 0 || width != w[0] || height != h[0] || leptonica.pixGetColormap(pix) != null) {
                return null;
            }
            BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            int[] dst = ((DataBufferInt) out.getRaster().getDataBuffer()).getData();
            IntPointer words = leptonica.pixGetData(pix);
            if (depth == 32 && wpl == width) {
                words.get(dst, 0, dst.length);
                for (int i = 0; i < dst.length; i++) {
                    dst[i] >>>= 8;
                }
            } else if (depth == 8) {
                int[] row = new int[wpl];
                for (int y = 0; y < height; y++) {
                    words.position((long) y * wpl).get(row, 0, wpl);
                    for (int x = 0, o = y * width; x < width; x++) {
                        int v = (row[x >> 2] >>> (24 - 8 * (x & 3))) & 0xFF;
                        dst[o + x] = v * 0x010101;
                    }
                }
            } else {
                return null;
            }
            return out;
        } finally {
            leptonica.pixDestroy(pix);
        }
    }
}
