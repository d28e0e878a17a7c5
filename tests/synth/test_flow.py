"""fpgaq synth with fake vendor tools: commands, files and order, report parsing, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fpgaq.backends.hls.emit import BITSTREAM_TCL, deploy_scripts
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
    import fpgaq.host

    deploy = build_dir / "deploy"
    assert (deploy / "fpgaq_host.py").read_bytes() == Path(fpgaq.host.__file__).read_bytes()
    assert (deploy / "host.json").read_bytes() == (build_dir / "host.json").read_bytes()
    assert not (deploy / "fpgaq.bit").exists()


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
    assert report["deploy"]["files"][-2:] == ["fpgaq.bit", "fpgaq.hwh"]


@pytest.mark.parametrize("board", [b.name for b in all_boards() if b.has_processing_system])
def test_block_design_for_every_board(board):
    b = load_board(board)
    axis = {"input": {"word": 64}, "output": {"word": 16}}
    tcl = deploy_scripts(b, b.clock_ns, axis, "m.onnx")[BITSTREAM_TCL]
    assert f"create_project -force {{fpgaq_vivado}} . -part {{{b.part}}}" in tcl
    assert f"set_property board_part {{{b.board_part}}}" in tcl
    ps = "processing_system7" if b.shell == "zynq-ps7" else "zynq_ultra_ps_e"
    assert f"create_bd_cell -type ip -vlnv xilinx.com:ip:{ps} ps" in tcl
    freq = "PCW_FPGA0_PERIPHERAL_FREQMHZ" if b.shell == "zynq-ps7" else "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"
    assert f"CONFIG.{freq} {{{b.clock_mhz:g}}}" in tcl
    assert "CONFIG.c_m_axis_mm2s_tdata_width {64}" in tcl and "CONFIG.c_s_axis_s2mm_tdata_width {16}" in tcl
    assert "create_bd_cell -type ip -vlnv {fpgaq.org:hls:fpgaq_accel:1.0} accel" in tcl
    assert "connect_bd_intf_net [get_bd_intf_pins dma/M_AXIS_MM2S] [get_bd_intf_pins accel/src]" in tcl
    assert tcl.index("launch_runs") < tcl.index("file copy -force fpgaq_vivado.runs/impl_1/fpgaq_wrapper.bit")


def test_missing_tools_exit_2_with_the_docker_command(build_dir, tools, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    result = subprocess.run(
        [sys.executable, "-m", "fpgaq.cli", "synth", str(build_dir)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.startswith("error: vitis_hls not found on PATH (HLS synthesis)")
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
