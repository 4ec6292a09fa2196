"""ihc-gan: plain convolutional (DCGAN-like) generator z -> 4x4 -> 8 -> 16 -> 32 -> 64x64 RGB, trained on random
64x64 crops (flips, 90-degree rotations) of skimage's ihc.png.  z is the only input.

Non-saturating logistic loss + lazy R1, Adam lr 0.002 betas (0, 0.99), G EMA, residual discriminator.
  /usr/bin/python3 models/recipes/train_ihc_gan.py
  /usr/bin/python3 models/recipes/train_ihc_gan.py --smoke --out /tmp/ihc_smoke
"""
import copy
import json
import os
import sys
import time

import numpy as np
import torch

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
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(7))
    # attr "g": the name this recipe's export wrapper has always given G (it prefixes the ONNX tensor names).
    onnx_path, shapes, _ = zoo.export_with_layers(G, z, "z", "img", ["l8", "l16", "l32"], out,
                                                  {"G_ema": G.state_dict(), "G_kwargs": G_KW}, attr="g")
    with torch.no_grad():
        zoo.save_grid(G(torch.randn(64, G.z_dim, generator=torch.Generator().manual_seed(99))),
                      os.path.join(out, "samples.png"))
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
        **zoo.layer_entries(shapes),
        "provenance": prov, "quality": q if q is not None else {"note": "not measured"},
        "params": zoo.count_params(G),
    }
    zoo.write_manifest(out, manifest)
    return onnx_path


def main():
    a = zoo.parse_gan_args(zoo.gan_arg_parser(NAME, ema_kimg=5.0, minutes=35.0), smoke_iters=10)
    gen, P = zoo.start_run(a)

    G = zoo.DCGen(**G_KW)
    run = zoo.GanRun(a, gen, P, G, zoo.ResDisc(**D_KW),
                     first_cmd="/usr/bin/python3 models/recipes/train_ihc_gan.py --minutes 35")

    def prov():
        return run.provenance("skimage.data ihc.png (512x512 RGB IHC slide, Debian python3-skimage): random 64x64 "
                              "crops with random flips and 90-degree rotations, scaled to [-1,1]",
                              "models/recipes/train_ihc_gan.py")

    def do_export():
        te = time.time()
        q = quality(run.G_ema, n=100 if a.smoke else 1000)
        path = export(copy.deepcopy(run.G_ema), a.out, prov(), q=q)
        P(f"[{zoo.now_iso()}] export it {run.it}: {path} quality {json.dumps(q)} ({time.time() - te:.0f}s)")

    if a.export_only:
        do_export()
        return
    ihc = zoo.load_ihc() * 2 - 1

    def progress(s, r1v, sec_per_it):
        return (f"it {run.it} lossD {s[:, 0].mean():.3f} lossG {s[:, 1].mean():.3f} "
                f"{sec_per_it:.2f}s/it wall {run.wall():.0f}s")

    run.train(lambda: zoo.random_crops(ihc, a.bs, 64, gen), lambda: G(torch.randn(a.bs, G.z_dim)), do_export,
              progress)


if __name__ == "__main__":
    main()
