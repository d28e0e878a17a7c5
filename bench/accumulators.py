"""Accumulator widths side by side: fpgaq's exact widths, FINN's MinimizeAccumulatorWidth, hls4ml's 'auto'
accumulator precision and the data-type bound, per dot-product layer of Brevitas models trained on digits.

    python bench/accumulators.py [--finn-python /path/to/finn-venv/bin/python] [--out docs/benchmarks.md]

FINN (finn-plus) pins older brevitas/onnx, so it runs in its own virtual environment through
bench/finn_accumulators.py; without --finn-python (or $FINN_PYTHON) its column says "not run". Its flow needs
XILINX_VIVADO to name a Vivado version folder even for these transformations; a placeholder folder is given
(nothing of Vivado is run). hls4ml: the documented QONNX flow with every layer's accumulator precision 'auto'.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

from bench.models import MODELS, export, trained_model  # noqa: E402
from bench.report import write_section  # noqa: E402


def fpgaq_rows(path) -> list[dict]:
    from fpgaq import frontend
    from fpgaq.report.layers import layer_rows

    return [r for r in layer_rows(frontend.load(path)) if "acc_bits" in r]


def hls4ml_widths(path, work) -> list[int] | str:
    try:
        import hls4ml
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
        from qonnx.transformation.gemm_to_matmul import GemmToMatMul
        from qonnx.util.cleanup import cleanup_model

        model = cleanup_model(ModelWrapper(str(path)))
        model = cleanup_model(model.transform(ConvertToChannelsLastAndClean()).transform(GemmToMatMul()))
        config = hls4ml.utils.config.config_from_onnx_model(
            model, granularity="name", backend="Vitis", default_precision="fixed<16,6>"
        )
        for layer in config["LayerName"].values():
            if isinstance(layer.get("Precision"), dict):
                layer["Precision"]["accum"] = "auto"
        hm = hls4ml.converters.convert_from_onnx_model(
            model, output_dir=str(work), backend="Vitis", io_type="io_parallel", hls_config=config
        )
    except Exception as exc:  # the peer's failure is a result
        return f"fails ({type(exc).__name__})"
    widths = []
    for layer in hm.get_layers():
        if layer.class_name in ("Dense", "Conv1D", "Conv2D", "DepthwiseConv2D", "PointwiseConv2D"):
            widths.append(layer.get_attr("accum_t").precision.width)
    return widths


def finn_widths(paths, finn_python) -> dict:
    if not finn_python:
        return {}
    fake = Path(tempfile.mkdtemp()) / "Vivado" / "2024.2"
    fake.mkdir(parents=True)
    env = dict(os.environ, XILINX_VIVADO=str(fake))
    proc = subprocess.run(
        [finn_python, str(ROOT / "bench" / "finn_accumulators.py"), *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if proc.returncode != 0:
        return {str(p): {"ok": False, "error": proc.stderr.strip().splitlines()[-1][:100]} for p in paths}
    return json.loads(proc.stdout)


def _bits(finn_type: str) -> int:
    return int("".join(ch for ch in finn_type if ch.isdigit()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finn-python", default=os.environ.get("FINN_PYTHON"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fpgaq-acc-"))
    paths = {}
    for i, (name, (_, shape)) in enumerate(MODELS.items()):
        paths[name] = export(trained_model(name), shape, tmp / f"m{i}.onnx")
    finn = finn_widths(list(paths.values()), args.finn_python)
    lines = [
        "| model | layer | K | input | weights | data-type bound | hls4ml auto | FINN | fpgaq (exact) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    totals = {"datatype": 0, "hls4ml": 0, "finn": 0, "fpgaq": 0, "fpgaq_vs_hls4ml": 0, "fpgaq_vs_finn": 0}
    notes = []
    for name, path in paths.items():
        rows = fpgaq_rows(path)
        peer = hls4ml_widths(path, tmp / f"h4_{len(lines)}")
        f = finn.get(str(path))
        finn_bits = [_bits(layer["acc"]) for layer in f["layers"]] if f and f["ok"] else None
        if isinstance(peer, str):
            notes.append(f"{name}: hls4ml {peer}")
        elif len(peer) != len(rows):
            notes.append(f"{name}: hls4ml reports {len(peer)} accumulators for {len(rows)} layers; not compared")
            peer = "layer mismatch"
        if f and not f["ok"]:
            notes.append(f"{name}: FINN fails ({f['error']})")
        elif finn_bits is not None and len(finn_bits) != len(rows):
            notes.append(f"{name}: FINN has {len(finn_bits)} MVAU/VVAU layers for {len(rows)}; not compared")
            finn_bits = None
        for i, r in enumerate(rows):
            k = r["dot_length"]
            h = peer[i] if isinstance(peer, list) else "-"
            fb = finn_bits[i] if finn_bits else "-"
            lines.append(
                f"| {name} | {r['name']} | {k} | {r['input_type']} | {r['weight_type']} | "
                f"{r['acc_bits_datatype']} | {h} | {fb} | {r['acc_bits']} |"
            )
            assert r["acc_bits"] == r["acc_bits_exact"]
            totals["datatype"] += r["acc_bits_datatype"]
            totals["fpgaq"] += r["acc_bits"]
            if isinstance(peer, list):
                totals["hls4ml"] += h
                totals["fpgaq_vs_hls4ml"] += r["acc_bits"]
            if finn_bits:
                totals["finn"] += fb
                totals["fpgaq_vs_finn"] += r["acc_bits"]
                if r["acc_bits"] > fb:
                    notes.append(f"{name} {r['name']}: fpgaq {r['acc_bits']} bits is wider than FINN's {fb}")
    summary = [
        f"- total accumulator bits: fpgaq {totals['fpgaq']} vs data-type bound {totals['datatype']} "
        f"({1 - totals['fpgaq'] / totals['datatype']:.1%} fewer)",
    ]
    if totals["hls4ml"]:
        summary.append(
            f"- on the layers hls4ml converts: fpgaq {totals['fpgaq_vs_hls4ml']} vs hls4ml 'auto' "
            f"{totals['hls4ml']} ({1 - totals['fpgaq_vs_hls4ml'] / totals['hls4ml']:.1%} fewer)"
        )
    if totals["finn"]:
        summary.append(
            f"- on the layers FINN converts: fpgaq {totals['fpgaq_vs_finn']} vs FINN "
            f"{totals['finn']} (ratio {totals['fpgaq_vs_finn'] / totals['finn']:.3f})"
        )
    else:
        summary.append("- FINN: not run (no --finn-python)" if not finn else "- FINN: no layer compared")
    section = "\n".join(
        [
            "## Accumulator widths: fpgaq vs FINN vs hls4ml",
            "",
            "Command: `python bench/accumulators.py --finn-python <finn-plus venv>/bin/python` "
            "(models trained 15 epochs on digits with Brevitas QAT).",
            "",
            *lines,
            "",
            *summary,
            *(f"- {n}" for n in notes),
            "",
        ]
    )
    write_section(Path(args.out), "## Accumulator widths", section)
    print(section)


if __name__ == "__main__":
    main()
