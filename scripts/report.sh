#!/usr/bin/env bash
# Executes the project's notebooks headless with the tslab kernel and writes HTML reports to reports/.
# Any cell error fails the run (nbconvert stops and exits non-zero).
#   npm run report                       the project's notebooks (those scripts/notebooks.py writes)
#   npm run report -- mine.ipynb ...     the named notebooks in notebooks/ (yours too)
#   npm run report -- --all              every notebook in notebooks/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node "$root/scripts/link-self.js"
bash "$root/scripts/system-deps.sh"
# This checkout's own tslab kernelspec (.jupyter, written by system-deps.sh) comes first; nothing machine-wide.
export JUPYTER_PATH="$root/.jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
[ -f "$root/dist/index.js" ] || (cd "$root" && npm run build)
mkdir -p "$root/reports"
cd "$root/notebooks"
if [ "${1:-}" = "--all" ]; then
  books=(*.ipynb)
elif [ $# -gt 0 ]; then
  books=()
  for a in "$@"; do books+=("$(basename "$a")"); done
else
  # Notebooks of your own in notebooks/ are left alone unless named (or --all).
  mapfile -t books < <(grep -o 'nb("[^"]*\.ipynb"' "$root/scripts/notebooks.py" | sed 's/^nb("//; s/"$//')
fi
for nb in "${books[@]}"; do
  [ -f "$nb" ] || { echo "ganvas: no notebook notebooks/$nb" >&2; exit 1; }
  echo "ganvas: running $nb"
  rm -f "$root/reports/${nb%.ipynb}.html"
  /usr/bin/python3 -m nbconvert --to html --execute --ExecutePreprocessor.timeout=600 \
    --output-dir "$root/reports" "$nb" 2>&1 | grep -v -e 'Debugger warning' -e 'frozen modules' -e 'Debugging will proceed' -e 'PYDEVD_DISABLE' -e '^$' || true
  test -s "$root/reports/${nb%.ipynb}.html" || { echo "ganvas: $nb failed" >&2; exit 1; }
done
echo "ganvas: reports written to $root/reports/"
