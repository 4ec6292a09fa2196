"""Shared code for the ganvas model zoo recipes.

nn.Module definitions (importable by benchmarks), data loading, ONNX export with named hidden-layer
tensors, reference-gradient fixtures and manifest writing, and the command-line flags, checkpointing and training
loop that the GAN recipes share.  Runs on Debian's python3 with torch 1.13 (CPU).
"""
import argparse
import copy
import gzip
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(REPO, "models")
FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
IHC_PNG = "/usr/lib/python3/dist-packages/skimage/data/ihc.png"
FMNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FMNIST_MEAN = 0.2854  # of the 32x32 bilinear-resized training images in [0,1] (measured, see train.log)
FMNIST_STD = 0.3384
MACHINE = "2-core x86-64 CPU (AMD EPYC), Debian torch 1.13, 1 thread per training process"


# ----------------------------------------------------------------------------------------------- data
def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fmnist(split="train"):
    """Returns (images float32 N x 1 x 32 x 32 in [0,1], labels int64). 28->32 bilinear (align_corners=False)."""
    pre = "train" if split == "train" else "t10k"
    x = _read_idx(os.path.join(FMNIST_DIR, f"{pre}-images-idx3-ubyte.gz"))
    y = _read_idx(os.path.join(FMNIST_DIR, f"{pre}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.copy()).float().div_(255.0).unsqueeze(1)
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp_(0, 1)
    return x, torch.from_numpy(y.astype(np.int64))


def load_ihc():
    """skimage's ihc.png as float32 3 x 512 x 512 in [0,1]."""
    from skimage import io
    img = io.imread(IHC_PNG)[..., :3]
    return torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()


def random_crops(img, n, size, gen, x_range=None, augment=True):
    """n random size x size crops of img (C,H,W), with random flips and 90-degree rotations.
    x_range=(lo, hi) restricts the crop's left edge (train/held-out split by columns)."""
    C, H, W = img.shape
    lo, hi = x_range if x_range is not None else (0, W - size)
    ys = torch.randint(0, H - size + 1, (n,), generator=gen)
    xs = torch.randint(lo, hi + 1, (n,), generator=gen)
    out = torch.stack([img[:, y:y + size, x:x + size] for y, x in zip(ys.tolist(), xs.tolist())])
    if augment:
        rot = torch.randint(0, 4, (n,), generator=gen)
        flip = torch.randint(0, 2, (n,), generator=gen)
        for i in range(n):
            t = out[i]
            if flip[i]:
                t = t.flip(2)
            out[i] = torch.rot90(t, int(rot[i]), (1, 2))
    return out


# ----------------------------------------------------------------------------------------- classifiers
class BasicBlock(nn.Module):
    """torchvision-style BasicBlock. mode 'conv': 3x3 stride-2 conv + 1x1 stride-2 skip (standard ResNet).
    mode 'bilinear': bilinear 2x downsample then 3x3 stride-1 conv on both the main path and the skip."""

    def __init__(self, cin, cout, stride=1, mode="conv"):
        super().__init__()
        self.mode, self.stride = mode, stride
        s = stride if mode == "conv" else 1
        self.conv1 = nn.Conv2d(cin, cout, 3, s, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            if mode == "conv":
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            else:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))

    def _down(self, x):
        if self.mode == "bilinear" and self.stride != 1:
            return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
        return x

    def forward(self, x):
        xd = self._down(x)
        out = F.relu(self.bn1(self.conv1(xd if self.mode == "bilinear" else x)))
        out = self.bn2(self.conv2(out))
        idt = x if self.downsample is None else self.downsample(xd if self.mode == "bilinear" else x)
        return F.relu(out + idt)


class ResNet(nn.Module):
    """Small ResNet for 1x32x32 inputs. 'conv' mode: 3x3 stem, 2x2 max-pool, layer1 16x16 .. layer4 2x2.
    'bilinear' mode (paper 003 sec 4.3.1 test network): no max-pool, bilinear downsampling + 3x3 stride-1 convs."""

    def __init__(self, widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1), mode="conv", in_ch=1, num_classes=10):
        super().__init__()
        self.mode = mode
        self.conv1 = nn.Conv2d(in_ch, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        cin = widths[0]
        for i, (w, nb) in enumerate(zip(widths, blocks)):
            layers = []
            for j in range(nb):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(cin, w, stride, mode))
                cin = w
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x, return_layers=False):
        x = F.relu(self.bn1(self.conv1(x)))
        if self.mode == "conv":
            x = F.max_pool2d(x, 2)
        else:
            x = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
        feats = []
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
            feats.append(x)
        logits = self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
        return (logits, feats) if return_layers else logits


# ------------------------------------------------------------------------------- StyleGAN2 building blocks
SQRT2 = math.sqrt(2.0)


class EqLinear(nn.Module):
    def __init__(self, cin, cout, bias_init=0.0, lr_mul=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init) / lr_mul))
        self.wscale, self.lr_mul = lr_mul / math.sqrt(cin), lr_mul

    def forward(self, x):
        return F.linear(x, self.weight * self.wscale, self.bias * self.lr_mul)


class EqConv(nn.Module):
    def __init__(self, cin, cout, k, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.wscale, self.pad = 1.0 / math.sqrt(cin * k * k), k // 2

    def forward(self, x):
        return F.conv2d(x, self.weight * self.wscale, self.bias, padding=self.pad)


def lrelu(x):
    return F.leaky_relu(x, 0.2) * SQRT2


def up2(x):
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class ModConv(nn.Module):
    """Modulated conv, NON-FUSED: x * style (per channel) -> ordinary conv with the shared weight ->
    output * per-sample demodulation coefficient.  Mathematically identical to StyleGAN2's grouped form."""

    def __init__(self, cin, cout, k, w_dim, demod=True, up=False):
        super().__init__()
        self.affine = EqLinear(w_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.wscale, self.pad, self.demod, self.up = 1.0 / math.sqrt(cin * k * k), k // 2, demod, up

    def forward(self, x, w):
        s = self.affine(w)                                  # N x cin
        if not self.demod:                                  # toRGB: StyleGAN2 weight gain on the style
            s = s * self.wscale
            weight = self.weight
        else:
            weight = self.weight * self.wscale
        if self.up:
            x = up2(x)
        y = F.conv2d(x * s[:, :, None, None], weight, padding=self.pad)
        if self.demod:
            wsq = weight.pow(2).sum(dim=[2, 3])             # cout x cin (constant after folding)
            d = torch.rsqrt(s.pow(2) @ wsq.t() + 1e-8)     # N x cout
            y = y * d[:, :, None, None]
        return y


class SynthLayer(nn.Module):
    def __init__(self, cin, cout, w_dim, res, up=False):
        super().__init__()
        self.conv = ModConv(cin, cout, 3, w_dim, demod=True, up=up)
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.res = res

    def forward(self, x, w, noise):
        y = self.conv(x, w)
        y = y + noise * self.noise_strength
        return lrelu(y + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    def __init__(self, cin, cout, w_dim):
        super().__init__()
        self.conv = ModConv(cin, cout, 1, w_dim, demod=False)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x, w):
        return self.conv(x, w) + self.bias[None, :, None, None]


class SynthBlock(nn.Module):
    def __init__(self, cin, cout, w_dim, res, img_ch):
        super().__init__()
        self.res = res
        if res == 4:
            self.const = nn.Parameter(torch.randn(cout, 4, 4))
        else:
            self.conv0 = SynthLayer(cin, cout, w_dim, res, up=True)
        self.conv1 = SynthLayer(cout, cout, w_dim, res)
        self.torgb = ToRGB(cout, img_ch, w_dim)


class StyleGen(nn.Module):
    """Small StyleGAN2 generator: z -> normalize -> mapping MLP -> w; synthesis b4 (learned const) .. b32,
    skip architecture (upsampled RGB outputs summed), bilinear upsampling, tanh output in [-1, 1]."""

    def __init__(self, z_dim=64, w_dim=128, n_map=3, channels=None, img_ch=1, img_res=32):
        super().__init__()
        channels = channels or {4: 128, 8: 128, 16: 64, 32: 32}
        self.z_dim, self.w_dim, self.img_ch = z_dim, w_dim, img_ch
        self.resolutions = [4 * 2 ** i for i in range(int(math.log2(img_res)) - 1)]
        self.mapping = nn.ModuleList([EqLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=0.01) for i in range(n_map)])
        self.blocks = nn.ModuleDict()
        cin = channels[4]
        for r in self.resolutions:
            self.blocks[f"b{r}"] = SynthBlock(cin, channels[r], w_dim, r, img_ch)
            cin = channels[r]
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def noise_names(self):
        names = []
        for r in self.resolutions:
            if r != 4:
                names.append(f"b{r}.conv0")
            names.append(f"b{r}.conv1")
        return names

    def map(self, z):
        x = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        for fc in self.mapping:
            x = lrelu(fc(x))
        return x

    def synth(self, w, noises=None, return_layers=False):
        n = w.shape[0]
        feats = {}
        x = img = None
        for r in self.resolutions:
            blk = self.blocks[f"b{r}"]
            if r == 4:
                x = blk.const.unsqueeze(0).expand(n, -1, -1, -1)
            else:
                nz = noises[f"b{r}.conv0"] if noises is not None else torch.randn(n, 1, r, r, device=w.device)
                x = blk.conv0(x, w, nz)
                feats[f"b{r}.conv0"] = x
            nz = noises[f"b{r}.conv1"] if noises is not None else torch.randn(n, 1, r, r, device=w.device)
            x = blk.conv1(x, w, nz)
            feats[f"b{r}.conv1"] = x
            y = blk.torgb(x, w)
            img = y if img is None else up2(img) + y
        out = torch.tanh(img)
        return (out, feats) if return_layers else out

    def forward(self, z, noises=None, psi=1.0, return_layers=False):
        w = self.map(z)
        if psi != 1.0:
            w = self.w_avg + psi * (w - self.w_avg)
        return self.synth(w, noises, return_layers)


class StyleGenONNX(nn.Module):
    """Export wrapper: graph inputs z and one N x 1 x r x r noise input per synthesis layer."""

    def __init__(self, g, psi=1.0):
        super().__init__()
        self.g, self.psi, self.names = g, psi, g.noise_names()

    def input_names(self):
        return ["z"] + ["noise_" + n.replace(".", "_") for n in self.names]

    def forward(self, z, *noises):
        return self.g(z, dict(zip(self.names, noises)), psi=self.psi, return_layers=True)


class ResDisc(nn.Module):
    """StyleGAN2-style residual discriminator (training only, not exported)."""

    def __init__(self, img_ch=1, channels=(32, 64, 128, 128), img_res=32, mbstd=4):
        super().__init__()
        self.frgb = EqConv(img_ch, channels[0], 1)
        self.blocks = nn.ModuleList()
        cin = channels[0]
        n_down = int(math.log2(img_res)) - 2
        for i in range(n_down):
            cout = channels[min(i + 1, len(channels) - 1)]
            self.blocks.append(nn.ModuleDict(dict(c0=EqConv(cin, cin, 3), c1=EqConv(cin, cout, 3),
                                                  skip=EqConv(cin, cout, 1, bias=False))))
            cin = cout
        self.mbstd = mbstd
        self.cout = EqConv(cin + 1, cin, 3)
        self.fc = EqLinear(cin * 16, cin)
        self.out = EqLinear(cin, 1)

    def forward(self, x):
        x = lrelu(self.frgb(x))
        for b in self.blocks:
            skip = b["skip"](F.avg_pool2d(x, 2))
            y = lrelu(b["c0"](x))
            y = lrelu(b["c1"](F.avg_pool2d(y, 2)))
            x = (skip + y) / SQRT2
        n, c, h, w = x.shape
        g = min(self.mbstd, n)
        if n % g == 0:
            s = x.reshape(g, -1, c, h, w)
            s = (s - s.mean(0)).pow(2).mean(0).add(1e-8).sqrt().mean(dim=[1, 2, 3])   # n/g
            s = s.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
        else:
            s = torch.zeros(n, 1, h, w)
        x = lrelu(self.cout(torch.cat([x, s], 1)))
        x = lrelu(self.fc(x.flatten(1)))
        return self.out(x)


# ----------------------------------------------------------------------------------------- DCGAN (ihc)
class PixelNorm(nn.Module):
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class DCGen(nn.Module):
    """Plain convolutional generator z -> 4x4 -> 8 -> 16 -> 32 -> 64 RGB (bilinear up + 3x3 conv, leaky ReLU,
    pixel norm), tanh output.  The only input is z."""

    def __init__(self, z_dim=64, ch=(128, 128, 64, 32, 16), img_ch=3):
        super().__init__()
        self.z_dim = z_dim
        self.fc = EqLinear(z_dim, ch[0] * 16)
        self.c4 = EqConv(ch[0], ch[0], 3)
        self.ups = nn.ModuleList([EqConv(ch[i], ch[i + 1], 3) for i in range(4)])
        self.rgb = EqConv(ch[4], img_ch, 1)
        self.pn = PixelNorm()
        self.ch0 = ch[0]

    def forward(self, z, return_layers=False):
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        x = self.pn(lrelu(self.fc(z).reshape(-1, self.ch0, 4, 4)))
        x = self.pn(lrelu(self.c4(x)))
        feats = {}
        for i, conv in enumerate(self.ups):
            x = self.pn(lrelu(conv(up2(x))))
            feats[f"l{8 * 2 ** i}"] = x
        out = torch.tanh(self.rgb(x))
        if return_layers:
            return out, {k: feats[k] for k in ("l8", "l16", "l32")}
        return out


# ------------------------------------------------------------------------------------- ihc features
class FeatNet(nn.Module):
    """Small CNN feature extractor for 3x64x64 ihc crops; layer1 32x32, layer2 16x16, layer3 8x8;
    embedding = global average pool of layer3 (widths[-1] dims)."""

    def __init__(self, widths=(32, 64, 128)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        cin = widths[0]
        for i, w in enumerate(widths):
            setattr(self, f"layer{i + 1}", nn.Sequential(
                nn.Conv2d(cin, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                nn.Conv2d(w, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU()))
            cin = w

    def forward(self, x, return_layers=False):
        x = self.stem(x)
        feats = []
        for i in range(1, 4):
            x = getattr(self, f"layer{i}")(x)
            feats.append(x)
        emb = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return (emb, feats) if return_layers else emb


# -------------------------------------------------------------------------------------------- export
def export_onnx(wrapper, args, input_names, output_names, layer_names, path, opset=13):
    """Export `wrapper` whose forward returns (outputs..., layer tensors...).  The layer tensors are exported
    as extra graph outputs so the exporter gives them exactly the names in layer_names, then they are removed
    from the graph outputs again: they stay as ordinary internal tensors carrying those names."""
    import onnx
    all_out = list(output_names) + list(layer_names)
    dyn = {n: {0: "N"} for n in list(input_names) + all_out}
    tmp = path + ".tmp"
    torch.onnx.export(wrapper, tuple(args), tmp, input_names=list(input_names), output_names=all_out,
                      dynamic_axes=dyn, opset_version=opset, do_constant_folding=True)
    m = onnx.load(tmp)
    os.remove(tmp)
    keep = [o for o in m.graph.output if o.name in output_names]
    del m.graph.output[:]
    m.graph.output.extend(keep)
    produced = {o for n in m.graph.node for o in n.output}
    for ln in layer_names:
        assert ln in produced, f"layer tensor {ln} not produced by any node"
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


class LayersWrap(nn.Module):
    """Export wrapper: forward(x) returns model(x, return_layers=True), i.e. (output, hidden layers), the form
    export_onnx wants.  The wrapped model is registered under the attribute `attr`, which the exporter uses as the
    prefix of initializer and node names ("m.fc.weight", "/m/conv1/Conv"); it is a parameter so that each recipe
    keeps writing the same ONNX file as before (ihc-gan's wrapper has always called it "g")."""

    def __init__(self, model, attr="m"):
        super().__init__()
        self.attr = attr
        self.add_module(attr, model)

    def forward(self, x):
        return getattr(self, self.attr)(x, return_layers=True)


def export_with_layers(model, example, input_name, output_name, layer_names, out_dir, weights, input_note=None,
                       attr="m"):
    """The export tail of the single-input recipes (classifiers, ihc-features, ihc-gan): model.onnx with the
    hidden layers named layer_names, weights.pt (the `weights` dict, built by the recipe because its keys differ)
    and the reference-gradient fixture on `example`.  model(x, return_layers=True) must give (output, layers) with
    the layers as a list or a dict, in the order of layer_names.  Returns (onnx path, {layer: shape on the example},
    fixture meta)."""
    onnx_path = os.path.join(out_dir, "model.onnx")
    export_onnx(LayersWrap(model, attr).eval(), [example], [input_name], [output_name], layer_names, onnx_path)
    torch.save(weights, os.path.join(out_dir, "weights.pt"))
    with torch.no_grad():
        _, feats = model(example, return_layers=True)
    feats = list(feats.values()) if isinstance(feats, dict) else list(feats)
    shapes = {n: list(f.shape) for n, f in zip(layer_names, feats)}
    extra = {"layerShapes": shapes}
    if input_note is not None:
        extra["inputNote"] = input_note
    fx = write_fixture(out_dir, model, [example], [input_name], output_name, extra=extra)
    return onnx_path, shapes, fx


def layer_entries(shapes):
    """The manifest's "layers" (each alias is the tensor's own name) and "layerShapes" (batch dimension "N") from
    {layer: shape}; spliced into the manifest dict with ** so the key order of ganvas.json stays as it was."""
    return {"layers": {n: n for n in shapes}, "layerShapes": {n: ["N"] + list(s[1:]) for n, s in shapes.items()}}


def flatten_outputs(res):
    """(main, feats) -> flat list main..., feats..."""
    main, feats = res
    main = list(main) if isinstance(main, (tuple, list)) else [main]
    feats = list(feats.values()) if isinstance(feats, dict) else list(feats)
    return main + feats


def onnx_tensor_info(path):
    import onnx
    m = onnx.load(path)
    inits = {i.name for i in m.graph.initializer}

    def shp(v):
        return ["N" if (d.dim_param or not d.dim_value) else d.dim_value for d in v.type.tensor_type.shape.dim]
    ins = [(v.name, shp(v)) for v in m.graph.input if v.name not in inits]
    outs = [(v.name, shp(v)) for v in m.graph.output]
    return ins, outs, len(m.graph.node)


def write_fixture(model_dir, fn, inputs, input_names, output_name, extra=None):
    """fn(*inputs) -> main output tensor.  loss = mean(output^2); saves inputs, loss, d loss / d input."""
    fx = os.path.join(model_dir, "fixtures")
    os.makedirs(fx, exist_ok=True)
    xs = [t.detach().clone().float().requires_grad_(True) for t in inputs]
    out = fn(*xs)
    loss = out.pow(2).mean()
    loss.backward()
    meta = {"loss": f"mean of squares of output {output_name} (all elements, batch included)",
            "output": output_name, "lossValue": float(loss.item()), "batch": int(xs[0].shape[0]),
            "inputs": {}, "note": "PyTorch autograd in eval mode on the exported weights, float32"}
    for name, t in zip(input_names, xs):
        np.save(os.path.join(fx, f"input_{name}.npy"), t.detach().numpy().astype(np.float32))
        np.save(os.path.join(fx, f"grad_{name}.npy"), t.grad.numpy().astype(np.float32))
        meta["inputs"][name] = {"input": f"input_{name}.npy", "grad": f"grad_{name}.npy", "shape": list(t.shape)}
    np.save(os.path.join(fx, f"output_{output_name}.npy"), out.detach().numpy().astype(np.float32))
    meta["outputFile"] = f"output_{output_name}.npy"
    if extra:
        meta.update(extra)
    with open(os.path.join(fx, "fixture.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return meta


def write_manifest(model_dir, manifest):
    with open(os.path.join(model_dir, "ganvas.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def count_params(m):
    return sum(p.numel() for p in m.parameters())


def save_grid(imgs, path, nrow=8, value_range=(-1, 1)):
    """imgs N x C x H x W -> PNG grid."""
    from PIL import Image
    lo, hi = value_range
    x = ((imgs.detach().clamp(lo, hi) - lo) / (hi - lo) * 255).round().byte()
    n, c, h, w = x.shape
    ncol = nrow
    nr = (n + ncol - 1) // ncol
    grid = torch.full((c, nr * (h + 2) + 2, ncol * (w + 2) + 2), 255, dtype=torch.uint8)
    for i in range(n):
        r, cc = divmod(i, ncol)
        grid[:, 2 + r * (h + 2):2 + r * (h + 2) + h, 2 + cc * (w + 2):2 + cc * (w + 2) + w] = x[i]
    arr = grid.permute(1, 2, 0).numpy()
    Image.fromarray(arr[..., 0] if c == 1 else arr).save(path)


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def git_free_env_info():
    return {"python": platform.python_version(), "torch": torch.__version__}


def start_run(a):
    """Common start of every recipe: thread count, seeds, output folder and a logger that prints and appends to
    <out>/train.log. Returns (data-order generator, log function). Called in the same order as before, so the RNG
    streams (and hence the trained models) are unchanged."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    if getattr(a, "ckpt", None):
        # abspath: a bare file name (--ckpt ckpt.pt) lives in the current folder, whose dirname is ''.
        os.makedirs(os.path.dirname(os.path.abspath(a.ckpt)), exist_ok=True)
    log = open(os.path.join(a.out, "train.log"), "a")

    def P(*s):
        msg = " ".join(str(t) for t in s)
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    return gen, P


def command_line():
    """The command that is running, as the manifests record it (relative to the repository root)."""
    return "/usr/bin/python3 models/recipes/" + " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])


# ------------------------------------------------------------------------------------- GAN recipe plumbing
# fmnist-stylegan and ihc-gan train the same way (non-saturating logistic loss, lazy R1, Adam, G EMA, periodic
# checkpoint + export); only the generator, the data and the defaults below differ.

def gan_arg_parser(name, ema_kimg, minutes):
    """The flags both GAN recipes take; the defaults that differ between them are the parameters.  The recipe may
    add its own flags before calling parse_gan_args."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(MODELS, name))
    ap.add_argument("--ckpt", default=f"/tmp/zoo_ckpt/{name}.pt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--gamma", type=float, default=0.05)
    ap.add_argument("--r1-every", type=int, default=16)
    ap.add_argument("--ema-kimg", type=float, default=ema_kimg)
    ap.add_argument("--minutes", type=float, default=minutes)
    ap.add_argument("--iters", type=int, default=10 ** 9)
    ap.add_argument("--export-every", type=float, default=10.0, help="minutes")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    return ap


def parse_gan_args(ap, smoke_iters):
    """Parses the flags; --smoke means smoke_iters iterations, one export at the end, and a checkpoint inside --out
    (so a smoke run never touches the real checkpoint)."""
    a = ap.parse_args()
    for flag, v in (("--r1-every", a.r1_every), ("--bs", a.bs), ("--threads", a.threads)):
        if v < 1:
            ap.error(f"{flag} must be at least 1, got {v}")
    if a.smoke:
        a.iters, a.export_every = smoke_iters, 1e9
        a.ckpt = os.path.join(a.out, "ckpt.pt")
    return a


class GanRun:
    """G, D, the EMA copy of G, both optimizers and the bookkeeping a checkpoint carries (iteration, wall time,
    the commands that trained it so far, both RNG states), plus the training loop.  The construction order (EMA
    copy, then the optimizers, then the checkpoint) and the order of the random draws in the loop are those the
    recipes always had, so runs with the same seed give the same models."""

    def __init__(self, a, gen, P, G, D, first_cmd):
        """gen: the data-order generator from start_run; P: its log function.  first_cmd: the command recorded for
        checkpoints written before the commands were stored in them."""
        self.a, self.gen, self.P, self.G, self.D = a, gen, P, G, D
        self.G_ema = copy.deepcopy(G).eval()
        # Lazy R1 (every r1_every D steps): D's lr and betas are scaled by c as in StyleGAN2 so that the
        # regularised steps do not change the effective optimizer settings (0 ** c is simply 0.0).
        c = a.r1_every / (a.r1_every + 1)
        self.optG = torch.optim.Adam(G.parameters(), lr=a.lr, betas=(0, 0.99))
        self.optD = torch.optim.Adam(D.parameters(), lr=a.lr * c, betas=(0 ** c, 0.99 ** c))
        self.it, self.wall_before = 0, 0.0
        self.this_cmd = command_line()
        self.cmds = [self.this_cmd]
        if a.resume or a.export_only:
            ck = torch.load(a.ckpt)
            G.load_state_dict(ck["G"])
            D.load_state_dict(ck["D"])
            self.G_ema.load_state_dict(ck["G_ema"])
            self.optG.load_state_dict(ck["optG"])
            self.optD.load_state_dict(ck["optD"])
            self.it, self.wall_before = ck["it"], ck["wall"]
            # An --export-only run re-exports what the checkpoint holds; it did not train, so it adds no command.
            self.cmds = ck.get("cmds", [first_cmd]) + ([self.this_cmd] if a.resume else [])
            gen.set_state(ck["gen"])
            torch.set_rng_state(ck["rng"])
        self.t0 = time.time()

    def wall(self):
        """Training wall time in seconds, over all runs that continued this checkpoint."""
        return self.wall_before + time.time() - self.t0

    def provenance(self, dataset, recipe, loss_note=""):
        """The manifest's provenance entries common to both GAN recipes (key order as in their manifests)."""
        a = self.a
        return {"dataset": dataset, "recipe": recipe, "command": " && ".join(self.cmds),
                "seed": a.seed, "iterations": self.it, "imagesShown": self.it * a.bs, "batchSize": a.bs,
                "loss": f"non-saturating logistic + lazy R1 (gamma {a.gamma}, every {a.r1_every}), Adam lr {a.lr} "
                        f"betas (0, 0.99), G EMA half-life {a.ema_kimg} kimg{loss_note}",
                "wallTimeSeconds": round(self.wall_before + (0 if a.export_only else time.time() - self.t0)),
                "machine": MACHINE, "date": time.strftime("%Y-%m-%d", time.gmtime()), "smoke": bool(a.smoke)}

    def save(self):
        """Writes the checkpoint atomically (to a temporary name, then renamed), so an interrupted save never
        leaves a broken checkpoint behind."""
        torch.save({"G": self.G.state_dict(), "D": self.D.state_dict(), "G_ema": self.G_ema.state_dict(),
                    "optG": self.optG.state_dict(), "optD": self.optD.state_dict(), "it": self.it, "cmds": self.cmds,
                    "wall": self.wall(), "gen": self.gen.get_state(), "rng": torch.get_rng_state()},
                   self.a.ckpt + ".tmp")
        os.replace(self.a.ckpt + ".tmp", self.a.ckpt)

    def d_step(self, real):
        """One D step on the real batch and a fresh fake batch (z from the global RNG), with the lazy R1 penalty
        every r1_every iterations.  Returns (D loss, R1 value or 0.0)."""
        a, G, D = self.a, self.G, self.D
        z = torch.randn(a.bs, G.z_dim)
        with torch.no_grad():
            fake = G(z)
        lossD = F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()
        self.optD.zero_grad(set_to_none=True)
        lossD.backward()
        r1v = 0.0
        if self.it % a.r1_every == 0:
            real_r = real.detach().requires_grad_(True)
            g, = torch.autograd.grad(D(real_r).sum(), real_r, create_graph=True)
            r1 = g.pow(2).sum(dim=[1, 2, 3]).mean()
            (r1 * (a.gamma / 2) * a.r1_every).backward()
            r1v = r1.item()
        self.optD.step()
        return lossD, r1v

    def g_step(self, fake):
        """One G step on the fake batch the recipe generated (with its own generator call)."""
        lossG = F.softplus(-self.D(fake)).mean()
        self.optG.zero_grad(set_to_none=True)
        lossG.backward()
        self.optG.step()
        return lossG

    @torch.no_grad()
    def ema(self):
        """G_ema <- G with a half-life of ema_kimg thousand images, ramped up over the first images shown (at most
        5% of them), as in StyleGAN2; buffers (StyleGen's w_avg) are copied."""
        a = self.a
        nimg = (self.it + 1) * a.bs
        half = min(a.ema_kimg * 1000, nimg * 0.05)
        beta = 0.5 ** (a.bs / max(half, 1e-8))
        for pe, p in zip(self.G_ema.parameters(), self.G.parameters()):
            pe.copy_(p.lerp(pe, beta))
        for be, b in zip(self.G_ema.buffers(), self.G.buffers()):
            be.copy_(b)

    def train(self, real_batch, fake_batch, do_export, progress):
        """Trains until --iters or --minutes, checkpointing and exporting every --export-every minutes and at the
        end.  real_batch() and fake_batch() give one batch each (fake_batch with gradients, for the G step);
        do_export() exports G_ema; progress(losses, r1, sec_per_it) is the line logged every 50 iterations, losses
        an array of (D loss, G loss) rows since the last one and sec_per_it their mean wall time per iteration."""
        a, P = self.a, self.P
        last_export = time.time()
        window = time.time()
        stats = []
        P(f"[{now_iso()}] start it {self.it}; G params {count_params(self.G)} D params {count_params(self.D)}")
        while self.it < a.iters and self.wall() < a.minutes * 60:
            lossD, r1v = self.d_step(real_batch())
            lossG = self.g_step(fake_batch())
            self.ema()
            self.it += 1
            stats.append((lossD.item(), lossG.item()))
            if self.it % 50 == 0:
                P(progress(np.array(stats), r1v, (time.time() - window) / max(1, len(stats))))
                stats = []
                window = time.time()
            if time.time() - last_export > a.export_every * 60:
                self.save()
                do_export()
                last_export = time.time()
        self.save()
        do_export()
        P(f"[{now_iso()}] done it {self.it}")


# ------------------------------------------------------------------------------- ihc test network (paper 003)
def bilinear_half(x):
    """Bilinear 2x down-sampling (align_corners=False; at exactly half scale every output pixel is the mean of a
    2x2 input block, so no input pixel is favoured)."""
    return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)


class BilinearStage(nn.Module):
    """One stage of the ihc test network: bilinear 2x down-sampling -> 3x3 stride-1 conv (cin -> w), BN, ReLU; then
    a residual block [3x3 conv, BN, ReLU, 3x3 conv, BN] + identity, ReLU.  The width change happens in the
    down-sampling conv, so no skip connection needs a projection: there is no 1x1 (or any) conv on a skip path."""

    def __init__(self, cin, w):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(cin, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
        self.conv1 = nn.Conv2d(w, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.conv2 = nn.Conv2d(w, w, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(w)

    def forward(self, x):
        x = self.down(bilinear_half(x))
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(x + y)


class BilinearFeatNet(nn.Module):
    """Test network for 3x64x64 ihc crops in the sense of paper 003 sec. 4.3.1: no max-pool, no strided convs and
    no 1x1 strided skip convs; every down-sampling is bilinear 2x followed by a 3x3 stride-1 conv.  Same layer
    sizes as FeatNet (layer1 32x32, layer2 16x16, layer3 8x8 for a 64x64 input) and the same interface:
    embedding = global average pool of layer3."""

    def __init__(self, widths=(16, 32, 64)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        cin = widths[0]
        for i, w in enumerate(widths):
            setattr(self, f"layer{i + 1}", BilinearStage(cin, w))
            cin = w

    def forward(self, x, return_layers=False):
        x = self.stem(x)
        feats = []
        for i in range(1, 4):
            x = getattr(self, f"layer{i}")(x)
            feats.append(x)
        emb = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return (emb, feats) if return_layers else emb


# ------------------------------------------------------------------ StyleGen split at a layer (PyTorch references)
def style_head(G, w, noises, layer):
    """StyleGen G's synthesis up to `layer` (bR.conv0 / bR.conv1) for styles w: that layer's activations and the RGB
    accumulated before it (None before the first toRGB). ganvas's split reads the same tensors across the cut."""
    n = w.shape[0]
    x = img = None
    for r in G.resolutions:
        blk = G.blocks[f"b{r}"]
        if r == 4:
            x = blk.const.unsqueeze(0).expand(n, -1, -1, -1)
        else:
            x = blk.conv0(x, w, noises[f"b{r}.conv0"])
            if layer == f"b{r}.conv0":
                return x, img
        x = blk.conv1(x, w, noises[f"b{r}.conv1"])
        if layer == f"b{r}.conv1":
            return x, img
        y = blk.torgb(x, w)
        img = y if img is None else up2(img) + y
    raise ValueError(layer)


def style_tail(G, w, noises, layer, x, img):
    """The rest of StyleGen G's synthesis from `layer`'s (possibly edited) activations x and the RGB so far, tanh
    included: the image the generator would make."""
    started = False
    for r in G.resolutions:
        blk = G.blocks[f"b{r}"]
        if r != 4:
            if started:
                x = blk.conv0(x, w, noises[f"b{r}.conv0"])
            if layer == f"b{r}.conv0":
                started = True
        if started:
            x = blk.conv1(x, w, noises[f"b{r}.conv1"])
        if layer == f"b{r}.conv1":
            started = True
        if started:
            y = blk.torgb(x, w)
            img = y if img is None else up2(img) + y
    return torch.tanh(img)
