"""Export a torchvision ResNet classifier (the networks of paper 003: ResNet50 to stitch, ResNet34 as the test
network) to a ganvas model directory: model.onnx + ganvas.json, with the outputs of torchvision's layer1..layer4
as named tensors `layer1`..`layer4` (aliases in the manifest), ImageNet preprocessing and role "classifier".

Nothing can be downloaded here, so the weights come from a file you have (a state dict saved with torch.save;
a checkpoint dict holding one under "state_dict" or "model", and DataParallel's "module." prefixes, are accepted),
or are torchvision's random initialisation with a seed (for tests, and for the paper's Fig. 6 comparison of
untrained networks).
  /usr/bin/python3 models/recipes/export_torchvision.py --arch resnet50 --weights resnet50.pth --out my-models/resnet50
  /usr/bin/python3 models/recipes/export_torchvision.py --arch resnet34 --random-weights --seed 0 --out /tmp/resnet34
Then in TypeScript: await g.FeatureExtractor.open('my-models/resnet50', 'layer3').
"""
import argparse
import hashlib
import json
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
LAYERS = ["layer1", "layer2", "layer3", "layer4"]


def resnet_names():
    """torchvision's ResNet builders (resnet18 .. resnet152, resnext*, wide_resnet*), from the installed version."""
    mod = torchvision.models.resnet
    return sorted(n for n in getattr(mod, "__all__", dir(mod)) if n.islower() and callable(getattr(mod, n, None)))


class WithLayers(torch.nn.Module):
    """forward(x) -> (logits, [layer1..layer4 outputs]), the form zoo.export_onnx wants.  The layer outputs are
    caught by forward hooks, so the graph is torchvision's own forward, unchanged."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self._caught = {}
        for name in LAYERS:
            getattr(net, name).register_forward_hook(self._catch(name))

    def _catch(self, name):
        def hook(_module, _inputs, output):
            self._caught[name] = output
        return hook

    def forward(self, x):
        self._caught.clear()
        logits = self.net(x)
        return logits, [self._caught[n] for n in LAYERS]


def read_state_dict(path):
    """A state dict from `path`; exits with a message that says what was found when it holds none."""
    if not os.path.isfile(path):
        sys.exit(f"export_torchvision: --weights {path} is not a file")
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 (any unpickling failure is reported the same way)
        sys.exit(f"export_torchvision: cannot read {path} with torch.load ({e}); --weights wants a file written by "
                 f"torch.save(model.state_dict(), path)")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        sys.exit(f"export_torchvision: {path} holds no state dict (a dict of tensors, e.g. torch.save(model."
                 f"state_dict(), path)); found {type(obj).__name__}")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="resnet50", help="a torchvision ResNet builder name, e.g. resnet50, resnet34")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", help="state-dict file (.pth) for --arch")
    src.add_argument("--random-weights", action="store_true", help="torchvision's random init, seeded by --seed")
    ap.add_argument("--seed", type=int, default=0, help="seed of --random-weights and of the fixture input")
    ap.add_argument("--num-classes", type=int, default=None,
                    help="classes of the fc layer (default: read from --weights, else 1000)")
    ap.add_argument("--classes", default=None, help="text file with one class name per line (default: ImageNet's "
                                                     "1000 categories when the model has 1000 classes)")
    ap.add_argument("--size", type=int, default=224, help="input height = width (default 224)")
    ap.add_argument("--name", default=None, help="manifest name (default: --arch)")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--no-fixture", action="store_true", help="skip the PyTorch reference-gradient fixture")
    ap.add_argument("--out", required=True, help="output directory (created)")
    a = ap.parse_args()
    names = resnet_names()
    if a.arch not in names:
        ap.error(f"--arch {a.arch!r} is not a torchvision ResNet; torchvision {torchvision.__version__} has "
                 f"{', '.join(names)}")
    if a.opset < 13:
        ap.error(f"--opset must be at least 13 (ganvas's autodiff reads opset-13 operators), got {a.opset}")
    if a.threads < 1:
        ap.error(f"--threads must be at least 1, got {a.threads}")
    torch.set_num_threads(a.threads)
    if a.size < 32:
        ap.error(f"--size must be at least 32 (five 2x down-samplings), got {a.size}")

    sd = read_state_dict(a.weights) if a.weights else None
    n_cls = a.num_classes
    if n_cls is None:
        n_cls = int(sd["fc.weight"].shape[0]) if sd is not None and "fc.weight" in sd else 1000
    torch.manual_seed(a.seed)
    net = getattr(torchvision.models, a.arch)(weights=None, num_classes=n_cls)
    if sd is not None:
        try:
            missing, unexpected = net.load_state_dict(sd, strict=False)
        except RuntimeError as e:  # tensors of the wrong shape
            sys.exit(f"export_torchvision: {a.weights} does not fit torchvision {a.arch} with {n_cls} classes: {e}")
        if missing or unexpected:
            sys.exit(f"export_torchvision: {a.weights} does not fit torchvision {a.arch} with {n_cls} classes: "
                     f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}, unexpected "
                     f"{unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
    net.eval()

    classes = None
    if a.classes:
        classes = [line.strip() for line in open(a.classes, encoding="utf8") if line.strip()]
        if len(classes) != n_cls:
            sys.exit(f"export_torchvision: {a.classes} names {len(classes)} classes, the model has {n_cls}")
    elif n_cls == 1000:
        from torchvision.models._meta import _IMAGENET_CATEGORIES
        classes = list(_IMAGENET_CATEGORIES)

    os.makedirs(a.out, exist_ok=True)
    g = torch.Generator().manual_seed(a.seed)
    mean = torch.tensor(IMAGENET_MEAN)[None, :, None, None]
    std = torch.tensor(IMAGENET_STD)[None, :, None, None]
    example = (torch.rand(2, 3, a.size, a.size, generator=g) - mean) / std
    wrapper = WithLayers(net).eval()
    t0 = time.time()
    # Written under a temporary name and renamed, so an interrupted export leaves no half-written model.onnx.
    part = os.path.join(a.out, "model.onnx.part")
    zoo.export_onnx(wrapper, [example], ["image"], ["logits"], LAYERS, part, opset=a.opset)
    os.replace(part, os.path.join(a.out, "model.onnx"))
    with torch.no_grad():
        _, feats = wrapper(example)
    shapes = {n: list(f.shape) for n, f in zip(LAYERS, feats)}
    if not a.no_fixture:
        zoo.write_fixture(a.out, lambda x: wrapper(x)[0], [example], ["image"], "logits",
                          extra={"layerShapes": shapes, "inputNote": f"two uniform-random images in [0,1], seed "
                                                                     f"{a.seed}, ImageNet-normalized"})
    weights_note = (f"{os.path.basename(a.weights)} (sha256 {sha256(a.weights)})" if a.weights else
                    f"torchvision's random initialisation, torch.manual_seed({a.seed}); untrained")
    manifest = {
        "format": "ganvas-manifest/1", "name": a.name or a.arch, "role": "classifier",
        "description": (f"torchvision {a.arch} ({n_cls} classes) exported by models/recipes/export_torchvision.py; "
                        f"weights: {weights_note}. Layer aliases layer1..layer4 are the outputs of torchvision's "
                        f"layer1..layer4; input {a.size}x{a.size} RGB in [0,1], ImageNet mean/std."),
        "model": "model.onnx",
        "inputs": [{"name": "image", "kind": "image", "shape": ["N", 3, a.size, a.size]}],
        "outputs": [{"name": "logits", "kind": "logits", **({"classes": classes} if classes else {})}],
        "preprocess": {"size": [a.size, a.size], "channels": 3, "range": [0, 1],
                       "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        **zoo.layer_entries(shapes),
        "provenance": {"weights": weights_note, "recipe": "models/recipes/export_torchvision.py",
                       "command": zoo.command_line(), "seed": a.seed, "opset": a.opset,
                       "torch": torch.__version__, "torchvision": torchvision.__version__,
                       "date": time.strftime("%Y-%m-%d", time.gmtime())},
        "quality": {"note": "not measured by the export; the weights' own figures apply"},
        "params": zoo.count_params(net),
    }
    tmp = os.path.join(a.out, "ganvas.json.part")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(a.out, "ganvas.json"))
    size = os.path.getsize(os.path.join(a.out, "model.onnx"))
    print(f"exported {a.arch} to {a.out}/model.onnx ({size / 1e6:.1f} MB) in {time.time() - t0:.1f}s; layers "
          + ", ".join(f"{n} {s[1:]}" for n, s in shapes.items()))


if __name__ == "__main__":
    main()
