"""`fpgaq build`: model -> IR -> stream plan -> HLS project, compiled C-simulation and report.json.

DIR/hls/          generated sources (top.cpp, top.h, params.h, bridge.cpp, testbench.cpp, run_hls.tcl)
                  and lib/ (a copy of the kernel library, so the project is self-contained)
DIR/csim/         the compiled C-simulation library
DIR/host.json     host-side input quantization and output dequantization
DIR/report.json   per-layer shapes, bit widths, accumulators, folding and cycle/resource estimates
DIR/report.html   the same as one self-contained page with plots
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from fpgaq import __version__, frontend, progress
from fpgaq.boards import load_board
from fpgaq.errors import FpgaqError
from fpgaq.estimate import estimate_plan
from fpgaq.estimate.search import search_folding
from fpgaq.hls.codegen import render
from fpgaq.hls.csim import LIBRARY, compile_library
from fpgaq.hls.folding import resolve_folding
from fpgaq.hls.plan import make_plan
from fpgaq.hls.plan_data import boundary_json
from fpgaq.ir import graph as ir
from fpgaq.ir.serialize import input_to_json, output_to_json
from fpgaq.report.html import render_html
from fpgaq.report.layers import layer_rows, totals
from fpgaq.resources import data_dir

MARKER = ".fpgaq-build"
OWNED = ("hls", "csim", "host.json", "model.onnx", "report.json", "report.html", MARKER)
OWNED += ("synth", "vivado", "finn", "deploy")  # written by fpgaq synth


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def prepare_out_dir(out: Path, force: bool) -> None:
    """Refuse a non-empty folder that fpgaq did not create (unless force); clear what an earlier build wrote."""
    if out.exists() and not out.is_dir():
        raise FpgaqError(f"output {str(out)!r} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file() and not force:
        raise FpgaqError(f"output folder {str(out)!r} exists and was not created by fpgaq; use --force to overwrite")
    for name in OWNED:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / MARKER, f"fpgaq build folder (fpgaq {__version__})\n")


def build(
    model: str | os.PathLike,
    board: str,
    out: str | os.PathLike,
    *,
    clock_ns: float | None = None,
    folding: dict | None = None,
    force: bool = False,
    check_overflow: bool = False,
    target_fps: float | str | None = None,
) -> dict:
    """Build the HLS project and its C-simulation; returns the report (also written to DIR/report.json).

    target_fps: a frame rate to reach with the least resources, or "max" for the fastest folding that fits the
    board (fpgaq.estimate.search); `folding` still overrides single layers. None: the default folding.

    check_overflow compiles an instrumented C-simulation: every accumulator is shadowed by an exact sum and the
    first value that does not fit its declared width makes CSim.run fail, naming the layer and channel.
    """
    load_board(board)  # an unknown board is reported before the model is read
    graph = frontend.load(model)
    report = build_graph(
        graph,
        board,
        out,
        Path(model).name,
        clock_ns=clock_ns,
        folding=folding,
        force=force,
        check_overflow=check_overflow,
        target_fps=target_fps,
    )
    shutil.copyfile(model, Path(out) / "model.onnx")  # the FINN backend of fpgaq synth builds from it
    return report


def build_graph(
    graph: ir.Graph,
    board: str,
    out: str | os.PathLike,
    model_name: str,
    *,
    clock_ns: float | None = None,
    folding: dict | None = None,
    force: bool = False,
    check_overflow: bool = False,
    acc_delta: dict | None = None,
    target_fps: float | str | None = None,
) -> dict:
    """build() on a lowered graph. acc_delta {layer: (inner, outer)} changes accumulator widths by that many
    bits: only tests use it, to show that one bit less overflows."""
    board_info = load_board(board)
    clock = board_info.clock_ns if clock_ns is None else float(clock_ns)
    if not clock > 0:
        raise FpgaqError(f"clock period must be positive, not {clock_ns!r} ns")
    search = None
    if target_fps is not None:
        with progress.step("searching the folding"):
            fps = None if target_fps == "max" else float(target_fps)
            result = search_folding(graph, board_info, clock, fps, folding)
        fold = result.folding
        search = {"target_fps": target_fps, "target_cycles": result.target_cycles}
    else:
        fold = resolve_folding(graph, folding)
    plan = make_plan(graph, fold, acc_delta)
    estimate = estimate_plan(plan, board_info, clock)
    sources = render(plan, board_info, clock, model_name)
    out = Path(out)
    prepare_out_dir(out, force)
    hls_dir = out / "hls"
    for name, text in sources.items():
        write_atomic(hls_dir / name, text)
    shutil.copytree(data_dir("hls"), hls_dir / "lib", ignore=shutil.ignore_patterns("README.md"))
    host = {
        "input": input_to_json(graph.input, graph.tensors[graph.input.tensor].shape),
        "output": output_to_json(graph.output),
        "axis": {"input": boundary_json(plan.input), "output": boundary_json(plan.output)},
    }
    write_atomic(out / "host.json", json.dumps(host, indent=1, sort_keys=True) + "\n")
    defines = ("FPGAQ_CHECK_OVERFLOW",) if check_overflow else ()
    with progress.step("compiling the C-simulation (g++)"):
        compiled = compile_library(hls_dir, out / "csim" / LIBRARY, defines)
    report = make_report(graph, fold, plan, board_info, clock, model_name, estimate)
    report["check_overflow"] = check_overflow
    report["folding_search"] = search
    write_report(out, report)
    report["_compile"] = compiled
    return report


def write_report(out: Path, report: dict) -> None:
    """DIR/report.json and DIR/report.html from one report dict."""
    public = {k: v for k, v in report.items() if not k.startswith("_")}
    write_atomic(out / "report.json", json.dumps(public, indent=2, sort_keys=True) + "\n")
    write_atomic(out / "report.html", render_html(public))


def record_accuracy(
    build_dir: str | os.PathLike,
    outputs: np.ndarray,
    labels: np.ndarray,
    *,
    source: str = "",
    reference: np.ndarray | None = None,
) -> float:
    """Argmax accuracy of C-simulation outputs; recorded in DIR/report.json and report.html. `reference`: the
    quantized model's own predictions (e.g. PyTorch), compared prediction by prediction."""
    out = Path(build_dir)
    try:
        report = json.loads((out / "report.json").read_text())
    except FileNotFoundError:
        raise FpgaqError(f"{str(out)!r} has no report.json: is it a folder written by fpgaq build?") from None
    predictions = outputs.reshape(len(outputs), -1).argmax(axis=1)
    accuracy = float((predictions == labels).mean())
    csim = {"samples": int(len(labels)), "accuracy": accuracy, "source": source, "reference_accuracy": None}
    if reference is not None:
        csim["reference_accuracy"] = float((reference == labels).mean())
        csim["agree"] = int((reference == predictions).sum())
    report["csim"] = csim
    write_report(out, report)
    return accuracy


def make_report(graph: ir.Graph, fold: dict, plan, board, clock_ns: float, model_name: str, estimate: dict) -> dict:
    rows = layer_rows(graph)
    for row in rows:
        if row["name"] in estimate["layers"]:
            row["estimate"] = estimate["layers"][row["name"]]
        if row["name"] in fold:
            row["pe"], row["simd"] = fold[row["name"]]
            acc = plan.accumulators[row["name"]]
            row["acc_bits"] = acc["outer_bits"]
            if acc["tiled"]:
                row["acc_bits_inner"], row["acc_bits_outer"] = acc["inner_bits"], acc["outer_bits"]
            if row["name"] in plan.fused:
                row["fused_threshold"] = plan.fused[row["name"]]
    return {
        "fpgaq_version": __version__,
        "model": model_name,
        "board": {"name": board.name, "description": board.description, "part": board.part, "clock_ns": clock_ns},
        "input": {
            "shape": list(graph.tensors[graph.input.tensor].shape),
            "type": str(graph.tensors[graph.input.tensor].dtype),
        },
        "output": {
            "shape": list(graph.output.layout_shape),
            "type": str(graph.tensors[graph.output.tensor].dtype),
            "quantized": graph.output.quant is not None,
        },
        "layers": rows,
        "kernels": list(plan.layer_ids),
        "estimate": {"kernels": estimate["kernels"]},
        "totals": {**totals(rows), **estimate["totals"]},
    }
