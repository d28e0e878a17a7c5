"""Quantization recipes measured on scikit-learn's digits; writes docs/quantization.md (+ a PNG plot).

    python bench/quant_recipes.py [--quick]

(a) AXE: test accuracy against the accumulator width P = 18..10 on the digits MLP 64-96-48-10 and a digits
    CNN, W4A4 with 8-bit input: unconstrained RTN/GPFQ/OPTQ (and the width they need), Brevitas' AXE
    (A2GPFQ/A2GPTQ on frozen unconstrained scales: the reference), fpgaq's scale-aware AXE, RTN with fitted
    scales, and the naive baseline (fewer input/activation/weight bits until the data-type bound fits P).
(b) Bias compensation: per-layer output MSE before/after and end-to-end accuracy at W4A4/W3A3/W2A2 (RTN).
(c) QuantTune: a tiny transformer encoder over digits (8 tokens of 8 pixels, width 32, 2 heads); per-tensor
    PTQ (max-calibrated, simulated in float: softmax/LayerNorm are not fpgaq hardware ops) at 8..4 bits with
    and without QuantTune fine-tuning, and the Linear inputs' max/sigma; also with an outlier channel.
(d) MaQD: QAT of a digits CNN with round-clip weights/activations (surrogate gradients) at W2A2/W3A3/W4A4,
    Layer-Batch Normalization against BatchNorm, batch sizes 128 / 8 / 1.

    python bench/quant_recipes.py --parts c     # re-measures one part, keeping the others in the document
"""

from __future__ import annotations

import argparse
import copy
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))
warnings.filterwarnings("ignore")

from digits_float import cnn, mlp  # noqa: E402
from digits_mlp import digits_split  # noqa: E402

from bench.report import write_section  # noqa: E402
from fpgaq.bounds import datatype_bound_bits  # noqa: E402
from fpgaq.data import train  # noqa: E402
from fpgaq.quant import axe, bias_compensation, ptq  # noqa: E402


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        out = model(x)
    out = out.value if hasattr(out, "value") else out
    return float((out.argmax(1).numpy() == y).mean())


def needed_bits(qmodel, example) -> int:
    """The widest exact accumulator of a quantized model (signed convention), by fpgaq's bound."""
    return max(axe.verify_accumulators(qmodel, example, 64, None))


def reference_axe(model, calib, method, bits):
    """Brevitas' AXE as a new user runs it: frozen per-channel scales from the weight statistics."""
    q = axe.quantize_float_model(model, calib, 4, 4, 8)
    q = axe.run_gpxq(q, calib, method, bits, None)
    return q, max(axe.verify_accumulators(q, calib[:2], 64, None))


def dot_lengths(model) -> list[int]:
    return [int(m.weight[0].numel()) for m in model.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]


def naive(model, calib, x_te, y_te, bits):
    """Fewest cuts: the widest (weight, input, activation) bits whose data-type bound fits P in every layer."""
    ks = dot_lengths(model)
    best = None
    for wb in (4, 3, 2):
        for ib in range(8, 1, -1):
            for ab in range(4, 0, -1):
                ins = [ib] + [ab] * (len(ks) - 1)
                if all(datatype_bound_bits(k, n, wb, False) <= bits for k, n in zip(ks, ins, strict=True)):
                    key = (wb + ab + ib, ib)
                    if best is None or key > best[0]:
                        best = (key, (wb, ib, ab))
    if best is None:
        return None, "-"
    wb, ib, ab = best[1]
    q = ptq(model, calib, weight_bits=wb, input_bits=ib, act_bits=ab, method="rtn")
    return accuracy(q, x_te, y_te), f"W{wb} in{ib} A{ab}"


def axe_sweep(name, model, calib, x_te, y_te, widths, lines, series):
    lines += [f"### {name} (float accuracy {accuracy(model, x_te, y_te):.1%})", ""]
    free = {}
    for method in ("rtn", "gpfq", "optq"):
        q = ptq(model, calib, method=method)
        free[method] = (accuracy(q, x_te, y_te), needed_bits(q, calib[:2]))
    lines.append(
        "Unconstrained (width they need): "
        + ", ".join(f"{m.upper()} {a:.1%} ({b} bits)" for m, (a, b) in free.items())
        + "."
    )
    lines += [
        "",
        "| P | Brevitas AXE GPFQ | Brevitas AXE OPTQ | fpgaq AXE GPFQ | fpgaq AXE OPTQ | fpgaq RTN-fit | "
        "naive (bits) |",
        "|---|---|---|---|---|---|---|",
    ]
    for bits in widths:
        row = {}
        for method in ("gpfq", "optq"):
            q, w = reference_axe(model, calib, method, bits)
            row[f"ref_{method}"] = accuracy(q, x_te, y_te)
            q = ptq(model, calib, method=method, accumulator_bits=bits)
            row[method] = accuracy(q, x_te, y_te)
            row[f"{method}_chosen"] = q.fpgaq_ptq["chosen"]
        q = ptq(model, calib, method="rtn", accumulator_bits=bits)
        row["rtn"] = accuracy(q, x_te, y_te)
        row["naive"], naive_bits = naive(model, calib, x_te, y_te, bits)
        series.setdefault(name, []).append((bits, row))
        mark = {m: " (rtn-fit)" if row[f"{m}_chosen"] == "rtn-fit" else "" for m in ("gpfq", "optq")}
        lines.append(
            f"| {bits} | {row['ref_gpfq']:.1%} | {row['ref_optq']:.1%} | {row['gpfq']:.1%}{mark['gpfq']} | "
            f"{row['optq']:.1%}{mark['optq']} | {row['rtn']:.1%} | "
            + (f"{row['naive']:.1%} ({naive_bits})" if row["naive"] is not None else "-")
            + " |"
        )
        print(name, bits, row, flush=True)
    lines.append("")


def plot(series, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(series), figsize=(6 * len(series), 4), squeeze=False)
    for ax, (name, points) in zip(axes[0], series.items(), strict=True):
        xs = [p for p, _ in points]
        for key, label in (
            ("ref_gpfq", "Brevitas AXE GPFQ"),
            ("ref_optq", "Brevitas AXE OPTQ"),
            ("gpfq", "fpgaq AXE GPFQ"),
            ("optq", "fpgaq AXE OPTQ"),
            ("rtn", "fpgaq RTN-fit"),
            ("naive", "naive bit cuts"),
        ):
            ax.plot(xs, [r[key] if r[key] is not None else np.nan for _, r in points], marker="o", label=label)
        ax.set_title(name)
        ax.set_xlabel("accumulator bits P")
        ax.set_ylabel("test accuracy")
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def bias_correction_table(model, calib, x_te, y_te, lines):
    lines += [
        "## (b) Bias compensation (RTN, digits MLP)",
        "",
        "| bits | layer | output MSE before | after | accuracy before | after |",
        "|---|---|---|---|---|---|",
    ]
    for bits in (4, 3, 2):
        q = ptq(model, calib, method="rtn", weight_bits=bits, act_bits=bits)
        before = accuracy(q, x_te, y_te)
        report = bias_compensation(q, copy.deepcopy(model), calib)
        after = accuracy(q, x_te, y_te)
        for i, layer in enumerate(report):
            acc = f"{before:.1%} | {after:.1%}" if i == 0 else " | "
            lines.append(f"| W{bits}A{bits} | {layer.name} | {layer.mse_before:.5f} | {layer.mse_after:.5f} | {acc} |")
    lines.append("")


def maqd_table(lines, epochs: int):
    from brevitas import nn as qnn

    from fpgaq.quant.maqd import LayerBatchNorm2d, maqd_conv2d, maqd_linear, maqd_relu

    x_tr, x_te, y_tr, y_te = digits_split()
    xt, yt = torch.from_numpy(x_tr).reshape(-1, 1, 8, 8), torch.from_numpy(y_tr).long()
    xe = torch.from_numpy(x_te).reshape(-1, 1, 8, 8)
    lines += [
        "## (d) MaQD: QAT with Layer-Batch Normalization vs BatchNorm",
        "",
        f"Digits CNN (conv 16 - norm - ReLU - maxpool - conv 16 - norm - ReLU - linear), round-clip weights and "
        f"activations with surrogate gradients, Adam 3e-3, {epochs} epochs; test accuracy.",
        "",
        "| bits | norm | batch 128 | batch 8 | batch 1 |",
        "|---|---|---|---|---|",
    ]
    for bits in (2, 3, 4):
        for norm_name, norm in (("LBN", LayerBatchNorm2d), ("BatchNorm", torch.nn.BatchNorm2d)):
            cells = []
            for batch in (128, 8, 1):
                torch.manual_seed(0)
                model = torch.nn.Sequential(
                    qnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
                    maqd_conv2d(1, 16, 3, bits, padding=1),
                    norm(16),
                    maqd_relu(bits),
                    torch.nn.MaxPool2d(2),
                    maqd_conv2d(16, 16, 3, bits, padding=1),
                    norm(16),
                    maqd_relu(bits),
                    torch.nn.Flatten(),
                    maqd_linear(16 * 4 * 4, 10, bits, bias=True),
                )
                opt = torch.optim.Adam(model.parameters(), lr=3e-3)
                model.train()
                steps = 0
                for _ in range(epochs):
                    for idx in torch.randperm(len(xt)).split(batch):
                        opt.zero_grad()
                        torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
                        opt.step()
                        steps += 1
                model.eval()
                cells.append(f"{accuracy(model, xe, y_te):.1%}")
                print("maqd", bits, norm_name, batch, cells[-1], flush=True)
            lines.append(f"| W{bits}A{bits} | {norm_name} | " + " | ".join(cells) + " |")
    lines.append("")


class Encoder(torch.nn.Module):
    """8 tokens of 8 pixels, width 32, one 2-head attention block and an MLP, mean-pooled classifier.
    `outlier` multiplies one embedding channel (a massive-activation setting)."""

    def __init__(self, d: int = 32, heads: int = 2, outlier: float = 1.0):
        super().__init__()
        gain = torch.ones(d)
        gain[0] = outlier
        self.register_buffer("gain", gain)
        self.embed = torch.nn.Linear(8, d)
        self.pos = torch.nn.Parameter(torch.zeros(8, d))
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.fc1, self.fc2 = torch.nn.Linear(d, 64), torch.nn.Linear(64, d)
        self.head = torch.nn.Linear(d, 10)
        self.heads = heads

    def forward(self, x):
        t = (self.embed(x.reshape(-1, 8, 8)) + self.pos) * self.gain
        n, s, d = t.shape
        h = self.heads

        def split(y):
            return y.reshape(n, s, h, d // h).transpose(1, 2)

        a = torch.softmax(split(self.q(t)) @ split(self.k(t)).transpose(-1, -2) / (d // h) ** 0.5, -1) @ split(
            self.v(t)
        )
        t = self.ln1(t + self.o(a.transpose(1, 2).reshape(n, s, d)))
        t = self.ln2(t + self.fc2(torch.relu(self.fc1(t))))
        return self.head(t.mean(1))


def ptq_per_tensor(model, calib, bits: int):
    """Per-tensor symmetric PTQ of every Linear's input and weight (max calibration), simulated in float."""
    model = copy.deepcopy(model).eval()
    top = 2 ** (bits - 1) - 1
    scales, hooks = {}, []
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    for name, m in layers:

        def observe(_mod, inp, name=name):
            scales[name] = max(scales.get(name, 0.0), float(inp[0].abs().max()) / top)

        hooks.append(m.register_forward_pre_hook(observe))
    with torch.no_grad():
        model(calib)
    for h in hooks:
        h.remove()

    def fake(x, scale):
        return torch.clamp(torch.round(x / scale), -top, top) * scale

    for name, m in layers:
        with torch.no_grad():
            m.weight.copy_(fake(m.weight, float(m.weight.abs().max()) / top))
        m.register_forward_pre_hook(lambda _mod, inp, s=scales[name]: (fake(inp[0], s),))
    return model


def quanttune_table(lines, epochs: int = 30):
    from fpgaq.quant import QuantTuneLoss, quanttune

    x_tr, x_te, y_tr, y_te = digits_split()
    xt, yt, xe = torch.from_numpy(x_tr), torch.from_numpy(y_tr).long(), torch.from_numpy(x_te)

    def ratio(model):
        probe = QuantTuneLoss(model)
        with torch.no_grad():
            model(xt)
        out = probe.outlier_ratios()
        probe.remove()
        return max(out.values())

    lines += [
        "## (c) QuantTune: per-tensor PTQ of a tiny transformer",
        "",
        "Encoder over digits (8 tokens x 8 pixels, width 32, 2 heads), trained 30 epochs; QuantTune: 5 epochs, "
        "lambda 1, k 3, adaptive. Accuracy drop = float accuracy of the same model minus its PTQ accuracy.",
        "",
        "| setting | model | float | max/sigma | drop 8 bit | 7 | 6 | 5 | 4 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for setting, outlier in (("plain", 1.0), ("outlier channel x30", 30.0)):
        torch.manual_seed(0)
        model = train(Encoder(outlier=outlier), xt, yt, epochs=epochs, seed=None)
        tuned = quanttune(copy.deepcopy(model), xt, yt, epochs=5, lam=1.0, lr=1e-3)
        for name, m in (("baseline", model), ("QuantTune", tuned)):
            base = accuracy(m, xe, y_te)
            drops = [base - accuracy(ptq_per_tensor(m, xt, b), xe, y_te) for b in (8, 7, 6, 5, 4)]
            lines.append(
                f"| {setting} | {name} | {base:.1%} | {ratio(m):.1f} | "
                + " | ".join(f"{100 * d:+.1f}" for d in drops)
                + " |"
            )
            print("quanttune", setting, name, base, drops, flush=True)
    lines.append("")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="P = 14 and 12 only")
    parser.add_argument("--parts", default="a,b,c,d", help="comma-separated parts to (re)measure")
    parser.add_argument("--maqd-epochs", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "docs" / "quantization.md"))
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    out = Path(args.out)
    if not out.exists():
        out.write_text(
            "# Quantization recipes, measured\n\nCommand: `python bench/quant_recipes.py` (digits, 1,347 "
            "calibration / 450 test images; accuracies on the test split).\n"
        )
    x_tr, x_te, _, y_te = digits_split()
    calib, test = torch.from_numpy(x_tr), torch.from_numpy(x_te)
    mlp_model = mlp() if parts & {"a", "b"} else None
    if "a" in parts:
        widths = (14, 12) if args.quick else tuple(range(18, 9, -1))
        lines, series = ["## (a) Accumulator-aware PTQ (AXE), W4A4, 8-bit input", ""], {}
        axe_sweep("MLP 64-96-48-10", mlp_model, calib, test, y_te, widths, lines, series)
        axe_sweep(
            "CNN 16-32 conv", cnn(), calib.reshape(-1, 1, 8, 8), test.reshape(-1, 1, 8, 8), y_te, widths, lines, series
        )
        png = out.with_name("quantization_axe.png")
        plot(series, png)
        lines += [f"![accuracy vs accumulator bits]({png.name})", ""]
        write_section(out, "## (a)", "\n".join(lines))
    if "b" in parts:
        lines = []
        bias_correction_table(mlp_model, calib, test, y_te, lines)
        write_section(out, "## (b)", "\n".join(lines))
    if "c" in parts:
        lines = []
        quanttune_table(lines)
        write_section(out, "## (c)", "\n".join(lines))
    if "d" in parts:
        lines = []
        maqd_table(lines, args.maqd_epochs)
        write_section(out, "## (d)", "\n".join(lines))
    print(out.read_text())


if __name__ == "__main__":
    main()
