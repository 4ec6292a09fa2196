"""PyTorch autograd side of bench/autodiff.ts.

Builds the zoo's architectures (models/recipes/zoo.py) with the recipes' own settings (their G_KW / F_KW, imported)
and seeded random weights, exports each to ONNX with the recipes' exporter and wrapper (zoo.export_onnx,
zoo.LayersWrap; node names are prefixed "m" here, which ihc-gan's recipe spells "g"), and times in PyTorch (eval
mode, float32, CPU):
  forward:  one forward pass,
  grad:     forward + loss = mean(output^2) + backward to every input (the same computation as the ONNX gradient
            model ganvas builds).
Prints one JSON object on stdout: {"models": {name: {"onnx": path, "inputs": {name: shape}, "output": name,
"torchForwardMs": [best wall, median wall, median CPU], "torchGradMs": [...]}}, "threads": .., "torch": version,
"batch": ..}.

Usage: /usr/bin/python3 bench/autodiff_torch.py --out /tmp/ganvas-bench --batch 8 --threads 1 --reps 50
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "recipes"))
import zoo  # noqa: E402
import train_fmnist_stylegan  # noqa: E402  (imported for their settings only: training runs under __main__)
import train_ihc_features  # noqa: E402
import train_ihc_gan  # noqa: E402


def time_ms(fn, reps):
    """[best wall, median wall, median CPU] ms of reps timed runs after 3 warm-up runs. On a machine shared with
    other work wall time depends on what else runs; CPU time (all threads of this process) much less so."""
    for _ in range(3):
        fn()
    wall, cpu = [], []
    for _ in range(reps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    wall.sort()
    cpu.sort()
    return [wall[0], wall[len(wall) // 2], cpu[len(cpu) // 2]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/ganvas-bench")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    os.makedirs(a.out, exist_ok=True)
    b = a.batch
    gen = torch.Generator().manual_seed(1)

    models = {}
    # fmnist-stylegan: z + one noise input per synthesis layer.
    g = zoo.StyleGen(**train_fmnist_stylegan.G_KW).eval()
    sg = zoo.StyleGenONNX(g).eval()
    names = sg.input_names()
    ins = [torch.randn(b, 64, generator=gen)] + [
        torch.randn(b, 1, int(n[1:n.index('.')]), int(n[1:n.index('.')]), generator=gen) for n in g.noise_names()]
    models["fmnist-stylegan"] = (sg, lambda *xs: sg(*xs)[0], ins, names, "img", list(g.noise_names()))
    # fmnist-resnet: 2-2-2-2 BasicBlocks, conv mode.
    r = zoo.ResNet(blocks=(2, 2, 2, 2), mode="conv").eval()
    models["fmnist-resnet"] = (zoo.LayersWrap(r).eval(), lambda x: r(x), [torch.randn(b, 1, 32, 32, generator=gen)], ["image"],
                               "logits", ["layer1", "layer2", "layer3", "layer4"])
    # ihc-gan: DCGAN-style generator, z only.
    d = zoo.DCGen(**train_ihc_gan.G_KW).eval()
    models["ihc-gan"] = (zoo.LayersWrap(d).eval(), lambda z: d(z), [torch.randn(b, 64, generator=gen)], ["z"], "img",
                         ["l8", "l16", "l32"])
    # ihc-features: small CNN embedding.
    f = zoo.FeatNet(**train_ihc_features.F_KW).eval()
    models["ihc-features"] = (zoo.LayersWrap(f).eval(), lambda x: f(x), [torch.randn(b, 3, 64, 64, generator=gen)], ["image"],
                              "embedding", ["layer1", "layer2", "layer3"])

    result = {"models": {}, "threads": a.threads, "torch": torch.__version__, "batch": b}
    for name, (wrap, fn, xs, in_names, out_name, layer_names) in models.items():
        path = os.path.join(a.out, f"{name}.onnx")
        # The exporter prints warnings on stdout; keep stdout for the JSON.
        saved = sys.stdout
        sys.stdout = sys.stderr
        try:
            zoo.export_onnx(wrap, [x[:2] for x in xs], in_names, [out_name], layer_names, path)
        finally:
            sys.stdout = saved

        def forward():
            with torch.no_grad():
                fn(*xs)

        def grad():
            vs = [x.detach().clone().requires_grad_(True) for x in xs]
            out = fn(*vs)
            loss = out.pow(2).mean()
            torch.autograd.grad(loss, vs)

        result["models"][name] = {
            "onnx": path,
            "inputs": {n: list(x.shape) for n, x in zip(in_names, xs)},
            "output": out_name,
            "torchForwardMs": time_ms(forward, a.reps),
            "torchGradMs": time_ms(grad, a.reps),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
