#!/usr/bin/env python3
"""PyTorch-eager reference of ganvas's tileability scan (paper 000 sec 4.2), on the same models (the recipes' module
definitions and exported weights) and the same inputs (z, noise, positions written by bench/tileability.ts).
Prints JSON: the scores and the wall time. Run with Debian's python: /usr/bin/python3."""
import argparse, json, math, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models", "recipes"))
import zoo  # noqa: E402


def grid_mask(h, w, g):
    m = torch.zeros(h, w)
    if g == "full":
        return m + 1
    cy = 0
    while cy < h - g:
        cx = 0
        while cx < w - g:
            m[cy:cy + g, cx:cx + g] = 1
            cx += g + 1
        cy += g + 1
    return m


# The split itself is shared with the other PyTorch references (models/recipes/zoo.py).
head = zoo.style_head
tail = zoo.style_tail


def whole_render(G, z, noises, layer, x):
    """The generator used as it is: a forward hook replaces the layer's output with x, the whole model runs."""
    res, which = layer.split(".")
    hook = getattr(G.blocks[res], which).register_forward_hook(lambda mod, inp, out: x)
    try:
        return G(z, noises)
    finally:
        hook.remove()


def features(net, x, layer):
    x = F.relu(net.bn1(net.conv1(x)))
    x = F.max_pool2d(x, 2) if net.mode == "conv" else F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
    for i in range(1, 5):
        x = getattr(net, f"layer{i}")(x)
        if layer == f"layer{i}":
            return x
    raise ValueError(layer)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--layer", default="b8.conv1")
    ap.add_argument("--feature-layer", default="layer1", choices=["layer1", "layer2", "layer3", "layer4"])
    ap.add_argument("--grid", type=int, default=2)
    ap.add_argument("--erosion", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--style", choices=["split", "whole"], default="split",
                    help="split: head once, tail per render, classifier truncated at the feature layer (what ganvas "
                         "does); whole: the modules used as they are, whole generator per pass with a forward hook "
                         "writing the layer, whole classifier with the feature layer read from return_layers")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gw = torch.load(os.path.join(ROOT, "models", "fmnist-stylegan", "weights.pt"), map_location="cpu")
    G = zoo.StyleGen(**gw["G_kwargs"]).eval()
    G.load_state_dict(gw["G_ema"])
    cw = torch.load(os.path.join(ROOT, "models", "fmnist-resnet", "weights.pt"), map_location="cpu")
    net = zoo.ResNet(blocks=tuple(cw["blocks"]), mode=cw["mode"]).eval()
    net.load_state_dict(cw["model"])
    man = json.load(open(os.path.join(ROOT, "models", "fmnist-resnet", "ganvas.json")))
    pre = man["preprocess"]
    mean, std = float(pre["mean"][0]), float(pre["std"][0])
    H, W = pre["size"]

    z = torch.from_numpy(np.load(os.path.join(a.inputs, "z.npy")))
    noise_all = {n: torch.from_numpy(np.load(os.path.join(a.inputs, f"noise_{n.replace('.', '_')}.npy"))) for n in G.noise_names()}
    pos = np.load(os.path.join(a.inputs, "positions.npy")).astype(np.int64)
    N = z.shape[0]
    scores, l1s = [], []
    t0 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, N, a.batch):
            e = min(N, s + a.batch)
            nz = {k: v[s:e] for k, v in noise_all.items()}
            if a.style == "split":
                w = G.map(z[s:e])
                acts, img = head(G, w, nz, a.layer)
            else:
                acts = G(z[s:e], nz, return_layers=True)[1][a.layer]
            n, c, h, wd = acts.shape
            idx = torch.arange(n)
            v = acts[idx, :, pos[s:e, 0], pos[s:e, 1]]                     # n x c
            full = v[:, :, None, None].expand(n, c, h, wd).contiguous()
            gm = grid_mask(h, wd, a.grid)
            grid = torch.where(gm[None, None] > 0, full, acts)
            both = torch.cat([full, grid])
            nz2 = {k: torch.cat([t, t]) for k, t in nz.items()}
            if a.style == "split":
                img2 = None if img is None else torch.cat([img, img])
                out = tail(G, torch.cat([w, w]), nz2, a.layer, both, img2)
            else:
                out = whole_render(G, torch.cat([z[s:e], z[s:e]]), nz2, a.layer, both)
            x = (out + 1) / 2
            x = F.interpolate(x, size=(H, W), mode="nearest")
            if a.style == "split":
                f = features(net, (x - mean) / std, a.feature_layer)
            else:
                f = net((x - mean) / std, return_layers=True)[1][int(a.feature_layer[len("layer"):]) - 1]
            fh, fw = f.shape[2:]
            m = F.interpolate(gm[None, None], size=(fh, fw), mode="nearest")
            k = a.erosion
            m = (F.avg_pool2d(m, k, stride=1, padding=k // 2, count_include_pad=True) > 1 - 1e-6).float()
            fa = f[:n].mean(dim=(2, 3))
            fb = (f[n:] * m).sum(dim=(2, 3)) / m.sum()
            scores += F.cosine_similarity(fa, fb, dim=1, eps=1e-8).tolist()
            l1s += (fa - fb).abs().mean(dim=1).tolist()
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, "scores": scores, "l1": l1s, "torch": torch.__version__, "threads": a.threads,
                      "style": a.style}))


if __name__ == "__main__":
    main()
