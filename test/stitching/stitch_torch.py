#!/usr/bin/env python3
"""PyTorch reference for test/stitching/reference.test.ts: paper 003's stitch (sec 3.1), its training loss and
step (sec 4.1.3) and its metrics (sec 3.4), written from the paper on the recipes' modules (models/recipes/zoo.py,
weights in models/<name>/weights.pt), independent of ganvas's ONNX graphs.

Usage: /usr/bin/python3 test/stitching/stitch_torch.py JOBS.json
JOBS.json: {"jobs": [{"kind": "stitch" | "metrics", "dir": ..., ...}]}. Inputs and outputs are .npy files in each
job's dir; one JSON object with the scalar results goes to stdout.

stitch job (dir holds image.npy, weight.npy, bias.npy, and for fmnist-stylegan z.npy, noise_<layer>.npy and the
ganvas tail feeds tail_w.npy, tail_skip.npy, tail_noise_<layer>.npy):
  classifier: "fmnist-resnet" or "ihc-features";  generator: "fmnist-stylegan" or "ihc-gan" (any combination: the
  classifier's preprocessing converts channels and resizes the generator's images)
  layerX, layerY: the layers;  fd: [[kind ("weight"|"bias"), flat index], ...] entries for float64 central
  differences;  fd_h: their step;  adam_grads: [[weight grad file, bias grad file], ...]: torch.optim.Adam(lr)
  steps from weight.npy/bias.npy with ganvas's gradients (one step per pair), and one step from torch's own.
  Writes rec.npy, c.npy, d.npy, gw.npy, gb.npy (and adam_*.npy); returns loss, head differences, fd values.
  test_network, test_layer: also the sec 3.4 metrics between the test network's activations of the reconstructions
  and of the originals (returned as eval).
lstsq job (fmnist-stylegan; dir holds z.npy, noise_<layer>.npy of the seeds): classifier, layerX, layerY, ridge ->
  lstsq_weight.npy, lstsq_bias.npy, r2.
metrics job: a.npy (reconstruction activations), b.npy (original activations), eps -> cos.npy, gram.npy, l1.npy.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "models", "recipes"))
import zoo  # noqa: E402


def load(name):
    return torch.load(os.path.join(ROOT, "models", name, "weights.pt"), map_location="cpu")


def manifest(name):
    with open(os.path.join(ROOT, "models", name, "ganvas.json")) as f:
        return json.load(f)


def npy(d, name):
    return torch.from_numpy(np.load(os.path.join(d, name)))


def save(d, name, t):
    np.save(os.path.join(d, name), t.detach().to(torch.float32).numpy())


# ------------------------------------------------------------------------------------------- the networks
class Classifier:
    """The network to invert, up to LayerX, with its manifest's preprocessing (paper Fig. 1, steps 1 and 4)."""

    def __init__(self, name):
        w = load(name)
        if "blocks" in w:  # fmnist-resnet, fmnist-testnet
            self.net = zoo.ResNet(blocks=tuple(w["blocks"]), mode=w["mode"])
        else:
            self.net = zoo.FeatNet(**w["kwargs"])
        self.net.load_state_dict(w["model"])
        self.net.eval()
        self.pre = manifest(name)["preprocess"]

    def to(self, dtype):
        self.net.to(dtype)
        return self

    def preprocess(self, x, rng):
        """Images in range rng -> the classifier's input: channels (gray -> RGB repeats, RGB -> gray takes ITU-R 601
        luma, as ganvas and PIL's convert('L')), value map, mean/std, nearest resize (per-pixel maps commute with it)."""
        p = self.pre
        lo, hi = rng
        if x.shape[1] == 3 and p["channels"] == 1:
            x = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
        elif x.shape[1] == 1 and p["channels"] == 3:
            x = x.repeat(1, 3, 1, 1)
        plo, phi = p["range"]
        x = (x - lo) * ((phi - plo) / (hi - lo)) + plo
        c = x.shape[1]
        mean = torch.tensor(p["mean"], dtype=x.dtype).reshape(1, -1, 1, 1).expand(1, c, 1, 1)
        std = torch.tensor(p["std"], dtype=x.dtype).reshape(1, -1, 1, 1).expand(1, c, 1, 1)
        x = (x - mean) / std
        if list(x.shape[2:]) != list(p["size"]):
            x = F.interpolate(x, size=tuple(p["size"]), mode="nearest")
        return x

    def features(self, x, layer):
        n = self.net
        if isinstance(n, zoo.ResNet):
            x = F.relu(n.bn1(n.conv1(x)))
            x = F.max_pool2d(x, 2) if n.mode == "conv" else F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
            last = 4
        else:
            x = n.stem(x)
            last = 3
        for i in range(1, last + 1):
            x = getattr(n, f"layer{i}")(x)
            if layer == f"layer{i}":
                return x
        raise ValueError(layer)


class StyleTail:
    """fmnist-stylegan: head (mapping + synthesis up to LayerY) and tail (synthesis after LayerY), as
    bench/tileability_torch.py splits it; the tail reads w, the RGB skip accumulated before LayerY, and the noises."""

    def __init__(self):
        w = load("fmnist-stylegan")
        self.G = zoo.StyleGen(**w["G_kwargs"])
        self.G.load_state_dict(w["G_ema"])
        self.G.eval()

    def to(self, dtype):
        self.G.to(dtype)
        return self

    def head(self, z, noises, layer):
        w = self.G.map(z)
        x, img = zoo.style_head(self.G, w, noises, layer)
        return w, x, img

    def tail(self, w, noises, layer, x, img):
        return zoo.style_tail(self.G, w, noises, layer, x, img)


class DCTail:
    """ihc-gan from one of its layers l8/l16/l32 on (nothing else enters after them)."""

    def __init__(self):
        w = load("ihc-gan")
        self.G = zoo.DCGen(**w["G_kwargs"])
        self.G.load_state_dict(w["G_ema"])
        self.G.eval()

    def to(self, dtype):
        self.G.to(dtype)
        return self

    def tail(self, layer, x):
        G = self.G
        start = {"l8": 1, "l16": 2, "l32": 3}[layer]
        for conv in G.ups[start:]:
            x = G.pn(zoo.lrelu(conv(zoo.up2(x))))
        return torch.tanh(G.rgb(x))


# ------------------------------------------------------------------------------------------- stitch job
def stitch_job(job):
    d = job["dir"]
    X, Y = job["layerX"], job["layerY"]
    cls = Classifier(job["classifier"])
    style = job["generator"] == "fmnist-stylegan"
    gen = StyleTail() if style else DCTail()
    data_range = job.get("range", cls.pre["range"])
    image = npy(d, "image.npy")
    weight0 = npy(d, "weight.npy")
    bias0 = npy(d, "bias.npy")
    out = {}

    tail_in = None
    if style:
        names = gen.G.noise_names()
        z = npy(d, "z.npy")
        noises = {n: npy(d, f"noise_{n.replace('.', '_')}.npy") for n in names}
        with torch.no_grad():
            w_head, _, skip_head = gen.head(z, noises, Y)
        tail_w, tail_skip = npy(d, "tail_w.npy"), npy(d, "tail_skip.npy")
        tail_noises = {n: npy(d, f"tail_noise_{n.replace('.', '_')}.npy") if os.path.exists(os.path.join(d, f"tail_noise_{n.replace('.', '_')}.npy")) else None for n in names}
        # ganvas's tail feeds against the head computed here from the same z and noise.
        out["head_w_maxdiff"] = float((w_head - tail_w).abs().max())
        out["head_skip_maxdiff"] = float((skip_head - tail_skip).abs().max())
        out["head_noise_maxdiff"] = max(float((noises[n] - t).abs().max()) for n, t in tail_noises.items() if t is not None)
        tail_in = (tail_w, tail_skip, {n: (t if t is not None else noises[n]) for n, t in tail_noises.items()})

    # LayerY's spatial size, from the generator's manifest.
    size = tuple(manifest(job["generator"])["layerShapes"][Y][2:])

    def forward(weight, bias, dtype):
        """loss, reconstruction, c = F_X(x), d = F_X(reconstruction) in the given dtype."""
        cls.to(dtype)
        gen.to(dtype)
        x = image.to(dtype)
        c = cls.features(cls.preprocess(x, data_range), X)
        y = F.conv2d(c, weight.to(dtype), bias.to(dtype))                    # the 1x1 convolution (sec 3.1)
        y = F.interpolate(y, size=size, mode="nearest")                     # nearest scaling to LayerY's size
        if style:
            w, skip, nz = tail_in
            rec = gen.tail(w.to(dtype), {k: v.to(dtype) for k, v in nz.items()}, Y, y, skip.to(dtype))
        else:
            rec = gen.tail(Y, y)
        dd = cls.features(cls.preprocess(rec, (-1.0, 1.0)), X)               # step 4: the classifier again
        loss = (dd - c).abs().mean()                                        # L1 in LayerX
        return loss, rec, c, dd

    weight = weight0.clone().requires_grad_(True)
    bias = bias0.clone().requires_grad_(True)
    loss, rec, c, dd = forward(weight, bias, torch.float32)
    gw, gb = torch.autograd.grad(loss, [weight, bias])
    out["loss"] = float(loss)
    for k, t in [("rec", rec), ("c", c), ("d", dd), ("gw", gw), ("gb", gb)]:
        save(d, f"{k}.npy", t)

    if job.get("fd"):
        h = float(job.get("fd_h", 1e-4))
        w64, b64 = weight0.to(torch.float64), bias0.to(torch.float64)
        fd = []
        with torch.no_grad():
            for kind, i in job["fd"]:
                vals = []
                for sgn in (1.0, -1.0):
                    w2, b2 = w64.clone(), b64.clone()
                    t = w2 if kind == "weight" else b2
                    t.view(-1)[i] += sgn * h
                    vals.append(float(forward(w2, b2, torch.float64)[0]))
                fd.append((vals[0] - vals[1]) / (2 * h))
        out["fd"] = fd
        cls.to(torch.float32)
        gen.to(torch.float32)

    if job.get("test_network"):
        # Paper Table 1 for these images: the test network's activations of originals and reconstructions compared.
        T = Classifier(job["test_network"])
        with torch.no_grad():
            fa = T.features(T.preprocess(rec.detach(), (-1.0, 1.0)), job["test_layer"])
            fb = T.features(T.preprocess(image, data_range), job["test_layer"])
        out["eval"] = {k: v.tolist() for k, v in zip(("cosine", "gram", "l1"), paper_metrics(fa, fb, 1e-8))}

    if job.get("adam_grads"):
        lr = float(job.get("lr", 0.01))
        # torch.optim.Adam stepped with ganvas's gradients, one step per listed pair of files (a weight and a bias
        # gradient), the weights saved after each step; and one step from torch's own autograd gradients.
        pw = torch.nn.Parameter(weight0.clone())
        pb = torch.nn.Parameter(bias0.clone())
        opt = torch.optim.Adam([pw, pb], lr=lr)
        for k, (fw, fb) in enumerate(job["adam_grads"]):
            pw.grad = npy(d, fw)
            pb.grad = npy(d, fb)
            opt.step()
            save(d, f"adam_ganvas_weight_{k + 1}.npy", pw)
            save(d, f"adam_ganvas_bias_{k + 1}.npy", pb)
        pw = torch.nn.Parameter(weight0.clone())
        pb = torch.nn.Parameter(bias0.clone())
        opt = torch.optim.Adam([pw, pb], lr=lr)
        pw.grad, pb.grad = gw.clone(), gb.clone()
        opt.step()
        save(d, "adam_torch_weight.npy", pw)
        save(d, "adam_torch_bias.npy", pb)
    return out


# ------------------------------------------------------------------------------------------- lstsq job
def lstsq_job(job):
    """ganvas's least-squares init as src/stitching/init.ts documents it, in float64: generate images from the
    seeds' z and noise, regress the generator's own LayerY activations on the classifier's LayerX activations of
    those images (nearest-resized to LayerY's size) plus a constant, ridge lambda = ridge * mean diag(X^T X) over
    the weight columns (the bias column not shrunk)."""
    d = job["dir"]
    X, Y = job["layerX"], job["layerY"]
    cls = Classifier(job["classifier"])
    gen = StyleTail()
    z = npy(d, "z.npy")
    noises = {n: npy(d, f"noise_{n.replace('.', '_')}.npy") for n in gen.G.noise_names()}
    with torch.no_grad():
        _, target, _ = gen.head(z, noises, Y)
        img = gen.G(z, noises)
        fx = cls.features(cls.preprocess(img, (-1.0, 1.0)), X)
    n, cy, hy, wy = target.shape
    cx = fx.shape[1]
    fx = F.interpolate(fx, size=(hy, wy), mode="nearest")
    A = torch.cat([fx.permute(0, 2, 3, 1).reshape(-1, cx), torch.ones(n * hy * wy, 1)], 1).to(torch.float64)
    T = target.permute(0, 2, 3, 1).reshape(-1, cy).to(torch.float64)
    xtx = A.T @ A
    lam = float(job.get("ridge", 1e-3)) * float(torch.diagonal(xtx)[:cx].mean())
    reg = torch.diag(torch.tensor([lam] * cx + [0.0], dtype=torch.float64))
    sol = torch.linalg.solve(xtx + reg, A.T @ T)                         # (cx + 1) x cy
    sse = float(((T - A @ sol) ** 2).sum())
    sst = float(((T - T.mean(0)) ** 2).sum())
    save(d, "lstsq_weight.npy", sol[:cx].T.reshape(cy, cx, 1, 1))
    save(d, "lstsq_bias.npy", sol[cx])
    return {"r2": 1 - sse / sst}


# ------------------------------------------------------------------------------------------- metrics job
def metrics_job(job):
    """Paper sec 3.4 in float64, per sample: alpha' = a (reconstruction), alpha = b (original)."""
    d = job["dir"]
    cos, gram, l1 = paper_metrics(npy(d, "a.npy"), npy(d, "b.npy"), float(job.get("eps", 1e-8)))
    for k, t in [("cos", cos), ("gram", gram), ("l1", l1)]:
        np.save(os.path.join(d, f"{k}.npy"), t.numpy())  # float64
    return {}


def paper_metrics(a, b, eps):
    """cosine, Gram cosine and L1 per sample, in float64."""
    a = a.to(torch.float64)
    b = b.to(torch.float64)
    n, c, h, w = a.shape
    # Cosine: C_ij = a[:, i, j] . b[:, i, j] / max(|a[:, i, j]| |b[:, i, j]|, eps); d = mean(C).
    dot = (a * b).sum(dim=1)
    C = dot / torch.clamp(a.norm(dim=1) * b.norm(dim=1), min=eps)
    cos = C.mean(dim=(1, 2))
    # L1: mean |a - b|.
    l1 = (a - b).abs().mean(dim=(1, 2, 3))
    # Gram: G_ij = vec(a[i]) . vec(a[j]); d = sum(G(a) * G(b)) / max(|G(a)|_F |G(b)|_F, eps).
    va, vb = a.reshape(n, c, h * w), b.reshape(n, c, h * w)
    ga, gb = va @ va.transpose(1, 2), vb @ vb.transpose(1, 2)
    gram = (ga * gb).sum(dim=(1, 2)) / torch.clamp(ga.flatten(1).norm(dim=1) * gb.flatten(1).norm(dim=1), min=eps)
    return cos, gram, l1


def main():
    torch.set_num_threads(1)
    with open(sys.argv[1]) as f:
        jobs = json.load(f)["jobs"]
    results = []
    for job in jobs:
        fn = {"stitch": stitch_job, "metrics": metrics_job, "lstsq": lstsq_job}[job["kind"]]
        results.append(fn(job))
    print(json.dumps({"results": results, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
