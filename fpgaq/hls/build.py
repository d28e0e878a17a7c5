"""`fpgaq build`: model -> IR -> stream plan -> HLS project, compiled C-simulation and report.json.

DIR/hls/          generated sources (top.cpp, top.h, params.h, bridge.cpp, testbench.cpp, run_hls.tcl)
                  and lib/ (a copy of the kernel library, so the project is self-contained)
DIR/csim/         the compiled C-simulation library
DIR/host.json     host-side input quantization and output dequantization
DIR/report.json   per-layer shapes, bit widths, accumulators, folding and cycle/resource estimates
DIR/report.html   the same as one self-contained page with plots
DIR/vivado/build_bitstream.tcl   the block design for the board (boards with a processing system)
DIR/model.onnx    the model as given (and model.onnx.data when it keeps external data), for the FINN backend
DIR/.fpgaq-build  the manifest of what fpgaq wrote (fpgaq.outdir), written last
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import onnx

from fpgaq import __version__, frontend, outdir, progress
from fpgaq.boards import load_board
from fpgaq.errors import FpgaqError
from fpgaq.estimate import estimate_plan
from fpgaq.estimate.search import search_folding
from fpgaq.frontend.reader import load_external_data
from fpgaq.hls.codegen import deploy_scripts, render
from fpgaq.hls.csim import LIBRARY, compile_library
from fpgaq.hls.folding import resolve_folding
from fpgaq.hls.plan import make_plan
from fpgaq.hls.plan_data import boundary_json
from fpgaq.ir import graph as ir
from fpgaq.ir.serialize import input_to_json, output_to_json
from fpgaq.outdir import write_atomic
from fpgaq.report.html import render_html
from fpgaq.report.layers import layer_rows, totals
from fpgaq.resources import data_dir

MAX_TABLE_VALUES = 1 << 24  # constant table entries one build may hold (docs/robustness.md)
MIN_CLOCK_NS, MAX_CLOCK_NS = 1.0, 1000.0


def check_clock(clock_ns, board) -> tuple[float, list[str]]:
    """The clock period to build for (default: the board's) and the warnings it deserves."""
    if clock_ns is None:
        return board.clock_ns, []
    try:
        clock = float(clock_ns)
    except (TypeError, ValueError):
        clock = math.nan
    if not MIN_CLOCK_NS <= clock <= MAX_CLOCK_NS:
        raise FpgaqError(
            f"clock period must be from {MIN_CLOCK_NS:g} to {MAX_CLOCK_NS:g} ns, not {clock_ns!r} ns "
            f"({board.name}'s default is {board.clock_ns:g} ns)"
        )
    warnings = []
    if 1000.0 / clock > board.max_clock_mhz:
        warnings.append(
            f"--clock-ns {clock:g} asks for {1000.0 / clock:g} MHz; a {board.family} design on {board.name} is "
            f"not expected to run faster than {board.max_clock_mhz:g} MHz"
        )
    return clock, warnings


def table_values(graph: ir.Graph) -> int:
    """Entries of the constant tables a build writes (weights, biases, thresholds)."""
    total = 0
    for node in graph.nodes:
        for name in ("weight", "bias", "thresholds"):
            value = getattr(node, name, None)
            total += 0 if value is None else int(value.size)
    return total


def check_size(graph: ir.Graph) -> None:
    """Refuse a model whose tables would make params.h and g++'s memory unreasonable (docs/robustness.md)."""
    values = table_values(graph)
    if values > MAX_TABLE_VALUES:
        raise FpgaqError(
            f"the model's weight and threshold tables hold {values:,} values; fpgaq build handles at most "
            f"{MAX_TABLE_VALUES:,} (params.h would be about {values * 3.5 / 1e6:,.0f} MB and its C-simulation "
            f"would need about {values * 160 / 1e9:,.1f} GB of memory in g++)"
        )


def copy_model(model: Path, folder: Path) -> None:
    """folder/model.onnx: the model as given (the FINN backend builds from it); external data beside it as
    folder/model.onnx.data."""
    proto = onnx.load(str(model), load_external_data=False)
    if not load_external_data(proto, model.parent):
        shutil.copyfile(model, folder / "model.onnx")
        return
    onnx.save_model(
        proto,
        str(folder / "model.onnx"),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="model.onnx.data",
        size_threshold=1024,
    )


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

    DIR is replaced only where fpgaq wrote it before (fpgaq.outdir); the model is read before anything there
    changes, so DIR/model.onnx itself can be rebuilt.
    """
    board_info = load_board(board)  # an unknown board is reported before the model is read
    check_clock(clock_ns, board_info)
    model = Path(model)
    graph = frontend.load(model)
    return build_graph(
        graph,
        board_info.name,
        out,
        model.name,
        clock_ns=clock_ns,
        folding=folding,
        force=force,
        check_overflow=check_overflow,
        target_fps=target_fps,
        model_file=model,
    )


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
    model_file: Path | None = None,
) -> dict:
    """build() on a lowered graph. acc_delta {layer: (inner, outer)} changes accumulator widths by that many
    bits: only tests use it, to show that one bit less overflows."""
    board_info = load_board(board)
    clock, warnings = check_clock(clock_ns, board_info)
    problem = outdir.tool_path_problem(Path(out).resolve())
    if problem:
        warnings.append(f"{problem}; fpgaq synth will refuse this folder (C-simulation is not affected)")
    check_size(graph)
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
    host = {
        "input": input_to_json(graph.input, graph.tensors[graph.input.tensor].shape),
        "output": output_to_json(graph.output),
        "axis": {"input": boundary_json(plan.input), "output": boundary_json(plan.output)},
    }
    report = make_report(graph, fold, plan, board_info, clock, model_name, estimate)
    report["check_overflow"] = check_overflow
    report["folding_search"] = search
    report["warnings"] = warnings
    defines = ("FPGAQ_CHECK_OVERFLOW",) if check_overflow else ()
    with outdir.rewrite(out, force) as stage:
        hls_dir = stage / "hls"
        for name, text in sources.items():
            write_atomic(hls_dir / name, text)
        shutil.copytree(data_dir("hls"), hls_dir / "lib", ignore=shutil.ignore_patterns("README.md"))
        for name, text in deploy_scripts(board_info, clock, host["axis"], model_name).items():
            write_atomic(stage / name, text)
        write_atomic(stage / "host.json", json.dumps(host, indent=1, sort_keys=True) + "\n")
        if model_file is not None:
            copy_model(model_file, stage)
        with progress.step("compiling the C-simulation (g++)"):
            compiled = compile_library(hls_dir, stage / "csim" / LIBRARY, defines)
        write_report(stage, report)
    report["_compile"] = compiled
    return report


def write_report(out: Path, report: dict) -> None:
    """DIR/report.json and DIR/report.html from one report dict (the caller holds the folder's lock)."""
    public = {k: v for k, v in report.items() if not k.startswith("_")}
    text = json.dumps(public, indent=2, sort_keys=True, allow_nan=False) + "\n"
    write_atomic(out / "report.json", text)
    write_atomic(out / "report.html", render_html(public))


def read_report(build_dir: str | os.PathLike) -> dict:
    """DIR/report.json of a complete build folder, checked to be an object."""
    out = Path(build_dir)
    if not outdir.is_complete(out) or not (out / "report.json").is_file():
        raise FpgaqError(f"{str(out)!r} is not an fpgaq build folder (run fpgaq build first)")
    try:
        report = json.loads((out / "report.json").read_bytes())
    except (ValueError, RecursionError):
        raise FpgaqError(f"{str(out / 'report.json')!r} is damaged (not JSON); rebuild the folder") from None
    if not isinstance(report, dict) or not isinstance(report.get("board"), dict):
        raise FpgaqError(f"{str(out / 'report.json')!r} is damaged (not an fpgaq report); rebuild the folder")
    return report


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
    predictions = outputs.reshape(len(outputs), -1).argmax(axis=1)
    accuracy = float((predictions == labels).mean())
    csim = {"samples": int(len(labels)), "accuracy": accuracy, "source": source, "reference_accuracy": None}
    if reference is not None:
        csim["reference_accuracy"] = float((reference == labels).mean())
        csim["agree"] = int((reference == predictions).sum())
    with outdir.updating(out):
        report = read_report(out)
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
