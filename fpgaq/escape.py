"""Escaping for every language fpgaq writes: one function per target, each tested with hostile strings.

A model file, a file or folder name and every JSON/YAML/npy file are untrusted. Nothing that came from them
reaches generated text except through one of these functions:

    terminal(s)   text printed on a terminal (stdout, stderr): no control characters, no escape sequences
    comment(s)    the body of a one-line comment in any generated file (C++, Tcl, YAML, Python, Verilog)
    tcl(s)        one Tcl word whose value is exactly s (no substitution, no word or command break)
    yaml(s)       a YAML scalar whose value is exactly s (a double-quoted flow scalar)
    csv(s)        a spreadsheet cell shown as text, never run as a formula (quoting is the csv module's)

HTML goes through Jinja's autoescape (fpgaq.report.html); generated C++ and Verilog identifiers are made by
fpgaq from [A-Za-z0-9_] and never come from a model.
"""

from __future__ import annotations

import unicodedata

_TCL_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:+=,@%")


def _is_control(ch: str) -> bool:
    """C0/C1 controls, DEL, and Unicode format characters (bidi overrides, zero-width joiners, ...)."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def _code(ch: str) -> str:
    n = ord(ch)
    if n < 0x100:
        return f"\\x{n:02x}"
    if n < 0x10000:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def terminal(text) -> str:
    """Text safe to print on a terminal: control and format characters become visible escapes (\\x1b, \\u202e)."""
    return "".join(_code(ch) if _is_control(ch) else ch for ch in str(text))


def comment(text) -> str:
    """One line of printable ASCII for a comment body: everything else, and the backslash, as an escape.

    A newline would end the comment (and start a command in Tcl or a key in YAML); a backslash at the end of
    a C++ or Tcl comment line continues the comment onto the next line. Neither can survive this.
    """
    return "".join(ch if " " <= ch <= "~" and ch != "\\" else _code(ch) for ch in str(text))


def tcl(text) -> str:
    """A Tcl word whose value is exactly `text`.

    Printable ASCII without braces or backslashes goes in braces, which Tcl takes verbatim ({a b$[c]}).
    Anything else is written as a bare word in which every character but letters, digits and _-./:+=,@% is
    a backslash escape (\\uhhhh, \\Uhhhhhhhh: always four or eight digits, so the next character is never
    consumed): no $ [ ] { } " ; space or newline can end the word or start a substitution or a command.
    """
    text = str(text)
    if "\x00" in text:
        raise ValueError("a NUL character cannot be passed to Tcl")
    if all(" " <= ch <= "~" and ch not in "{}\\" for ch in text):
        return "{" + text + "}"
    out = []
    for ch in text:
        n = ord(ch)
        if ch in _TCL_PLAIN:
            out.append(ch)
        elif n < 0x10000:
            out.append(f"\\u{n:04x}")
        else:
            out.append(f"\\U{n:08x}")
    return "".join(out)


def yaml(text) -> str:
    """A YAML double-quoted scalar whose value is exactly `text` (YAML 1.1 and 1.2 escapes only)."""
    out = ['"']
    for ch in str(text):
        n = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif " " <= ch <= "~":
            out.append(ch)
        elif n < 0x100:
            out.append(f"\\x{n:02x}")
        elif n < 0x10000:
            out.append(f"\\u{n:04x}")
        else:
            out.append(f"\\U{n:08x}")
    out.append('"')
    return "".join(out)


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv(text) -> str:
    """A CSV cell that a spreadsheet shows as the text it is: a leading =, +, -, @ or whitespace control would
    start a formula (CSV injection), so such a cell gets a leading apostrophe, the spreadsheets' text marker; the
    csv module quotes separators and quotes. Numbers are written as numbers and never pass through here."""
    text = str(text)
    return "'" + text if text.startswith(_FORMULA) else text
