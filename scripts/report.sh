#!/usr/bin/env bash
# Executes every notebook headless with the tslab kernel and writes HTML reports to reports/.
# Any cell error fails the run (nbconvert stops and exits non-zero).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node "$root/scripts/link-self.js"
bash "$root/scripts/system-deps.sh"
[ -f "$root/dist/index.js" ] || (cd "$root" && npm run build)
mkdir -p "$root/reports"
cd "$root/notebooks"
for nb in *.ipynb; do
  echo "ganvas: running $nb"
  rm -f "$root/reports/${nb%.ipynb}.html"
  /usr/bin/python3 -m nbconvert --to html --execute --ExecutePreprocessor.timeout=600 \
    --output-dir "$root/reports" "$nb" 2>&1 | grep -v -e 'Debugger warning' -e 'frozen modules' -e 'Debugging will proceed' -e 'PYDEVD_DISABLE' -e '^$' || true
  test -s "$root/reports/${nb%.ipynb}.html" || { echo "ganvas: $nb failed" >&2; exit 1; }
done
echo "ganvas: reports written to $root/reports/"
