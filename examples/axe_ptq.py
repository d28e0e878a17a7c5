"""Recipe: accumulator-aware PTQ (AXE) of a float digits MLP to 12-bit accumulators, then an exact build.

python examples/axe_ptq.py [--bits 12] [--method optq]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_float import mlp  # noqa: E402
from digits_mlp import digits_split  # noqa: E402

from fpgaq.quant import export, ptq  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=12)
    parser.add_argument("--method", default="optq", choices=["rtn", "gpfq", "optq"])
    parser.add_argument("--out", default="examples/out/axe.onnx")
    args = parser.parse_args()
    x_tr, x_te, _, y_te = digits_split()
    model = mlp()
    q = ptq(model, torch.from_numpy(x_tr), method=args.method, accumulator_bits=args.bits, bias_correction=True)
    with torch.no_grad():
        acc = (q(torch.from_numpy(x_te)).argmax(1).numpy() == y_te).mean()
    export(q, torch.from_numpy(x_te[:2]), args.out)
    info = q.fpgaq_ptq
    print(
        f"{args.method} at P={args.bits}: test accuracy {acc:.4f}; verified widths {info['widths']}; "
        f"scales: {info['chosen']} (gamma {info['gamma']}); wrote {args.out}"
    )
    print(f"next: fpgaq build {args.out} --board pynq-z2 --out examples/out/axe_build --check-overflow")


if __name__ == "__main__":
    main()
