"""The HLS source lint: no division or modulo in a pipelined loop, and every pipelined loop timed.

A `/` or `%` whose operands are not compile-time constants becomes a divider that either raises the II of an
II = 1 loop or costs hundreds of LUTs the estimator does not count; FINN and hls4ml use wrap-around counters,
and so does every kernel in hls/. The rule is strict and simple: inside the body of a loop that carries
`#pragma HLS PIPELINE`, and inside any function marked `#pragma HLS INLINE` without a pipelined loop of its
own (it lands in its caller's loop), no `/` and no `%` at all (constants are hoisted before the loop).
Comments and string literals are ignored. Every pipelined loop starts with FPGAQ_CYCLE() or FPGAQ_CYCLES(ii)
right after its PIPELINE pragma: the timed dataflow simulation (hls/sim) counts a loop's cycles only there.

Run on the kernel library and the generated sources by every build (fpgaq.backends.hls.HlsBackend.emit).
"""

from __future__ import annotations

import re

from fpgaq.errors import FpgaqError

_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", re.S)
_PRAGMA = re.compile(r"#pragma\s+HLS\s+(PIPELINE|INLINE)\b[^\n]*", re.I)
_PIPELINE = re.compile(r"#pragma\s+HLS\s+PIPELINE\b", re.I)
_UNTIMED = ("top_axi.cpp", "testbench.cpp")  # outside the timed simulation's region (the AXI wrapper, the bench)
_TICK = re.compile(r"\s*FPGAQ_CYCLES?\(")
_OPERATOR = re.compile(r"(?<![/*])[/%](?![/*=])|[/%]=")


class SourceLintError(FpgaqError):
    """Generated or library C++ that would miss its II."""


def _blank(match: re.Match) -> str:
    """Keep line numbers: replace a comment or literal by spaces and its newlines."""
    return "".join("\n" if c == "\n" else " " for c in match.group(0))


def _enclosing_block(text: str, pos: int) -> tuple[int, int]:
    """(start, end) of the innermost { ... } block containing pos."""
    depth, start = 0, pos
    while start > 0:
        start -= 1
        if text[start] == "}":
            depth += 1
        elif text[start] == "{":
            if depth == 0:
                break
            depth -= 1
    depth, end = 0, pos
    while end < len(text):
        if text[end] == "{":
            depth += 1
        elif text[end] == "}":
            if depth == 0:
                break
            depth -= 1
        end += 1
    return start, end


def lint_source(name: str, text: str) -> list[str]:
    """`name:line: ...` for every / or % in a pipelined loop body or an inlined function of `text`, and for every
    pipelined loop that does not start by counting its cycle."""
    code = _COMMENTS.sub(_blank, text)
    found = []
    for pragma in _PIPELINE.finditer(code) if not name.endswith(_UNTIMED) else ():
        if not _TICK.match(code, code.find("\n", pragma.start()) + 1):
            line = code.count("\n", 0, pragma.start()) + 1
            found.append(f"{name}:{line}: a pipelined loop that does not start with FPGAQ_CYCLE() (untimed)")
    for pragma in _PRAGMA.finditer(code):
        start, end = _enclosing_block(code, pragma.start())
        body = code[start:end]
        inline = pragma.group(1).upper() == "INLINE"
        if inline and _PIPELINE.search(body):
            continue  # a function with its own pipelined loop: that loop is checked, not its prologue
        for op in _OPERATOR.finditer(body):
            line = code.count("\n", 0, start + op.start()) + 1
            where = "an inlined function" if inline else "a pipelined loop"
            found.append(f"{name}:{line}: '{op.group(0)}' in {where} (use a counter, or hoist the constant)")
    return sorted(set(found), key=lambda s: (s.split(":")[0], int(s.split(":")[1])))


def check_sources(files: dict[str, str | bytes]) -> None:
    """Raise SourceLintError listing every finding in the C++ sources among `files` (path -> content)."""
    found = []
    for path, content in sorted(files.items()):
        if path.endswith((".h", ".cpp")):
            text = content.decode("utf-8") if isinstance(content, bytes) else content
            found += lint_source(path, text)
    if found:
        raise SourceLintError("C++ that would miss its II or its timing: " + "; ".join(found[:10]))
