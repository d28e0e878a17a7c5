"""Backend-neutral integer types and the exact rounding modes of the QONNX Quant and Trunc ops."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from fractions import Fraction

from fpgaq.errors import UnsupportedOpError
from fpgaq.host import quant_int_range  # noqa: F401 (the one definition; imported from here by the IR)

MAX_INT_BITS = 62
"""The widest integer fpgaq carries: every value in range, its negation and hi + 1 fit the int64 of the golden
executor, the threshold tables and the C-simulation bridge."""


@dataclass(frozen=True, order=True)
class IntType:
    """A two's complement (signed) or unsigned integer of `bits` bits, as ap_int<bits> / ap_uint<bits>."""

    bits: int
    signed: bool

    def __post_init__(self) -> None:
        if not isinstance(self.bits, int) or self.bits < 1:
            raise ValueError(f"IntType bits must be a positive integer, not {self.bits!r}")

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.bits}"

    @staticmethod
    def for_range(lo: int, hi: int) -> IntType:
        """The narrowest type holding every integer in [lo, hi]: unsigned when lo >= 0, else signed."""
        from fpgaq.bounds import bits_for_range

        return IntType(bits_for_range(lo, hi), int(lo) < 0)


class Rounding(enum.Enum):
    """Rounding modes of QONNX Quant/Trunc. ROUND is round-half-to-even, as numpy and torch."""

    ROUND = "ROUND"
    CEIL = "CEIL"
    FLOOR = "FLOOR"
    ROUND_TO_ZERO = "ROUND_TO_ZERO"
    UP = "UP"
    HALF_UP = "HALF_UP"
    HALF_DOWN = "HALF_DOWN"

    @staticmethod
    def parse(name: str | bytes, where: str = "") -> Rounding:
        """A mode by name (case-insensitive; HALF_EVEN and DOWN are aliases); `where` prefixes the error."""
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        key = name.upper()
        key = {"HALF_EVEN": "ROUND", "DOWN": "ROUND_TO_ZERO"}.get(key, key)
        try:
            return Rounding(key)
        except ValueError:
            known = ", ".join(m.value for m in Rounding) + ", HALF_EVEN, DOWN"
            prefix = f"{where}: " if where else ""
            raise UnsupportedOpError(f"{prefix}unknown rounding mode {name!r}; supported: {known}") from None

    def apply(self, y: Fraction) -> int:
        """Round the exact rational y to an integer with this mode."""
        fl = math.floor(y)
        frac = y - fl
        if self is Rounding.FLOOR:
            return fl
        if self is Rounding.CEIL:
            return math.ceil(y)
        if self is Rounding.ROUND_TO_ZERO:
            return math.trunc(y)
        if self is Rounding.UP:
            return -math.floor(-y) if y > 0 else math.floor(y)
        if frac != Fraction(1, 2):
            return fl + (1 if frac > Fraction(1, 2) else 0)
        if self is Rounding.ROUND:
            return fl if fl % 2 == 0 else fl + 1
        if self is Rounding.HALF_UP:  # ties away from zero
            return fl + 1 if y > 0 else fl
        return fl if y > 0 else fl + 1  # HALF_DOWN: ties toward zero

    def at_least(self, k: int) -> tuple[str, Fraction]:
        """The condition on y equivalent to apply(y) >= k, as (">=" or ">", t)."""
        half = Fraction(2 * k - 1, 2)
        if self is Rounding.FLOOR:
            return (">=", Fraction(k))
        if self is Rounding.CEIL:
            return (">", Fraction(k - 1))
        if self is Rounding.ROUND_TO_ZERO:
            return (">=", Fraction(k)) if k >= 1 else (">", Fraction(k - 1))
        if self is Rounding.UP:
            return (">", Fraction(k - 1)) if k >= 1 else (">=", Fraction(k))
        if self is Rounding.ROUND:
            tie_rounds_up = k % 2 == 0
        elif self is Rounding.HALF_UP:
            tie_rounds_up = k >= 1
        else:
            tie_rounds_up = k <= 0
        return (">=" if tie_rounds_up else ">", half)
