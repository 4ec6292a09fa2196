"""fmnist-resnet: ResNet-18-style classifier (BasicBlocks 2-2-2-2, widths 16/32/64/128) on Fashion-MNIST 32x32.
Usage: /usr/bin/python3 models/recipes/train_fmnist_resnet.py [--smoke --out /tmp/x]"""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier import main

DESC = ("ResNet-style Fashion-MNIST classifier (torchvision BasicBlocks, 2-2-2-2 blocks, widths 16/32/64/128; "
        "3x3 stem + 2x2 max-pool, so layer1 is 16x16, layer2 8x8, layer3 4x4, layer4 2x2). Input: 1x32x32 "
        "(Fashion-MNIST resized 28->32 bilinear) in [0,1], normalized with the manifest mean/std. "
        "Measured test accuracy {acc:.2f}% on the 10000 test images. Used to judge fmnist-stylegan samples "
        "and as the network to stitch/invert (paper 003).")

if __name__ == "__main__":
    main("fmnist-resnet", "conv", 0, DESC)
