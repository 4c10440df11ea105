package org.sparktransfer.data.image;

import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferInt;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.EOFException;
import java.io.IOException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.Locale;

/**
 * Decodes image bytes to an RGB {@link BufferedImage} of type {@link BufferedImage#TYPE_INT_RGB} with the
 * same pixel values as PIL's {@code Image.open(f).convert("RGB")} followed by
 * {@code ImageOps.exif_transpose}.
 *
 * <p>JPEG goes through libjpeg-turbo where it is available ({@link TurboJpeg}: the same pixels, ~1.8x faster),
 * and ImageIO takes every file libjpeg-turbo declines (CMYK, warnings, errors), so the rules below hold on both.
 *
 * <p>Formats: whatever ImageIO plus the TwelveMonkeys plugins read (JPEG baseline/progressive/CMYK,
 * PNG, BMP, GIF, TIFF); only the first frame of multi-frame files is used. Conversion follows PIL, not
 * colour management: samples are taken from the raster, never through {@code getRGB}, so embedded ICC
 * profiles and gamma are ignored as PIL ignores them, and Java's linear gray colour space does not
 * brighten grayscale images.
 * <ul>
 *   <li>grayscale: replicated to R = G = B;</li>
 *   <li>alpha (RGBA, LA, transparent palette entries): dropped, not composited, as PIL's convert does;</li>
 *   <li>palette: looked up;</li>
 *   <li>16-bit RGB(A)/LA: the high byte, as PIL's "RGB;16B" unpackers do;</li>
 *   <li>16-bit grayscale: PIL opens it as mode "I" and {@code convert("RGB")} CLIPS to 0..255 (values
 *       above 255 become white), it does not scale. This is reproduced for parity with torchvision;
 *       such images look washed out in both;</li>
 *   <li>CMYK JPEG: PIL's naive formula {@code R = (255-K) - (C*(255-K))/255} on Adobe-inverted data,
 *       no ICC conversion.</li>
 * </ul>
 *
 * <p>EXIF orientation (JPEG APP1, PNG eXIf, TIFF IFD0) is applied like
 * {@code PIL.ImageOps.exif_transpose}. torchvision's loader does NOT do this; we do it because rotated
 * phone photos are otherwise trained sideways. Parity tests apply exif_transpose on the Python side.
 *
 * <p>Decompression bombs: the dimensions are read from the header and checked against
 * {@code maxPixels} before any raster is allocated. {@link #DEFAULT_MAX_PIXELS} is PIL's
 * {@code MAX_IMAGE_PIXELS} (89,478,485, where PIL warns; PIL only raises at twice that): a 89 MP image
 * already needs ~600 MB (decoded raster + int RGB copy), enough for one executor task.
 *
 * <p>Truncated files are rejected ({@link RejectReason#TRUNCATED}), never returned half grey: ImageIO's
 * JPEG reader only warns on premature end of data, so a warning listener turns that into a rejection
 * (PIL likewise raises "image file is truncated").
 *
 * <p>Stateless apart from the limit; safe to share across threads and to serialize.
 */
public final class ImageDecoder implements Serializable {
    private static final long serialVersionUID = 1L;

    /** PIL's {@code Image.MAX_IMAGE_PIXELS}: {@code 1024 * 1024 * 1024 // 4 // 3}. */
    public static final long DEFAULT_MAX_PIXELS = 1024L * 1024 * 1024 / 4 / 3;

    static {
        // Make the TwelveMonkeys plugins visible even when the context class loader at first use
        // (a Spark executor's) differs from the one that loaded this class.
        ImageIO.scanForPlugins();
        ImageIO.setUseCache(false);
    }

    private final long maxPixels;

    public ImageDecoder(long maxPixels) {
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("maxPixels must be > 0: " + maxPixels);
        }
        this.maxPixels = maxPixels;
    }

    /** With {@link #DEFAULT_MAX_PIXELS}. */
    public ImageDecoder() {
        this(DEFAULT_MAX_PIXELS);
    }

    public long maxPixels() {
        return maxPixels;
    }

    /**
     * @return a new TYPE_INT_RGB image (packed 0x00RRGGBB ints), orientation already applied
     * @throws ImageRejectedException with the reason; never returns null
     */
    public BufferedImage decodeRgb(byte[] bytes) throws ImageRejectedException {
        BufferedImage turbo = TurboJpeg.decode(bytes, maxPixels);
        if (turbo != null) {
            return ExifOrientation.apply(turbo, ExifOrientation.read(bytes, "jpeg"));
        }
        return decodeRgbWithImageIo(bytes);
    }

    /** {@link #decodeRgb} without the libjpeg-turbo path: every format, and the classification of bad files. */
    BufferedImage decodeRgbWithImageIo(byte[] bytes) throws ImageRejectedException {
        if (bytes == null || bytes.length == 0) {
            throw new ImageRejectedException(RejectReason.EMPTY, "no bytes");
        }
        ImageInputStream in = new ByteArrayImageInputStream(bytes);
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        if (!readers.hasNext()) {
            throw new ImageRejectedException(RejectReason.NOT_AN_IMAGE, "no image reader recognises the data");
        }
        ImageReader reader = readers.next();
        String format;
        BufferedImage decoded;
        try {
            format = reader.getFormatName();
            reader.setInput(in, true, true);
            long w = reader.getWidth(0);
            long h = reader.getHeight(0);
            if (w <= 0 || h <= 0) {
                throw new ImageRejectedException(RejectReason.UNDECODABLE, "invalid size " + w + "x" + h);
            }
            if (w * h > maxPixels) {
                throw new ImageRejectedException(RejectReason.TOO_MANY_PIXELS,
                        w + "x" + h + " = " + (w * h) + " pixels > limit " + maxPixels);
            }
            TruncationListener warnings = new TruncationListener();
            reader.addIIOReadWarningListener(warnings);
            decoded = reader.read(0);
            if (warnings.truncated != null) {
                throw new ImageRejectedException(RejectReason.TRUNCATED, format + ": " + warnings.truncated);
            }
        } catch (ImageRejectedException e) {
            throw e;
        } catch (IOException e) {
            throw classify(e);
        } catch (RuntimeException e) {
            // Plugins signal corrupt data with all kinds of runtime exceptions (IndexOutOfBounds, ...).
            throw new ImageRejectedException(RejectReason.UNDECODABLE, describe(e), e);
        } finally {
            reader.dispose();
        }
        BufferedImage rgb;
        try {
            rgb = toIntRgb(decoded);
        } catch (RuntimeException e) {
            throw new ImageRejectedException(RejectReason.UNDECODABLE, "unsupported pixel layout: " + describe(e), e);
        }
        return ExifOrientation.apply(rgb, ExifOrientation.read(bytes, format));
    }

    private static ImageRejectedException classify(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EOFException || isTruncationMessage(t.getMessage())) {
                return new ImageRejectedException(RejectReason.TRUNCATED, describe(e), e);
            }
        }
        return new ImageRejectedException(RejectReason.UNDECODABLE, describe(e), e);
    }

    private static boolean isTruncationMessage(String m) {
        if (m == null) {
            return false;
        }
        String s = m.toLowerCase(Locale.ROOT);
        return s.contains("premature end") || s.contains("truncated") || s.contains("unexpected end")
                || s.contains("end of stream") || s.contains("missing eoi") || s.contains("eof");
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    /** Records the first warning that means "the data ended early"; other warnings are tolerated like PIL does. */
    private static final class TruncationListener implements IIOReadWarningListener {
        String truncated;

        @Override
        public void warningOccurred(ImageReader source, String warning) {
            if (truncated == null && isTruncationMessage(warning)) {
                truncated = warning;
            }
        }
    }

    /** PIL-style conversion of any decoded layout to packed TYPE_INT_RGB (see the class comment). */
    static BufferedImage toIntRgb(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        ColorModel cm = img.getColorModel();
        Raster r = img.getRaster();
        if (img.getType() == BufferedImage.TYPE_INT_RGB && r.getParent() == null
                && r.getMinX() == 0 && r.getMinY() == 0) {
            return img;
        }
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] dst = ((DataBufferInt) out.getRaster().getDataBuffer()).getData();
        int bands = r.getNumBands();
        int[] row = new int[w * bands];
        int x0 = r.getMinX();
        int y0 = r.getMinY();
        if (cm instanceof IndexColorModel) {
            IndexColorModel icm = (IndexColorModel) cm;
            int[] pal = new int[1 << Math.max(icm.getPixelSize(), 8)];
            int[] rgbs = new int[icm.getMapSize()];
            icm.getRGBs(rgbs);
            for (int i = 0; i < rgbs.length; i++) {
                pal[i] = rgbs[i] & 0xFFFFFF; // alpha dropped
            }
            for (int y = 0; y < h; y++) {
                r.getSamples(x0, y0 + y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    dst[y * w + x] = pal[row[x] & (pal.length - 1)];
                }
            }
            return out;
        }
        if (cm instanceof DirectColorModel) {
            // Packed-int layouts (BMP, some TIFF): the model's own unpacking; non-premultiplied alpha dropped.
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    dst[y * w + x] = cm.getRGB(r.getDataElements(x0 + x, y0 + y, null)) & 0xFFFFFF;
                }
            }
            return out;
        }
        int csType = cm.getColorSpace().getType();
        int nc = cm.getNumColorComponents();
        int bits = cm.getComponentSize(0);
        if (csType == ColorSpace.TYPE_GRAY && nc == 1) {
            int max = (1 << bits) - 1;
            for (int y = 0; y < h; y++) {
                r.getSamples(x0, y0 + y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int v = row[x];
                    if (bits == 16) {
                        v = Math.min(v, 255); // PIL "I" -> "RGB" clips
                    } else if (bits != 8) {
                        v = bits < 8 ? v * 255 / max : v >> (bits - 8);
                    }
                    dst[y * w + x] = v * 0x010101;
                }
            }
            return out;
        }
        if (bits == 8 && (csType == ColorSpace.TYPE_RGB || csType == ColorSpace.TYPE_GRAY)
                && copyInterleavedBytes(r, nc, dst)) {
            return out;
        }
        if ((csType == ColorSpace.TYPE_RGB && nc == 3) || (csType == ColorSpace.TYPE_CMYK && nc == 4)) {
            boolean cmyk = csType == ColorSpace.TYPE_CMYK;
            int shift = Math.max(bits - 8, 0);
            for (int y = 0; y < h; y++) {
                r.getPixels(x0, y0 + y, w, 1, row);
                for (int x = 0, p = 0; x < w; x++, p += bands) {
                    int c0 = row[p] >> shift;
                    int c1 = row[p + 1] >> shift;
                    int c2 = row[p + 2] >> shift;
                    if (cmyk) {
                        int nk = 255 - (row[p + 3] >> shift);
                        c0 = clip8(nk - mulDiv255(c0, nk));
                        c1 = clip8(nk - mulDiv255(c1, nk));
                        c2 = clip8(nk - mulDiv255(c2, nk));
                    }
                    dst[y * w + x] = (c0 << 16) | (c1 << 8) | c2;
                }
            }
            return out;
        }
        // Anything else (YCbCr left unconverted, Lab, float rasters): let the colour model convert.
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                dst[y * w + x] = img.getRGB(x, y) & 0xFFFFFF;
            }
        }
        return out;
    }

    /**
     * Fast path for the common 8-bit interleaved layouts (JPEG's 3BYTE_BGR, gray, 4BYTE_ABGR): reads the
     * byte array directly instead of going through the raster's per-sample accessors (a third of the
     * decode time otherwise). Returns false when the layout is not a single-bank byte raster.
     */
    private static boolean copyInterleavedBytes(Raster r, int colorComponents, int[] dst) {
        if (!(r.getDataBuffer() instanceof DataBufferByte) || !(r.getSampleModel() instanceof ComponentSampleModel)
                || r.getDataBuffer().getNumBanks() != 1) {
            return false;
        }
        ComponentSampleModel sm = (ComponentSampleModel) r.getSampleModel();
        byte[] data = ((DataBufferByte) r.getDataBuffer()).getData();
        int[] bandOffsets = sm.getBandOffsets();
        int[] banks = sm.getBankIndices();
        for (int bank : banks) {
            if (bank != 0) {
                return false;
            }
        }
        int ps = sm.getPixelStride();
        int ss = sm.getScanlineStride();
        int w = r.getWidth();
        int h = r.getHeight();
        // Band offsets are added per sample below; getOffset(x, y) would include band 0's again.
        int base = r.getDataBuffer().getOffset() + (r.getMinY() - r.getSampleModelTranslateY()) * ss
                + (r.getMinX() - r.getSampleModelTranslateX()) * ps;
        if (colorComponents == 1) {
            int o = bandOffsets[0];
            for (int y = 0; y < h; y++) {
                int p = base + y * ss + o;
                for (int x = 0; x < w; x++, p += ps) {
                    dst[y * w + x] = (data[p] & 0xFF) * 0x010101;
                }
            }
        } else {
            int or = bandOffsets[0];
            int og = bandOffsets[1];
            int ob = bandOffsets[2];
            for (int y = 0; y < h; y++) {
                int p = base + y * ss;
                for (int x = 0; x < w; x++, p += ps) {
                    dst[y * w + x] = (data[p + or] & 0xFF) << 16 | (data[p + og] & 0xFF) << 8 | (data[p + ob] & 0xFF);
                }
            }
        }
        return true;
    }

    /** PIL's MULDIV255: round(a * b / 255) with integer arithmetic. */
    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    private static int clip8(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }
}
