"""Fit is never silent: exact limits, percentages that never read as the limit, the fit warning and report marks,
--max-utilization, and a folding search that never returns a folding costlier than the default one."""

from __future__ import annotations

import dataclasses
import json
import re
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from brevitas import nn as qnn
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq import frontend, pipeline
from fpgaq.boards import load_board
from fpgaq.cli import main
from fpgaq.errors import FpgaqError
from fpgaq.estimate import RESOURCES
from fpgaq.estimate import search as search_module
from fpgaq.estimate.fit import fit_section, format_limit, parse_utilization, percent, within
from fpgaq.estimate.search import FoldingSearchError, resource_score, search_folding
from fpgaq.ir import graph as ir
from fpgaq.report.html import render_html
from tests.conftest import export
from tests.models import calibrate

BOARD = load_board("pynq-z2")


class CnvLike(torch.nn.Module):
    """CNV in miniature: two 3x3 convolutions, a 2x2 max pool, two more, a global max pool over the last map (as a
    CNV at 224x224 pools 49x49), a dense layer."""

    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        channels = [(3, 8), (8, 8), (8, 16), (16, 16)]
        self.convs = torch.nn.ModuleList(qnn.QuantConv2d(i, o, 3, weight_bit_width=2, bias=False) for i, o in channels)
        self.bns = torch.nn.ModuleList(torch.nn.BatchNorm2d(o) for _, o in channels)
        self.acts = torch.nn.ModuleList(qnn.QuantReLU(bit_width=2, return_quant_tensor=True) for _ in channels)
        self.fc = qnn.QuantLinear(16, 10, weight_bit_width=2, bias=False)

    def forward(self, x):
        x = self.inp(x)
        for i, (conv, bn, act) in enumerate(zip(self.convs, self.bns, self.acts)):
            x = act(bn(conv(x)))
            if i == 1:
                x = F.max_pool2d(x, 2)
        x = F.max_pool2d(x, x.shape[-1])
        return self.fc(torch.flatten(x, 1))


@pytest.fixture(scope="module")
def cnv(tmp_path_factory):
    torch.manual_seed(0)
    shape = (3, 20, 20)
    path = export(calibrate(CnvLike(), shape), shape, tmp_path_factory.mktemp("cnv") / "cnv.onnx", False)
    return frontend.load(path)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    from tests.models import build

    model, shape = build("mlp_float_bias")
    path = export(model, shape, tmp_path_factory.mktemp("mlp") / "mlp.onnx", False)
    return path, frontend.load(path)


def _default(graph, board, limit=search_module.MAX_UTILIZATION):
    target = pipeline.Target(board, 10.0, max_utilization=Fraction(limit))
    folded = pipeline.Folding(pipeline.resolve_folding(graph, None))
    return pipeline.estimate(pipeline.plan(graph, folded, target), target)["totals"]


# ---- exact limits and honest percentages ---------------------------------------------------------------------


def test_percent_never_reads_as_the_limit():
    assert percent(533, 624, Fraction(85, 100)) == "85.4%"  # refused at 85%: never "85%"
    assert percent(8504, 10000, Fraction(85, 100)) == "85.04%"  # one decimal would read 85.0%
    assert percent(85, 100, Fraction(85, 100)) == "85.0%"  # exactly the limit
    assert percent(2710, 280) == "967.9%"
    assert percent(10004, 10000) == "100.04%"  # over the board: never "100.0%"
    assert percent(99996, 100000) == "99.996%"  # within it: never "100.0%"
    assert format_limit(Fraction(85, 100)) == "85%" and format_limit(Fraction(854, 1000)) == "85.4%"


@settings(max_examples=300, deadline=None)
@given(
    available=st.integers(1, 10**7),
    tenths=st.integers(1, 1000),  # the limit as the user writes it: 0.1% .. 100.0%
    offset=st.integers(-3, 3),
)
def test_limit_is_exact_at_the_boundary(available, tenths, offset):
    """used just below, at and just above limit * available: fits exactly when used * 1000 <= tenths *
    available (integers), and the printed percentage sits on the same side of the limit as the exact one."""
    limit = parse_utilization(f"{tenths // 10}.{tenths % 10}")
    assert limit == Fraction(tenths, 1000)
    used = max(0, tenths * available // 1000 + offset)
    assert within(used, available, limit) == (used * 1000 <= tenths * available)
    section = fit_section({**{r: 0 for r in RESOURCES}, "lut": used}, dataclasses.replace(BOARD, lut=available), limit)
    assert section["fits"] == (used * 1000 <= tenths * available)
    shown = Fraction(percent(used, available, limit).removesuffix("%"))
    exact = Fraction(used * 100, available)
    edge = limit * 100
    assert (shown > edge) == (exact > edge) and (shown == edge) == (exact == edge)


@settings(max_examples=40, deadline=None)
@given(tenths=st.integers(300, 1000))
def test_search_limit_is_exact(mlp, tenths):
    """Whatever --max-utilization says, the search's folding is within it, compared without rounding."""
    _, graph = mlp
    small = dataclasses.replace(BOARD, name="small", lut=9000)
    limit = Fraction(tenths, 1000)
    try:
        result = search_folding(graph, small, 10.0, max_utilization=limit)
    except FoldingSearchError as err:
        assert f"within {format_limit(limit)} of the board" in str(err) or "FPS" in str(err)
        return
    for r in RESOURCES:
        assert result.estimate["totals"][r] * 1000 <= tenths * getattr(small, r), r


GOOD = [("85", Fraction(85, 100)), ("85.4", Fraction(854, 1000)), ("100", 1), ("0.5", Fraction(5, 1000)),
        (" 60% ", Fraction(60, 100)), (50.0, Fraction(1, 2))]  # fmt: skip


@pytest.mark.parametrize("good, exact", GOOD)
def test_max_utilization_parses(good, exact):
    assert parse_utilization(good) == exact


@pytest.mark.parametrize("bad", ["0", "-5", "100.01", "abc", "nan", "inf", "", "1e999", float("nan"), 0.0])
def test_bad_max_utilization_is_refused(bad):
    with pytest.raises(FpgaqError, match=r"^--max-utilization must be a percentage above 0 and at most 100, not "):
        parse_utilization(bad)


@pytest.mark.parametrize("bad", ["0", "-1", "101", "abc", "nan"])
def test_cli_refuses_a_bad_max_utilization_before_reading_the_model(tmp_path, bad):
    result = CliRunner().invoke(main, ["build", str(tmp_path / "none.onnx"), "--board", "pynq-z2", "--out",
                                       str(tmp_path / "out"), "--max-utilization", bad])  # fmt: skip
    assert result.exit_code == 2
    assert re.search(r"^error: --max-utilization must be a percentage above 0 and at most 100, not ", result.output,
                     re.M), result.output  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_cli_passes_the_limit_to_the_search(monkeypatch, mlp, tmp_path):
    path, graph = mlp
    seen = {}

    def fake_search(graph, board, clock_ns, fps, overrides, max_utilization, weight_memory):
        seen["limit"] = max_utilization
        raise FoldingSearchError("stop here")

    monkeypatch.setattr(pipeline, "search_folding", fake_search)
    result = CliRunner().invoke(main, ["build", path, "--board", "pynq-z2", "--out", str(tmp_path / "o"),
                                       "--target-fps", "max", "--max-utilization", "85.4"])  # fmt: skip
    assert result.exit_code == 2 and "error: stop here" in result.output
    assert seen["limit"] == Fraction(854, 1000)


# ---- the fit warning and the report's marks ------------------------------------------------------------------


def test_build_that_does_not_fit_warns_and_marks_the_report(monkeypatch, mlp, tmp_path):
    """A board with LUTs for the slowest folding but not the default: the build completes (exit 0), prints one
    warning line naming the resource with its percentage, and report.json / report.html say it does not fit."""
    path, graph = mlp
    slowest = pipeline.Folding({n.name: (1, 1) for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)})
    floor = pipeline.estimate(pipeline.plan(graph, slowest), pipeline.Target(BOARD, 10.0))["totals"]["lut"]
    roomy = dataclasses.replace(BOARD, name="roomy", lut=floor + 1)
    monkeypatch.setattr(pipeline, "load_board", lambda name: roomy)
    result = CliRunner().invoke(main, ["build", path, "--board", "roomy", "--out", str(tmp_path / "b"),
                                       "--fifo-depth", "64"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    used = report["totals"]["lut"]  # with the FIFOs at their depths
    assert used > roomy.lut
    text = percent(used, roomy.lut)
    warning = [line for line in result.output.splitlines() if line.startswith("warning: the design does not fit")]
    assert len(warning) == 1, result.output
    assert f"LUT {used:,} of {roomy.lut:,} ({text})" in warning[0]
    assert f"LUT {used:,}/{roomy.lut:,} ({text})" in result.output  # the estimate line, same digits
    assert report["fit"]["fits"] is False
    assert [o["resource"] for o in report["fit"]["over"]] == ["LUT"]
    over = report["fit"]["over"][0]
    assert (over["used"], over["available"], over["text"]) == (used, roomy.lut, text)
    assert any("does not fit roomy" in w for w in report["warnings"])
    html = (tmp_path / "b" / "report.html").read_text()
    assert '<div class="fit" id="fit"><strong>Does not fit roomy</strong>' in html
    assert f"LUT {used:,} of {roomy.lut:,} ({text})" in html


def test_report_of_a_design_that_fits_has_no_mark(mlp):
    _, graph = mlp
    target = pipeline.Target(BOARD, 10.0)
    folded = pipeline.fold(graph, target)
    plan = pipeline.plan(graph, folded, target)
    report = pipeline.report(graph, folded, plan, target, "mlp.onnx", pipeline.estimate(plan, target)).public()
    assert report["fit"] == {"fits": True, "limit_percent": 100.0, "over": []}
    html = render_html(report)
    assert 'class="fit"' not in html and 'class="warnings"' not in html


# ---- the search is never costlier than the default -----------------------------------------------------------


def _fits(totals, board, limit):
    return all(within(totals[r], getattr(board, r), limit) for r in RESOURCES)


@pytest.mark.parametrize("lut, bram", [(53200, 280), (20000, 40), (12000, 12), (9000, 8)])
@pytest.mark.parametrize("fps", [None, 2e3, 2e4])
def test_search_is_never_costlier_than_the_default(cnv, lut, bram, fps):
    """Wherever the default folding fits the search's limit (and reaches the target), the search's folding fits
    too and is at least as fast (no target) or weighs no more in the search's sum (a target)."""
    board = dataclasses.replace(BOARD, name="b", lut=lut, bram18=bram)
    limit = search_module.MAX_UTILIZATION
    default = _default(cnv, board)
    default_ok = _fits(default, board, limit) and (fps is None or default["cycles_per_frame"] <= 1e8 // fps)
    try:
        result = search_folding(cnv, board, 10.0, fps).estimate["totals"]
    except FoldingSearchError:
        assert not default_ok
        return
    assert _fits(result, board, limit)
    if not default_ok:
        return
    weights = {r: float(getattr(board, r) * limit) for r in RESOURCES}
    if fps is None:
        assert result["cycles_per_frame"] <= default["cycles_per_frame"]
    else:
        assert resource_score(result, weights) <= resource_score(default, weights)


def test_a_costlier_search_result_gives_way_to_the_default(cnv, monkeypatch):
    """The bisection's best made slower than the default (all PE = SIMD = 1, as the 'fully folded' folding the
    issue saw): the search keeps the default folding and says why."""
    real = search_module._fastest_fitting

    def slowest(layers, overrides, clock_ns):
        folding = {n.name: (1, 1) for n in layers.nodes}
        fold, plan, est = search_module._evaluate(layers, folding, overrides, clock_ns)
        assert real(layers, overrides, clock_ns) is not None
        return search_module.SearchResult(fold, plan, est, est["totals"]["cycles_per_frame"])

    monkeypatch.setattr(search_module, "_fastest_fitting", slowest)
    result = search_folding(cnv, BOARD, 10.0)
    assert result.folding == pipeline.resolve_folding(cnv, None)
    assert result.note.startswith("kept the default folding (")
    assert "within 85% of pynq-z2): the search's folding (" in result.note and result.note.endswith(") is slower")


def test_when_nothing_fits_the_error_quotes_the_folding_that_needs_least(cnv):
    tiny = dataclasses.replace(BOARD, name="tiny", lut=1500)
    with pytest.raises(FoldingSearchError) as err:
        search_folding(cnv, tiny, 10.0)
    message = str(err.value)
    default = _default(cnv, tiny)["lut"]
    quoted = int(re.search(r"LUT ([\d,]+) of 1,500", message).group(1).replace(",", ""))
    assert quoted <= default
    assert message.endswith("(the search keeps each resource within 85% of the board)")


def test_a_target_is_met_by_the_default_when_the_search_would_spend_more(cnv, monkeypatch):
    """With a target both reach, the one that weighs less in the search's sum wins: a search result unrolled as
    far as it goes (patched in) gives way to the default folding."""
    from fpgaq.plan.folding import fold_limits

    def unrolled(layers, clock_ns, target_fps, overrides, default):
        folding = {n.name: fold_limits(n) for n in layers.nodes}
        fold, plan, est = search_module._evaluate(layers, folding, overrides, clock_ns)
        return search_module.SearchResult(fold, plan, est, default.target_cycles)

    monkeypatch.setattr(search_module, "_search", unrolled)
    result = search_folding(cnv, BOARD, 10.0, 1000.0)
    assert result.folding == pipeline.resolve_folding(cnv, None)
    assert re.search(r"\) (needs more \(a sum of resource fractions of [\d.]+ against [\d.]+\)|does not fit within "
                     r"85%)$", result.note), result.note  # fmt: skip
