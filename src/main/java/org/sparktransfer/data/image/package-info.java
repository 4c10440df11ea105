/**
 * Image decoding and torchvision-exact preprocessing for executors (pure Java, no Spark, stateless,
 * Serializable).
 *
 * <p>{@link org.sparktransfer.data.image.ImageDecoder} turns bytes into TYPE_INT_RGB pixels identical to
 * PIL's {@code Image.open(f).convert("RGB")} + {@code ImageOps.exif_transpose} (torchvision itself does
 * not apply EXIF orientation; we do). {@link org.sparktransfer.data.image.EvalTransform} and
 * {@link org.sparktransfer.data.image.TrainTransform} reproduce torchvision 0.14's
 * Resize/CenterCrop and RandomResizedCrop/RandomHorizontalFlip on PIL images, including Pillow's
 * fixed-point bilinear antialiasing, then ToTensor + Normalize into CHW float arrays.
 *
 * <p>Parity (TorchvisionParityTest, PIL 9.4 / torchvision 0.14.1 from Debian): decoded bytes and eval
 * tensors are identical (max |diff| 0) for JPEG baseline/progressive/4:4:4/CMYK/gray, PNG 8/16-bit,
 * palette, RGBA, LA, 1/4-bit, BMP, GIF and TIFF (RGB, CMYK, gray). Known gaps: CMYK JPEGs with an
 * embedded ICC profile are colour-managed by TwelveMonkeys (PIL is not), YCCK JPEGs, GIFs whose first
 * frame is smaller than the logical screen, and WebP (no ImageIO plugin: NOT_AN_IMAGE).
 */
package org.sparktransfer.data.image;
