package org.sparktransfer.data.image;

/**
 * Pillow's (9.x) bilinear resampling, re-implemented from its documented algorithm so results are
 * byte-identical to {@code Image.resize(size, Image.BILINEAR)} on an RGB image:
 * <ul>
 *   <li>separable: a horizontal pass into an 8-bit intermediate image, then a vertical pass;</li>
 *   <li>each output sample is a triangle filter centred at {@code in0 + (i + 0.5) * scale}; when
 *       downscaling the filter is widened by the scale factor (antialiasing), support = scale;</li>
 *   <li>weights are normalized in double, then quantized to fixed point with 22 fractional bits;
 *       sums start at half an LSB and are clipped to 0..255, so every pass rounds to 8 bits.</li>
 * </ul>
 * Stateless; all methods are pure functions of their arguments.
 */
final class PilBilinear {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final int HALF = 1 << (PRECISION_BITS - 1);

    private PilBilinear() {
    }

    /** Fixed-point filter taps for one axis: for output i, taps k[i*ksize .. +count) apply to inputs from start. */
    static final class Coefficients {
        final int ksize;
        final int[] start;
        final int[] count;
        final int[] k;

        Coefficients(int ksize, int[] start, int[] count, int[] k) {
            this.ksize = ksize;
            this.start = start;
            this.count = count;
            this.k = k;
        }
    }

    private static double triangle(double x) {
        if (x < 0.0) {
            x = -x;
        }
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    /**
     * Taps for resampling the input span [in0, in1) of an axis of length inSize onto outSize samples.
     * in0/in1 are floats because Pillow passes the box as C floats.
     */
    static Coefficients coefficients(int inSize, float in0, float in1, int outSize) {
        double scale = (double) (in1 - in0) / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = 1.0 * filterScale; // bilinear support is 1
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[outSize];
        int[] count = new int[outSize];
        int[] k = new int[outSize * ksize];
        double[] w = new double[ksize];
        double ss = 1.0 / filterScale;
        for (int xx = 0; xx < outSize; xx++) {
            double center = in0 + (xx + 0.5) * scale;
            // (int) truncates toward zero like C's cast; the clamps make the sign irrelevant.
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double v = triangle((x + xmin - center + 0.5) * ss);
                w[x] = v;
                ww += v;
            }
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0.0 ? w[x] / ww : w[x];
                // Pillow rounds half away from zero when quantizing the weights.
                k[xx * ksize + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                        : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            start[xx] = xmin;
            count[xx] = xmax;
        }
        return new Coefficients(ksize, start, count, k);
    }

    private static int clip8(int v) {
        if (v <= 0) {
            return 0;
        }
        int r = v >> PRECISION_BITS;
        return r > 255 ? 255 : r;
    }

    /**
     * Horizontal pass for output columns [ox0, ox1) of rows [sy0, sy1) of the source window.
     *
     * @param src      packed 0xRRGGBB pixels
     * @param srcOff   index of the window's (0, 0) pixel in src
     * @param stride   row stride of src
     * @param dst      packed output, row (sy - sy0), column (ox - ox0), row length ox1 - ox0
     */
    static void horizontal(int[] src, int srcOff, int stride, int sy0, int sy1,
                           Coefficients c, int ox0, int ox1, int[] dst) {
        int dw = ox1 - ox0;
        int ksize = c.ksize;
        int[] k = c.k;
        for (int sy = sy0; sy < sy1; sy++) {
            int rowOff = srcOff + sy * stride;
            int dOff = (sy - sy0) * dw - ox0;
            for (int ox = ox0; ox < ox1; ox++) {
                int r = HALF, g = HALF, b = HALF;
                int kOff = ox * ksize;
                int p = rowOff + c.start[ox];
                int n = c.count[ox];
                for (int x = 0; x < n; x++) {
                    int px = src[p + x];
                    int kw = k[kOff + x];
                    r += ((px >>> 16) & 0xFF) * kw;
                    g += ((px >>> 8) & 0xFF) * kw;
                    b += (px & 0xFF) * kw;
                }
                dst[dOff + ox] = (clip8(r) << 16) | (clip8(g) << 8) | clip8(b);
            }
        }
    }

    /**
     * Vertical pass for one output row oy: combines rows of tmp (row index = source row - rowBase,
     * row length tmpW) into packed pixels written to dst[dstOff .. dstOff + tmpW).
     */
    static void verticalRow(int[] tmp, int tmpW, int rowBase, Coefficients c, int oy, int[] dst, int dstOff) {
        int n = c.count[oy];
        int kOff = oy * c.ksize;
        int base = (c.start[oy] - rowBase) * tmpW;
        int[] k = c.k;
        for (int x = 0; x < tmpW; x++) {
            int r = HALF, g = HALF, b = HALF;
            int p = base + x;
            for (int y = 0; y < n; y++, p += tmpW) {
                int px = tmp[p];
                int kw = k[kOff + y];
                r += ((px >>> 16) & 0xFF) * kw;
                g += ((px >>> 8) & 0xFF) * kw;
                b += (px & 0xFF) * kw;
            }
            dst[dstOff + x] = (clip8(r) << 16) | (clip8(g) << 8) | clip8(b);
        }
    }
}
