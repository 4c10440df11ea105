"""Reference data for ImageToLogitsParityTest: image files of several formats written by PIL, each put through
torchvision's eval pipeline (pil_loader + exif_transpose, Resize(256), CenterCrop(224), ToTensor, Normalize with
ImageNet mean/std) and a torchvision resnet18 with seeded weights and calibrated BatchNorm statistics.

Writes to OUT: the images and manifest.txt (one file name per line, in batch order), resnet18.safetensors,
inputs.f32 (the eval tensors, float32 NCHW), logits.f32 (float64 forward pass of the float32 inputs, stored as
float32) and logits_torch_f32.f32 (PyTorch's own float32 forward pass, for comparison).

Usage: /usr/bin/python3 make_image_logits_parity.py OUT
"""
import json
import os
import sys

import torch
from PIL import Image
from torchvision import transforms

import make_resnet_parity as mrp
import torchvision_reference as ref

SEED = 2024


def images(out):
    rgb = lambda w, h, s: Image.fromarray(ref.content(w, h, s), "RGB")
    rgba = rgb(256, 256, 35).convert("RGBA")
    rgba.putalpha(Image.fromarray(ref.content(256, 256, 36)[:, :, 0], "L"))
    files = [
        ("jpeg_baseline.jpg", rgb(500, 375, 31), dict(quality=90)),
        ("jpeg_progressive.jpg", rgb(333, 500, 32), dict(quality=85, progressive=True)),
        ("jpeg_exif6.jpg", rgb(400, 300, 33), dict(quality=90, exif=ref.exif_bytes(6))),
        ("png_rgb.png", rgb(640, 480, 34), {}),
        ("png_rgba.png", rgba, {}),
        ("bmp_rgb.bmp", rgb(224, 300, 37), {}),
        ("tiff_lzw.tif", rgb(400, 260, 38), dict(compression="tiff_lzw")),
        ("gif_palette.gif", rgb(180, 120, 39).quantize(colors=64), {}),
    ]
    for name, im, kw in files:
        im.save(os.path.join(out, name), **kw)
    return [f[0] for f in files]


def main(out):
    os.makedirs(out, exist_ok=True)
    names = images(out)
    eval_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                                  transforms.ToTensor(), transforms.Normalize(ref.MEAN, ref.STD)])
    x = torch.stack([eval_tf(ref.load_exif_first(os.path.join(out, n))) for n in names])
    model = mrp.make_model("resnet18", SEED)
    mrp.write_safetensors(os.path.join(out, "resnet18.safetensors"), model.state_dict())
    logits, _ = mrp.outputs(model, x)
    with torch.no_grad():
        logits32 = model(x)
    mrp.write_f32(os.path.join(out, "inputs.f32"), x)
    mrp.write_f32(os.path.join(out, "logits.f32"), logits)
    mrp.write_f32(os.path.join(out, "logits_torch_f32.f32"), logits32)
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump({"num_classes": mrp.NUM_CLASSES, "size": 224, "torch": torch.__version__}, f)


if __name__ == "__main__":
    main(sys.argv[1])
