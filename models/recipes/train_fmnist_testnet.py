"""fmnist-testnet: the paper-003 sec. 4.3.1 style test network: ResNet variant without max-pooling whose
downsamplings are bilinear 2x downsampling followed by 3x3 stride-1 convs (main path and skip).
Usage: /usr/bin/python3 models/recipes/train_fmnist_testnet.py [--smoke --out /tmp/x]"""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier import main

DESC = ("Test network in the sense of paper 003 sec. 4.3.1: a ResNet variant (BasicBlocks 2-2-2-2, widths "
        "16/32/64/128) with NO max-pooling and NO strided convolutions: every downsampling (after the stem and "
        "at the start of layer2/3/4, on the main path and on the skip path) is a bilinear 2x downsample "
        "followed by a 3x3 stride-1 convolution, so no pixel grid pattern is favoured in the gradient. "
        "Different seed (1) from fmnist-resnet. Layer sizes match fmnist-resnet (layer1 16x16 ... layer4 2x2). "
        "Measured test accuracy {acc:.2f}% on the 10000 test images.")

if __name__ == "__main__":
    main("fmnist-testnet", "bilinear", 1, DESC)
