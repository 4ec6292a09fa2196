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


def preprocess(out, man, dev="cpu"):
    p = man["preprocess"]
    x = (out + 1) / 2  # generator range [-1, 1] -> classifier range [0, 1]
    x = F.interpolate(x, size=tuple(p["size"]), mode="nearest")
    mean = torch.tensor(p["mean"], device=dev).view(1, -1, 1, 1)
    std = torch.tensor(p["std"], device=dev).view(1, -1, 1, 1)
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


def experiment(a):
    """Fig. 9 at full size in PyTorch (an accelerator if there is one): for each pair and each (steps, init), `runs`
    runs of `count` images (torch-seeded latents/noise: other images than ganvas's), every grid size; all images of a
    run optimized together (the loss is a sum over images and Adam is elementwise, so each image has its own Adam)."""
    import time
    dev = torch.device(a.device if a.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    out = {"device": str(dev), "torch": torch.__version__, "count": a.count, "runs": a.runs, "lr": a.lr, "schedule": a.schedule, "results": []}
    specs = [("fmnist", "b8.conv1"), ("ihc", "l16")]
    for pair, layer in specs:
        for steps in [int(s) for s in a.steps_list.split(",")]:
            for init in a.inits.split(","):
                t0 = time.time()
                curve = {}
                for run in range(a.runs):
                    gen = torch.Generator().manual_seed(1000 * run + 17)
                    acts, chain, y = experiment_targets(pair, layer, a.count, gen, dev)
                    for g in [int(x) for x in a.sizes.split(",")]:
                        cos = invert(acts, chain, y, g, steps, init, a.lr, a.schedule, gen, dev)
                        curve.setdefault(g, []).append(cos)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                rows = {g: {"run_means": [float(np.mean(c)) for c in cs], "mean": float(np.mean([np.mean(c) for c in cs])),
                            "std": float(np.std([np.mean(c) for c in cs], ddof=1)) if len(cs) > 1 else 0.0,
                            "image_std": float(np.std(np.concatenate(cs)))} for g, cs in curve.items()}
                out["results"].append({"pair": pair, "layer": layer, "steps": steps, "init": init, "seconds": time.time() - t0, "curve": rows})
                print(json.dumps(out["results"][-1]), file=sys.stderr, flush=True)
    print(json.dumps(out))


_models = {}


def experiment_targets(pair, layer, count, gen, dev):
    """Heads and y (a random feature-map pixel of each generated image) for one run, on `dev`."""
    if pair == "fmnist":
        if pair not in _models:
            gw = load("fmnist-stylegan")
            G = zoo.StyleGen(**gw["G_kwargs"]).eval()
            G.load_state_dict(gw["G_ema"])
            cw = load("fmnist-resnet")
            net = zoo.ResNet(blocks=tuple(cw["blocks"]), mode=cw["mode"]).eval()
            net.load_state_dict(cw["model"])
            man = json.load(open(os.path.join(ROOT, "models", "fmnist-resnet", "ganvas.json")))
            _models[pair] = (G.to(dev), net.to(dev), man)
        G, net, man = _models[pair]
        z = torch.randn(count, G.z_dim if hasattr(G, "z_dim") else 64, generator=gen).to(dev)
        noises = {}
        for n in G.noise_names():
            r = int(n.split(".")[0][1:])
            noises[n] = torch.randn(count, 1, r, r, generator=gen).to(dev)
        with torch.no_grad():
            w = G.map(z)
            acts, img = style_head(G, w, noises, layer)

        def chain(a, sl):
            out = style_tail(G, w[sl], {k: v[sl] for k, v in noises.items()}, layer, a, None if img is None else img[sl])
            return resnet_features(net, preprocess(out, man, dev), "layer1")
    else:
        if pair not in _models:
            gw = load("ihc-gan")
            G = zoo.DCGen(**gw["G_kwargs"]).eval()
            G.load_state_dict(gw["G_ema"])
            fw = load("ihc-features")
            net = zoo.FeatNet(**fw["kwargs"]).eval()
            net.load_state_dict(fw["model"])
            man = json.load(open(os.path.join(ROOT, "models", "ihc-features", "ganvas.json")))
            _models[pair] = (G.to(dev), net.to(dev), man)
        G, net, man = _models[pair]
        z = torch.randn(count, G.z_dim, generator=gen).to(dev)
        with torch.no_grad():
            acts = G(z, return_layers=True)[1][layer]
        start = {"l8": 1, "l16": 2, "l32": 3}[layer]

        def chain(a, sl):
            x = a
            for conv in G.ups[start:]:
                x = G.pn(zoo.lrelu(conv(zoo.up2(x))))
            x = net.stem(preprocess(torch.tanh(G.rgb(x)), man, dev))
            return net.layer1(x)
    with torch.no_grad():
        f = chain(acts, slice(None))
        n, c, fh, fw = f.shape
        py = torch.randint(0, fh, (n,), generator=gen).to(dev)
        px = torch.randint(0, fw, (n,), generator=gen).to(dev)
        y = f[torch.arange(n, device=dev), :, py, px]
    return acts, chain, y


def invert(acts, chain, y, g, steps, init, lr, schedule, gen, dev):
    n, c, h, w = acts.shape
    m = (torch.ones(h, w) if g == 0 else grid_mask(h, w, g)).to(dev)
    mean = acts.mean(dim=(2, 3))
    if init == "mean":
        s1, s2 = mean.clone(), mean.clone()
    elif init == "zeros":
        s1, s2 = torch.zeros_like(mean), torch.zeros_like(mean)
    else:
        std = acts.std(dim=(2, 3), unbiased=False)
        s1 = mean + std * torch.randn(n, c, generator=gen).to(dev)
        s2 = mean + std * torch.randn(n, c, generator=gen).to(dev)
    v1 = s1.requires_grad_(True)
    v2 = (s1.clone() if g == 0 else s2).requires_grad_(True)
    params = [v1] if g == 0 else [v1, v2]
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + np.cos(np.pi * t / steps)) if schedule == "cosine" else 1.0)

    def feats():
        va = v1[:, :, None, None] * m + (v1 if g == 0 else v2)[:, :, None, None] * (1 - m)
        return chain(va, slice(None)).mean(dim=(2, 3))

    for _ in range(steps):
        opt.zero_grad()
        (feats() - y).abs().mean(dim=1).sum().backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        return F.cosine_similarity(feats(), y, dim=1, eps=1e-8).cpu().numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiment", action="store_true", help="the full Fig. 9 experiment (see experiment())")
    ap.add_argument("--count", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="0,1,2,3,4,5")
    ap.add_argument("--steps-list", default="10,30,100")
    ap.add_argument("--inits", default="mean,zeros,random")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--pair", choices=["fmnist", "ihc"])
    ap.add_argument("--inputs")
    ap.add_argument("--layer")
    ap.add_argument("--feature-layer", default="layer1")
    ap.add_argument("--grid", type=int)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--schedule", choices=["constant", "cosine"], default="cosine")  # ganvas default
    a = ap.parse_args()
    if a.experiment:
        return experiment(a)
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
