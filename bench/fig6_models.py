"""Random-weight ResNets for paper 003 Fig. 6 (checkerboard noise in gradient-descent inversions).

Writes two model directories (model.onnx + ganvas.json) under OUT: `resnet-conv`, models/recipes/zoo.py's ResNet in
'conv' mode (3x3 stem, 2x2 max-pool, 3x3 stride-2 convolutions and 1x1 stride-2 skips: the standard ResNet), and
`resnet-bilinear`, the same architecture in 'bilinear' mode (no max-pool; every downsampling is a bilinear 2x
downsample followed by a 3x3 stride-1 convolution, main path and skip), as the paper's bilinear-ResNet34 test network.
Both randomly initialized from the same seed and untrained, as in Fig. 6; BatchNorm in eval mode with its initial
running statistics (the identity). Blocks 2-2-2-2, widths 16/32/64/128 (fmnist-resnet's), RGB input SIZExSIZE.

    /usr/bin/python3 bench/fig6_models.py OUT [--size 64] [--seed 0]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "recipes"))
from zoo import LayersWrap, ResNet, export_onnx, write_manifest  # noqa: E402

LAYERS = ["layer1", "layer2", "layer3", "layer4"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.size < 16 or a.size % 16:
        ap.error("--size must be a multiple of 16 (four 2x downsamplings)")
    for mode in ("conv", "bilinear"):
        torch.manual_seed(a.seed)
        m = ResNet(widths=(16, 32, 64, 128), blocks=(2, 2, 2, 2), mode=mode, in_ch=3).eval()
        d = os.path.join(a.out, f"resnet-{mode}")
        os.makedirs(d, exist_ok=True)
        export_onnx(LayersWrap(m), [torch.rand(1, 3, a.size, a.size)], ["image"], ["logits"], LAYERS, os.path.join(d, "model.onnx"))
        write_manifest(d, {
            "format": "ganvas-manifest/1",
            "name": f"resnet-{mode}-random",
            "role": "classifier",
            "description": f"Randomly initialized (seed {a.seed}), untrained zoo.ResNet in '{mode}' mode for paper 003 Fig. 6.",
            "model": "model.onnx",
            "inputs": [{"name": "image", "kind": "image", "shape": ["N", 3, a.size, a.size]}],
            "outputs": [{"name": "logits", "kind": "logits"}],
            "preprocess": {"size": [a.size, a.size], "channels": 3, "range": [0, 1], "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
            "layers": {n: n for n in LAYERS},
        })
        print(d)


if __name__ == "__main__":
    main()
