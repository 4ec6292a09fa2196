"""ihc-testnet: the second tissue network for the 64x64 ihc crops, a test network in the sense of paper 003
sec. 4.3.1 (its Digipath test network): no max-pool, no strided convolutions and no 1x1 strided skip convs; every
down-sampling is a bilinear 2x down-sample followed by a 3x3 stride-1 conv (zoo.BilinearFeatNet).  Its layer1,
layer2, layer3 have ihc-features' spatial sizes (32x32, 16x16, 8x8), so a reconstruction judged at one of them can
be compared in a network whose gradients have no strided-conv grid pattern (paper 003 Fig. 6).

Trained exactly as ihc-features (train_ihc_features.py: SimCLR-style NT-Xent between two augmented, partially
overlapping views of one region of ihc.png; the right 128 columns never trained on), with its own seed, and
measured by the same functions on the same held-out columns against the same architecture at random init.
  /usr/bin/python3 models/recipes/train_ihc_testnet.py
  /usr/bin/python3 models/recipes/train_ihc_testnet.py --smoke --out /tmp/testnet_smoke
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402
import train_ihc_features as feat  # noqa: E402  (data pipeline, loss and measurement shared with ihc-features)

NAME = "ihc-testnet"
F_KW = dict(widths=(16, 32, 64))
LAYERS = ["layer1", "layer2", "layer3"]


def grid_peak_ratio(net, img, mean, std, n=64, seed=11):
    """The grid pattern of paper 003 Fig. 6, measured: for n held-out crops, the gradient of sum(layer_k^2) with
    respect to the input, its power spectrum (64x64, mean over crops and channels), and the mean power at the
    frequencies of a grid with the layer's total down-sampling period p (multiples of 64/p, (0,0) excluded) divided
    by the mean power of their 8 neighbouring frequencies.  About 1: no grid pattern; strided convs give peaks."""
    g = torch.Generator().manual_seed(seed)
    x0 = zoo.random_crops(img, n, 64, g, x_range=(feat.HELD_X[0], 448), augment=False)
    x0 = (x0 - mean[None, :, None, None]) / std[None, :, None, None]
    net.eval()
    out = {}
    for k, name in enumerate(LAYERS):
        x = x0.clone().requires_grad_(True)
        _, feats = net(x, return_layers=True)
        feats[k].pow(2).sum().backward()
        power = torch.fft.fft2(x.grad).abs().pow(2).mean(dim=(0, 1))
        period = 2 ** (k + 1)
        step = 64 // period
        peaks = [(i * step, j * step) for i in range(period) for j in range(period) if (i, j) != (0, 0)]
        pk = torch.stack([power[a, b] for a, b in peaks]).mean()
        nb = torch.stack([power[(a + da) % 64, (b + db) % 64] for a, b in peaks
                          for da in (-1, 0, 1) for db in (-1, 0, 1) if (da, db) != (0, 0)]).mean()
        out[name] = round((pk / nb).item(), 2)
    return out


def ihc_features_net():
    """The shipped ihc-features network (strided convs), to compare the grid pattern with; None if not there."""
    path = os.path.join(zoo.MODELS, "ihc-features", "weights.pt")
    if not os.path.exists(path):
        return None
    w = torch.load(path)
    net = zoo.FeatNet(**w["kwargs"])
    net.load_state_dict(w["model"])
    return net.eval(), w["mean"], w["std"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(zoo.MODELS, NAME))
    ap.add_argument("--seed", type=int, default=1, help="ihc-features used 0")
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--minutes", type=float, default=12.0)
    ap.add_argument("--iters", type=int, default=10 ** 9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jitter", type=int, default=1, help="1: mild brightness/contrast jitter of the views")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.iters, a.bs = 5, 32
    if a.bs < 2:
        ap.error(f"--bs must be at least 2 (the contrastive loss needs other crops as negatives), got {a.bs}")
    if a.threads < 1:
        ap.error(f"--threads must be at least 1, got {a.threads}")
    gen, P = zoo.start_run(a)

    img = zoo.load_ihc()
    # The exact float32 statistics the network was trained with; the manifest stores them unrounded.
    mean = img.mean(dim=[1, 2])
    std = img.std(dim=[1, 2])
    norm = lambda x: (x - mean[None, :, None, None]) / std[None, :, None, None]  # noqa: E731
    torch.manual_seed(a.seed + 100)
    baseline = feat.measure(zoo.BilinearFeatNet(**F_KW), img, mean, std)
    P(f"[{zoo.now_iso()}] random-init baseline {baseline}")
    torch.manual_seed(a.seed)
    net = zoo.BilinearFeatNet(**F_KW)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, weight_decay=1e-5)
    t0 = time.time()
    it = 0
    losses = []
    while it < a.iters and time.time() - t0 < a.minutes * 60:
        net.train()
        va, vb = feat.two_views(img, a.bs, gen, feat.TRAIN_X, jitter=bool(a.jitter))
        loss = feat.nt_xent(net(norm(va)), net(norm(vb)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        it += 1
        losses.append(loss.item())
        if it % 25 == 0:
            P(f"it {it} loss {np.mean(losses):.4f} {time.time() - t0:.0f}s")
            losses = []
    wall = time.time() - t0
    net.eval()
    res = feat.measure(net, img, mean, std)
    P(f"trained {it} it: {res}")
    grid = {"layers": grid_peak_ratio(net, img, mean, std)}
    other = ihc_features_net()
    if other is not None:
        net_f, mean_f, std_f = other
        grid["ihcFeatures"] = grid_peak_ratio(net_f, img, mean_f, std_f)
    grid["how"] = ("mean power of the input gradient of sum(layer^2) at the frequencies of the layer's down-sampling "
                   "grid over that of their 8 neighbouring frequencies, 64 held-out crops; ~1 means no grid pattern")
    P(f"gradient grid peak ratio {grid}")

    ex = norm(zoo.random_crops(img, 2, 64, torch.Generator().manual_seed(7), x_range=(feat.HELD_X[0], 448)))
    onnx_path, shapes, _ = zoo.export_with_layers(
        net, ex, "image", "embedding", ["layer1", "layer2", "layer3"], a.out,
        {"model": net.state_dict(), "kwargs": F_KW, "mean": mean, "std": std},
        input_note="two normalized held-out 64x64 crops of ihc.png")
    r, b = res["heldOutViewRetrievalTop1"], baseline["heldOutViewRetrievalTop1"]
    probe_better = all(res["linearProbeR2"][k] > baseline["linearProbeR2"][k] for k in res["linearProbeR2"])
    gl = grid["layers"]
    grid_text = (("Its input gradients show no grid pattern" if max(gl.values()) < 1.5 else
                  "Unexpected: its input gradients DO show a grid pattern") +
                 ": power at the down-sampling grid's frequencies over that of "
                 "their neighbours " + "/".join(f"{gl[n]:.2f}" for n in LAYERS) + " for layer1/2/3" +
                 (" (ihc-features, strided convs: " + "/".join(f"{grid['ihcFeatures'][n]:.2f}" for n in LAYERS) + ")"
                  if "ihcFeatures" in grid else "") + ". ")
    desc = ("Test network for the 64x64 RGB immunohistochemistry crops in the sense of paper 003 sec. 4.3.1 (its "
            "Digipath test network): 3x3 stem, then three stages of [bilinear 2x down-sampling -> 3x3 stride-1 conv, "
            "BN, ReLU -> residual block of two 3x3 convs with an identity skip], widths 16/32/64; no max-pool, no "
            "strided convolution and no 1x1 strided skip conv anywhere, so no pixel grid pattern is favoured in "
            "its gradient (paper 003 Fig. 6). layer1 32x32, layer2 16x16, layer3 8x8 as in ihc-features; output: "
            "the 64-d global average pool of layer3. Trained like ihc-features (self-supervised, SimCLR-style "
            f"contrastive loss on two augmented views of one region of ihc.png; seed {a.seed}, ihc-features used 0) "
            "and measured the same way on the never-trained-on right 128 columns of the slide: view retrieval "
            f"top-1 {r * 100:.1f}% among 256 crops (random init: {b * 100:.1f}%); linear-probe R^2 for mean "
            f"hematoxylin {res['linearProbeR2']['hematoxylinMean']:.2f} and mean DAB "
            f"{res['linearProbeR2']['dabMean']:.2f} (random init: {baseline['linearProbeR2']['hematoxylinMean']:.2f}"
            f" / {baseline['linearProbeR2']['dabMean']:.2f}). "
            + ("" if r > b else "Honest caveat: the trained retrieval is NOT better than random init. ")
            + ("" if probe_better else "As for ihc-features, the stain-content linear probe is NOT better than for "
               "random-init features (the contrastive objective with brightness/contrast jitter probably makes the "
               "embedding partly intensity-invariant); what it learned is tissue-structure identity, measured by retrieval. ")
            + grid_text +
            "Trained on a single slide: a demo test network, not a general pathology model.")
    manifest = {
        "format": "ganvas-manifest/1", "name": NAME, "role": "features", "description": desc,
        "model": "model.onnx",
        "inputs": [{"name": "image", "kind": "image", "shape": ["N", 3, 64, 64]}],
        "outputs": [{"name": "embedding", "kind": "features", "shape": ["N", F_KW["widths"][-1]]}],
        # Python floats of the float32 training statistics: json writes them with full (round-trip) precision.
        "preprocess": {"size": [64, 64], "channels": 3, "range": [0, 1],
                       "mean": [float(v) for v in mean.tolist()], "std": [float(v) for v in std.tolist()]},
        **zoo.layer_entries(shapes),
        "provenance": {"dataset": "skimage.data ihc.png, columns 0..399 (training), 384..511 held out for measurement",
                       "recipe": "models/recipes/train_ihc_testnet.py",
                       "command": zoo.command_line(),
                       "seed": a.seed, "iterations": it, "batchSize": a.bs,
                       "loss": f"NT-Xent (temperature 0.2) over 2 x {a.bs} views, Adam lr {a.lr}, "
                               f"brightness/contrast jitter {'on' if a.jitter else 'off'}",
                       "wallTimeSeconds": round(wall), "machine": zoo.MACHINE,
                       "date": time.strftime("%Y-%m-%d", time.gmtime()), "smoke": bool(a.smoke)},
        "quality": {**res, "randomInitBaseline": baseline, "gradientGridPeakRatio": grid,
                    "how": "as ihc-features (train_ihc_features.measure): held-out region of ihc.png; retrieval: 256 "
                           "pairs of un-jittered views, cosine similarity of embeddings; probe: ridge (lambda 1) on "
                           "standardized pooled layer3 features, fitted on 1000 training-region crops, R^2 on 500 "
                           "held-out crops; random init: the same architecture, torch seed (seed + 100)"},
        "params": zoo.count_params(net),
    }
    zoo.write_manifest(a.out, manifest)
    P(f"exported {onnx_path} ({os.path.getsize(onnx_path)} bytes)")


if __name__ == "__main__":
    main()
