"""Shared training / export code for the Fashion-MNIST classifiers (fmnist-resnet, fmnist-testnet)."""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402


def augment(x, gen):
    """random horizontal flip + random translation by up to 2 px (zero padding), per sample."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    xp = F.pad(x, (2, 2, 2, 2))
    dy = torch.randint(0, 5, (n,), generator=gen).tolist()
    dx = torch.randint(0, 5, (n,), generator=gen).tolist()
    return torch.stack([xp[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32] for i in range(n)])


def evaluate(model, x, y, bs=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


# What tells the two classifier recipes apart (ResNet mode, default seed, manifest description with the measured
# test accuracy filled in); the rest of the recipe is main() below.  Kept side by side here so that
# train_<name>.py is only the entry point main("<name>").
RECIPES = {
    "fmnist-resnet": dict(mode="conv", default_seed=0, description=(
        "ResNet-style Fashion-MNIST classifier (torchvision BasicBlocks, 2-2-2-2 blocks, widths 16/32/64/128; "
        "3x3 stem + 2x2 max-pool, so layer1 is 16x16, layer2 8x8, layer3 4x4, layer4 2x2). Input: 1x32x32 "
        "(Fashion-MNIST resized 28->32 bilinear) in [0,1], normalized with the manifest mean/std. "
        "Measured test accuracy {acc:.2f}% on the 10000 test images. Used to judge fmnist-stylegan samples "
        "and as the network to stitch/invert (paper 003).")),
    "fmnist-testnet": dict(mode="bilinear", default_seed=1, description=(
        "Test network in the sense of paper 003 sec. 4.3.1: a ResNet variant (BasicBlocks 2-2-2-2, widths "
        "16/32/64/128) with NO max-pooling and NO strided convolutions: every downsampling (after the stem and "
        "at the start of layer2/3/4, on the main path and on the skip path) is a bilinear 2x downsample "
        "followed by a 3x3 stride-1 convolution, so no pixel grid pattern is favoured in the gradient. "
        "Different seed (1) from fmnist-resnet. Layer sizes match fmnist-resnet (layer1 16x16 ... layer4 2x2). "
        "Measured test accuracy {acc:.2f}% on the 10000 test images.")),
}


def main(name, blocks=(2, 2, 2, 2)):
    r = RECIPES[name]
    mode, default_seed, description = r["mode"], r["default_seed"], r["description"]
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(zoo.MODELS, name))
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=default_seed)
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="a few iterations only, into --out (use a temp dir)")
    a = ap.parse_args()
    gen, P = zoo.start_run(a)

    xtr, ytr = zoo.load_fmnist("train")
    xte, yte = zoo.load_fmnist("test")
    mean, std = zoo.FMNIST_MEAN, zoo.FMNIST_STD
    P(f"[{zoo.now_iso()}] {name}: train mean {xtr.mean():.4f} std {xtr.std():.4f} (manifest uses {mean}/{std})")
    xtr = (xtr - mean) / std
    xte = (xte - mean) / std
    if a.smoke:
        xtr, ytr, xte, yte = xtr[:512], ytr[:512], xte[:500], yte[:500]
        a.epochs = 1
    model = zoo.ResNet(blocks=blocks, mode=mode)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps_per_epoch = math.ceil(len(xtr) / a.bs)
    total = steps_per_epoch * a.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=total, pct_start=0.2)
    t0 = time.time()
    it = 0
    for ep in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tl = 0.0
        for bi in range(steps_per_epoch):
            idx = perm[bi * a.bs:(bi + 1) * a.bs]
            xb = augment(xtr[idx], gen)
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tl += loss.item()
            it += 1
            if it % 100 == 0:
                P(f"ep {ep} it {it}/{total} loss {tl / (bi + 1):.4f} {time.time() - t0:.0f}s")
        acc = evaluate(model, xte, yte)
        P(f"epoch {ep} train_loss {tl / steps_per_epoch:.4f} test_acc {acc:.4f} {time.time() - t0:.0f}s")
        torch.save({"model": model.state_dict(), "epoch": ep}, os.path.join(a.out, "weights.pt"))
    wall = time.time() - t0
    model.eval()
    acc = evaluate(model, xte, yte)
    n_test = len(xte)
    P(f"final test accuracy {acc:.4f} on {n_test} test images")

    # ---- export
    onnx_path, shapes, fx = zoo.export_with_layers(
        model, xte[:2].clone(), "image", "logits", ["layer1", "layer2", "layer3", "layer4"], a.out,
        {"model": model.state_dict(), "mode": mode, "blocks": list(blocks)},
        input_note="normalized test images 0 and 1 ((x - mean) / std)")
    ins, outs, nnodes = zoo.onnx_tensor_info(onnx_path)
    manifest = {
        "format": "ganvas-manifest/1",
        "name": name,
        "role": "classifier",
        "description": description.format(acc=acc * 100),
        "model": "model.onnx",
        "inputs": [{"name": "image", "kind": "image", "shape": ["N", 1, 32, 32]}],
        "outputs": [{"name": "logits", "kind": "logits", "classes": zoo.FMNIST_CLASSES}],
        "preprocess": {"size": [32, 32], "channels": 1, "range": [0, 1], "mean": [mean], "std": [std],
                       "resize": "Fashion-MNIST 28x28 -> 32x32 bilinear (align_corners=False)"},
        **zoo.layer_entries(shapes),
        "provenance": {
            "dataset": "Fashion-MNIST (Debian package dataset-fashion-mnist), 60000 train / 10000 test, 28->32 bilinear",
            "recipe": f"models/recipes/train_{name.replace('-', '_')}.py",
            "command": zoo.command_line(),
            "seed": a.seed, "iterations": it, "epochs": a.epochs, "batchSize": a.bs,
            "optimizer": f"SGD nesterov momentum 0.9, wd 5e-4, OneCycle max lr {a.lr}; aug: hflip + 2px translation",
            "wallTimeSeconds": round(wall), "machine": zoo.MACHINE, "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "smoke": bool(a.smoke),
        },
        "quality": {"testAccuracy": round(acc, 4), "testImages": n_test,
                    "how": "top-1 accuracy of the eval-mode torch model on the Fashion-MNIST test split"},
        "params": zoo.count_params(model),
    }
    zoo.write_manifest(a.out, manifest)
    P(f"exported {onnx_path} ({os.path.getsize(onnx_path)} bytes), inputs {ins}, outputs {outs}, loss fixture {fx['lossValue']}")
