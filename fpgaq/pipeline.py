"""The build pipeline: load -> fold -> plan -> estimate -> emit -> compile -> report.

Each stage is a function of the previous stage's value, callable and testable alone (FINN's step_x(model, cfg)
-> model): `load` lowers a QONNX file to the IR (fpgaq.frontend), `fold` chooses PE/SIMD (fpgaq.plan.folding or
the search of fpgaq.estimate.search), `plan` builds the kernel plan (fpgaq.plan), `estimate` costs it
(fpgaq.estimate), `emit` and `compile` go through a backend (fpgaq.backends), `report` assembles the typed
report (fpgaq.report.model). `build` runs them all into an output folder (fpgaq.outdir):

DIR/hls/          generated sources (top.cpp, config.h, top.h, params.h, bridge.cpp, testbench.cpp, run_hls.tcl)
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

import dataclasses
import json
import math
import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import onnx

from fpgaq import __version__, frontend, outdir, progress
from fpgaq.backends import get_backend
from fpgaq.boards import Board, load_board
from fpgaq.errors import BoardError, FpgaqError
from fpgaq.estimate import estimate_plan
from fpgaq.estimate.fit import DEFAULT_MAX_UTILIZATION, fit_section, parse_utilization
from fpgaq.estimate.placement import PlacementError, check_weight_memory, place_weights
from fpgaq.estimate.search import check_fits, search_folding
from fpgaq.frontend.reader import load_external_data
from fpgaq.ir import graph as ir
from fpgaq.ir.serialize import input_to_json, output_to_json
from fpgaq.outdir import write_atomic
from fpgaq.plan import make_plan
from fpgaq.plan.folding import resolve_folding
from fpgaq.plan.kernels import Plan
from fpgaq.plan.lint import check_plan
from fpgaq.report.files import write_report
from fpgaq.report.layers import layer_rows, totals
from fpgaq.report.model import Report

MAX_TABLE_VALUES = 1 << 24  # constant table entries one build may hold (docs/robustness.md)
MAX_FIFO_DEPTH = 1 << 20  # words; --fifo-depth beyond this is a typo, not an experiment
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


@dataclass(frozen=True)
class Folding:
    """The folding stage's result: (PE, SIMD) per dot-product layer and how it was chosen."""

    layers: dict
    search: dict | None = None  # {"target_fps", "target_cycles"} when the search chose it


@dataclass(frozen=True)
class Target:
    """Where a build goes: the board, its clock and the backend."""

    board: Board
    clock_ns: float
    backend: str = "hls"
    warnings: tuple = ()
    weight_memory: str = "auto"  # where weights go on a board with UltraRAM (fpgaq.estimate.placement)
    max_utilization: Fraction = DEFAULT_MAX_UTILIZATION  # the folding search's and placement's limit per resource

    @staticmethod
    def of(board: str, clock_ns: float | None = None, backend: str = "hls", weight_memory: str = "auto",
           max_utilization=None) -> Target:  # fmt: skip
        """A board by name, a clock period (default: the board's), a backend, a weight placement and the search's
        limit per resource (a percentage, default 85), each checked."""
        limit = DEFAULT_MAX_UTILIZATION if max_utilization is None else parse_utilization(max_utilization)
        get_backend(backend)
        board_info = load_board(board)
        if backend == "hls" and not board_info.is_xilinx:
            raise BoardError(f"{board_info.name} has an {board_info.family} part; the HLS backend's flow (Vitis HLS, "
                             "Vivado) targets Xilinx parts: use --backend rtl")  # fmt: skip
        clock, warnings = check_clock(clock_ns, board_info)
        check_weight_memory(board_info, weight_memory)  # before the model is read
        if backend != "hls":  # the RTL library's weights are ROMs; only the HLS top writes UltraRAM at run time
            if weight_memory == "uram":
                raise PlacementError(f"--weight-memory uram needs --backend hls, not {backend}")
            weight_memory = "bram"
        return Target(board_info, clock, backend, tuple(warnings), weight_memory, limit)

    def warn(self, *messages: str) -> Target:
        return dataclasses.replace(self, warnings=self.warnings + tuple(messages))


# ---- the stages ----------------------------------------------------------------------------------------------


def load(model: str | os.PathLike) -> ir.Graph:
    """QONNX file -> integer IR (lowered, passes applied)."""
    return frontend.load(model)


def fold(graph: ir.Graph, target: Target, folding: dict | None = None, target_fps=None) -> Folding:
    """PE/SIMD per dot-product layer: the default, or the search's for target_fps (a number or "max"), with the
    user's `folding` overriding single layers."""
    if target_fps is None:
        return Folding(resolve_folding(graph, folding))
    with progress.step("searching the folding"):
        fps = None if target_fps == "max" else float(target_fps)
        result = search_folding(graph, target.board, target.clock_ns, fps, folding, target.max_utilization,
                                target.weight_memory)  # fmt: skip
    search = {"target_fps": target_fps, "target_cycles": result.target_cycles}
    if target.max_utilization != DEFAULT_MAX_UTILIZATION:
        search["max_utilization_percent"] = float(target.max_utilization * 100)
    if result.note is not None:  # the search's own folding was costlier than the default
        search.update(kept_default=True, note=result.note)
    return Folding(result.folding, search)


def plan(graph: ir.Graph, folding: Folding, target: Target | None = None) -> Plan:
    """The kernel plan of the graph at this folding; with a target, its weights placed for the board
    (fpgaq.estimate.placement)."""
    plan_ = make_plan(graph, folding.layers)
    return plan_ if target is None else place_weights(plan_, target.board, target.weight_memory, target.max_utilization)


def estimate(plan_: Plan, target: Target) -> dict:
    """Cycles and resources of every kernel, per layer and in total against the board."""
    return estimate_plan(plan_, target.board, target.clock_ns, target.backend)


def emit(plan_: Plan, target: Target, model_name: str) -> dict[str, str | bytes]:
    """Build-folder path -> content of the backend's sources and scripts."""
    return get_backend(target.backend).emit(plan_, target.board, target.clock_ns, model_name)


def host(graph: ir.Graph, plan_: Plan) -> dict:
    """host.json: input quantization, output dequantization and the AXI-Stream packing of both ends."""
    data = {
        "input": input_to_json(graph.input, graph.tensors[graph.input.tensor].shape),
        "output": output_to_json(graph.output),
        "axis": {"input": axis_json(plan_.input), "output": axis_json(plan_.output)},
    }
    if plan_.runtime_tables:  # weights in UltraRAM: deploy/weights/NAME.bin, written by the host at run time
        data["weights"] = [{"name": t.name, "rows": t.shape[0], "lanes": t.shape[1], "bits": t.elem.bits,
                            "signed": t.elem.signed} for t in plan_.runtime_tables]  # fmt: skip
    return data


def stream_table(plan_: Plan, depths: dict[str, int]) -> dict:
    """report.json's FIFOs: name -> depth, word bits, and the kernels that write and read it."""
    table = {s.name: {"depth": depths.get(s.name, 2), "bits": s.bits, "writer": None, "reader": None}
             for s in plan_.streams}  # fmt: skip
    for kernel in plan_.kernels:
        for s in kernel.outputs():
            if s.name in table:
                table[s.name]["writer"] = kernel.name
        for s in kernel.inputs():
            if s.name in table:
                table[s.name]["reader"] = kernel.name
    return table


def axis_json(b) -> dict:
    """What the host needs to pack and unpack AXI-Stream words (fpgaq.host.pack_words / unpack_words)."""
    return {
        "num": b.num,
        "pack": b.pack,
        "bits": b.bits,
        "word": b.word,
        "signed": b.elem.signed,
        "order": list(b.order),
    }


def report(graph: ir.Graph, folding: Folding, plan_: Plan, target: Target, model_name: str, cost: dict,
           check_overflow: bool = False) -> Report:  # fmt: skip
    """The typed report of a build (before any C-simulation or synthesis adds to it)."""
    rows = layer_rows(graph)
    for row in rows:
        if row["name"] in cost["layers"]:
            row["estimate"] = cost["layers"][row["name"]]
        if row["name"] in folding.layers:
            row["pe"], row["simd"] = folding.layers[row["name"]]
            acc = plan_.accumulators[row["name"]]
            row["acc_bits"] = acc["outer_bits"]
            if acc["tiled"]:
                row["acc_bits_inner"], row["acc_bits_outer"] = acc["inner_bits"], acc["outer_bits"]
            if row["name"] in plan_.fused:
                row["fused_threshold"] = plan_.fused[row["name"]]
    board = target.board
    t_in, t_out = graph.tensors[graph.input.tensor], graph.tensors[graph.output.tensor]
    return Report(
        fpgaq_version=__version__,
        model=model_name,
        board={"name": board.name, "description": board.description, "part": board.part, "clock_ns": target.clock_ns},
        input={"shape": list(t_in.shape), "type": str(t_in.dtype)},
        output={
            "shape": list(graph.output.layout_shape),
            "type": str(t_out.dtype),
            "quantized": graph.output.quant is not None,
        },
        layers=rows,
        kernels=list(plan_.layer_ids),
        estimate={"kernels": cost["kernels"]},
        totals={**totals(rows), **cost["totals"]},
        backend=target.backend,
        check_overflow=check_overflow,
        folding_search=folding.search,
        warnings=list(target.warnings),
        fit=fit_section(cost["totals"], board),
    )


# ---- a build folder ------------------------------------------------------------------------------------------


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
    backend: str = "hls",
    fifo_depth: int | None = None,
    weight_memory: str = "auto",
    max_utilization=None,
) -> Report:
    """Every stage into the folder `out`; returns the report (also written to DIR/report.json).

    target_fps: a frame rate to reach with the least resources, or "max" for the fastest folding that fits the
    board (fpgaq.estimate.search); `folding` still overrides single layers. None: the default folding.

    weight_memory: "auto", "bram" or "uram" (fpgaq.estimate.placement): where weights go on a board with
    UltraRAM; UltraRAM weights are written by the host at run time.

    max_utilization: the percentage of each resource the folding search and the placement may use (default 85),
    compared exactly (fpgaq.estimate.fit). A build whose estimate exceeds the board still completes when a
    slower folding would fit, with a warning naming each resource over and report.json's `fit` saying so; when
    not even PE = SIMD = 1 fits it is refused before anything is compiled (check_fits).

    fifo_depth forces every stream FIFO to that depth (experiments); None sizes each with the timed dataflow
    simulation (fpgaq.backends.hls.timed): the smallest depth that keeps full throughput without deadlock.

    check_overflow compiles an instrumented C-simulation: every accumulator is shadowed by an exact sum and the
    first value that does not fit its declared width makes the run fail, naming the layer and channel.

    DIR is replaced only where fpgaq wrote it before (fpgaq.outdir); the model is read before anything there
    changes, so DIR/model.onnx itself can be rebuilt.
    """
    # a bad board, clock, mode or limit before reading the model
    target = Target.of(board, clock_ns, backend, weight_memory, max_utilization)
    model = Path(model)
    graph = load(model)
    return build_graph(graph, target, out, model.name, folding=folding, force=force, check_overflow=check_overflow,
                       target_fps=target_fps, model_file=model, fifo_depth=fifo_depth)  # fmt: skip


def build_graph(
    graph: ir.Graph,
    target: Target | str,
    out: str | os.PathLike,
    model_name: str,
    *,
    folding: dict | None = None,
    force: bool = False,
    check_overflow: bool = False,
    target_fps: float | str | None = None,
    model_file: Path | None = None,
    fifo_depth: int | None = None,
) -> Report:
    """build() from a lowered graph (target: a Target, or a board name at its default clock)."""
    target = Target.of(target) if isinstance(target, str) else target
    if fifo_depth is not None and not (isinstance(fifo_depth, int) and 2 <= fifo_depth <= MAX_FIFO_DEPTH):
        raise FpgaqError(f"--fifo-depth must be an integer from 2 to {MAX_FIFO_DEPTH}, not {fifo_depth!r}")
    check_size(graph)
    folded = fold(graph, target, folding, target_fps)
    if folded.search and folded.search.get("note"):  # the search's folding was costlier than the default
        target = target.warn(folded.search["note"])
    plan_ = plan(graph, folded, target)
    return build_plan(graph, folded, plan_, target, out, model_name, force=force, check_overflow=check_overflow,
                      model_file=model_file, fifo_depth=fifo_depth)  # fmt: skip


def build_plan(
    graph: ir.Graph,
    folding: Folding,
    plan_: Plan,
    target: Target,
    out: str | os.PathLike,
    model_name: str,
    *,
    force: bool = False,
    check_overflow: bool = False,
    model_file: Path | None = None,
    fifo_depth: int | None = None,
) -> Report:
    """Estimate, emit, compile and report a plan into the folder `out` (tests pass plans they changed)."""
    problem = outdir.tool_path_problem(Path(out).resolve())
    if problem:
        message = f"{problem}; fpgaq synth will refuse this folder (C-simulation is not affected)"
        target = target.warn(message)
    lint_warnings = check_plan(plan_)  # a kernel that would miss its II: refused, or warned about and counted
    if lint_warnings:
        target = target.warn(*lint_warnings)
    # exit 2 before any compile
    check_fits(graph, estimate(plan_, target), target.board, target.clock_ns, target.weight_memory)
    backend = get_backend(target.backend)
    with outdir.rewrite(out, force) as stage:
        for name, content in emit(plan_, target, model_name).items():
            write_atomic(stage / name, content)
        write_atomic(stage / "host.json", json.dumps(host(graph, plan_), indent=1, sort_keys=True) + "\n")
        if model_file is not None:
            copy_model(model_file, stage)
        with progress.step("compiling the C-simulation (g++)"):
            compiled = backend.compile(stage, check_overflow)
        if fifo_depth is None:
            with progress.step("sizing the FIFOs (timed dataflow simulation)"):
                depths, sizing = backend.size_fifos(compiled, plan_, target.board, target.clock_ns, model_name)
            fifos = {"sized_by": sizing.get("sized_by", "timed simulation"),
                     "steady_cycles_per_frame": sizing["interval"], "runs": sizing["runs"]}  # fmt: skip
        else:
            depths = {s.name: fifo_depth for s in plan_.streams}
            fifos = {"sized_by": "--fifo-depth"}
            with progress.step("checking the FIFO depths (timed dataflow simulation)"):
                problem = backend.check_fifos(compiled, plan_, depths, stream_table(plan_, depths))
            if problem:
                target = target.warn(problem)
        fifos["streams"] = stream_table(plan_, depths)
        plan_ = dataclasses.replace(plan_, depths=depths)
        cost = estimate(plan_, target)  # with the FIFOs at their depths
        fit = check_fits(graph, cost, target.board, target.clock_ns, target.weight_memory)
        if fit:
            target = target.warn(fit)
        result = report(graph, folding, plan_, target, model_name, cost, check_overflow).replace(fifos=fifos)
        for name, content in emit(plan_, target, model_name).items():  # the top with its FIFO depths
            write_atomic(stage / name, content)
        compiled = backend.finish(stage, compiled)
        write_report(stage, result)
    return result.replace(compiled=compiled)
