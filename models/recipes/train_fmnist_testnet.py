"""fmnist-testnet: the paper-003 sec. 4.3.1 style test network: ResNet variant without max-pooling whose
downsamplings are bilinear 2x downsampling followed by 3x3 stride-1 convs (main path and skip).
Usage: /usr/bin/python3 models/recipes/train_fmnist_testnet.py [--smoke --out /tmp/x]
The recipe (and the manifest description) is classifier.py's, with the settings RECIPES["fmnist-testnet"]."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import classifier  # noqa: E402

if __name__ == "__main__":
    classifier.main("fmnist-testnet")
