"""Board files: every shipped board validates; each kind of mistake gives a pinned message."""

from __future__ import annotations

import pytest
import yaml

from fpgaq.boards import all_boards, known_boards, load_board, parse_board
from fpgaq.errors import BoardError
from fpgaq.resources import data_dir

REQUIRED = {"pynq-z2", "zcu104", "ultra96-v2", "kv260", "arty-a7-100t"}


def test_shipped_boards_validate():
    boards = {b.name: b for b in all_boards()}
    assert REQUIRED <= set(boards)
    z2 = boards["pynq-z2"]
    assert (z2.part, z2.board_part, z2.shell, z2.clock_mhz) == (
        "xc7z020clg400-1",
        "tul.com.tw:pynq-z2:part0:1.0",
        "zynq-ps7",
        100.0,
    )
    assert (z2.lut, z2.ff, z2.bram18, z2.dsp) == (53200, 106400, 280, 220)
    assert z2.clock_ns == 10.0
    assert boards["zcu104"].part == "xczu7ev-ffvc1156-2-e" and boards["zcu104"].shell == "zynq-mpsoc"
    assert boards["ultra96-v2"].part == "xczu3eg-sbva484-1-i"
    assert boards["kv260"].part == "xck26-sfvc784-2LV-c"
    arty = boards["arty-a7-100t"]
    assert arty.part == "xc7a100tcsg324-1" and not arty.has_processing_system
    assert "no processing system" in (data_dir("boards") / "arty-a7-100t.yaml").read_text().lower()


def test_board_is_frozen():
    board = load_board("pynq-z2")
    with pytest.raises(AttributeError):
        board.lut = 1


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(BoardError, match=r"^unknown board 'pynq-z3'; known: (.+)$") as info:
        load_board("pynq-z3")
    assert str(info.value).endswith(", ".join(known_boards()))


def _valid():
    return yaml.safe_load((data_dir("boards") / "pynq-z2.yaml").read_text())


def test_missing_key():
    data = _valid()
    del data["part"]
    with pytest.raises(BoardError, match=r"^x\.yaml: missing key 'part'$"):
        parse_board(data, "x.yaml")
    data = _valid()
    del data["resources"]["dsp"]
    with pytest.raises(BoardError, match=r"^x\.yaml: missing key 'resources\.dsp'$"):
        parse_board(data, "x.yaml")


def test_wrong_types():
    data = _valid()
    data["clock_mhz"] = "fast"
    with pytest.raises(BoardError, match=r"^x\.yaml: key 'clock_mhz' must be float, not str 'fast'$"):
        parse_board(data, "x.yaml")
    data = _valid()
    data["resources"]["lut"] = -5
    with pytest.raises(BoardError, match=r"^x\.yaml: key 'resources\.lut' must be a non-negative int, not -5$"):
        parse_board(data, "x.yaml")
    with pytest.raises(BoardError, match=r"^x\.yaml: a board file must be a mapping, not list$"):
        parse_board([], "x.yaml")


def test_unknown_keys_and_shell():
    data = _valid()
    data["colour"] = "red"
    with pytest.raises(BoardError, match=r"^x\.yaml: unknown key 'colour'; known: name, description, part"):
        parse_board(data, "x.yaml")
    data = _valid()
    data["shell"] = "ps8"
    with pytest.raises(BoardError, match=r"^x\.yaml: shell 'ps8' is not one of zynq-ps7, zynq-mpsoc, none$"):
        parse_board(data, "x.yaml")


def test_board_folder_override(tmp_path):
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(_valid() | {"name": "other"}))
    with pytest.raises(BoardError, match=r"^mine\.yaml: name 'other' does not match the file name$"):
        load_board("mine", tmp_path)
    (tmp_path / "broken.yaml").write_text("name: [unclosed")
    with pytest.raises(BoardError, match=r"^broken\.yaml: not valid YAML"):
        load_board("broken", tmp_path)


def test_ulx3s_is_an_ecp5_board_with_its_pins():
    b = load_board("ulx3s")
    assert (b.family, b.shell, b.part, b.clock_mhz) == ("ecp5", "none", "LFE5U-85F-6BG381C", 25.0)
    assert (b.lut, b.ff, b.bram18, b.dsp, b.uram) == (83640, 83640, 208, 156, 0)
    assert b.nextpnr.args == ["--85k", "--package", "CABGA381", "--speed", "6"]
    io = b.io
    assert (io.interface, io.baud, io.clk, io.uart_rx, io.uart_tx, io.reset, io.reset_active) == (
        "uart", 115200, "G2", "M1", "L4", "R1", "high"
    )  # fmt: skip
    assert not b.is_xilinx and not b.has_processing_system
    assert all(x.io is None and x.nextpnr is None and x.is_xilinx for x in all_boards() if x.family != "ecp5")


def _ecp5():
    return yaml.safe_load((data_dir("boards") / "ulx3s.yaml").read_text())


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["io"].update(uart_rx="M1; LOCATE"), r"io\.uart_rx must be a package site such as G2, not 'M1; "),
        (lambda d: d["io"].update(uart_tx="G2"), r"io pins share a site: G2, M1, G2, R1"),
        (lambda d: d["io"].update(interface="spi"), r"io\.interface 'spi' is not one of uart"),
        (lambda d: d["io"].update(baud=True), r"key 'io\.baud' must be int, not True"),
        (lambda d: d["io"].update(parity="even"), r"unknown key 'io\.parity'; known: interface, baud, io_type"),
        (lambda d: d["io"].pop("reset"), r"missing key 'io\.reset'"),
        (lambda d: d["io"].update(reset_active="pressed"), r"io\.reset_active 'pressed' is not one of high, low"),
        (lambda d: d.pop("io"), r"missing key 'io' \(ECP5 boards\)"),
        (lambda d: d["nextpnr"].update(device="100k"), r"nextpnr\.device '100k' is not one of 25k, 45k, 85k"),
        (lambda d: d.update(shell="zynq-ps7"), r"an ECP5 board has no processing system \(shell none\)"),
    ],
)  # fmt: skip
def test_ecp5_keys_are_validated(change, message):
    data = _ecp5()
    change(data)
    with pytest.raises(BoardError, match=rf"^x\.yaml: {message}"):
        parse_board(data, "x.yaml")


def test_ecp5_keys_are_refused_on_other_families():
    data = _valid()
    data["io"] = _ecp5()["io"]
    with pytest.raises(BoardError, match=r"^x\.yaml: key 'io' is for ECP5 boards \(family ecp5\), not zynq-7000$"):
        parse_board(data, "x.yaml")
