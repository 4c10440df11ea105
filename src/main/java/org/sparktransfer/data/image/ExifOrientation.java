package org.sparktransfer.data.image;

import com.twelvemonkeys.imageio.metadata.Directory;
import com.twelvemonkeys.imageio.metadata.Entry;
import com.twelvemonkeys.imageio.metadata.tiff.TIFFReader;
import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;

/**
 * EXIF orientation (tag 0x0112) lookup and application, matching {@code PIL.ImageOps.exif_transpose}.
 * Only the container walk (JPEG markers, PNG chunks) is done here; the EXIF/TIFF structure itself is
 * parsed by TwelveMonkeys' {@link TIFFReader}. Any malformed EXIF means "no orientation", as in PIL.
 */
final class ExifOrientation {
    private static final int TAG_ORIENTATION = 0x0112;

    private ExifOrientation() {
    }

    /** Orientation 1..8 found in the file's EXIF, or 1 when absent or unreadable. */
    static int read(byte[] b, String formatName) {
        try {
            String f = formatName == null ? "" : formatName.toLowerCase(java.util.Locale.ROOT);
            if (f.contains("jpeg") || f.contains("jpg")) {
                return fromJpeg(b);
            }
            if (f.contains("tif")) {
                return fromTiffStructure(b, 0, b.length);
            }
            if (f.contains("png")) {
                return fromPng(b);
            }
        } catch (Exception | StackOverflowError e) {
            // Broken EXIF must not reject an image whose pixels decode; PIL also ignores it.
        }
        return 1;
    }

    private static int fromJpeg(byte[] b) throws java.io.IOException {
        int p = 2; // after SOI
        while (p + 4 <= b.length) {
            if ((b[p] & 0xFF) != 0xFF) {
                return 1;
            }
            int marker = b[p + 1] & 0xFF;
            if (marker == 0xFF) { // fill byte
                p++;
                continue;
            }
            if (marker == 0xDA || marker == 0xD9) { // start of scan / end of image: no more headers
                return 1;
            }
            int len = ((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF);
            int data = p + 4;
            int dataLen = len - 2;
            if (marker == 0xE1 && dataLen >= 6 && data + dataLen <= b.length
                    && b[data] == 'E' && b[data + 1] == 'x' && b[data + 2] == 'i' && b[data + 3] == 'f'
                    && b[data + 4] == 0 && b[data + 5] == 0) {
                return fromTiffStructure(b, data + 6, dataLen - 6);
            }
            p += 2 + len;
        }
        return 1;
    }

    private static int fromPng(byte[] b) throws java.io.IOException {
        int p = 8; // signature
        while (p + 8 <= b.length) {
            long len = ((b[p] & 0xFFL) << 24) | ((b[p + 1] & 0xFF) << 16) | ((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF);
            String type = new String(b, p + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            int data = p + 8;
            if (len > b.length - data) {
                return 1;
            }
            if (type.equals("eXIf")) {
                int off = data;
                int n = (int) len;
                // Some writers keep the JPEG-style "Exif\0\0" prefix; PIL tolerates it too.
                if (n >= 6 && b[off] == 'E' && b[off + 1] == 'x' && b[off + 2] == 'i' && b[off + 3] == 'f') {
                    off += 6;
                    n -= 6;
                }
                return fromTiffStructure(b, off, n);
            }
            if (type.equals("IEND")) {
                return 1;
            }
            p = data + (int) len + 4; // + CRC
        }
        return 1;
    }

    private static int fromTiffStructure(byte[] b, int off, int len) throws java.io.IOException {
        if (len < 8) {
            return 1;
        }
        Directory dir = new TIFFReader().read(new ByteArrayImageInputStream(b, off, len));
        Entry e = dir.getEntryById(TAG_ORIENTATION);
        if (e == null || !(e.getValue() instanceof Number)) {
            return 1;
        }
        int o = ((Number) e.getValue()).intValue();
        return o >= 1 && o <= 8 ? o : 1;
    }

    /** Applies PIL's transpose for orientation 2..8 to a TYPE_INT_RGB image; 1 returns it unchanged. */
    static BufferedImage apply(BufferedImage img, int orientation) {
        if (orientation <= 1 || orientation > 8) {
            return img;
        }
        int w = img.getWidth();
        int h = img.getHeight();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        int[] in = ((DataBufferInt) img.getRaster().getDataBuffer()).getData();
        BufferedImage res = new BufferedImage(ow, oh, BufferedImage.TYPE_INT_RGB);
        int[] out = ((DataBufferInt) res.getRaster().getDataBuffer()).getData();
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx;
                int sy;
                switch (orientation) {
                    case 2: sx = w - 1 - x; sy = y; break;             // FLIP_LEFT_RIGHT
                    case 3: sx = w - 1 - x; sy = h - 1 - y; break;     // ROTATE_180
                    case 4: sx = x; sy = h - 1 - y; break;             // FLIP_TOP_BOTTOM
                    case 5: sx = y; sy = x; break;                     // TRANSPOSE
                    case 6: sx = y; sy = h - 1 - x; break;             // ROTATE_270 (90 clockwise)
                    case 7: sx = w - 1 - y; sy = h - 1 - x; break;     // TRANSVERSE
                    default: sx = w - 1 - y; sy = x; break;            // 8: ROTATE_90 (counter-clockwise)
                }
                out[y * ow + x] = in[sy * w + sx];
            }
        }
        return res;
    }
}
