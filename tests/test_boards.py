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
