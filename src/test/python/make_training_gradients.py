"""Reference data for TrainingGradientParityTest: training-mode (batch-statistics BatchNorm) gradients of
torchvision ResNets with seeded weights and non-trivial BatchNorm parameters and running statistics.

For each case: the state dict (float32 .safetensors, as make_resnet_parity.py writes it), a fixed input batch
and labels, and the gradient of every parameter (float32 .safetensors, torchvision names) of
    loss = cross_entropy(model(x), y, reduction='sum')
computed in float64 with model.train(). The summed loss is what DL4J differentiates: its
computeGradientAndScore gradients are sums over the minibatch (the updater divides by the minibatch size
later), while its score is the mean. meta.json holds both loss values, plus the float32-model gradients'
own deviation from float64 (PyTorch's float32 rounding amplification, a floor for any float32 implementation).

Usage: /usr/bin/python3 make_training_gradients.py OUT_DIR
"""
import copy
import json
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

from make_resnet_parity import write_safetensors, write_f32

# (arch, input size, batch)
CASES = [("resnet18", 64, 4), ("resnet50", 64, 4)]
NUM_CLASSES = 4


def make_model(arch, seed):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=NUM_CLASSES)
    with torch.no_grad():
        last_bn = "bn3" if arch == "resnet50" else "bn2"
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                # Small scales on each residual branch's last BN, as in trained ResNets (see make_resnet_parity.py).
                if name.endswith(last_bn):
                    m.weight.uniform_(0.1, 0.5)
                else:
                    m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                # Running statistics are not used by train-mode forward/backward, but non-trivial values make sure
                # neither side uses them by mistake.
                m.running_mean.normal_(0.0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
        model.fc.bias.normal_(0.0, 0.1)
    return model


def gradients(model, x, y, dtype):
    m = copy.deepcopy(model).to(dtype)
    m.train()
    m.zero_grad()
    logits = m(x.to(dtype))
    loss = F.cross_entropy(logits, y, reduction="sum")
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in m.named_parameters()}
    return loss.item(), logits.detach(), grads


def max_rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    meta = {"torch": torch.__version__, "torchvision": torchvision.__version__, "cases": {}}
    for i, (arch, size, batch) in enumerate(CASES):
        model = make_model(arch, 2000 + i)
        torch.manual_seed(17 + i)
        x = torch.randn(batch, 3, size, size)
        y = torch.randint(0, NUM_CLASSES, (batch,))
        # The state dict before any train-mode pass (which would move the running statistics).
        write_safetensors(os.path.join(out, arch + ".safetensors"), model.state_dict())
        write_f32(os.path.join(out, arch + ".input.f32"), x)
        write_f32(os.path.join(out, arch + ".labels.f32"), F.one_hot(y, NUM_CLASSES).float())

        loss64, logits64, g64 = gradients(model, x, y, torch.float64)
        write_safetensors(os.path.join(out, arch + ".grads.safetensors"), {n: g.float() for n, g in g64.items()})
        write_f32(os.path.join(out, arch + ".logits.f32"), logits64)
        # PyTorch's own float32 error on the same problem: how well-conditioned the gradients are.
        _, _, g32 = gradients(model, x, y, torch.float32)
        f32_err = {n: max_rel(g32[n].double(), g64[n]) for n in g64}
        # Over all parameters at once: ||g32 - g64|| / ||g64|| (dominated by the well-conditioned big arrays).
        f32_global = (sum(((g32[n].double() - g64[n]) ** 2).sum() for n in g64)
                      / sum((g64[n] ** 2).sum() for n in g64)).sqrt().item()
        worst = max(f32_err, key=f32_err.get)
        meta["cases"][arch] = {"size": size, "batch": batch, "num_classes": NUM_CLASSES,
                               "loss_sum": loss64, "loss_mean": loss64 / batch,
                               "params": list(g64.keys()),
                               "torch_f32_worst": f32_err[worst], "torch_f32_worst_param": worst,
                               "torch_f32_global": f32_global,
                               "torch_f32_err": f32_err}
        print("%s: loss(sum) %.6f, torch float32 vs float64 gradients: worst array %.2e (%s), global %.2e"
              % (arch, loss64, f32_err[worst], worst, f32_global))
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
