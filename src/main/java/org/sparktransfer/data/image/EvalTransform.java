package org.sparktransfer.data.image;

import java.awt.image.BufferedImage;
import java.io.Serializable;

/**
 * torchvision's eval pipeline on a PIL RGB image, reproduced exactly:
 * {@code Resize(resizeSize)} (bilinear with antialias, i.e. PIL's {@code Image.resize(..., BILINEAR)}),
 * {@code CenterCrop(cropSize)}, {@code ToTensor()}, {@code Normalize(mean, std)}.
 *
 * <ul>
 *   <li>Resize: the shorter side becomes resizeSize, the longer {@code int(resizeSize * long / short)}
 *       (torchvision 0.14's truncation).</li>
 *   <li>CenterCrop: offsets {@code int(round((size - crop) / 2.0))} with Python's half-to-even round; if
 *       the crop is larger than the image, torchvision pads with black first (left/top gets
 *       {@code (crop - size) // 2}); the padded pixels are 0 before normalization here too.</li>
 *   <li>ToTensor + Normalize in float32: {@code (v / 255f - mean) / std}, same operation order.</li>
 * </ul>
 * Given the same RGB bytes the output equals torchvision's bit for bit (the parity test checks
 * max |diff| == 0 on PNG/BMP/TIFF/GIF inputs). Stateless and thread-safe.
 */
public final class EvalTransform implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Preprocessing p;
    private transient volatile float[][] lut;

    public EvalTransform(Preprocessing p) {
        if (p == null) {
            throw new IllegalArgumentException("preprocessing must not be null");
        }
        this.p = p;
    }

    public Preprocessing preprocessing() {
        return p;
    }

    float[][] lut() {
        float[][] l = lut;
        if (l == null) {
            l = p.normalizationTable();
            lut = l;
        }
        return l;
    }

    /** Output size of torchvision 0.14's {@code Resize(size)} for a w x h image: {width, height}. */
    static int[] resizedSize(int w, int h, int size) {
        if (w <= h) {
            return new int[] {size, (int) ((double) size * h / w)};
        }
        return new int[] {(int) ((double) size * w / h), size};
    }

    /** torchvision's CenterCrop offset along one axis (negative = black padding before the image). */
    static int centerCropOffset(int size, int crop) {
        if (crop > size) {
            return -((crop - size) / 2);
        }
        return (int) Math.rint((size - crop) / 2.0);
    }

    /**
     * Writes the normalized CHW tensor (3 * cropSize * cropSize floats, channel planes R, G, B) to
     * {@code out[offset ..]}.
     *
     * @param rgb an RGB image, normally from {@link ImageDecoder#decodeRgb(byte[])} (TYPE_INT_RGB is
     *            read without copying; other types are converted via getRGB)
     */
    public void apply(BufferedImage rgb, float[] out, int offset) {
        int crop = p.cropSize();
        int plane = crop * crop;
        if (offset < 0 || out.length - offset < 3 * plane) {
            throw new IllegalArgumentException("out too small: need " + 3 * plane + " floats at " + offset);
        }
        RgbPixels src = RgbPixels.of(rgb);
        int[] rs = resizedSize(src.width, src.height, p.resizeSize());
        int ow = rs[0];
        int oh = rs[1];
        int left = centerCropOffset(ow, crop);
        int top = centerCropOffset(oh, crop);
        // The part of the crop window that lies on the resized image; the rest is padding.
        int ox0 = Math.max(left, 0);
        int ox1 = Math.min(left + crop, ow);
        int oy0 = Math.max(top, 0);
        int oy1 = Math.min(top + crop, oh);
        float[][] l = lut();
        float[] lr = l[0];
        float[] lg = l[1];
        float[] lb = l[2];
        if (ox0 > left || ox1 < left + crop || oy0 > top || oy1 < top + crop) {
            for (int i = 0; i < plane; i++) {
                out[offset + i] = lr[0];
                out[offset + plane + i] = lg[0];
                out[offset + 2 * plane + i] = lb[0];
            }
        }
        int[] region = ResizedCrop.region(src, 0, 0, src.width, src.height, ow, oh, ox0, ox1, oy0, oy1);
        int rw = ox1 - ox0;
        for (int oy = oy0; oy < oy1; oy++) {
            int dst = offset + (oy - top) * crop + (ox0 - left);
            int s = (oy - oy0) * rw;
            for (int x = 0; x < rw; x++) {
                int px = region[s + x];
                out[dst + x] = lr[(px >>> 16) & 0xFF];
                out[plane + dst + x] = lg[(px >>> 8) & 0xFF];
                out[2 * plane + dst + x] = lb[px & 0xFF];
            }
        }
    }
}
