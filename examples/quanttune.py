"""Recipe: QuantTune fine-tuning, then per-tensor 6-bit PTQ; prints the layers' max/sigma before and after.

python examples/quanttune.py
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_float import mlp  # noqa: E402
from digits_mlp import digits_split  # noqa: E402

from fpgaq.quant import QuantTuneLoss, ptq, quanttune  # noqa: E402


def ratios(model, x):
    probe = QuantTuneLoss(model)
    with torch.no_grad():
        model(x)
    out = probe.outlier_ratios()
    probe.remove()
    return {k: round(v, 1) for k, v in out.items()}


def accuracy(model, x, y):
    with torch.no_grad():
        out = model(x)
    return float(((out.value if hasattr(out, "value") else out).argmax(1).numpy() == y).mean())


def main():
    x_tr, x_te, y_tr, y_te = digits_split()
    calib, test = torch.from_numpy(x_tr), torch.from_numpy(x_te)
    model = mlp()
    tuned = quanttune(copy.deepcopy(model), calib, torch.from_numpy(y_tr).long(), epochs=5, lam=0.1)
    for name, m in (("float", model), ("QuantTune", tuned)):
        q = ptq(m, calib, method="rtn", weight_bits=6, act_bits=6)
        print(
            f"{name}: max/sigma per layer input {ratios(m, calib)}; float {accuracy(m, test, y_te):.4f}, "
            f"6-bit PTQ {accuracy(q, test, y_te):.4f}"
        )


if __name__ == "__main__":
    main()
