"""The folding search: reaches the target with a cheap, balanced folding; fails clearly when it cannot."""

from __future__ import annotations

import dataclasses

import pytest

from fpgaq import frontend
from fpgaq.boards import load_board
from fpgaq.estimate import RESOURCES, estimate_plan
from fpgaq.estimate.search import MAX_UTILIZATION, FoldingSearchError, check_fits, resource_score, search_folding
from fpgaq.ir import graph as ir
from fpgaq.plan.folding import FoldingError, fold_limits, resolve_folding
from fpgaq.plan.layout import divisors
from fpgaq.plan.planner import make_plan

BOARD = load_board("pynq-z2")


def _graph(exported, name):
    path, _ = exported(name, False)
    return frontend.load(path)


def _estimate(graph, folding):
    return estimate_plan(make_plan(graph, folding), BOARD, 10.0)


@pytest.mark.parametrize("name", ["mlp_float_bias", "cnn", "conv1d_bipolar", "token_mlp_pow2"])
def test_max_fits_and_beats_the_default(exported, name):
    graph = _graph(exported, name)
    result = search_folding(graph, BOARD, 10.0)
    totals = result.estimate["totals"]
    for r in ("lut", "ff", "bram18", "dsp"):
        assert totals[r] <= MAX_UTILIZATION * getattr(BOARD, r)
    default = _estimate(graph, resolve_folding(graph, None))["totals"]
    assert totals["fps"] >= default["fps"]
    # the folding is valid: PE and SIMD divide their layer's sizes
    for node in graph.nodes:
        if isinstance(node, ir.DOT_PRODUCT_OPS):
            oc, k = fold_limits(node)
            pe, simd = result.folding[node.name]
            assert oc % pe == 0 and k % simd == 0


@pytest.mark.parametrize("fps", [2e5, 1e6, 3e6])
def test_target_is_reached_by_a_locally_cheapest_folding(exported, fps):
    """Every layer within the cycle budget; folding any one layer further (next smaller PE or SIMD) either
    misses the target or saves nothing."""
    graph = _graph(exported, "mlp_float_bias")
    result = search_folding(graph, BOARD, 10.0, fps)
    totals = result.estimate["totals"]
    assert totals["fps"] >= fps
    limit = {r: MAX_UTILIZATION * getattr(BOARD, r) for r in RESOURCES}
    cost = resource_score(totals, limit)
    for node in graph.nodes:
        if not isinstance(node, ir.DOT_PRODUCT_OPS):
            continue
        oc, k = fold_limits(node)
        pe, simd = result.folding[node.name]
        for smaller in [(d, simd) for d in divisors(oc) if d < pe][-1:] + [(pe, d) for d in divisors(k) if d < simd][
            -1:
        ]:
            other = _estimate(graph, {**result.folding, node.name: smaller})["totals"]
            assert other["fps"] < fps or resource_score(other, limit) >= cost, (node.name, smaller)


def test_pipeline_is_balanced(exported):
    """At a moderate target no layer is unrolled far beyond what the target needs: each unit is fully folded
    or within a factor 8 of the cycle budget."""
    graph = _graph(exported, "cnn")
    result = search_folding(graph, BOARD, 10.0, 2e4)
    budget = 100e6 / 2e4
    for k in result.estimate["kernels"]:
        if k["kernel"] == "mvu":
            assert k["cycles"] <= budget
            assert result.folding[k["layer"]] == (1, 1) or k["cycles"] >= budget / 8, k


def test_unreachable_rate_names_the_layer_and_the_best(exported):
    graph = _graph(exported, "cnn")
    best = search_folding(graph, BOARD, 10.0).estimate["totals"]["fps"]
    with pytest.raises(FoldingSearchError) as err:
        search_folding(graph, BOARD, 10.0, 50e6)
    message = str(err.value)
    assert "50,000,000 FPS needs at most 2 cycles per frame at 100 MHz" in message
    assert "needs at least" in message and f"reaches {best:,.0f} FPS" in message


def test_resource_shortage_names_the_resource_and_the_best_that_fits(exported):
    graph = _graph(exported, "mlp_float_bias")
    small = dataclasses.replace(BOARD, name="tiny", lut=6000)
    best = search_folding(graph, small, 10.0)
    assert best.estimate["totals"]["lut"] <= 0.85 * 6000
    with pytest.raises(FoldingSearchError) as err:
        search_folding(graph, small, 10.0, 20e6)
    message = str(err.value)
    assert message.startswith("20,000,000 FPS does not fit tiny: it needs LUT ")
    assert f"the fastest folding that fits reaches {best.estimate['totals']['fps']:,.0f} FPS" in message


def test_design_that_never_fits(exported):
    graph = _graph(exported, "cnn")
    nano = dataclasses.replace(BOARD, name="nano", lut=500)
    with pytest.raises(FoldingSearchError, match=r"does not fit nano even fully folded: LUT [\d,]+ of 500 .*, "
                       r"the most for \w+ of '\w+' \([\d,]+\)"):  # fmt: skip
        search_folding(graph, nano, 10.0)


def test_fit_check_names_the_kernel_and_tells_a_slow_fit_from_none(exported):
    """What every build runs after its estimate: an error (exit 2 from the CLI, an FpgaqError) naming the
    resource, its need, the board's capacity and the kernel that needs the most when not even PE = SIMD = 1
    fits; a warning when only the chosen folding is too big; nothing when it fits."""
    from fpgaq import pipeline

    graph = _graph(exported, "cnn")
    dots = [n for n in graph.nodes if n.op in ("Dense", "Conv")]
    slowest = pipeline.Folding({n.name: (1, 1) for n in dots})
    fastest = pipeline.Folding({n.name: fold_limits(n) for n in dots})
    nano = dataclasses.replace(BOARD, name="nano", lut=500)
    est = pipeline.estimate(pipeline.plan(graph, slowest), pipeline.Target(nano, 10.0))
    top = max(est["kernels"], key=lambda row: row["lut"])
    with pytest.raises(FoldingSearchError) as err:
        check_fits(graph, est, nano, 10.0)
    assert f"even at the slowest folding (PE = SIMD = 1): LUT {est['totals']['lut']:,} of 500" in str(err.value)
    assert f"the most for {top['kernel']} of {top['layer']!r} ({top['lut']:,})" in str(err.value)
    roomy = dataclasses.replace(BOARD, name="roomy", lut=est["totals"]["lut"] + 1)
    big = pipeline.estimate(pipeline.plan(graph, fastest), pipeline.Target(roomy, 10.0))
    assert big["totals"]["lut"] > roomy.lut
    warning = check_fits(graph, big, roomy, 10.0)
    assert warning.startswith("the design does not fit roomy at this folding: LUT")
    assert "a slower folding fits" in warning
    assert check_fits(graph, est, roomy, 10.0) is None


def test_folding_file_overrides_the_search(exported):
    graph = _graph(exported, "mlp_float_bias")
    result = search_folding(graph, BOARD, 10.0, 1e6, overrides={"dense0": {"pe": 1}})
    assert result.folding["dense0"][0] == 1
    with pytest.raises(FoldingError, match="pe=5 does not divide"):
        search_folding(graph, BOARD, 10.0, 1e6, overrides={"dense0": {"pe": 5}})


def test_invalid_targets(exported):
    graph = _graph(exported, "mlp_float_bias")
    with pytest.raises(FoldingSearchError, match="must be positive"):
        search_folding(graph, BOARD, 10.0, -3)
    with pytest.raises(FoldingSearchError, match="more than one frame per clock cycle"):
        search_folding(graph, BOARD, 10.0, 1e9)
