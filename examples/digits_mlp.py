"""Train a 4-bit Brevitas MLP on scikit-learn's bundled digits (8x8) and export it to QONNX.

    python examples/digits_mlp.py --out examples/out        # writes examples/out/digits_mlp.onnx
    fpgaq inspect examples/out/digits_mlp.onnx

Quantization-aware training: unsigned 8-bit input, 4-bit per-channel weights, 4-bit activations, Int32 biases.
Trains in a few seconds on a CPU; no download (the digits ship with scikit-learn).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from brevitas import nn as qnn
from brevitas.export import export_qonnx
from brevitas.quant import Int8WeightPerChannelFloat, Int32Bias, Uint8ActPerTensorFloat

from fpgaq.data import digits_split, train  # noqa: F401 (digits_split, train are imported from here by other examples)


class DigitsMLP(torch.nn.Module):
    def __init__(self, hidden=(64, 32), weight_bits=4, act_bits=4):
        super().__init__()
        layers = [qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=8, return_quant_tensor=True)]
        width = 64
        for h in hidden:
            layers += [
                qnn.QuantLinear(
                    width,
                    h,
                    bias=True,
                    weight_quant=Int8WeightPerChannelFloat,
                    weight_bit_width=weight_bits,
                    bias_quant=Int32Bias,
                    return_quant_tensor=True,
                ),
                torch.nn.BatchNorm1d(h),
                qnn.QuantReLU(bit_width=act_bits, return_quant_tensor=True),
            ]
            width = h
        layers.append(
            qnn.QuantLinear(
                width,
                10,
                bias=True,
                weight_quant=Int8WeightPerChannelFloat,
                weight_bit_width=weight_bits,
                bias_quant=Int32Bias,
            )
        )
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out", help="output folder")
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    x_tr, x_te, y_tr, y_te = digits_split()
    model = train(DigitsMLP(), x_tr, y_tr, args.epochs)
    with torch.no_grad():
        acc = (model(torch.from_numpy(x_te)).argmax(1).numpy() == y_te).mean()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, torch.from_numpy(x_te[:1]), str(out / "digits_mlp.onnx"), dynamo=False)
    np.savez(out / "digits_test.npz", x=x_te, y=y_te)
    np.save(out / "digits_x.npy", x_te)
    print(
        f"test accuracy {acc:.4f}; wrote {out / 'digits_mlp.onnx'}, {out / 'digits_test.npz'} and "
        f"{out / 'digits_x.npy'}"
    )


if __name__ == "__main__":
    main()
