#!/usr/bin/python3
"""Reference data for the Java image pipeline tests and benchmark (PIL 9.4 / torchvision 0.14).

  generate OUT            write the test images (several formats) and OUT/manifest.txt
  reference OUT           for every image in the manifest: decoded RGB bytes (.rgb) and the torchvision
                          eval tensor Resize(256)+CenterCrop(224)+ToTensor+Normalize (.f32, float32 CHW)
  resized_crop OUT SPEC   for lines "name top left height width size" in SPEC: F.resized_crop(..., BILINEAR)
                          + ToTensor + Normalize as float32 CHW into OUT/<name>.<top>_<left>_<h>_<w>.f32
  crop_stats W H N        mean area fraction, log aspect ratio, box centre (x/W, y/H) of N
                          RandomResizedCrop.get_params draws on a W x H image
  photos OUT N            N synthetic 500x375 "photos" (gradients + noise), JPEG quality 90
  bench DIR REPEAT        time open+convert+exif_transpose+eval transforms on DIR/*.jpg, 1 torch thread

Images are opened as torchvision's pil_loader does (Image.open + convert('RGB')), plus
ImageOps.exif_transpose, which the Java decoder applies and torchvision does not.
All output is raw little-endian; .rgb files start with two int32 (width, height).
"""
import os
import struct
import sys
import time

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision import transforms
import torchvision.transforms.functional as F

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def content(w, h, seed):
    """Smooth gradients plus noise: photo-like, exercises the filters and the JPEG coder."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / (w / 3.1) + seed) * np.cos(y / (h / 2.3))
    g = 255 * x / max(w - 1, 1)
    b = 255 * y / max(h - 1, 1)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (h, w, 3))
    # a few hard edges
    img[h // 4: h // 2, w // 5: w // 3] = [250, 20, 30]
    return np.clip(img, 0, 255).astype(np.uint8)


def exif_bytes(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


def generate(out):
    os.makedirs(out, exist_ok=True)
    names = []

    def save(name, im, **kw):
        im.save(os.path.join(out, name), **kw)
        names.append(name)

    rgb = lambda w, h, s: Image.fromarray(content(w, h, s), "RGB")
    save("jpeg_baseline.jpg", rgb(500, 375, 1), quality=90)
    save("jpeg_progressive.jpg", rgb(333, 500, 2), quality=85, progressive=True)
    save("jpeg_444.jpg", rgb(320, 240, 3), quality=95, subsampling=0)
    save("jpeg_cmyk.jpg", rgb(300, 200, 4).convert("CMYK"), quality=90)
    save("jpeg_gray.jpg", rgb(200, 150, 5).convert("L"), quality=90)
    save("jpeg_exif6.jpg", rgb(400, 300, 6), quality=90, exif=exif_bytes(6))
    save("jpeg_422_odd.jpg", rgb(301, 203, 30), quality=80, subsampling=1)
    save("jpeg_gray_progressive.jpg", rgb(211, 97, 31).convert("L"), quality=75, progressive=True)
    save("jpeg_tiny.jpg", rgb(3, 2, 32), quality=90)
    save("png_rgb.png", rgb(640, 480, 7))
    arr16 = (content(257, 300, 8)[:, :, 1].astype(np.uint16) * 3)  # 0..765: PIL clips to 255
    save("png_gray16.png", Image.fromarray(arr16.astype(np.uint16), "I;16"))
    save("png_palette.png", rgb(300, 300, 9).quantize(colors=200), transparency=5)
    rgba = rgb(256, 256, 10).convert("RGBA")
    rgba.putalpha(Image.fromarray(content(256, 256, 11)[:, :, 0], "L"))
    save("png_rgba.png", rgba)
    la = rgb(230, 180, 12).convert("LA")
    save("png_la.png", la)
    save("png_small.png", rgb(50, 37, 13))
    save("png_wide.png", rgb(1000, 40, 14))
    save("bmp_rgb.bmp", rgb(224, 300, 15))
    save("gif_palette.gif", rgb(180, 120, 16).quantize(colors=64))
    save("tiff_rgb.tif", rgb(400, 260, 17), compression="tiff_lzw")
    save("tiff_cmyk.tif", rgb(300, 310, 18).convert("CMYK"))
    save("tiff_gray.tif", rgb(260, 300, 19).convert("L"), compression="tiff_deflate")
    save("png_1bit.png", rgb(100, 90, 20).convert("1"))
    save("png_4bit_palette.png", rgb(120, 80, 21).quantize(colors=16), bits=4)
    for o in range(2, 9):
        save("png_exif%d.png" % o, rgb(61, 37, 20 + o), exif=exif_bytes(o))
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


def load(path):
    with open(path, "rb") as f:
        img = Image.open(f)
        img = img.convert("RGB")  # torchvision's pil_loader
    return ImageOps.exif_transpose(img)


def load_exif_first(path):
    # exif_transpose needs the EXIF of the opened file; convert('RGB') keeps img.info['exif'] for JPEG
    # but not necessarily getexif() of other formats, so transpose first and convert second.
    with open(path, "rb") as f:
        img = Image.open(f)
        img.load()
        img = ImageOps.exif_transpose(img)
        return img.convert("RGB")


def write_f32(path, t):
    t.contiguous().numpy().astype("<f4").tofile(path)


def reference(out):
    eval_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                                  transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    names = open(os.path.join(out, "manifest.txt")).read().split()
    for n in names:
        img = load_exif_first(os.path.join(out, n))
        with open(os.path.join(out, n + ".rgb"), "wb") as f:
            f.write(struct.pack("<ii", img.width, img.height))
            f.write(img.tobytes())
        write_f32(os.path.join(out, n + ".f32"), eval_tf(img))


def resized_crop(out, spec):
    post = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    for line in open(spec):
        if not line.strip():
            continue
        n, top, left, h, w, size = line.split()
        top, left, h, w, size = int(top), int(left), int(h), int(w), int(size)
        img = load_exif_first(os.path.join(out, n))
        res = F.resized_crop(img, top, left, h, w, [size, size], transforms.InterpolationMode.BILINEAR)
        write_f32(os.path.join(out, "%s.%d_%d_%d_%d.f32" % (n, top, left, h, w)), post(res))


def crop_stats(w, h, n):
    torch.manual_seed(0)
    img = Image.new("RGB", (w, h))
    rrc = transforms.RandomResizedCrop(224)
    stats = np.zeros(4)
    for _ in range(n):
        i, j, hh, ww = rrc.get_params(img, rrc.scale, rrc.ratio)
        stats += [ww * hh / (w * h), np.log(ww / hh), (j + ww / 2) / w, (i + hh / 2) / h]
    print(" ".join("%.6f" % v for v in stats / n))


def photos(out, n):
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        Image.fromarray(content(500, 375, 1000 + i), "RGB").save(os.path.join(out, "photo%04d.jpg" % i), quality=90)


def bench(d, repeat):
    torch.set_num_threads(1)
    eval_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                                  transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jpg"))
    datas = [open(f, "rb").read() for f in files]
    import io

    def run():
        for b in datas:
            img = ImageOps.exif_transpose(Image.open(io.BytesIO(b)).convert("RGB"))
            eval_tf(img)

    run()  # warm-up
    best_decode = best_total = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for b in datas:
            Image.open(io.BytesIO(b)).convert("RGB")
        t1 = time.perf_counter()
        run()
        t2 = time.perf_counter()
        best_decode = min(best_decode, t1 - t0)
        best_total = min(best_total, t2 - t1)
    print("decode_ips %.2f" % (len(datas) / best_decode))
    print("total_ips %.2f" % (len(datas) / best_total))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "generate":
        generate(sys.argv[2])
    elif cmd == "reference":
        reference(sys.argv[2])
    elif cmd == "resized_crop":
        resized_crop(sys.argv[2], sys.argv[3])
    elif cmd == "crop_stats":
        crop_stats(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "photos":
        photos(sys.argv[2], int(sys.argv[3]))
    elif cmd == "bench":
        bench(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)
