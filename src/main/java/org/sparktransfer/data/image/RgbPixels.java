package org.sparktransfer.data.image;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.awt.image.SinglePixelPackedSampleModel;
import java.awt.image.WritableRaster;

/** Packed 0xRRGGBB view of an image: pixel (x, y) is {@code data[offset + y * stride + x] & 0xFFFFFF}. */
final class RgbPixels {
    final int[] data;
    final int offset;
    final int stride;
    final int width;
    final int height;

    private RgbPixels(int[] data, int offset, int stride, int width, int height) {
        this.data = data;
        this.offset = offset;
        this.stride = stride;
        this.width = width;
        this.height = height;
    }

    /**
     * Zero-copy for TYPE_INT_RGB / TYPE_INT_ARGB (alpha ignored; the caller promised RGB), which is what
     * {@link ImageDecoder} returns; other layouts are copied through {@code getRGB}.
     */
    static RgbPixels of(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int type = img.getType();
        WritableRaster raster = img.getRaster();
        if ((type == BufferedImage.TYPE_INT_RGB || type == BufferedImage.TYPE_INT_ARGB)
                && raster.getDataBuffer() instanceof DataBufferInt
                && raster.getSampleModel() instanceof SinglePixelPackedSampleModel) {
            SinglePixelPackedSampleModel sm = (SinglePixelPackedSampleModel) raster.getSampleModel();
            DataBufferInt db = (DataBufferInt) raster.getDataBuffer();
            // Sub-images share the parent's buffer: account for the raster translation.
            int off = db.getOffset() + sm.getOffset(raster.getMinX() - raster.getSampleModelTranslateX(),
                    raster.getMinY() - raster.getSampleModelTranslateY());
            return new RgbPixels(db.getData(), off, sm.getScanlineStride(), w, h);
        }
        int[] data = img.getRGB(0, 0, w, h, null, 0, w);
        return new RgbPixels(data, 0, w, w, h);
    }
}
