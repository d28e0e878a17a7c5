"""The plan lint: refuses or warns about a kernel that would miss the initiation interval its estimate assumes.

Run by every build on the kernel plan, before any file is written (fpgaq.pipeline.build_plan); the backend adds
rules about its own sources (fpgaq.backends.hls.lint). Rules, each with a test (tests/test_lint.py):

  banks   A table read at a run-time index by several lanes must keep each lane in its own memory: its lane
          dimension split completely (one memory per index). A cyclic split by a factor smaller than the
          dimension leaves the bank of an index to be proven at run time, and HLS raises the II (error).
  ports   A memory serves at most two reads per cycle (dual-port block RAM, [UG473]). A table that several
          lanes read without a split, or threshold levels not packed in one word, needs more (error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fpgaq.errors import FpgaqError
from fpgaq.plan import kernels as k

PORTS = 2  # reads per cycle of one dual-port memory


class LintError(FpgaqError):
    """A kernel plan that would not run at the II its estimate assumes."""


@dataclass(frozen=True)
class Finding:
    rule: str
    kernel: str
    table: str
    message: str
    error: bool

    def __str__(self) -> str:
        return f"{self.rule}: {self.kernel}: {self.message}"


def _lanes(kernel: k.Kernel) -> int:
    """How many lanes of a kernel read its per-channel tables in one cycle."""
    if isinstance(kernel, k.Mvu):
        return kernel.pe
    if isinstance(kernel, (k.Thresholding, k.Requantize, k.MaxPool)):
        return kernel.inp.width
    return 1


def _per_lane(kernel: k.Kernel) -> tuple[k.Table, ...]:
    """The per-channel tables every lane reads in the same cycle (the weights are one packed word a cycle)."""
    if isinstance(kernel, k.Mvu):
        act = kernel.activation
        if isinstance(act, k.FusedRequant):
            return (kernel.bias,) + act.tables()
        return (kernel.bias,) + (() if act is None else (act.thresholds, act.negate))
    if isinstance(kernel, k.Thresholding):
        return kernel.thresholds, kernel.negate
    if isinstance(kernel, k.Requantize):
        return kernel.mult, kernel.offset, kernel.negate
    if isinstance(kernel, k.MaxPool):
        return (kernel.sign,)
    return ()


def _levels(kernel: k.Kernel, table: k.Table) -> int:
    """Threshold levels behind a table (0 for other tables)."""
    act = kernel.activation if isinstance(kernel, k.Mvu) else kernel if isinstance(kernel, k.Thresholding) else None
    if isinstance(act, (k.FusedThreshold, k.Thresholding)) and table is act.thresholds:
        return act.levels
    return 0


def reads_per_memory(kernel: k.Kernel, table: k.Table) -> int:
    """Reads of one memory of `table` per cycle of `kernel`."""
    lanes = _lanes(kernel) if any(table is t for t in _per_lane(kernel)) else 1
    split = table.banks is not None and table.banks[1] == table.shape[table.banks[0] - 1] == lanes
    per_lane = 1
    if _levels(kernel, table) and len(table.shape) >= 3 and 3 not in table.packed and table.shape[2] > 1:
        per_lane = table.shape[2]  # every level compared at once, not in one word
    return per_lane * (1 if split or lanes == 1 else lanes)


def lint_plan(plan: k.Plan) -> list[Finding]:
    """Every finding of the plan rules, errors first."""
    found = []
    for kernel in plan.kernels:
        for table in kernel.tables():
            if table.banks is not None:
                dim, factor = table.banks
                size = table.shape[dim - 1]
                if factor > 1 and factor != size:
                    message = (f"table {table.name} is split cyclically by {factor} over a dimension of {size}: "
                               "which memory an index reads cannot be proven (II > 1)")  # fmt: skip
                    found.append(Finding("banks", kernel.name, table.name, message, True))
                    continue
            reads = reads_per_memory(kernel, table)
            if reads > PORTS:
                levels = _levels(kernel, table)
                who = f"{levels} levels not in one word" if levels and 3 not in table.packed else "lanes"
                found.append(Finding("ports", kernel.name, table.name,
                                     f"{_lanes(kernel)} lanes ({who}) read one memory of {table.name} {reads} times "
                                     f"per element; it has {PORTS} ports (about {math.ceil(reads / PORTS)} cycles "
                                     "per element)", True))  # fmt: skip
    return sorted(found, key=lambda f: not f.error)


def check_plan(plan: k.Plan) -> list[str]:
    """Raise LintError on any error finding; return the warnings as messages."""
    found = lint_plan(plan)
    errors = [str(f) for f in found if f.error]
    if errors:
        raise LintError("the plan would miss its II: " + "; ".join(errors))
    return [str(f) for f in found]
