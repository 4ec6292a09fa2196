"""Regenerate the model table in models/README.md (between <!-- table --> and <!-- /table -->) and in README.md
(between <!-- models --> and <!-- /models -->) from the ganvas.json manifests.
  /usr/bin/python3 models/recipes/make_readme.py"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402

ORDER = ["fmnist-resnet", "fmnist-stylegan", "ihc-gan", "fmnist-testnet", "ihc-features", "ihc-testnet"]


def quality_text(name, q):
    if not q or "note" in q and len(q) == 1:
        return "not measured"
    if "testAccuracy" in q:
        return f"test accuracy {q['testAccuracy'] * 100:.2f}% ({q['testImages']} images)"
    if "meanTop1Prob" in q:
        s = (f"fmnist-resnet mean top-1 prob {q['meanTop1Prob']:.3f}, min class {q['minClassFraction'] * 100:.1f}% "
             f"(psi {q['psi']}; target {'met' if q['targetMet'] else 'MISSED'})")
        if "untruncated" in q:
            u = q["untruncated"]
            s += f"; untruncated: {u['meanTop1Prob']:.3f} / {u['minClassFraction'] * 100:.1f}%"
        return s
    if "maxRelativeDifference" in q:
        r = q["relativeDifference"]
        return ("HED rel. diff " + ", ".join(f"{k} {v * 100:.1f}%" for k, v in r.items()) +
                f" (target 15%: {'met' if q['targetMet'] else 'MISSED'})")
    if "heldOutViewRetrievalTop1" in q:
        b = q["randomInitBaseline"]
        s = (f"held-out view retrieval top-1 {q['heldOutViewRetrievalTop1'] * 100:.1f}% "
             f"(random init {b['heldOutViewRetrievalTop1'] * 100:.1f}%); probe R^2 H "
             f"{q['linearProbeR2']['hematoxylinMean']:.2f}, DAB {q['linearProbeR2']['dabMean']:.2f}")
        if "gradientGridPeakRatio" in q:
            g = q["gradientGridPeakRatio"]
            s += "; gradient grid peak ratio " + "/".join(f"{v:.2f}" for v in g["layers"].values())
            if "ihcFeatures" in g:
                s += " (ihc-features " + "/".join(f"{v:.2f}" for v in g["ihcFeatures"].values()) + ")"
        return s
    return json.dumps(q)


def main():
    rows = []
    total = 0
    for name in ORDER:
        d = os.path.join(zoo.MODELS, name)
        mp = os.path.join(d, "ganvas.json")
        if not os.path.exists(mp):
            rows.append(f"| {name} | — | — | — | not produced | — | — |")
            continue
        m = json.load(open(mp))
        size = os.path.getsize(os.path.join(d, m["model"]))
        total += size
        p = m["provenance"]
        ins = ", ".join(f"`{i['name']}` {'x'.join(str(s) for s in i['shape'])}" for i in m["inputs"])
        layers = ", ".join(f"`{k}`" for k in m["layers"])
        rows.append(f"| {name} | {m['role']} | {m['params']:,} | {size / 1e6:.2f} MB | {quality_text(name, m['quality'])} "
                    f"| `{p['command']}` | {p['wallTimeSeconds'] / 60:.1f} min, {p['iterations']} it |")
        rows.append(f"|  | inputs: {ins} | | | layers: {layers} | | |")
    return rows, total


def replace_block(path, begin, end, body):
    """Replaces what lies between the begin and end markers of the file at path (which must hold both)."""
    text = open(path).read()
    a, b = text.index(begin), text.index(end)
    tmp = path + ".part"
    with open(tmp, "w") as f:
        f.write(text[:a] + begin + "\n" + body + text[b:])
    os.replace(tmp, path)


if __name__ == "__main__":
    rows, total = main()
    table = "\n".join(["| name | role | params | ONNX | quality (measured) | training command | wall time |",
                       "|---|---|---|---|---|---|---|"] + rows)
    body = table + f"\n\nAll ONNX files together: {total / 1e6:.2f} MB.\n"
    replace_block(os.path.join(zoo.MODELS, "README.md"), "<!-- table -->", "<!-- /table -->", body)
    replace_block(os.path.join(zoo.REPO, "README.md"), "<!-- models -->", "<!-- /models -->", body)
    print(table)
