"""Writes test/autodiff/adam_torch.json: torch.optim.Adam's trajectories (float64 parameters) for optimParts.test.ts.

Run: /usr/bin/python3 test/autodiff/adam_torch.py   (torch 1.13 was used). Each case gives ganvas Adam options
and the torch arguments they mean; the gradients change sign and size between steps, and coordinate 3 gets no
gradient at first (m = v = 0: Adam must leave it in place rather than divide 0 by 0).
"""
import json
import os

import torch

theta0 = [0.5, -1.0, 2.0, 0.25]
grads = [
    [0.3, -2.0, 0.01, 0.0],
    [-0.1, -1.5, 0.02, 0.0],
    [0.4, 0.5, -0.03, 1e-3],
    [0.2, 3.0, 0.01, -2e-3],
    [-0.6, 1.0, 0.0, 0.5],
    [0.1, -0.2, 0.05, 0.5],
]
cases = [
    ("defaults", {}, {}),
    ("every option, eps large enough to matter", {"lr": 0.2, "beta1": 0.5, "beta2": 0.8, "eps": 0.05},
     {"lr": 0.2, "betas": (0.5, 0.8), "eps": 0.05}),
    ("beta2 only", {"beta2": 0.5}, {"betas": (0.9, 0.5)}),
    ("beta1 = 0 only", {"beta1": 0}, {"betas": (0.0, 0.999)}),
    ("eps only", {"eps": 0.5}, {"eps": 0.5}),
    ("lr only", {"lr": 0.03}, {"lr": 0.03}),
]
out = {"torch": torch.__version__, "theta0": theta0, "grads": grads, "cases": []}
for name, ours, theirs in cases:
    p = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], **theirs)
    traj = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        traj.append(p.detach().tolist())
    out["cases"].append({"name": name, "options": ours, "theta": traj})
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "adam_torch.json")
with open(path, "w") as f:
    json.dump(out, f)
    f.write("\n")
print("wrote", path)
