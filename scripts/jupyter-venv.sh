#!/usr/bin/env bash
# JupyterLab 4, Notebook 7 and ipywidgets 8 in a Python virtual environment inside this checkout (.jupyter-venv,
# git-ignored), for the browser tests of the comm widgets (test/e2e/lab-comm.test.ts) and bench:widgets. Run by
# `npm test`'s pretest. Installs offline from a local wheel index (GANVAS_PIP_INDEX, default file:///opt/pypi/simple)
# when the machine has one; without one it says so and those tests report that they were skipped. Done once: the
# environment is marked complete only after pip succeeded, so an interrupted install is redone.
set -euo pipefail
cd "$(dirname "$0")/.."
V=.jupyter-venv
[ -f "$V/.complete" ] && exit 0
INDEX="${GANVAS_PIP_INDEX:-file:///opt/pypi/simple}"
if [[ "$INDEX" == file://* ]] && [ ! -d "${INDEX#file://}" ]; then
  echo "jupyter-venv: no local wheel index at $INDEX (set GANVAS_PIP_INDEX): the JupyterLab 4 / Notebook 7 widget tests will be skipped" >&2
  exit 0
fi
rm -rf "$V"
echo "jupyter-venv: installing jupyterlab 4.6, notebook 7.6, ipywidgets 8 into $V from $INDEX" >&2
python3 -m venv "$V"
"$V/bin/pip" install -q --disable-pip-version-check --index-url "$INDEX" 'jupyterlab==4.6.*' 'notebook==7.6.*' 'ipywidgets==8.*'
touch "$V/.complete"
