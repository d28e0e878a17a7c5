"""Constant tables: the narrowest type of their values, when thresholds compare in parallel, and which memory
a table is bound to (the estimate costs the same choice: fpgaq.estimate.models.memory)."""

from __future__ import annotations

import numpy as np

from fpgaq.errors import FpgaqError
from fpgaq.ir.types import IntType

MAX_CONST_BITS = 63
LINEAR_MAX_LEVELS = 64  # above 64 threshold levels the planner tries the exact requantizer (comparators otherwise)
LUTRAM_MAX_DEPTH = 128  # FINN's internal_embedded rule: at most 128 words per memory in LUTRAM, deeper in BRAM


def storage(depth: int) -> str:
    """The memory a table of `depth` words per memory is bound to: "lutram" or "bram"."""
    return "lutram" if depth <= LUTRAM_MAX_DEPTH else "bram"


FIFO_REGISTERS = 2  # Vitis's default stream depth: a pair of registers, no memory
FIFO_SRL_MAX_DEPTH = 128  # deeper stream FIFOs go to block RAM (the tables' LUTRAM rule)


def fifo_storage(depth: int) -> str | None:
    """The memory a stream FIFO of `depth` words is bound to: None (registers, Vitis's own choice at depth 2),
    "srl" (shift-register LUTs) or "bram"."""
    if depth <= FIFO_REGISTERS:
        return None
    return "srl" if depth <= FIFO_SRL_MAX_DEPTH else "bram"


def table_type(values: np.ndarray, what: str) -> IntType:
    """The narrowest integer type of a constant table (holding 0, so an all-positive table stays unsigned)."""
    lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
    t = IntType.for_range(min(lo, 0), max(hi, 0))
    if t.bits > MAX_CONST_BITS:
        raise FpgaqError(f"{what} needs {t.bits}-bit constants; at most {MAX_CONST_BITS} are supported")
    return t
