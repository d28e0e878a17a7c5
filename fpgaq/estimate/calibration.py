"""The estimate of an RTL build: the formulas of models.py (which model Vivado on the HLS kernels, each with its
source) times a factor per kernel class, fitted to Yosys synth_xilinx (7-series) on the RTL library's kernels.

The factors (FACTORS) come from bench/rtl_calibration.py: every kernel of the test models built with --backend rtl
at two foldings, synthesized alone by Yosys, beside the uncalibrated estimate of that kernel (the rows of
bench/data/rtl_yosys_kernels.json). Per class, a factor is the geometric mean of Yosys / estimate over its kernels
(the factor that minimizes the mean squared log error), rounded to three significant digits; a test refits the
stored rows and checks it equals FACTORS. HLS builds keep the uncalibrated formulas: Vivado, not Yosys, maps them.
A class without a factor (fewer than MIN_KERNELS distinct kernels of it were measured) keeps its formula (factor 1).
"""

from __future__ import annotations

import dataclasses
import math
import statistics

from fpgaq.estimate import models
from fpgaq.estimate.models import Cost
from fpgaq.plan import kernels as k

LUTS_PER_LUTRAM_CELL = 4  # RAM32M / RAM64M, what synth_xilinx infers for multi-bit LUTRAM: one SLICEM's 4 LUTs (UG474)
FIFO = "fifo"  # the class of a stream FIFO (fpgaq.estimate.costs.stream_cost; rtl/fpgaq_fifo.sv)

# class: (LUT factor, FF factor), Yosys / estimate, fitted by bench/rtl_calibration.py
FACTORS: dict[str, tuple[float, float]] = {
    "dwc": (2.4, 1.58),
    "fifo": (2.04, 0.31),
    "maxpool": (3.69, 3.66),
    "mvu": (0.681, 0.346),
    "mvu+thresholds": (1.13, 0.547),
    "sumpool": (0.426, 0.648),
    "swg": (1.72, 3.44),
    "threshold": (1.22, 0.215),
}

REMAINING = (
    "What calibration cannot remove, Yosys against Vivado: Yosys does no retiming and no register duplication; its "
    "LUT mapping (ABC) and its carry-chain use differ from Vivado's, so adders and comparators cost a different "
    "number of LUTs and CARRY4s; it maps the RTL kernels' weight and threshold ROMs ($readmemh tables) to LUT "
    "logic or LUTRAM where Vivado may choose block RAM; it infers SRLs and DSP48s by its own rules (fpgaq asks for "
    "no DSP in an MVU whose products the estimate keeps in LUTs, but the add's constant multipliers and the "
    "requantizer's products go to DSP48s where the estimate counts shift-add LUTs); and no place and route runs, so "
    "no Fmax and no routing-driven replication. The factors measure the RTL library as Yosys maps it, not "
    "Vivado's counts. Where Yosys's structure differs in kind from a formula, a factor cannot follow it: a stream "
    "FIFO's memory goes to LUTRAM (about 5 flip-flops) once its word is wide and to flip-flops below, so the FIFO "
    "flip-flop error stays large per kernel while the sums come close."
)


def kernel_class(kernel: k.Kernel) -> str:
    """The calibration class of a plan kernel: its kind, and for a matrix-vector unit its fused activation
    ("+thresholds", "+requant") and "-dsp" where its products go to DSP48s (models.uses_dsp)."""
    if not isinstance(kernel, k.Mvu):
        return kernel.kind
    act = kernel.activation
    suffix = {k.FusedThreshold: "+thresholds", k.FusedRequant: "+requant"}.get(type(act), "")
    dsp = "-dsp" if models.uses_dsp(kernel.weights.elem.bits, kernel.inp.elem.bits) else ""
    return f"mvu{suffix}{dsp}"


def calibrate(cost: Cost, kind: str, factors: dict[str, tuple[float, float]] = FACTORS) -> Cost:
    """`cost` with its LUT and FF scaled by the factors of class `kind` (unchanged where there are none)."""
    lut, ff = factors.get(kind, (1.0, 1.0))
    return dataclasses.replace(cost, lut=round(cost.lut * lut), ff=round(cost.ff * ff))


def measured(yosys: dict, resource: str) -> int:
    """Yosys counts as the estimate counts them: "lut" is slice LUTs, logic LUTs plus LUTs as memory (a LUTRAM cell
    as LUTS_PER_LUTRAM_CELL LUTs; RAM32X1D/RAM64X1D take 2, so a 1-bit-wide memory is over-counted) and shift
    registers (one LUT per SRL16E/SRLC32E); "ff" is flip-flops."""
    if resource == "lut":
        return yosys["lut"] + LUTS_PER_LUTRAM_CELL * yosys.get("lutram", 0) + yosys.get("srl", 0)
    return yosys[resource]


def _geomean(pairs: list[tuple[int, int]]) -> float:
    logs = [math.log(measured / estimate) for estimate, measured in pairs if estimate > 0 and measured > 0]
    return float(f"{math.exp(sum(logs) / len(logs)):.3g}") if logs else 1.0


MIN_KERNELS = 3  # a class is fitted only from this many distinct kernels (one kernel fits itself exactly)


def fit(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """Per class, the (LUT, FF) factors of rows {"class", "estimate": {"lut", "ff"}, "yosys": {"lut", "ff",
    "lutram", "srl"}}: geometric means of Yosys (`measured`) / estimate over the rows where both are positive, to
    three significant digits. A class with fewer than MIN_KERNELS distinct kernels gets no factor."""
    factors = {}
    for kind in sorted({row["class"] for row in rows}):
        part = [row for row in rows if row["class"] == kind]
        distinct = {
            (row["estimate"]["lut"], row["estimate"]["ff"], row["yosys"]["lut"], row["yosys"]["ff"]) for row in part
        }
        if len(distinct) < MIN_KERNELS:
            continue
        factors[kind] = tuple(_geomean([(row["estimate"][r], measured(row["yosys"], r)) for row in part])
                              for r in ("lut", "ff"))  # fmt: skip
    return factors


def apply(row: dict, factors: dict[str, tuple[float, float]]) -> dict[str, int]:
    """The (calibrated by `factors`) LUT and FF estimate of one row."""
    cost = calibrate(Cost(lut=row["estimate"]["lut"], ff=row["estimate"]["ff"]), row["class"], factors)
    return {"lut": cost.lut, "ff": cost.ff}


def _error(rows: list[dict], resource: str, factors: dict) -> tuple[float, float, float]:
    pairs = [(apply(row, factors)[resource], measured(row["yosys"], resource)) for row in rows]
    errors = [abs(estimate - yosys) / yosys for estimate, yosys in pairs if yosys > 0]
    if not errors:
        return 0.0, 0.0, 0.0
    return sum(errors) / len(errors), statistics.median(errors), max(errors)


def errors(rows: list[dict], factors: dict[str, tuple[float, float]]) -> dict[str, dict]:
    """Per class and in total ("total"): {"n", "lut"/"ff": {"before"/"after": (mean, median, worst)}}, the absolute
    relative error |estimate - Yosys| / Yosys of each kernel (kernels where Yosys counts none are left out),
    uncalibrated (before) and with `factors` (after)."""
    groups = {kind: [row for row in rows if row["class"] == kind] for kind in sorted({row["class"] for row in rows})}
    groups["total"] = rows
    return {
        kind: {
            "n": len(part),
            **{r: {"before": _error(part, r, {}), "after": _error(part, r, factors)} for r in ("lut", "ff")},
        }
        for kind, part in groups.items()
    }
