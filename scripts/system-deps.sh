#!/usr/bin/env bash
# Makes sure the Debian packages ganvas's tests, recipes and notebooks need are installed.
# As root it installs what is missing; otherwise it prints the exact command and fails.
set -euo pipefail

PACKAGES=(
  python3-numpy            # .npy interop checks
  python3-torch            # model recipes (training, export, reference gradients)
  python3-torchvision
  python3-onnx
  python3-skimage          # ihc.png and colour deconvolution
  dataset-fashion-mnist
  jupyter-notebook         # notebooks with the tslab kernel
  jupyter-client
  python3-nbconvert        # headless notebook runs (python3 -m nbconvert)
  chromium                 # browser tests of the widgets
  slurm-wlm                # the cluster test: a single-node Slurm (scripts/slurm-local.sh) runs sharded job arrays
  munge                    # Slurm's authentication
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "ganvas: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
  else
    echo "ganvas: these Debian packages are missing: ${missing[*]}" >&2
    echo "Install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# The tslab Jupyter kernel of this checkout, kept inside it (.jupyter/kernels/tslab; scripts/kernelspec.js):
# nothing machine-wide is installed. start.sh, report.sh and the notebook tests put .jupyter on JUPYTER_PATH.
root=$(cd "$(dirname "$0")/.." && pwd)
node "$root/scripts/kernelspec.js" >/dev/null
