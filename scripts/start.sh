#!/usr/bin/env bash
# The main job: Jupyter Notebook with the tslab kernel, opened on notebooks/ (the demo models ship in models/).
# Without a display it does not try to open a browser and prints the URL (with its token) to open.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node "$root/scripts/link-self.js"
bash "$root/scripts/system-deps.sh"
# This checkout's own tslab kernelspec (.jupyter, written by system-deps.sh) comes first; nothing machine-wide.
export JUPYTER_PATH="$root/.jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
[ -f "$root/dist/index.js" ] || (cd "$root" && npm run build)
args=(--notebook-dir="$root/notebooks" --ip=127.0.0.1 --port="${GANVAS_PORT:-8888}")
[ -z "${DISPLAY:-}" ] && args+=(--no-browser)
[ "$(id -u)" = "0" ] && args+=(--allow-root)
echo "ganvas: starting Jupyter on notebooks/ — open the URL printed below (Ctrl-C stops it)."
cd "$root/notebooks"
exec /usr/bin/python3 -m notebook "${args[@]}"
