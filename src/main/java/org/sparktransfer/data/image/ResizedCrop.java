package org.sparktransfer.data.image;

/**
 * PIL's {@code img.crop(window).resize((ow, oh), BILINEAR)}, evaluated only for a sub-rectangle of
 * the output. Each output pixel depends only on its own filter taps, so computing a region gives
 * exactly the pixels PIL computes for the whole image (CenterCrop after Resize costs only the crop).
 */
final class ResizedCrop {
    private ResizedCrop() {
    }

    /**
     * @param src          source pixels
     * @param wx           window left in src
     * @param wy           window top in src
     * @param sw           window width (must lie inside src)
     * @param sh           window height
     * @param ow           full resized width
     * @param oh           full resized height
     * @param ox0          first output column wanted (inclusive), 0 &lt;= ox0 &lt; ox1 &lt;= ow
     * @param ox1          end column (exclusive)
     * @param oy0          first output row wanted, 0 &lt;= oy0 &lt; oy1 &lt;= oh
     * @param oy1          end row (exclusive)
     * @return packed 0xRRGGBB pixels of the region, row length ox1 - ox0
     */
    static int[] region(RgbPixels src, int wx, int wy, int sw, int sh, int ow, int oh,
                        int ox0, int ox1, int oy0, int oy1) {
        int rw = ox1 - ox0;
        int rh = oy1 - oy0;
        int base = src.offset + wy * src.stride + wx;
        // Pillow skips a pass whose axis keeps its size (box is the whole cropped image).
        boolean needH = ow != sw;
        boolean needV = oh != sh;
        PilBilinear.Coefficients vc = needV ? PilBilinear.coefficients(sh, 0f, (float) sh, oh) : null;
        int sy0;
        int sy1;
        if (needV) {
            sy0 = Integer.MAX_VALUE;
            sy1 = Integer.MIN_VALUE;
            for (int oy = oy0; oy < oy1; oy++) {
                sy0 = Math.min(sy0, vc.start[oy]);
                sy1 = Math.max(sy1, vc.start[oy] + vc.count[oy]);
            }
        } else {
            sy0 = oy0;
            sy1 = oy1;
        }
        int[] tmp = new int[(sy1 - sy0) * rw];
        if (needH) {
            PilBilinear.Coefficients hc = PilBilinear.coefficients(sw, 0f, (float) sw, ow);
            PilBilinear.horizontal(src.data, base, src.stride, sy0, sy1, hc, ox0, ox1, tmp);
        } else {
            for (int sy = sy0; sy < sy1; sy++) {
                System.arraycopy(src.data, base + sy * src.stride + ox0, tmp, (sy - sy0) * rw, rw);
            }
        }
        if (!needV) {
            return tmp;
        }
        int[] out = new int[rw * rh];
        for (int oy = oy0; oy < oy1; oy++) {
            PilBilinear.verticalRow(tmp, rw, sy0, vc, oy, out, (oy - oy0) * rw);
        }
        return out;
    }
}
