"""One escaping function per target language, each checked against a real parser with hostile strings."""

from __future__ import annotations

import tkinter

import pytest
import yaml as pyyaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq import escape

HOSTILE = [
    "",
    "plain-name_1.onnx",
    "m\nexec id >PWNED.txt\n.onnx",
    "x}; exec touch PWNED; {",
    "[exec touch PWNED]",
    "$env(HOME)",
    "a b\tc",
    "q\"uote's",
    "back\\slash\\",
    "trailing\\",
    "\\\n",
    "x\r\nsteps: [step_evil]",
    "#comment",
    "{*}{a b}",
    "\x1b[2J\x1b]0;title\x07",
    "[red]m.onnx",
    "x[/y]z.onnx",
    ":smile:",
    "\u202eevil\u202c.onnx",
    "zero\u200bwidth",
    "caf\u00e9 \u4e2d\u6587",
    "\U0001f600 emoji",
    "line\u2028sep",
    "\x85nel",
    "\udcff surrogate",
    "\x7f del",
]


@pytest.fixture(scope="module")
def tcl_interp():
    interp = tkinter.Tcl()
    interp.eval("rename exec {}; rename open {}; rename file {}")  # nothing a broken escape could run does harm
    return interp


def _tcl_value(interp, word: str) -> str:
    interp.eval(f"set v {word}")
    return interp.eval("set v")


@pytest.mark.parametrize("text", [t for t in HOSTILE if "\udcff" not in t and "\U0001f600" not in t])
def test_tcl_word_is_the_value_and_nothing_else(tcl_interp, text):
    word = escape.tcl(text)
    assert "\n" not in word and "\r" not in word
    assert _tcl_value(tcl_interp, word) == text
    # as one word among others, in a list and inside a command: nothing leaks into neighbouring words
    assert tcl_interp.eval(f"llength [list a {word} b]") == "3"
    assert tcl_interp.eval(f"lindex [list a {word} b] 1") == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0xFFFF, exclude_categories=("Cs",))))
def test_tcl_round_trips_any_text(tcl_interp, text):
    assert _tcl_value(tcl_interp, escape.tcl(text)) == text


def test_tcl_keeps_plain_words_readable_and_refuses_nul():
    assert escape.tcl("xc7z020clg400-1") == "{xc7z020clg400-1}"
    assert escape.tcl("-std=c++14 -I. -Ilib") == "{-std=c++14 -I. -Ilib}"
    assert escape.tcl("") == "{}"
    with pytest.raises(ValueError, match="NUL"):
        escape.tcl("a\x00b")


@pytest.mark.parametrize("text", HOSTILE)
def test_yaml_scalar_is_the_value(text):
    scalar = escape.yaml(text)
    assert "\n" not in scalar and scalar.isascii()
    document = f"key: {scalar}\nother: 1\n"
    assert pyyaml.safe_load(document) == {"key": text, "other": 1}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",))))
def test_yaml_round_trips_any_text(text):
    assert pyyaml.safe_load(f"k: {escape.yaml(text)}") == {"k": text}


@pytest.mark.parametrize("text", HOSTILE)
def test_comment_is_one_printable_line_that_cannot_continue(text):
    body = escape.comment(text)
    assert body.isascii() and body.isprintable()
    assert not body.endswith("\\")
    # the body stays inside its comment in Tcl, YAML, C++ (// and a following line) and Python
    assert pyyaml.safe_load(f"# {body}\nk: 1\n") == {"k": 1}
    namespace: dict = {}
    exec(compile(f"# {body}\nk = 1\n", "<comment>", "exec"), namespace)
    assert namespace["k"] == 1


def test_comment_in_tcl_and_cpp(tcl_interp, tmp_path):
    import subprocess

    lines = "\n".join(f"// {escape.comment(t)}" for t in HOSTILE)
    source = tmp_path / "c.cpp"
    source.write_text(f"{lines}\nint fpgaq_value() {{ return 42; }}\n")
    result = subprocess.run(["g++", "-fsyntax-only", "-Wall", "-Werror", str(source)], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    script = "\n".join(f"# {escape.comment(t)}" for t in HOSTILE) + "\nset k 1\n"
    tcl_interp.eval(script)
    assert tcl_interp.eval("set k") == "1"


@pytest.mark.parametrize("text", HOSTILE)
def test_terminal_text_has_no_control_characters(text):
    import unicodedata

    shown = escape.terminal(text)
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in shown)
    assert escape.terminal("caf\u00e9 \u4e2d\u6587 [red]x") == "caf\u00e9 \u4e2d\u6587 [red]x"  # printable text stays


def test_terminal_names_the_escaped_characters():
    assert escape.terminal("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert escape.terminal("\u202eevil") == "\\u202eevil"
    assert escape.terminal("x\ny") == "x\\x0ay"


@pytest.mark.parametrize("text", [*HOSTILE, "=cmd|' /C calc'!A0", "+SUM(A1)", "-2+3", "@A1", "\t=1", "\r=1"])
def test_csv_cell_never_starts_a_formula(text):
    cell = escape.csv(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
    assert cell == text or cell == "'" + text  # the text itself, at most marked as text


@settings(max_examples=300)
@given(st.lists(st.text(), min_size=1, max_size=4))
def test_csv_row_round_trips_through_the_csv_module(cells):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerow([escape.csv(c) for c in cells])
    (row,) = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert row == [escape.csv(c) for c in cells]  # separators, quotes and newlines stay inside their cell
