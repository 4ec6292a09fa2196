"""fmnist-resnet: ResNet-18-style classifier (BasicBlocks 2-2-2-2, widths 16/32/64/128) on Fashion-MNIST 32x32.
Usage: /usr/bin/python3 models/recipes/train_fmnist_resnet.py [--smoke --out /tmp/x]
The recipe (and the manifest description) is classifier.py's, with the settings RECIPES["fmnist-resnet"]."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import classifier  # noqa: E402

if __name__ == "__main__":
    classifier.main("fmnist-resnet")
