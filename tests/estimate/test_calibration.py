"""The RTL estimate's calibration to Yosys (fpgaq.estimate.calibration): its factors are the fit of the stored
Yosys counts (bench/data/rtl_yosys_kernels.json, measured by bench/rtl_calibration.py), the calibrated estimate is
within the error docs/estimates.md states on those counts, and only RTL builds are calibrated (an HLS build's
estimate is the formulas of models.py unchanged). No Yosys runs here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fpgaq import frontend
from fpgaq.boards import load_board
from fpgaq.estimate import calibration, estimate_plan
from fpgaq.estimate.costs import kernel_cost, stream_cost
from fpgaq.plan.folding import resolve_folding
from fpgaq.plan.planner import make_plan

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "rtl_yosys_kernels.json"
# what docs/estimates.md states on the stored rows: the median LUT error per kernel after calibration, and the
# sums of LUT and FF over each folding's kernels within this fraction of Yosys's
STATED_MEDIAN_LUT_ERROR = 0.25
STATED_SUM_ERROR = 0.20


@pytest.fixture(scope="module")
def rows():
    return json.loads(DATA.read_text())["rows"]


def test_factors_are_the_fit_of_the_stored_yosys_counts(rows):
    assert calibration.fit(rows) == calibration.FACTORS


def test_calibration_brings_the_estimate_within_the_stated_error(rows):
    lut = calibration.errors(rows, calibration.FACTORS)["total"]["lut"]
    assert lut["after"][1] <= STATED_MEDIAN_LUT_ERROR < lut["before"][1]
    for folding in ("default", "ones"):
        part = [row for row in rows if row["folding"] == folding]
        for r in ("lut", "ff"):
            measured = sum(calibration.measured(row["yosys"], r) for row in part)
            after = sum(calibration.apply(row, calibration.FACTORS)[r] for row in part)
            assert abs(after / measured - 1) <= STATED_SUM_ERROR, (folding, r, after, measured)


def test_calibrate_scales_lut_and_ff_only():
    cost = calibration.Cost(cycles=7, lut=1000, ff=500, bram18=3, dsp=2)
    scaled = calibration.calibrate(cost, "k", {"k": (1.5, 0.5)})
    assert (scaled.cycles, scaled.lut, scaled.ff, scaled.bram18, scaled.dsp) == (7, 1500, 250, 3, 2)
    assert calibration.calibrate(cost, "unmeasured", {"k": (1.5, 0.5)}) == cost


def test_a_class_of_too_few_kernels_gets_no_factor():
    row = {"class": "k", "estimate": {"lut": 10, "ff": 10}, "yosys": {"lut": 20, "ff": 5, "lutram": 0, "srl": 0}}
    assert calibration.fit([row] * 5) == {}  # one kernel, measured five times, fits itself exactly: no evidence
    other = {**row, "yosys": {"lut": 40, "ff": 5, "lutram": 1, "srl": 0}}  # 40 + 4 LUTs as the estimate counts
    third = {**row, "yosys": {"lut": 10, "ff": 20, "lutram": 0, "srl": 2}}
    lut, ff = calibration.fit([row, other, third])["k"]
    assert lut == pytest.approx((2.0 * 4.4 * 1.2) ** (1 / 3), rel=1e-2) and ff == pytest.approx(
        0.5 ** (2 / 3) * 2 ** (1 / 3), rel=1e-2
    )


@pytest.mark.parametrize("name", ["mlp_float_bias", "gap_trunc"])
def test_only_rtl_builds_are_calibrated(exported, name):
    path, _ = exported(name, False)
    graph = frontend.load(path)
    plan = make_plan(graph, resolve_folding(graph, None))
    board = load_board("pynq-z2")
    hls, rtl = estimate_plan(plan, board, 10.0), estimate_plan(plan, board, 10.0, "rtl")
    fifos = {}
    for kernel in plan.kernels:  # each FIFO with the kernel that first touches it, as estimate_plan counts it
        for s in kernel.inputs() + kernel.outputs():
            fifos.setdefault(s.name, (kernel.name, s))
    calibrated_any = False
    for kernel, h, r in zip(plan.kernels, hls["kernels"], rtl["kernels"], strict=True):
        own = [stream_cost(s, plan.depth(s.name)) for owner, s in fifos.values() if owner == kernel.name]
        formula = sum(own, kernel_cost(kernel, board.device))
        assert (h["lut"], h["ff"]) == (formula.lut, formula.ff)  # HLS: the formulas unchanged
        kind = calibration.kernel_class(kernel)
        calibrated = sum((calibration.calibrate(c, calibration.FIFO) for c in own),
                         calibration.calibrate(kernel_cost(kernel, board.device), kind))  # fmt: skip
        assert (r["lut"], r["ff"]) == (calibrated.lut, calibrated.ff)
        assert (r["cycles"], r["bram18"], r["dsp"]) == (h["cycles"], h["bram18"], h["dsp"])
        calibrated_any |= (r["lut"], r["ff"]) != (h["lut"], h["ff"])
    assert calibrated_any
    assert hls["resources_from"] != rtl["resources_from"]
