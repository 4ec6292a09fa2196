"""PyTorch autograd side of bench/autodiff.ts.

Builds the zoo's architectures (models/recipes/zoo.py) with the recipes' own settings (their G_KW / F_KW, imported)
and seeded random weights, exports each to ONNX with the recipes' exporter and wrapper (zoo.export_onnx,
zoo.LayersWrap; node names are prefixed "m" here, which ihc-gan's recipe spells "g"), and times in PyTorch (eval
mode, float32, CPU):
  forward:  one forward pass,
  grad:     forward + loss = mean(output^2) + backward to every input (the same computation as the ONNX gradient
            model ganvas builds).
Prints one JSON object on stdout: {"models": {name: {"onnx": path, "inputs": {name: shape}, "output": name,
"torchForwardMs": [best wall, median wall, median CPU], "torchGradMs": [...], "zoo": whether the architecture is
the zoo's}}, "threads": .., "torch": version,
"batch": ..}.

Besides the zoo's architectures, two that the demo models do not use but that the gradient-descent inversion
baselines meet in the wild (issue 13), defined here with seeded random weights:
  resnet18-maxpool:   torchvision's ResNet-18, whose stem is a 7x7 stride-2 conv then a 3x3 stride-2 pad-1
                      *overlapping* MaxPool, on 3x64x64 inputs, 10 classes;
  stylegan2-fused:    a StyleGAN2 generator with the *fused* modulated convolution: per-sample weights
                      [N, Cout, Cin, 3, 3] = weight x style, demodulated by rsqrt(sum(w^2)) (a Pow(w, 2) on a 5-D
                      tensor that depends on z), then one grouped Conv with groups = N. The group count is the
                      batch size, so this model is exported at the benchmark's batch size (no symbolic batch axis).

Usage: /usr/bin/python3 bench/autodiff_torch.py --out /tmp/ganvas-bench --batch 8 --threads 1 --reps 50 [--only a,b]
       /usr/bin/python3 bench/autodiff_torch.py --fixtures test/autodiff/arch   (small versions, PyTorch gradients)
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

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


# The architectures built here that are not the zoo's (issue 13).
OUTSIDE = ("resnet18-maxpool", "stylegan2-fused")


def maxpool_resnet():
    """torchvision's ResNet-18 (7x7/2 conv, BN, ReLU, 3x3/2 pad-1 MaxPool, four stages of two BasicBlocks 64..512,
    global average pool, fc) with 10 classes, seeded random weights and non-trivial eval-mode BatchNorm statistics,
    as a trained network has."""
    import torchvision
    net = torchvision.models.resnet18(num_classes=10)
    randomize_bn(net)
    return net.eval()


class StemResNet(nn.Module):
    """torchvision's ResNet layout at any width (for small test fixtures; torchvision's own is 64..512 wide): 7x7/2
    conv, BN, ReLU, 3x3/2 pad-1 MaxPool, stages of zoo.BasicBlock (torchvision's BasicBlock), average pool, fc."""

    def __init__(self, widths=(8, 16, 16, 16), blocks=(1, 1, 1, 1), in_ch=3, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages, cin = [], widths[0]
        for i, (w, nb) in enumerate(zip(widths, blocks)):
            for j in range(nb):
                stages.append(zoo.BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1, "conv"))
                cin = w
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, num_classes)
        randomize_bn(self)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.stages(x), 1), 1))


def randomize_bn(net, seed=2):
    """Non-trivial eval-mode BatchNorm statistics, as a trained network has."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(1 + 0.2 * torch.randn(m.num_features, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.num_features, generator=g))


class FusedModConv(nn.Module):
    """StyleGAN2's fused modulated convolution: the style scales the weight per sample, demodulation divides each
    output channel's weights by their L2 norm (rsqrt of a sum of squares over [Cin, k, k]), and one grouped Conv
    (groups = batch) applies the N weight sets."""

    def __init__(self, cin, cout, k, w_dim, demod=True):
        super().__init__()
        self.affine = zoo.EqLinear(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.wscale, self.pad, self.demod = 1.0 / (cin * k * k) ** 0.5, k // 2, demod

    def forward(self, x, w):
        n, cin, h, wd = x.shape
        cout, k = self.weight.shape[1], self.weight.shape[-1]
        wt = self.weight * self.wscale * self.affine(w)[:, None, :, None, None]   # N x Cout x Cin x k x k
        if self.demod:
            wt = wt * torch.rsqrt(wt.pow(2).sum(dim=[2, 3, 4]) + 1e-8)[:, :, None, None, None]
        y = F.conv2d(x.reshape(1, n * cin, h, wd), wt.reshape(n * cout, cin, k, k), padding=self.pad, groups=n)
        return y.reshape(n, cout, h, wd)


class FusedStyleGen(nn.Module):
    """zoo.StyleGen's layout (mapping MLP, 4x4 const, two modulated 3x3 convs per resolution, bilinear up, skip
    toRGB) with the fused, demodulated convolution, without noise inputs, 3 channels, 4 -> 32."""

    def __init__(self, z_dim=64, w_dim=128, n_map=3, channels=None, img_ch=3, img_res=32):
        super().__init__()
        channels = channels or {4: 128, 8: 128, 16: 64, 32: 32}
        self.res = [4 * 2 ** i for i in range(int(math.log2(img_res)) - 1)]
        self.mapping = nn.ModuleList([zoo.EqLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=0.01) for i in range(n_map)])
        self.const = nn.Parameter(torch.randn(1, channels[4], 4, 4))
        self.convs, self.rgbs = nn.ModuleList(), nn.ModuleList()
        cin = channels[4]
        for r in self.res:
            self.convs.append(nn.ModuleList(
                ([] if r == 4 else [FusedModConv(cin, channels[r], 3, w_dim)]) + [FusedModConv(channels[r], channels[r], 3, w_dim)]))
            self.rgbs.append(FusedModConv(channels[r], img_ch, 1, w_dim, demod=False))
            cin = channels[r]

    def forward(self, z):
        w = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        for fc in self.mapping:
            w = zoo.lrelu(fc(w))
        x = self.const.expand(z.shape[0], -1, -1, -1)
        img = None
        for r, convs, rgb in zip(self.res, self.convs, self.rgbs):
            if r != 4:
                x = zoo.up2(x)
            for c in convs:
                x = zoo.lrelu(c(x, w))
            y = rgb(x, w)
            img = y if img is None else zoo.up2(img) + y
        return torch.tanh(img)


def write_fixtures(root):
    """PyTorch-autograd fixtures for test/autodiff/arch.test.ts: small versions of the two architectures above
    (model.onnx + fixtures/ in zoo.write_fixture's format: inputs, loss = mean(output^2), d loss / d input)."""
    import onnx
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(3)
    small = {
        "maxpool-resnet": (StemResNet().eval(), [torch.randn(2, 3, 32, 32, generator=gen)], ["image"], "logits", True),
        "stylegan2-fused": (FusedStyleGen(z_dim=16, w_dim=32, n_map=2, channels={4: 16, 8: 16, 16: 8}, img_res=16).eval(),
                            [torch.randn(2, 16, generator=gen)], ["z"], "img", False),
    }
    for name, (net, xs, in_names, out_name, dynamic) in small.items():
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "model.onnx")
        saved = sys.stdout
        sys.stdout = sys.stderr
        try:
            if dynamic:
                zoo.export_onnx(net, xs, in_names, [out_name], [], path)
            else:
                torch.onnx.export(net, tuple(xs), path, input_names=in_names, output_names=[out_name], opset_version=13,
                                  do_constant_folding=True)
                onnx.checker.check_model(onnx.load(path))
        finally:
            sys.stdout = saved
        zoo.write_fixture(d, net, xs, in_names, out_name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/ganvas-bench")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--only", default="", help="comma-separated model names (default: all)")
    ap.add_argument("--fixtures", default="", help="write the test fixtures into this folder instead of timing")
    a = ap.parse_args()
    if a.fixtures:
        write_fixtures(a.fixtures)
        return
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
    # Outside the zoo (issue 13): overlapping max-pool stem; fused weight demodulation (fixed batch, see above).
    rn = maxpool_resnet()
    models["resnet18-maxpool"] = (rn, lambda x: rn(x), [torch.randn(b, 3, 64, 64, generator=gen)], ["image"], "logits", [])
    sf = FusedStyleGen().eval()
    models["stylegan2-fused"] = (sf, lambda z: sf(z), [torch.randn(b, 64, generator=gen)], ["z"], "img", None)
    only = [m for m in a.only.split(",") if m]   # names not built here may be shipped models (autodiff.ts checks)

    result = {"models": {}, "threads": a.threads, "torch": torch.__version__, "batch": b}
    for name, (wrap, fn, xs, in_names, out_name, layer_names) in models.items():
        if only and name not in only:
            continue
        path = os.path.join(a.out, f"{name}.onnx")
        # The exporter prints warnings on stdout; keep stdout for the JSON.
        saved = sys.stdout
        sys.stdout = sys.stderr
        try:
            if layer_names is None:
                # Exported as-is at the benchmark's batch size (FusedStyleGen's group count is the batch).
                torch.onnx.export(wrap, tuple(xs), path, input_names=in_names, output_names=[out_name],
                                  opset_version=13, do_constant_folding=True)
            else:
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
            "zoo": name not in OUTSIDE,
            "onnx": path,
            "inputs": {n: list(x.shape) for n, x in zip(in_names, xs)},
            "output": out_name,
            "torchForwardMs": time_ms(forward, a.reps),
            "torchGradMs": time_ms(grad, a.reps),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
