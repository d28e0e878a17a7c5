"""Weights in UltraRAM (fpgaq.estimate.placement): placed by the build for UltraScale+ boards, arguments of the
synthesis top written by the host at run time, and read by the C-simulation, the timed simulation and the
testbench from the same bytes the PYNQ driver writes - each checked equal to the golden model."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fpgaq.backends.hls.csim import CSim, CSimError, ap_include_dir
from fpgaq.boards import load_board
from fpgaq.cli import main
from fpgaq.estimate import models, placement
from fpgaq.estimate.placement import PlacementError, place_weights
from fpgaq.estimate.plan_costs import estimate_plan
from fpgaq.host import pack_rows, row_bytes
from fpgaq.ir import graph as ir
from fpgaq.ir.execute import execute
from fpgaq.ir.hostio import quantize_input
from fpgaq.pipeline import Target, build_graph
from fpgaq.plan import kernels as k
from fpgaq.plan.folding import resolve_folding
from fpgaq.plan.planner import make_plan

AXI_STUB = Path(__file__).parents[1] / "synth" / "stub"


def _ones(graph):
    return {n.name: {"pe": 1, "simd": 1} for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)}


@pytest.fixture(scope="module")
def uram_build(exported, lowered, tmp_path_factory):
    """The CNN at PE = SIMD = 1 (block-RAM-deep weights) for the ZCU104 with every weight memory in UltraRAM."""
    path, _ = exported("cnn", False)
    graph = lowered(path)
    out = tmp_path_factory.mktemp("uram") / "build"
    report = build_graph(graph, Target.of("zcu104", weight_memory="uram"), out, "model.onnx", folding=_ones(graph),
                         model_file=Path(path))  # fmt: skip
    return graph, out, report


def _codes(graph, n=48, seed=3):
    x = np.random.default_rng(seed).normal(0.0, 1.5, size=(n, *graph.tensors[graph.input.tensor].shape))
    return quantize_input(graph.input, x.astype(np.float32))


def test_uram_weights_reach_the_csim_and_the_timed_simulation_exactly(uram_build, tmp_path):
    graph, out, report = uram_build
    host = json.loads((out / "host.json").read_text())
    tables = host["weights"]
    assert [t["name"] for t in tables] == ["w_conv0", "w_conv2"] and report["totals"]["uram"] == 2
    mvus = {row["name"]: row for row in report["estimate"]["kernels"] if row["kernel"] == "mvu"}
    assert all(mvus[f"{t['name'][2:]}_mvu"]["uram"] == 1 for t in tables)
    params, top_axi = (out / "hls" / "params.h").read_text(), (out / "hls" / "top_axi.cpp").read_text()
    for t in tables:
        assert f" {t['name']}[" not in params  # not a ROM: an argument of the synthesis top
        assert f"port = {t['name']} bundle = control storage_impl = uram" in top_axi
        data = (out / "deploy" / "weights" / f"{t['name']}.bin").read_bytes()
        assert len(data) == t["rows"] * row_bytes(t["lanes"], t["bits"])
    codes = _codes(graph)
    golden = execute(graph, codes)[graph.output.tensor]
    sim = CSim(out)
    np.testing.assert_array_equal(sim.run_codes(codes), golden)
    words = sim.host.pack_input(codes.reshape(len(codes), -1))
    timed = sim.timed().run(words, {name: f["depth"] for name, f in report["fifos"]["streams"].items()})
    np.testing.assert_array_equal(sim.host.unpack_output(timed.output), golden)

    broken = tmp_path / "broken"  # the loaded bytes are what the design computes with
    shutil.copytree(out, broken)
    weights = broken / "deploy" / "weights" / "w_conv0.bin"
    data = bytearray(weights.read_bytes())
    data[0] ^= 0x0F
    weights.write_bytes(bytes(data))
    assert not np.array_equal(CSim(broken).run_codes(codes), golden)
    # one library in this process (the same bytes): each run writes its own tables, and the native C-simulation's
    # converted copies of them (hls/sim/fast.h) follow
    np.testing.assert_array_equal(sim.run_codes(codes), golden)
    weights.write_bytes(bytes(data[:-4]))
    with pytest.raises(CSimError, match="weight table 0 .* does not match the compiled design"):
        CSim(broken).run_codes(codes)
    weights.unlink()
    with pytest.raises(CSimError, match=r"w_conv0\.bin. is missing: the UltraRAM weights of this build"):
        CSim(broken)


def test_the_testbench_reads_the_weights_the_driver_writes(uram_build, tmp_path):
    graph, out, _ = uram_build
    codes = _codes(graph, 12)
    codes.astype(np.int64).tofile(tmp_path / "input.bin")
    exe = tmp_path / "tb"
    cmd = ["g++", "-std=c++14", "-O1", "-isystem", str(ap_include_dir()), "-I", "lib", "-I", ".", "-I",
           str(AXI_STUB), "testbench.cpp", "top.cpp", "top_axi.cpp", "-o", str(exe)]  # fmt: skip
    subprocess.run(cmd, cwd=out / "hls", check=True, capture_output=True)
    weights = str(out / "deploy" / "weights")
    run = subprocess.run([str(exe), str(tmp_path / "input.bin"), str(tmp_path / "output.bin"), "0", weights],
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = np.fromfile(tmp_path / "output.bin", dtype=np.int64).reshape(12, -1)
    np.testing.assert_array_equal(result, execute(graph, codes)[graph.output.tensor].reshape(12, -1))
    missing = subprocess.run([str(exe), str(tmp_path / "input.bin"), str(tmp_path / "o.bin"), "0", str(tmp_path)],
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 1 and "w_conv0.bin" in missing.stderr


def test_pack_rows_layout_brute_force():
    rng = np.random.default_rng(0)
    for bits in (1, 3, 4, 7, 8, 13, 32, 33):
        for lanes in (1, 2, 5, 9):
            values = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(6, lanes))
            data = pack_rows(values, bits)
            assert len(data) == 6 * row_bytes(lanes, bits) and row_bytes(lanes, bits) % 4 == 0
            for r in range(6):
                row = int.from_bytes(data[r * row_bytes(lanes, bits) : (r + 1) * row_bytes(lanes, bits)], "little")
                for j in range(lanes):
                    field = (row >> (j * bits)) & ((1 << bits) - 1)
                    assert field - (1 << bits) * (field >> (bits - 1)) == values[r, j]
                assert row >> (lanes * bits) == 0  # padding is zero


def test_auto_moves_weights_to_uram_only_when_block_ram_runs_out(lowered, exported, monkeypatch):
    path, _ = exported("cnn", False)
    graph = lowered(path)
    plan = make_plan(graph, resolve_folding(graph, _ones(graph)))
    zcu104 = load_board("zcu104")
    assert place_weights(plan, zcu104) is plan  # plenty of block RAM: nothing moves
    assert place_weights(plan, load_board("pynq-z2"), "auto") is plan  # no UltraRAM
    bram = estimate_plan(plan, zcu104, zcu104.clock_ns)["totals"]["bram18"]
    tight = dataclasses.replace(zcu104, bram18=bram)  # 100% of block RAM: over the 85% limit
    assert place_weights(plan, tight) is plan  # but each weight memory is one BRAM18: not worth a URAM block
    monkeypatch.setattr(placement, "MIN_SAVING", 1)
    placed = place_weights(plan, tight)
    moved = [m for m in placed.kernels if isinstance(m, k.Mvu) and m.weights.storage == "uram"]
    after = estimate_plan(placed, tight, tight.clock_ns)["totals"]
    assert moved and after["uram"] == len(moved) and after["bram18"] == bram - len(moved)
    assert after["bram18"] <= 0.85 * bram < after["bram18"] + 1  # moved until it fits, no further
    assert place_weights(plan, tight, "bram") is plan


def test_uram_is_refused_where_it_cannot_be(exported, tmp_path):
    with pytest.raises(PlacementError, match=r"^--weight-memory uram: pynq-z2 \(zynq-7000\) has no UltraRAM$"):
        Target.of("pynq-z2", weight_memory="uram")
    with pytest.raises(PlacementError, match="needs --backend hls, not rtl"):
        Target.of("zcu104", backend="rtl", weight_memory="uram")
    path, _ = exported("mlp_float_bias", False)
    result = CliRunner().invoke(main, ["build", path, "--board", "pynq-z2", "--out", str(tmp_path / "o"),
                                       "--weight-memory", "uram"])  # fmt: skip
    assert result.exit_code == 2 and "has no UltraRAM" in result.output
    assert not (tmp_path / "o").exists()


def test_ultrascale_cost_models():
    assert models.uram(4096, 72) == 1 and models.uram(4097, 72) == 2 and models.uram(100, 73) == 2
    assert models.memory(4096, 72, "uram") == models.Cost(uram=1)
    assert models.dsp48_tiles(26, 18) == 2 and models.dsp48_tiles(26, 18, "ultrascale+") == 1  # 25x18 vs 27x18
    assert load_board("zcu104").device == "ultrascale+" and load_board("pynq-z2").device == "7series"


def test_synth_maps_the_weights_and_the_driver_writes_them_before_the_first_frame(uram_build, tmp_path, monkeypatch):
    """fpgaq synth (fake Vitis HLS, which exports a driver header placing each AXI4-Lite array) writes
    deploy/weights/map.json; the PYNQ driver writes every table's words there, then starts the accelerator.
    The words written, read back at the header's stride, are the tables of the plan."""
    from fpgaq.synth.flow import synth
    from tests.synth import fakes
    from tests.synth.test_driver import _driver, _fake_pynq

    _, out, _ = uram_build
    folder = tmp_path / "build"
    shutil.copytree(out, folder)
    bin_dir = tmp_path / "bin"
    fakes.install(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_TOOL_LOG", str(tmp_path / "tools.jsonl"))
    synth(folder)
    where = json.loads((folder / "deploy" / "weights" / "map.json").read_text())
    log: list = []
    _driver(folder, monkeypatch, _fake_pynq(None, 1, 26, log)).FpgaqAccelerator()
    writes = [(offset, value) for kind, offset, value in (e for e in log if e[0] == "write")]
    assert writes[-1] == (0x00, 0x81)  # started once, after every weight
    memory = dict(writes[:-1])
    host = json.loads((folder / "host.json").read_text())
    for t in host["weights"]:
        m = where[t["name"]]
        assert (m["depth"], m["width"]) == (t["rows"], t["lanes"] * t["bits"])
        stride, row = (m["high"] - m["base"] + 1) // m["depth"], row_bytes(t["lanes"], t["bits"])
        image = b"".join(memory[m["base"] + 4 * i].to_bytes(4, "little") for i in range(stride * t["rows"] // 4))
        rows = b"".join(image[r * stride : r * stride + row] for r in range(t["rows"]))
        assert rows == (folder / "deploy" / "weights" / f"{t['name']}.bin").read_bytes()
    assert len(memory) == sum((where[t["name"]]["high"] - where[t["name"]]["base"] + 1) // 4 for t in host["weights"])


def test_rows_of_several_words_round_trip_through_the_csim(exported, lowered, tmp_path):
    """Every weight memory of the MLP at the default folding (PE x SIMD lanes a word: rows of several 32-bit
    words) forced into UltraRAM: the C-simulation unpacks them to the golden model's results."""
    from fpgaq.pipeline import Folding, build_plan

    path, _ = exported("mlp_float_bias", False)
    graph = lowered(path)
    folding = Folding(resolve_folding(graph, None))
    plan = make_plan(graph, folding.layers)
    names = {m.name for m in plan.kernels if isinstance(m, k.Mvu)}
    plan = placement._moved(plan, names)
    widths = [t.shape[1] * t.elem.bits for t in plan.runtime_tables]
    assert len(widths) == len(names) and max(widths) > 64  # rows of three words or more
    out = tmp_path / "wide"
    build_plan(graph, folding, plan, Target.of("zcu104"), out, "model.onnx")
    codes = _codes(graph, 32)
    np.testing.assert_array_equal(CSim(out).run_codes(codes), execute(graph, codes)[graph.output.tensor])
