"""ihc-gan: plain convolutional (DCGAN-like) generator z -> 4x4 -> 8 -> 16 -> 32 -> 64x64 RGB, trained on random
64x64 crops (flips, 90-degree rotations) of skimage's ihc.png.  z is the only input.

Non-saturating logistic loss + lazy R1, Adam lr 0.002 betas (0, 0.99), G EMA, residual discriminator.
  /usr/bin/python3 models/recipes/train_ihc_gan.py
  /usr/bin/python3 models/recipes/train_ihc_gan.py --smoke --out /tmp/ihc_smoke
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402

NAME = "ihc-gan"
G_KW = dict(z_dim=64, ch=(128, 128, 64, 32, 16), img_ch=3)
D_KW = dict(img_ch=3, channels=(16, 32, 64, 128, 128), img_res=64)


def hed_stats(imgs01):
    """imgs N x 3 x H x W in [0,1] -> mean/std of hematoxylin and DAB channels of skimage.color.rgb2hed."""
    from skimage.color import rgb2hed
    hed = rgb2hed(imgs01.permute(0, 2, 3, 1).reshape(-1, imgs01.shape[3], 3).numpy().astype(np.float64))
    return {"H": {"mean": float(hed[..., 0].mean()), "std": float(hed[..., 0].std())},
            "DAB": {"mean": float(hed[..., 2].mean()), "std": float(hed[..., 2].std())}}


@torch.no_grad()
def quality(G, n=1000, seed=1234):
    gen = torch.Generator().manual_seed(seed)
    fake = torch.cat([G(torch.randn(min(250, n - i), G.z_dim, generator=gen)) for i in range(0, n, 250)])
    fake = (fake + 1) / 2
    real = zoo.random_crops(zoo.load_ihc(), n, 64, torch.Generator().manual_seed(seed + 1))
    sf, sr = hed_stats(fake), hed_stats(real)
    rel = {f"{c}.{k}": round(abs(sf[c][k] - sr[c][k]) / abs(sr[c][k]), 4) for c in ("H", "DAB") for k in ("mean", "std")}
    return {"samples": n, "generated": sf, "real": sr, "relativeDifference": rel,
            "maxRelativeDifference": max(rel.values()), "targetMet": bool(max(rel.values()) <= 0.15),
            "how": f"skimage.color.rgb2hed on {n} generated samples vs {n} random real 64x64 crops (flips/rot90) "
                   "of ihc.png; mean and std over all pixels of the H and DAB channels; target: every relative "
                   "difference <= 15%"}


def export(G, out, prov, q=None):
    os.makedirs(out, exist_ok=True)
    G = G.eval()

    class Wrap(torch.nn.Module):
        def __init__(self, g):
            super().__init__()
            self.g = g

        def forward(self, z):
            return self.g(z, return_layers=True)

    wrap = Wrap(G).eval()
    layer_names = ["l8", "l16", "l32"]
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(7))
    onnx_path = os.path.join(out, "model.onnx")
    zoo.export_onnx(wrap, [z], ["z"], ["img"], layer_names, onnx_path)
    torch.save({"G_ema": G.state_dict(), "G_kwargs": G_KW}, os.path.join(out, "weights.pt"))
    with torch.no_grad():
        _, feats = wrap(z)
        zoo.save_grid(G(torch.randn(64, G.z_dim, generator=torch.Generator().manual_seed(99))),
                      os.path.join(out, "samples.png"))
    zoo.write_fixture(out, lambda zz: G(zz), [z], ["z"], "img",
                      extra={"layerShapes": {k: list(v.shape) for k, v in feats.items()}})
    desc = ("DCGAN-like generator for 64x64 RGB immunohistochemistry texture (skimage's ihc.png: hematoxylin + "
            "DAB stained tissue). z(64) -> pixel-norm -> FC to 128x4x4 -> 3x3 conv at 4x4 -> four times "
            "(bilinear 2x upsample, 3x3 conv, leaky ReLU(0.2)*sqrt(2), pixel norm) with 128/64/32/16 channels -> "
            "1x1 conv to RGB -> tanh, range [-1,1]. z is the only input (no noise or style enters after the "
            "hidden layers). Layer aliases l8/l16/l32 are the 8x8/16x16/32x32 activations after leaky ReLU + "
            "pixel norm (the tensors consumed by the next layer). Trained on a single 512x512 image, so it "
            "generates plausible-looking crops of that one slide, not general pathology. ")
    if q is not None:
        desc += (f"Stain statistics vs real crops (rgb2hed, 1000 vs 1000): max relative difference "
                 f"{q['maxRelativeDifference'] * 100:.1f}% (target 15%: {'met' if q['targetMet'] else 'MISSED'}).")
    manifest = {
        "format": "ganvas-manifest/1", "name": NAME, "role": "generator", "description": desc,
        "model": "model.onnx",
        "inputs": [{"name": "z", "kind": "latent", "shape": ["N", G.z_dim], "distribution": "normal"}],
        "outputs": [{"name": "img", "kind": "image", "range": [-1, 1], "shape": ["N", 3, 64, 64]}],
        "layers": {n: n for n in layer_names},
        "layerShapes": {k: ["N"] + list(v.shape[1:]) for k, v in feats.items()},
        "provenance": prov, "quality": q if q is not None else {"note": "not measured"},
        "params": zoo.count_params(G),
    }
    zoo.write_manifest(out, manifest)
    return onnx_path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(zoo.MODELS, NAME))
    ap.add_argument("--ckpt", default="/tmp/zoo_ckpt/ihc-gan.pt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--gamma", type=float, default=0.05)
    ap.add_argument("--r1-every", type=int, default=16)
    ap.add_argument("--ema-kimg", type=float, default=5.0)
    ap.add_argument("--minutes", type=float, default=35.0)
    ap.add_argument("--iters", type=int, default=10 ** 9)
    ap.add_argument("--export-every", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.iters, a.export_every = 10, 1e9
        a.ckpt = os.path.join(a.out, "ckpt.pt")
    gen, P = zoo.start_run(a)

    G = zoo.DCGen(**G_KW)
    D = zoo.ResDisc(**D_KW)
    G_ema = copy.deepcopy(G).eval()
    c = a.r1_every / (a.r1_every + 1)
    optG = torch.optim.Adam(G.parameters(), lr=a.lr, betas=(0, 0.99))
    optD = torch.optim.Adam(D.parameters(), lr=a.lr * c, betas=(0, 0.99 ** c))
    it, wall_before = 0, 0.0
    this_cmd = "/usr/bin/python3 models/recipes/" + " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])
    cmds = [this_cmd]
    if a.resume or a.export_only:
        ck = torch.load(a.ckpt)
        G.load_state_dict(ck["G"]); D.load_state_dict(ck["D"]); G_ema.load_state_dict(ck["G_ema"])
        optG.load_state_dict(ck["optG"]); optD.load_state_dict(ck["optD"])
        it, wall_before = ck["it"], ck["wall"]
        cmds = ck.get("cmds", ["/usr/bin/python3 models/recipes/train_ihc_gan.py --minutes 35"]) + ([this_cmd] if a.resume else [])
        gen.set_state(ck["gen"]); torch.set_rng_state(ck["rng"])
    t0 = time.time()

    def prov():
        return {"dataset": "skimage.data ihc.png (512x512 RGB IHC slide, Debian python3-skimage): random 64x64 "
                           "crops with random flips and 90-degree rotations, scaled to [-1,1]",
                "recipe": "models/recipes/train_ihc_gan.py", "command": " && ".join(cmds),
                "seed": a.seed, "iterations": it, "imagesShown": it * a.bs, "batchSize": a.bs,
                "loss": f"non-saturating logistic + lazy R1 (gamma {a.gamma}, every {a.r1_every}), Adam lr {a.lr} "
                        f"betas (0, 0.99), G EMA half-life {a.ema_kimg} kimg",
                "wallTimeSeconds": round(wall_before + (0 if a.export_only else time.time() - t0)),
                "machine": zoo.MACHINE, "date": time.strftime("%Y-%m-%d", time.gmtime()), "smoke": bool(a.smoke)}

    def do_export():
        te = time.time()
        q = quality(G_ema, n=100 if a.smoke else 1000)
        path = export(copy.deepcopy(G_ema), a.out, prov(), q=q)
        P(f"[{zoo.now_iso()}] export it {it}: {path} quality {json.dumps(q)} ({time.time() - te:.0f}s)")

    if a.export_only:
        do_export()
        return
    ihc = zoo.load_ihc() * 2 - 1

    def save_ckpt():
        torch.save({"G": G.state_dict(), "D": D.state_dict(), "G_ema": G_ema.state_dict(),
                    "optG": optG.state_dict(), "optD": optD.state_dict(), "it": it, "cmds": cmds,
                    "wall": wall_before + time.time() - t0, "gen": gen.get_state(), "rng": torch.get_rng_state()},
                   a.ckpt + ".tmp")
        os.replace(a.ckpt + ".tmp", a.ckpt)

    last_export = time.time()
    stats = []
    P(f"[{zoo.now_iso()}] start it {it}; G params {zoo.count_params(G)} D params {zoo.count_params(D)}")
    while it < a.iters and (wall_before + time.time() - t0) < a.minutes * 60:
        real = zoo.random_crops(ihc, a.bs, 64, gen)
        z = torch.randn(a.bs, G.z_dim)
        with torch.no_grad():
            fake = G(z)
        lossD = F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()
        optD.zero_grad(set_to_none=True)
        lossD.backward()
        if it % a.r1_every == 0:
            real_r = real.detach().requires_grad_(True)
            g, = torch.autograd.grad(D(real_r).sum(), real_r, create_graph=True)
            (g.pow(2).sum(dim=[1, 2, 3]).mean() * (a.gamma / 2) * a.r1_every).backward()
        optD.step()
        lossG = F.softplus(-D(G(torch.randn(a.bs, G.z_dim)))).mean()
        optG.zero_grad(set_to_none=True)
        lossG.backward()
        optG.step()
        with torch.no_grad():
            nimg = (it + 1) * a.bs
            beta = 0.5 ** (a.bs / max(min(a.ema_kimg * 1000, nimg * 0.05), 1e-8))
            for pe, p in zip(G_ema.parameters(), G.parameters()):
                pe.copy_(p.lerp(pe, beta))
        it += 1
        stats.append((lossD.item(), lossG.item()))
        if it % 50 == 0:
            s = np.array(stats)
            P(f"it {it} lossD {s[:, 0].mean():.3f} lossG {s[:, 1].mean():.3f} "
              f"{(time.time() - t0) / max(1, it):.2f}s/it wall {wall_before + time.time() - t0:.0f}s")
            stats = []
        if time.time() - last_export > a.export_every * 60:
            save_ckpt()
            do_export()
            last_export = time.time()
    save_ckpt()
    do_export()
    P(f"[{zoo.now_iso()}] done it {it}")


if __name__ == "__main__":
    main()
