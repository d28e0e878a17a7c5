"""Recipe: MaQD quantization-aware training (LBN, round-clip W2A2, surrogate gradients) with batch size 8,
exported to QONNX for `fpgaq build`.

    python examples/maqd_qat.py [--bits 2] [--batch 8] [--epochs 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from brevitas import nn as qnn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_mlp import digits_split  # noqa: E402

from fpgaq.quant import export  # noqa: E402
from fpgaq.quant.maqd import LayerBatchNorm2d, maqd_conv2d, maqd_linear, maqd_relu  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="examples/out/maqd.onnx")
    args = parser.parse_args()
    x_tr, x_te, y_tr, y_te = digits_split()
    xt, yt = torch.from_numpy(x_tr).reshape(-1, 1, 8, 8), torch.from_numpy(y_tr).long()
    b = args.bits
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        qnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
        maqd_conv2d(1, 16, 3, b, padding=1),
        LayerBatchNorm2d(16),
        maqd_relu(b),
        torch.nn.MaxPool2d(2),
        maqd_conv2d(16, 16, 3, b, padding=1),
        LayerBatchNorm2d(16),
        maqd_relu(b),
        torch.nn.Flatten(),
        maqd_linear(16 * 4 * 4, 10, b, bias=True),
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(args.epochs):
        for idx in torch.randperm(len(xt)).split(args.batch):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(x_te).reshape(-1, 1, 8, 8)).argmax(1).numpy() == y_te).mean()
    export(model, xt[:2], args.out)
    print(f"MaQD W{b}A{b}, batch {args.batch}: test accuracy {acc:.4f}; wrote {args.out}")


if __name__ == "__main__":
    main()
