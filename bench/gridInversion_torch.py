#!/usr/bin/env python3
"""PyTorch reference of paper 000's Algorithm 1 (appendix sec. 7, gradient-descent inversion from LayerY through
the generator, optimizing two vectors laid out by a grid mask), written from the paper on the recipes' modules
(models/recipes/zoo.py) with the shipped weights.pt -- independent of ganvas's ONNX graphs and autodiff.

Reads the latents/noise ganvas drew (npy files in --inputs), computes everything else itself: the head, y at the
given feature-map pixels, v1 = v2 = the image's mean activation vector, `steps` Adam steps on the loss
sum_images mean_c |mean_hw F_Y(G_X(a)) - y|, and the final cosine. Prints JSON. Run with /usr/bin/python3."""
import argparse, json, os, sys
import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models", "recipes"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import zoo  # noqa: E402
from tileability_torch import grid_mask, head as style_head, tail as style_tail, features as resnet_features  # noqa: E402


def load(name):
    return torch.load(os.path.join(ROOT, "models", name, "weights.pt"), map_location="cpu")


def preprocess(out, man):
    p = man["preprocess"]
    x = (out + 1) / 2  # generator range [-1, 1] -> classifier range [0, 1]
    x = F.interpolate(x, size=tuple(p["size"]), mode="nearest")
    mean = torch.tensor(p["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(p["std"]).view(1, -1, 1, 1)
    return (x - mean) / std


def fmnist_pair(inputs, layer, feature_layer):
    gw = load("fmnist-stylegan")
    G = zoo.StyleGen(**gw["G_kwargs"]).eval()
    G.load_state_dict(gw["G_ema"])
    cw = load("fmnist-resnet")
    net = zoo.ResNet(blocks=tuple(cw["blocks"]), mode=cw["mode"]).eval()
    net.load_state_dict(cw["model"])
    man = json.load(open(os.path.join(ROOT, "models", "fmnist-resnet", "ganvas.json")))
    z = torch.from_numpy(np.load(os.path.join(inputs, "z.npy")))
    noises = {n: torch.from_numpy(np.load(os.path.join(inputs, f"noise_{n.replace('.', '_')}.npy"))) for n in G.noise_names()}
    with torch.no_grad():
        w = G.map(z)
        acts, img = style_head(G, w, noises, layer)

    def chain(a):
        out = style_tail(G, w, noises, layer, a, img)
        return resnet_features(net, preprocess(out, man), feature_layer)

    return acts, chain


def ihc_pair(inputs, layer, feature_layer):
    gw = load("ihc-gan")
    G = zoo.DCGen(**gw["G_kwargs"]).eval()
    G.load_state_dict(gw["G_ema"])
    fw = load("ihc-features")
    net = zoo.FeatNet(**fw["kwargs"]).eval()
    net.load_state_dict(fw["model"])
    man = json.load(open(os.path.join(ROOT, "models", "ihc-features", "ganvas.json")))
    z = torch.from_numpy(np.load(os.path.join(inputs, "z.npy")))
    with torch.no_grad():
        acts = G(z, return_layers=True)[1][layer]
    start = {"l8": 1, "l16": 2, "l32": 3}[layer]

    def chain(a):
        x = a
        for conv in G.ups[start:]:
            x = G.pn(zoo.lrelu(conv(zoo.up2(x))))
        out = torch.tanh(G.rgb(x))
        x = net.stem(preprocess(out, man))
        for i in range(1, 4):
            x = getattr(net, f"layer{i}")(x)
            if feature_layer == f"layer{i}":
                return x
        raise ValueError(feature_layer)

    return acts, chain


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pair", choices=["fmnist", "ihc"], required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--layer", required=True)
    ap.add_argument("--feature-layer", default="layer1")
    ap.add_argument("--grid", type=int, required=True)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--schedule", choices=["constant", "cosine"], default="constant")
    a = ap.parse_args()
    torch.set_num_threads(1)
    acts, chain = (fmnist_pair if a.pair == "fmnist" else ihc_pair)(a.inputs, a.layer, a.feature_layer)
    pos = np.load(os.path.join(a.inputs, "positions.npy")).astype(np.int64)  # n x 2: (y, x) on the feature map
    n, c, h, w = acts.shape
    idx = torch.arange(n)
    with torch.no_grad():
        f0 = chain(acts)
        y = f0[idx, :, pos[:, 0], pos[:, 1]]  # n x C_Y: the activation vector at the random pixel
    # g = 0: one vector everywhere (one parameter); g >= 1: v1 on the mask's 1s (blue), v2 on its 0s (white).
    m = torch.ones(h, w) if a.grid == 0 else grid_mask(h, w, a.grid)
    mean = acts.mean(dim=(2, 3))
    v1 = mean.clone().requires_grad_(True)
    v2 = mean.clone().requires_grad_(True)
    params = [v1] if a.grid == 0 else [v1, v2]
    opt = torch.optim.Adam(params, lr=a.lr)
    # cosine: step t runs at lr * (1 + cos(pi t / steps)) / 2, t = 0 ... steps - 1.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + np.cos(np.pi * t / a.steps)) if a.schedule == "cosine" else 1.0)

    def loss_fn():
        va = v1[:, :, None, None] * m + (v1 if a.grid == 0 else v2)[:, :, None, None] * (1 - m)
        f = chain(va)
        return (f.mean(dim=(2, 3)) - y).abs().mean(dim=1).sum(), f

    grad0 = None
    loss0 = None
    for step in range(a.steps):
        opt.zero_grad()
        L, _ = loss_fn()
        L.backward()
        if step == 0:
            loss0 = L.item()
            g2 = v1.grad if a.grid == 0 else v2.grad
            grad0 = torch.cat([v1.grad, g2], dim=1).tolist()
        opt.step()
        sched.step()
    with torch.no_grad():
        _, f = loss_fn()
        cos = F.cosine_similarity(f.mean(dim=(2, 3)), y, dim=1, eps=1e-8).tolist()
    vec = torch.cat([v1, v1 if a.grid == 0 else v2], dim=1).detach().tolist()
    print(json.dumps({"loss0": loss0, "grad0": grad0, "vectors": vec, "cosines": cos, "y": y.tolist(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
