"""Reference data for ResNetParityTest: torchvision ResNets with seeded weights and non-trivial BatchNorm
statistics, their state dicts as .safetensors (written by hand: the safetensors package is not a dependency),
fixed inputs, and the expected logits and pooled features as raw little-endian float32.

Usage: /usr/bin/python3 make_resnet_parity.py OUT_DIR
"""
import copy
import json
import os
import struct
import sys

import torch
import torchvision

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}

# (arch, input size, batch). 72 px makes odd feature maps (9 -> 5 -> 3), exercising PyTorch's floor rounding.
CASES = [("resnet18", 72, 2), ("resnet34", 64, 2), ("resnet50", 64, 2)]
NUM_CLASSES = 10


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float32:
        return t.numpy().astype("<f4").tobytes()
    if t.dtype == torch.int64:
        return t.numpy().astype("<i8").tobytes()
    raise ValueError(t.dtype)


def write_safetensors(path, tensors, dtype_overrides=None):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        b = tensor_bytes(t)
        dtype = (dtype_overrides or {}).get(name, DTYPES[t.dtype])
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)  # the format pads the header with spaces to an 8-byte boundary
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_f32(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().contiguous().float().numpy().astype("<f4").tobytes())


def make_model(arch, seed):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=NUM_CLASSES)
    with torch.no_grad():
        last_bn = "bn3" if arch == "resnet50" else "bn2"
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                # Small scales on each residual branch's last BN, as in trained ResNets: a random ResNet-50
                # otherwise amplifies float32 rounding ~10x (PyTorch's own f32-vs-f64 gap reached 4e-5), and
                # the tolerance should measure the Java implementation, not that amplification.
                if name.endswith(last_bn):
                    m.weight.uniform_(0.1, 0.5)
                else:
                    m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.momentum = None  # cumulative average over the calibration batches below
        # Real running statistics: a few train-mode passes on random data.
        model.train()
        for _ in range(3):
            model(torch.randn(8, 3, 64, 64))
    model.eval()
    return model


def outputs(model, x):
    # Reference in float64, so the tolerance measures the Java float32 error, not PyTorch's own rounding.
    model = copy.deepcopy(model).double()
    x = x.double()
    with torch.no_grad():
        feats = {}
        h = model.avgpool.register_forward_hook(lambda m, i, o: feats.setdefault("f", torch.flatten(o, 1)))
        logits = model(x)
        h.remove()
    return logits, feats["f"]


def rounded(model, dtype):
    """Copy of the model whose float tensors went through dtype and back (what a F16/BF16 file holds)."""
    sd = {k: (v.to(dtype).float() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    m = getattr(torchvision.models, ARCH_OF[id(model)])(weights=None, num_classes=NUM_CLASSES)
    m.load_state_dict(sd)
    return m.eval()


ARCH_OF = {}


def main(out):
    os.makedirs(out, exist_ok=True)
    meta = {"torch": torch.__version__, "torchvision": torchvision.__version__, "cases": {}}
    for i, (arch, size, batch) in enumerate(CASES):
        model = make_model(arch, 1000 + i)
        ARCH_OF[id(model)] = arch
        torch.manual_seed(7 + i)
        x = torch.randn(batch, 3, size, size)
        logits, feats = outputs(model, x)
        write_safetensors(os.path.join(out, arch + ".safetensors"), model.state_dict())
        write_f32(os.path.join(out, arch + ".input.f32"), x)
        write_f32(os.path.join(out, arch + ".logits.f32"), logits)
        write_f32(os.path.join(out, arch + ".features.f32"), feats)
        meta["cases"][arch] = {"size": size, "batch": batch, "num_classes": NUM_CLASSES,
                               "feature_dim": feats.shape[1]}
        if arch == "resnet18":
            # Half-precision checkpoints: expected outputs come from the model with rounded weights.
            for dtype, tag in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
                sd = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
                write_safetensors(os.path.join(out, "resnet18_" + tag + ".safetensors"), sd)
                lg, ft = outputs(rounded(model, dtype), x)
                write_f32(os.path.join(out, "resnet18_" + tag + ".logits.f32"), lg)
                write_f32(os.path.join(out, "resnet18_" + tag + ".features.f32"), ft)

    # Conversion edge cases: each half tensor next to its exact float32 value.
    v = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1035156e-05, 5.9604645e-08, -3.0e-06, 0.3333,
                      float("inf"), float("-inf"), float("nan"), 1.0e20, -7.25e-39])
    dt = {"f16": v.to(torch.float16), "f16_as_f32": v.to(torch.float16).float(),
          "bf16": v.to(torch.bfloat16), "bf16_as_f32": v.to(torch.bfloat16).float(),
          "f32": v, "i64": torch.tensor([[0, -3], [7, 2 ** 40]], dtype=torch.int64)}
    write_safetensors(os.path.join(out, "dtypes.safetensors"), dt)
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
