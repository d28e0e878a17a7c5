"""Whether an estimate fits a board, compared exactly, and percentages printed so they never mislead.

A resource fits a limit of P percent when used * 100 <= P * available, in exact rational arithmetic (P as the
user wrote it: "85.4" is 427/5, not the float nearest it). A percentage is printed with one decimal, or as many
more as it takes for the printed value to sit on the same side of the limit as the exact one: 533 of 624 is
85.42% and prints "85.4%" against a limit of 85%, 85.04% prints "85.04%" (never "85.0%"), 85% exactly prints
"85.0%".
"""

from __future__ import annotations

import math
from fractions import Fraction

from fpgaq.errors import FpgaqError

DEFAULT_MAX_UTILIZATION = Fraction(85, 100)  # a design above 85% of a resource rarely routes at the board's clock
RESOURCE_NAMES = {"lut": "LUT", "ff": "FF", "bram18": "BRAM18", "dsp": "DSP", "uram": "URAM"}
MAX_DIGITS = 12


def parse_utilization(value, option: str = "--max-utilization") -> Fraction:
    """A percentage in (0, 100] (a number or its text) as the exact fraction of the board it allows."""
    try:
        if isinstance(value, float):
            exact = Fraction(value) if math.isfinite(value) else None
        else:
            exact = Fraction(str(value).strip().removesuffix("%").strip())
    except (ValueError, ZeroDivisionError):
        exact = None
    if exact is None or not 0 < exact <= 100:
        raise FpgaqError(f"{option} must be a percentage above 0 and at most 100, not {value!r}")
    return exact / 100


def within(used: int, available: int, limit: Fraction = Fraction(1)) -> bool:
    """used <= limit * available, exactly (limit a fraction of the board: 0.85 for 85%)."""
    return used <= Fraction(limit) * available


def format_limit(limit: Fraction) -> str:
    """A limit (a fraction of the board) as the percentage the user wrote: 85%, 85.4%, 100%."""
    pct = Fraction(limit) * 100
    if pct.denominator == 1:
        return f"{pct.numerator}%"
    for digits in range(1, MAX_DIGITS + 1):
        if round(pct, digits) == pct:
            return f"{float(pct):.{digits}f}%"
    return f"{float(pct):.{MAX_DIGITS}f}%"


def percent(used: int, available: int, limit: Fraction = Fraction(1)) -> str:
    """used / available as a percentage with one decimal, or more where one would put the printed value on the
    other side of `limit` (or on it) than the exact value is."""
    exact = Fraction(used * 100, available)
    edge = Fraction(limit) * 100
    side = (exact > edge) - (exact < edge)
    for digits in range(1, MAX_DIGITS + 1):
        shown = round(exact, digits)
        if (shown > edge) - (shown < edge) == side:
            return f"{float(shown):.{digits}f}%"
    return f"{float(exact):.{MAX_DIGITS}f}%"


def fit_section(totals: dict, board, limit: Fraction = Fraction(1)) -> dict:
    """report.json's `fit`: whether every resource the design needs is within `limit` of the board, and those
    that are not (resource, used, available, percent, text)."""
    over = []
    for key, name in RESOURCE_NAMES.items():
        used, available = totals[key], getattr(board, key)
        if used and not within(used, available, limit):
            text = percent(used, available, limit) if available else "none on the board"
            over.append({"resource": name, "used": used, "available": available,
                         "percent": 100 * used / available if available else None, "text": text})  # fmt: skip
    return {"fits": not over, "limit_percent": float(Fraction(limit) * 100), "over": over}
