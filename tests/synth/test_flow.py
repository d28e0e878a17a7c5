"""fpgaq synth with fake vendor tools: commands, files and order, report parsing, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tkinter
from pathlib import Path

import numpy as np
import pytest

from fpgaq.backends.hls.emit import BITSTREAM_TCL, DMA_MM_WIDTHS, deploy_scripts, dma_mm_width
from fpgaq.boards import all_boards, load_board
from fpgaq.errors import FpgaqError
from fpgaq.synth import synth
from fpgaq.synth.csynth import parse_csynth
from fpgaq.synth.flow import FINN_BOARDS
from fpgaq.synth.tools import SynthError
from tests.synth import fakes


@pytest.fixture
def build_dir(built, tmp_path):
    """A fresh copy of a built test model (synth writes into it)."""
    _, out, _ = built("mlp_float_bias", False)
    folder = tmp_path / "build"
    shutil.copytree(out, folder)
    return folder


@pytest.fixture
def tools(tmp_path, monkeypatch):
    """Fake vitis_hls and vivado first on PATH; returns a function reading their calls."""
    bin_dir = tmp_path / "bin"
    fakes.install(bin_dir)
    log = tmp_path / "tools.jsonl"
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_TOOL_LOG", str(log))
    monkeypatch.delenv("FAKE_FAIL", raising=False)
    return lambda: [json.loads(line) for line in log.read_text().splitlines()]


def test_vitis_synthesis_parses_reports_and_writes_the_driver(build_dir, tools):
    report = synth(build_dir)
    calls = tools()
    assert [c["tool"] for c in calls] == ["vitis_hls"]
    assert calls[0]["argv"] == ["-f", "run_hls.tcl"] and calls[0]["cwd"] == str(build_dir / "hls")
    syn = report["synthesis"]
    top = syn["top"]
    assert top["module"] == "fpgaq_accel" and top["part"] == "xc7z020clg400-1" and top["target_clock_ns"] == 10
    assert (top["lut"], top["ff"], top["bram18"], top["dsp"]) == (16000, 9000, 2, 0)
    assert (top["interval_max"], top["latency_worst"], top["estimated_clock_ns"]) == (24, 42, 6.912)
    assert top["available"] == {"lut": 53200, "ff": 106400, "bram18": 280, "dsp": 220, "uram": 0}
    totals = report["totals"]
    ratio = syn["ratio_estimate_to_synthesis"]
    assert ratio["lut"] == round(totals["lut"] / 16000, 3) and ratio["ff"] == round(totals["ff"] / 9000, 3)
    assert ratio["cycles"] == round(totals["cycles_per_frame"] / 24, 3) and ratio["dsp"] is None
    mvus = [m for m in syn["modules"] if m["module"].startswith("mvu_")]
    assert [m["layer"] for m in mvus] == ["dense0", "dense1", "dense2"]
    estimate = {k["layer"]: k for k in report["estimate"]["kernels"] if k["kernel"] == "mvu"}
    for m in mvus:
        assert m["ratio"]["lut"] == round(estimate[m["layer"]]["lut"] / 5000, 3)
    assert syn["ip"] == "hls/fpgaq_prj/solution1/impl/ip"
    on_disk = json.loads((build_dir / "report.json").read_text())
    assert on_disk["synthesis"] == syn and on_disk["deploy"]["files"] == ["driver.py", "fpgaq_host.py", "host.json"]
    assert "Synthesis (Vitis HLS)" in (build_dir / "report.html").read_text()
    assert not (build_dir / "deploy" / "fpgaq.bit").exists()
    assert [c[0] for c in calls[0]["calls"]][-3:] == ["csynth_design", "export_design", "exit"]
    assert "csim_design" not in [c[0] for c in calls[0]["calls"]]  # no input.bin


def test_the_build_writes_the_driver_and_block_design_before_any_tool(build_dir):
    """fpgaq build alone: DIR/deploy holds the PYNQ driver (a byte-identical copy of fpgaq.host, the build's
    host.json) and DIR/vivado the block design, all in the folder's manifest."""
    import fpgaq.host
    from fpgaq.outdir import read_manifest

    deploy = build_dir / "deploy"
    assert (deploy / "fpgaq_host.py").read_bytes() == Path(fpgaq.host.__file__).read_bytes()
    assert (deploy / "host.json").read_bytes() == (build_dir / "host.json").read_bytes()
    driver = (deploy / "driver.py").read_text()
    assert "START_AUTO_RESTART = 0x81" in driver and "BATCH" not in driver
    files = read_manifest(build_dir)["files"]
    assert {"deploy/driver.py", "deploy/fpgaq_host.py", "deploy/host.json", BITSTREAM_TCL} <= set(files)


def test_no_driver_for_a_board_without_processing_system(exported, tmp_path):
    from fpgaq.pipeline import build

    path, _ = exported("mlp_float_bias", False)
    build(path, "arty-a7-100t", tmp_path / "arty")
    assert not (tmp_path / "arty" / "deploy").exists() and not (tmp_path / "arty" / "vivado").exists()


def test_vitis_run_where_vitis_hls_is_absent(build_dir, tmp_path, monkeypatch):
    """Vitis 2024.2 and later: `vitis-run --mode hls --tcl run_hls.tcl`, its log in synth/vitis-run.log; the
    files it writes beside the script are the folder's."""
    bin_dir = tmp_path / "bin2024"
    fakes.install(bin_dir, ("vitis-run",))
    log = tmp_path / "tools.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_TOOL_LOG", str(log))
    monkeypatch.delenv("FAKE_FAIL", raising=False)
    report = synth(build_dir)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(c["tool"], c["argv"], c["cwd"]) for c in calls] == [
        ("vitis-run", ["--mode", "hls", "--tcl", "run_hls.tcl"], str(build_dir / "hls"))
    ]
    assert report["synthesis"]["top"]["lut"] == 16000
    assert "Running" in (build_dir / "synth" / "vitis-run.log").read_text()
    monkeypatch.setenv("FAKE_FAIL", "vitis-run")
    with pytest.raises(SynthError, match=r"vitis-run failed \(exit 1\); see .*vitis-run\.log: .*fake failure"):
        synth(build_dir)


def test_csim_builds_in_the_solution_folder_with_absolute_paths(build_dir, tools):
    """run_hls.tcl's csim_design: the fake compiles the testbench (which drives fpgaq_accel through AXI-Stream,
    one batch of 5 frames and TLAST checked) in hls/fpgaq_prj/solution1/csim/build as Vitis HLS does, where the
    old relative -I. failed, and runs it on input.bin; output.bin equals the golden model."""
    from fpgaq import frontend
    from fpgaq.ir.execute import execute
    from fpgaq.outdir import owned

    graph = frontend.load(build_dir / "model.onnx")
    codes = np.random.default_rng(4).integers(-128, 128, (5, 16)).astype(np.int64)
    codes.tofile(build_dir / "hls" / "input.bin")
    synth(build_dir)
    calls = [c[0] for c in tools()[0]["calls"]]
    assert calls.index("csim_design") < calls.index("csynth_design")
    output = np.fromfile(build_dir / "hls" / "output.bin", dtype=np.int64).reshape(5, -1)
    np.testing.assert_array_equal(output, execute(graph, codes)[graph.output.tensor].reshape(5, -1))
    assert (build_dir / "hls" / "fpgaq_prj" / "solution1" / "csim" / "build" / "csim.exe").is_file()
    assert owned(build_dir / "hls" / "output.bin") is not None  # written by the tool: the folder's
    assert owned(build_dir / "hls" / "input.bin") is None  # the user's


def test_bitstream_runs_vivado_after_vitis(build_dir, tools):
    report = synth(build_dir, bitstream=True, jobs=3)
    calls = tools()
    assert [c["tool"] for c in calls] == ["vitis_hls", "vivado"]
    vivado = calls[1]
    assert vivado["cwd"] == str(build_dir / "vivado")
    assert vivado["argv"] == [
        "-mode",
        "batch",
        "-nojournal",
        "-log",
        "vivado.log",
        "-source",
        "build_bitstream.tcl",
        "-tclargs",
        "3",
    ]
    tcl = (build_dir / "vivado" / "build_bitstream.tcl").read_text()  # written by the build, before any tool ran
    assert "set jobs [expr {[llength $argv] > 0 ? [lindex $argv 0] : 1}]" in tcl
    assert "set ip_repo {../hls/fpgaq_prj/solution1/impl/ip}" in tcl and "set deploy {../deploy}" in tcl
    deploy = build_dir / "deploy"
    assert (deploy / "fpgaq.bit").read_bytes().startswith(b"fake .bit")
    assert (deploy / "fpgaq.hwh").is_file()
    assert report["deploy"]["files"] == ["driver.py", "fpgaq_host.py", "host.json", "fpgaq.bit", "fpgaq.hwh"]
    design = vivado["design"]
    assert design["jobs"] == "3" and design["cells"]["accel"]["vlnv"] == "fpgaq.org:hls:fpgaq_accel:1.0"
    axis = json.loads((build_dir / "host.json").read_text())["axis"]
    dma = design["cells"]["dma"]["config"]
    assert dma["CONFIG.c_m_axis_mm2s_tdata_width"] == str(axis["input"]["word"])
    assert dma["CONFIG.c_m_axi_mm2s_data_width"] == str(max(32, axis["input"]["word"]))


def test_timing_failure_names_the_worst_slack(build_dir, tools, monkeypatch):
    monkeypatch.setenv("FAKE_WNS", "-0.734")
    with pytest.raises(
        SynthError,
        match=r"^vivado failed \(exit 1\): timing not met at 100 MHz: worst setup slack \(WNS\) -0\.734 ns, worst "
        r"hold slack \(WHS\) 0\.031 ns; .*; see .*vivado\.log$",
    ):
        synth(build_dir, bitstream=True)
    assert not (build_dir / "deploy" / "fpgaq.bit").exists()
    monkeypatch.setenv("FAKE_WNS", "0.2")
    monkeypatch.setenv("FAKE_WHS", "-0.05")
    with pytest.raises(SynthError, match=r"worst hold slack \(WHS\) -0\.05 ns"):
        synth(build_dir, bitstream=True)
    monkeypatch.delenv("FAKE_WHS")
    synth(build_dir, bitstream=True)
    assert (build_dir / "deploy" / "fpgaq.bit").is_file()


def test_synthesis_outputs_are_owned_file_by_file(build_dir, tools):
    """A rebuild removes the bitstream that synth wrote and keeps a user's file in DIR/deploy."""
    from fpgaq.pipeline import build

    synth(build_dir, bitstream=True)
    (build_dir / "deploy" / "notes.txt").write_text("mine")
    build(build_dir / "model.onnx", "pynq-z2", build_dir)
    deploy = build_dir / "deploy"
    assert (deploy / "notes.txt").read_text() == "mine" and (deploy / "driver.py").is_file()
    assert not (deploy / "fpgaq.bit").exists() and not (build_dir / "hls" / "fpgaq_prj").exists()
    (deploy / "fpgaq.hwh").write_text("a user's handoff file")
    with pytest.raises(FpgaqError, match=r"fpgaq\.hwh' exists and was not written by fpgaq"):
        synth(build_dir, bitstream=True)


def test_a_folder_built_without_the_driver_is_refused(build_dir, tools):
    (build_dir / "deploy" / "driver.py").unlink()
    with pytest.raises(SynthError, match=r"^deploy/driver\.py is missing: rebuild the folder with this fpgaq"):
        synth(build_dir)
    assert tools() == []


def _block_design(board: str, words: tuple[int, int], folder: Path, monkeypatch) -> tuple[str, dict]:
    """The block-design Tcl of `board` for streams of `words` bits, and the design the fake Vivado's commands
    record when a real Tcl interpreter runs it (from DIR/vivado, with the exported IP in place)."""
    b = load_board(board)
    axis = {"input": {"word": words[0]}, "output": {"word": words[1]}}
    tcl = deploy_scripts(b, b.clock_ns, axis, "m.onnx")[BITSTREAM_TCL]
    ip = folder / "hls" / "fpgaq_prj" / "solution1" / "impl" / "ip"
    ip.mkdir(parents=True, exist_ok=True)
    (ip / "component.xml").write_text("<spirit:component>fpgaq.org:hls:fpgaq_accel:1.0</spirit:component>")
    (folder / "vivado").mkdir(exist_ok=True)
    (folder / "vivado" / "build_bitstream.tcl").write_text(tcl)
    monkeypatch.chdir(folder / "vivado")
    return tcl, fakes.block_design(folder / "vivado" / "build_bitstream.tcl")


def test_dma_memory_mapped_width():
    assert [dma_mm_width(w) for w in (8, 16, 32, 64, 128, 1024)] == [32, 32, 32, 64, 128, 1024]
    assert all(w in DMA_MM_WIDTHS for w in (32, 64, 128, 256, 512, 1024))
    with pytest.raises(ValueError, match="at most 1024 bits wide, not 2048"):
        dma_mm_width(2048)


@pytest.mark.parametrize("board", [b.name for b in all_boards() if b.has_processing_system])
def test_block_design_for_every_board(board, tmp_path, monkeypatch):
    """For every board with a processing system and every stream width the planner makes (8 to 64 bits): the AXI
    DMA's stream widths are the accelerator's, its memory-mapped widths the narrowest legal ones at least as
    wide (32 to 1024, powers of two), its length register 26 bits; the AXI automation uses the current clock keys
    (Clk_master, Clk_slave, Clk_xbar: the PL clock), and a missed timing stops the script naming the slack."""
    b = load_board(board)
    for n, words in enumerate(((64, 16), (8, 32), (16, 64), (32, 8))):
        tcl, design = _block_design(board, words, tmp_path / str(n), monkeypatch)
        dma = design["cells"]["dma"]["config"]
        assert dma == {
            "CONFIG.c_include_sg": "0",
            "CONFIG.c_sg_length_width": "26",
            "CONFIG.c_m_axis_mm2s_tdata_width": str(words[0]),
            "CONFIG.c_m_axi_mm2s_data_width": str(max(32, words[0])),
            "CONFIG.c_s_axis_s2mm_tdata_width": str(words[1]),
            "CONFIG.c_m_axi_s2mm_data_width": str(max(32, words[1])),
            "CONFIG.c_mm2s_burst_size": "16",
            "CONFIG.c_s2mm_burst_size": "16",
        }
    assert design["part"] == b.part
    ps = "processing_system7" if b.shell == "zynq-ps7" else "zynq_ultra_ps_e"
    assert design["cells"]["ps"]["vlnv"] == f"xilinx.com:ip:{ps}"
    freq = "PCW_FPGA0_PERIPHERAL_FREQMHZ" if b.shell == "zynq-ps7" else "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"
    assert design["cells"]["ps"]["config"][f"CONFIG.{freq}"] == f"{b.clock_mhz:g}"
    assert design["cells"]["accel"]["vlnv"] == "fpgaq.org:hls:fpgaq_accel:1.0"
    assert design["nets"] == [["dma/M_AXIS_MM2S", "accel/src"], ["accel/dst", "dma/S_AXIS_S2MM"]]
    clock = "/ps/FCLK_CLK0" if b.shell == "zynq-ps7" else "/ps/pl_clk0"
    axi = [a for a in design["automation"] if a["rule"] == "xilinx.com:bd_rule:axi4"]
    assert [a["target"] for a in axi] == ["dma/S_AXI_LITE", "accel/s_axi_control", "dma/M_AXI_MM2S", "dma/M_AXI_S2MM"]
    for a in axi:
        assert {k: a["config"][k] for k in ("Clk_master", "Clk_slave", "Clk_xbar")} == dict.fromkeys(
            ("Clk_master", "Clk_slave", "Clk_xbar"), clock
        )
    assert f"create_project -force {{fpgaq_vivado}} . -part {{{b.part}}}" in tcl
    assert f"set_property board_part {{{b.board_part}}}" in tcl
    assert tcl.index("STATS.WNS") < tcl.index("file copy -force fpgaq_vivado.runs/impl_1/fpgaq_wrapper.bit")
    assert (tmp_path / "3" / "deploy" / "fpgaq.bit").is_file()
    monkeypatch.setenv("FAKE_WNS", "-1.5")
    with pytest.raises(tkinter.TclError, match=r"^fpgaq error: timing not met at .* \(WNS\) -1\.5 ns"):
        _block_design(board, (64, 16), tmp_path / "late", monkeypatch)
    assert not (tmp_path / "late" / "deploy").exists()


def test_missing_tools_exit_2_with_the_docker_command(build_dir, tools, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    result = subprocess.run(
        [sys.executable, "-m", "fpgaq.cli", "synth", str(build_dir)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.startswith("error: vitis_hls or vitis-run not found on PATH (HLS synthesis)")
    assert "docker run --rm -it -v /tools/Xilinx:/tools/Xilinx:ro" in line and "fpgaq-toolchain" in line
    # with --bitstream a missing vivado is reported before hours of HLS
    only_vitis = tmp_path / "only_vitis"
    fakes.install(only_vitis, ("vitis_hls",))
    monkeypatch.setenv("PATH", f"{only_vitis}:/usr/bin:/bin")
    with pytest.raises(SynthError, match="vivado not found on PATH"):
        synth(build_dir, bitstream=True)
    assert tools() == []


def test_tool_failures_are_reported_with_the_log(build_dir, tools, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "vitis_hls")
    with pytest.raises(SynthError, match=r"vitis_hls failed \(exit 1\); see .*vitis_hls.log: .*fake failure"):
        synth(build_dir)
    monkeypatch.setenv("FAKE_FAIL", "vivado")
    with pytest.raises(SynthError, match=r"vivado failed \(exit 1\)"):
        synth(build_dir, bitstream=True)


def test_bitstream_needs_a_processing_system(exported, tools, tmp_path):
    from fpgaq.pipeline import build

    path, _ = exported("mlp_float_bias", False)
    build(path, "arty-a7-100t", tmp_path / "arty")
    with pytest.raises(SynthError, match="arty-a7-100t has none"):
        synth(tmp_path / "arty", bitstream=True)


def test_not_a_build_folder_and_bad_arguments(tmp_path, build_dir):
    with pytest.raises(FpgaqError, match="is not an fpgaq build folder"):
        synth(tmp_path)
    with pytest.raises(FpgaqError, match="unknown backend 'quartus'"):
        synth(build_dir, backend="quartus")
    with pytest.raises(FpgaqError, match="--jobs must be at least 1"):
        synth(build_dir, jobs=0)


def test_finn_backend(build_dir, tmp_path, monkeypatch):
    bin_dir = tmp_path / "finnenv" / "bin"
    fakes.install(bin_dir, ("finn",))
    log = tmp_path / "tools.jsonl"
    monkeypatch.setenv("FAKE_TOOL_LOG", str(log))
    monkeypatch.setenv("FINN_PYTHON", str(bin_dir / "python"))  # finn-plus's `finn` lies beside its python
    report = synth(build_dir, backend="finn")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    model = str((build_dir / "model.onnx").resolve())
    assert calls == [
        {"tool": "finn", "argv": ["build", "build.yaml", model, "--batch"], "cwd": str(build_dir / "finn")}
    ]
    config = (build_dir / "finn" / "build.yaml").read_text()
    assert 'board: "Pynq-Z2"' in config and "synth_clk_period_ns: 10\n" in config
    assert f"target_fps: {int(report['totals']['fps'])}" in config and "  - bitfile" not in config
    assert report["synthesis"]["finn_estimate"]["max_cycles"] == 24
    synth(build_dir, backend="finn", bitstream=True)
    assert "  - bitfile\n  - pynq_driver\n  - deployment_package" in (build_dir / "finn" / "build.yaml").read_text()
    monkeypatch.setenv("FINN_PYTHON", str(tmp_path / "none" / "python"))
    monkeypatch.setattr("fpgaq.synth.tools.IMAGE_FINN_PYTHON", str(tmp_path / "none" / "python"))
    with pytest.raises(SynthError, match="finn-plus not found: set FINN_PYTHON"):
        synth(build_dir, backend="finn")


def test_finn_boards_exist():
    names = {b.name for b in all_boards()}
    assert set(FINN_BOARDS) <= names and "arty-a7-100t" not in FINN_BOARDS


def test_csynth_parsing_variants(tmp_path):
    text = (fakes.FIXTURES / "csynth.xml").read_text()
    for key, value in {
        "@MODULE@": "m",
        "@PART@": "p",
        "@CLOCK@": "5",
        "@PIPELINE@": "no",
        "@LATENCY@": "undef",
        "@INTERVAL@": "undef",
        "@BRAM@": "1",
        "@DSP@": "3",
        "@FF@": "4",
        "@LUT@": "5",
    }.items():
        text = text.replace(key, value)
    (tmp_path / "a_csynth.xml").write_text(text.replace("<DSP>3</DSP>", "<DSP48E>3</DSP48E>"))
    parsed = parse_csynth(tmp_path / "a_csynth.xml")
    assert parsed["dsp"] == 3 and parsed["latency_worst"] is None and parsed["interval_max"] is None
    (tmp_path / "bad_csynth.xml").write_text("<profile><oops/></profile>")
    with pytest.raises(SynthError, match="not a csynth report"):
        parse_csynth(tmp_path / "bad_csynth.xml")
    (tmp_path / "broken_csynth.xml").write_text("<profile>")
    with pytest.raises(SynthError, match="is not a Vitis HLS XML report"):
        parse_csynth(tmp_path / "broken_csynth.xml")
