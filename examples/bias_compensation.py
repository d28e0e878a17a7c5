"""Recipe: bias compensation of a 3-bit RTN-quantized digits MLP (per-layer output MSE before/after).

python examples/bias_compensation.py
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_float import mlp  # noqa: E402
from digits_mlp import digits_split  # noqa: E402

from fpgaq.quant import bias_compensation, ptq  # noqa: E402


def accuracy(model, x, y):
    with torch.no_grad():
        out = model(x)
    return float(((out.value if hasattr(out, "value") else out).argmax(1).numpy() == y).mean())


def main():
    x_tr, x_te, _, y_te = digits_split()
    calib, test = torch.from_numpy(x_tr), torch.from_numpy(x_te)
    model = mlp()
    q = ptq(model, calib, method="rtn", weight_bits=3, act_bits=3)
    before = accuracy(q, test, y_te)
    for layer in bias_compensation(q, copy.deepcopy(model), calib):
        print(
            f"layer {layer.name}: output MSE {layer.mse_before:.5f} -> {layer.mse_after:.5f} "
            f"({layer.channels_kept}/{layer.channels} channels compensated)"
        )
    print(f"test accuracy {before:.4f} -> {accuracy(q, test, y_te):.4f}")


if __name__ == "__main__":
    main()
