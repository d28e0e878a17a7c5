"""The timed dataflow simulation (fpgaq simulate): outputs equal to the golden model and the C-simulation, cycles
per frame and latency within 10% of the estimate on every test model, FIFOs sized by it keep a fork from
deadlocking and are each as small as they can be, a forced depth of 2 deadlocks (named, exit 3, in bounded time),
and bad input is refused with exit 2."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fpgaq.backends.hls.csim import LIBRARY, CSim, compile_library
from fpgaq.backends.hls.timed import (
    SEARCH_TOLERANCE,
    SIZING_FRAMES,
    Deadlock,
    TimedSim,
    declared_depths,
    load,
    size_fifos,
)
from fpgaq.cli import main
from fpgaq.ir.execute import run
from fpgaq.pipeline import build_graph
from fpgaq.report.files import read_report
from fpgaq.simulate import simulate
from tests.models import BUILDERS

TOLERANCE = 0.10  # issue 15: the cycle model within 10% of the simulation
FRAMES = 6


def _inputs(graph, n: int = FRAMES, seed: int = 3) -> np.ndarray:
    shape = graph.tensors[graph.input.tensor].shape
    return np.random.default_rng(seed).normal(0.0, 1.5, size=(n, *shape)).astype(np.float32)


def _agree(section: dict) -> None:
    for key in ("cycles_per_frame", "latency_cycles"):
        estimate, simulated = section["estimate"][key], section[key]
        assert abs(estimate - simulated) <= TOLERANCE * simulated, (key, estimate, simulated)


@pytest.mark.parametrize("folding", ["ones", "default", "max"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_simulation_equals_golden_and_the_estimate(built, lowered, name, folding):
    _, out, path = built(name, False, folding)
    graph = lowered(path)
    x = _inputs(graph)
    y, section = simulate(out, x, source="x.npy")
    np.testing.assert_array_equal(y, run(graph, x))
    np.testing.assert_array_equal(y, CSim(out).run(x))
    assert section["deadlock"] is False and section["frames"] == FRAMES
    _agree(section)
    assert read_report(out).simulation == section  # recorded beside the estimate it checks
    # each kernel's busy cycles are exactly its estimated cycles per frame, frame after frame
    busy = {s["name"]: s["busy"] for s in section["kernels"]}
    assert busy == {k["name"]: FRAMES * k["cycles"] for k in read_report(out).estimate["kernels"]}


# ---- a fork: FIFO sizing and deadlock -------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["cnn", "residual"])  # the test models with a fork
def forked(request, exported, lowered, tmp_path_factory):
    """(report, build folder, graph) of a model with a fork at the default folding, FIFOs sized by the build."""
    path, _ = exported(request.param, False)
    graph = lowered(path)
    out = tmp_path_factory.mktemp(request.param)
    report = build_graph(graph, "pynq-z2", out, "model.onnx")
    return report, out, graph


def _shortcut(report) -> str:
    """The add's input on the fork's short branch (the fewest kernels back to the fork): the stream that must hold
    what the other branch buffers."""
    streams = report.fifos["streams"]
    into = {s["reader"]: n for n, s in streams.items()}

    def hops(name: str) -> int:
        count, writer = 0, streams[name]["writer"]
        while not writer.startswith("fork"):
            count, writer = count + 1, streams[into[writer]]["writer"]
        return count

    inputs = [n for n, s in streams.items() if s["reader"].startswith("add")]
    assert len(inputs) == 2
    return min(inputs, key=hops)


def test_sized_fifos_keep_a_fork_from_deadlocking_at_full_throughput(forked):
    report, out, graph = forked
    assert report.fifos["sized_by"] == "timed simulation"
    streams = report.fifos["streams"]
    top = (out / "hls" / "top.cpp").read_text()
    assert declared_depths(top) == {n: s["depth"] for n, s in streams.items()}  # the top declares what was sized
    shortcut = _shortcut(report)
    assert streams[shortcut]["depth"] > 2
    x = _inputs(graph)
    y, section = simulate(out, x)
    np.testing.assert_array_equal(y, run(graph, x))
    _agree(section)
    assert section["cycles_per_frame"] == report.fifos["steady_cycles_per_frame"]
    occupancy = {f["name"]: f["max_occupancy"] for f in section["fifos"]}
    assert all(occupancy[n] <= s["depth"] for n, s in streams.items())
    assert occupancy[shortcut] > 2


def test_each_sized_depth_is_the_smallest_that_keeps_throughput(forked):
    """One word less on any FIFO the sizing deepened, below 64 words (beyond 1/32 of its depth on a deeper one, where
    the search stops): a deadlock or fewer frames per second."""
    report, out, graph = forked
    depths = {n: s["depth"] for n, s in report.fifos["streams"].items()}
    sim = CSim(out).timed()
    words = np.zeros((4, sim.in_bytes), dtype=np.uint8)
    interval = report.fifos["steady_cycles_per_frame"]
    assert sim.run(words, depths).interval() == interval
    deepened = [n for n, d in depths.items() if d > 2]
    assert deepened
    for name in deepened:
        less = sim.run(words, {**depths, name: depths[name] - 1 - depths[name] // SEARCH_TOLERANCE})
        assert less.deadlock or less.interval() > interval, name


def test_sized_depths_pass_and_are_no_deeper_than_the_paced_occupancies(forked):
    """The build's depths keep the interval without a deadlock in a timed run, each no deeper than the largest
    occupancy of the unbounded run paced at that interval (where the search starts)."""
    report, out, _ = forked
    depths = {n: s["depth"] for n, s in report.fifos["streams"].items()}
    sim = CSim(out).timed()
    words = np.zeros((SIZING_FRAMES, sim.in_bytes), dtype=np.uint8)
    interval = report.fifos["steady_cycles_per_frame"]
    paced = sim.run(words, dict.fromkeys(depths, 0), pace=interval).fifos()
    start = {n: max(2, paced[n]["max_occupancy"]) for n in depths}
    run = sim.run(words, depths)
    assert not run.deadlock and run.interval() <= interval
    assert sim.run(words, start).interval() <= interval  # the start passes, so the search only shrinks it
    assert all(depths[n] <= start[n] for n in depths)
    assert sum(depths.values()) < sum(start.values())


def test_sizing_finds_the_same_depths_on_one_core_or_several(forked):
    """The search tries as many depths at once as it has cores; searched exactly, the smallest passing depth does
    not depend on how many (a deeper FIFO never slows the design), and runs on parallel threads report what one
    thread does."""
    report, out, _ = forked
    sim = CSim(out).timed()
    streams = list(report.fifos["streams"])
    one, _ = size_fifos(sim, streams, sim.in_bytes, jobs=1, exact=True)
    three, info = size_fifos(sim, streams, sim.in_bytes, jobs=3, exact=True)
    assert three == one and info["interval"] == report.fifos["steady_cycles_per_frame"]
    again, _ = size_fifos(sim, streams, sim.in_bytes)
    assert again == {n: s["depth"] for n, s in report.fifos["streams"].items()}  # the build's, on every core
    words = np.random.default_rng(0).integers(0, 256, size=(3, sim.in_bytes), dtype=np.uint8)
    alone = [sim.run(words, {**one, n: 2}) for n in streams[:4]]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda n: sim.run(words, {**one, n: 2}, load=False), streams[:4]))
    for a, b in zip(alone, together):
        assert a.report == b.report
        np.testing.assert_array_equal(a.output, b.output)


def test_the_portable_context_switch_gives_the_same_run(forked, tmp_path):
    """Processes switch stacks by a few instructions on x86-64 Linux, by POSIX ucontext elsewhere: the same design
    compiled both ways runs the same cycles, occupancies and words, bounded and deadlocking."""
    report, out, _ = forked
    runs = _same_timed_runs(report, out, tmp_path / LIBRARY, "FPGAQ_SIM_UCONTEXT", (None, 2))
    assert runs[-1].deadlock  # every depth 2: the fork deadlocks, and the coroutines unwind


def _same_timed_runs(report, out: Path, library: Path, define: str, depths: tuple) -> list:
    """The build's library and one compiled with -D`define` run the same timed simulation - every report field and
    word equal - at each of `depths` (None: the build's depths, else every FIFO at that depth); the runs of the
    second."""
    compile_library(out / "hls", library, defines=(define,))
    built = CSim(out).timed()
    variant = TimedSim(load(library), built.in_bytes, built.out_bytes)  # no UltraRAM in the test models
    words = np.random.default_rng(1).integers(0, 256, size=(3, built.in_bytes), dtype=np.uint8)
    sized = {n: s["depth"] for n, s in report.fifos["streams"].items()}
    runs = []
    for depth in depths:
        trial = sized if depth is None else dict.fromkeys(sized, depth)
        a, b = built.run(words, trial), variant.run(words, trial)
        assert a.report == b.report
        np.testing.assert_array_equal(a.output, b.output)
        runs.append(b)
    return runs


@pytest.mark.parametrize("name", ["cnn", "conv1d_bipolar"])  # depthwise, a fork; bipolar, dilation
def test_the_fast_matrix_vector_path_times_as_the_loop(built, name, tmp_path):
    """A native build's matrix-vector units compute without their fold loop (hls/sim/fast.h) and advance the clock
    as the loop does: the design compiled with -DFPGAQ_NO_FAST (every unit's loop) gives the same timed run - every
    process's cycles and stalls, every FIFO's occupancy, the words - at the build's depths and in a deadlock."""
    report, out, _ = built(name, False)
    _same_timed_runs(report, out, tmp_path / LIBRARY, "FPGAQ_NO_FAST", (None, 2, 0))


@pytest.mark.parametrize("name", ["cnn", "residual"])  # the test models with a fork
def test_depth_two_deadlocks_named_with_exit_3_in_bounded_time(exported, lowered, tmp_path, name):
    path, _ = exported(name, False)
    graph = lowered(path)
    out = tmp_path / "two"
    report = build_graph(graph, "pynq-z2", out, "model.onnx", fifo_depth=2)
    assert report.fifos["sized_by"] == "--fifo-depth"
    assert set(declared_depths((out / "hls" / "top.cpp").read_text()).values()) == {2}
    shortcut = _shortcut(report)
    assert [w for w in report.warnings if w.startswith("deadlock") and f"space in {shortcut}" in w]  # said at build
    with pytest.raises(Deadlock) as caught:
        simulate(out, _inputs(graph, 2))
    message = str(caught.value)
    assert re.search(rf"waits for space in {shortcut} \(full at depth 2\), which add\w* reads only after", message)
    section = read_report(out).simulation
    assert section["deadlock"] is True
    full = [f for f in section["fifos"] if f["present"] >= f["depth"]]
    assert shortcut in {f["name"] for f in full}
    assert {b["process"] for b in section["blocked"]} and all(b["waits_for"] in ("data", "space")
                                                               for b in section["blocked"])  # fmt: skip
    assert "Timed simulation: deadlock" in (out / "report.html").read_text()
    np.save(tmp_path / "x.npy", _inputs(graph, 3))
    start = time.monotonic()
    result = CliRunner().invoke(main, ["simulate", str(out), "--input", str(tmp_path / "x.npy"),
                                       "--output", str(tmp_path / "y.npy")])  # fmt: skip
    assert time.monotonic() - start < 60  # it never hangs: the deadlock is detected, not timed out
    assert result.exit_code == 3, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "deadlock" in lines[0] and shortcut in lines[0]
    assert not (tmp_path / "y.npy").exists()


# ---- FIFO storage in the top and in the estimate --------------------------------------------------------------


@pytest.mark.parametrize(("depth", "impl"), [(2, None), (64, "srl"), (512, "bram")])
def test_forced_depths_are_declared_bound_and_costed(exported, lowered, tmp_path, depth, impl):
    path, _ = exported("mlp_float_bias", False)
    graph = lowered(path)
    report = build_graph(graph, "pynq-z2", tmp_path / "b", "model.onnx", fifo_depth=depth)
    top = (tmp_path / "b" / "hls" / "top.cpp").read_text()
    names = list(report.fifos["streams"])
    assert declared_depths(top) == dict.fromkeys(names, depth)
    bound = re.findall(r"BIND_STORAGE variable = (\w+) type = fifo impl = (\w+)", top)
    assert bound == ([] if impl is None else [(n, impl) for n in names])
    assert not [w for w in report.warnings if "FIFO" in w or "deadlock" in w]  # a chain runs at any depth
    shallow = build_graph(graph, "pynq-z2", tmp_path / "s", "model.onnx", fifo_depth=2).totals
    if depth > 2:
        resource = "bram18" if impl == "bram" else "lut"
        assert report.totals[resource] > shallow[resource]
    x = _inputs(graph, 3)
    y, section = simulate(tmp_path / "b", x)  # any depth keeps an MLP (no fork) running
    np.testing.assert_array_equal(y, run(graph, x))
    assert {f["depth"] for f in section["fifos"] if f["name"] in names} == {depth}


# ---- bad input ------------------------------------------------------------------------------------------------


def _cli(*args: str):
    return CliRunner().invoke(main, ["simulate", *args])


def test_bad_input_is_one_line_and_exit_2(built, lowered, tmp_path):
    _, out, path = built("mlp_float_bias", False)
    graph = lowered(path)
    good = _inputs(graph, 2)
    cases = {
        "not_built": (tmp_path, good),
        "missing": (tmp_path / "nowhere", good),
        "shape": (out, good[:, :-1]),
        "rank": (out, good[0]),
        "dtype": (out, good.astype(np.complex64)),
        "strings": (out, np.array([["a"] * good.shape[1]])),
        "empty": (out, good[:0]),
    }
    for case, (folder, x) in cases.items():
        np.save(tmp_path / f"{case}.npy", x)
        result = _cli(str(folder), "--input", str(tmp_path / f"{case}.npy"), "--output", str(tmp_path / "y.npy"))
        assert result.exit_code == 2, (case, result.output)
        assert len(result.output.strip().splitlines()) == 1, (case, result.output)
        assert not (tmp_path / "y.npy").exists()
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY not really")
    result = _cli(str(out), "--input", str(tmp_path / "junk.npy"), "--output", str(tmp_path / "y.npy"))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_simulate_cli_writes_outputs_and_prints_the_comparison(built, lowered, tmp_path):
    _, out, path = built("cnn", False)
    graph = lowered(path)
    x = _inputs(graph, 2)
    np.save(tmp_path / "x.npy", x)
    result = _cli(str(out), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"), "--frames", "5")
    assert result.exit_code == 0, result.output
    assert "5 frames simulated" in result.output and "outputs equal to the C-simulation" in result.output
    y = np.load(tmp_path / "y.npy")
    np.testing.assert_array_equal(y, run(graph, x[np.arange(5) % 2]))
    assert read_report(Path(out)).simulation["frames"] == 5
    html = (Path(out) / "report.html").read_text()
    assert "<h2>Timed simulation</h2>" in html and "<h2>FIFOs</h2>" in html
