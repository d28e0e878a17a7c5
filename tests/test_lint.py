"""The plan lint and the HLS source lint: one test per rule, each shown to fire on the mistake it exists for and
to stay quiet on what fpgaq builds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from fpgaq import pipeline
from fpgaq.backends.hls.lint import SourceLintError, check_sources, lint_source
from fpgaq.estimate import models
from fpgaq.plan import kernels as k
from fpgaq.plan.lint import LintError, check_plan, lint_plan
from fpgaq.plan.tables import storage
from fpgaq.resources import data_dir
from tests.hls.test_kernel_geometry import CASES


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    """conv_odd's graph and plan: PE = 3 tables and requantizers."""
    model, folding = CASES["conv_odd"]()
    path = tmp_path_factory.mktemp("lint") / "conv_odd.onnx"
    path.write_bytes(model.SerializeToString())
    graph = pipeline.load(path)
    folded = pipeline.fold(graph, pipeline.Target.of("pynq-z2"), folding)
    return graph, folded, pipeline.plan(graph, folded)


def _with_table(plan: k.Plan, kernel_name: str, field: str, table: k.Table) -> k.Plan:
    kernels = tuple(dataclasses.replace(x, **{field: table}) if x.name == kernel_name else x for x in plan.kernels)
    return dataclasses.replace(plan, kernels=kernels)


def test_what_fpgaq_builds_has_no_finding(odd, tmp_path):
    _, _, plan = odd
    assert lint_plan(plan) == []  # PE 3 tables, requantizers: nothing to report
    model, folding = CASES["depthwise_avgpool"]()  # a 255-level round-to-zero threshold: parallel comparators
    path = tmp_path / "dw.onnx"
    path.write_bytes(model.SerializeToString())
    graph = pipeline.load(path)
    plan = pipeline.plan(graph, pipeline.fold(graph, pipeline.Target.of("pynq-z2"), folding))
    wide = next(x.activation for x in plan.kernels if isinstance(x, k.Mvu) and x.activation.levels > 64)
    assert wide.levels == 255 and wide.thresholds.packed == (3,)
    assert lint_plan(plan) == [] and check_plan(plan) == []


def test_ports_rule_refuses_threshold_levels_outside_one_word(tmp_path):
    model, folding = CASES["depthwise_avgpool"]()
    path = tmp_path / "dw.onnx"
    path.write_bytes(model.SerializeToString())
    graph = pipeline.load(path)
    plan = pipeline.plan(graph, pipeline.fold(graph, pipeline.Target.of("pynq-z2"), folding))
    mvu = next(x for x in plan.kernels if isinstance(x, k.Mvu) and x.activation.levels > 64)
    unpacked = dataclasses.replace(mvu.activation.thresholds, packed=())  # 255 reads of one memory per element
    bad = _with_table(plan, mvu.name, "activation", dataclasses.replace(mvu.activation, thresholds=unpacked))
    found = lint_plan(bad)
    assert [(f.rule, f.error, f.table) for f in found] == [("ports", True, unpacked.name)]
    assert "255 levels not in one word" in found[0].message


def test_banks_rule_refuses_a_cyclic_split_it_cannot_prove(odd):
    _, _, plan = odd
    mvu = next(x for x in plan.kernels if isinstance(x, k.Mvu) and x.pe == 3)
    channels = mvu.bias.values.reshape(-1)  # the old layout: one row per channel, split cyclically by PE
    bad = dataclasses.replace(mvu.bias, values=channels, banks=(1, 3))
    found = lint_plan(_with_table(plan, mvu.name, "bias", bad))
    assert [(f.rule, f.error, f.table) for f in found if f.error] == [("banks", True, mvu.bias.name)]
    with pytest.raises(LintError, match=f"split cyclically by 3 over a dimension of {channels.size}"):
        check_plan(_with_table(plan, mvu.name, "bias", bad))


def test_ports_rule_refuses_lanes_sharing_one_memory(odd):
    _, _, plan = odd
    mvu = next(x for x in plan.kernels if isinstance(x, k.Mvu) and x.pe == 3)
    unsplit = dataclasses.replace(mvu.bias, banks=None)  # three lanes read one memory every cycle
    found = [f for f in lint_plan(_with_table(plan, mvu.name, "bias", unsplit)) if f.error]
    assert [(f.rule, f.table) for f in found] == [("ports", mvu.bias.name)]
    assert "3 lanes" in found[0].message


def test_a_build_refuses_a_plan_that_misses_its_ii(odd, tmp_path):
    graph, folded, plan = odd
    mvu = next(x for x in plan.kernels if isinstance(x, k.Mvu) and x.pe == 3)
    bad = _with_table(plan, mvu.name, "bias", dataclasses.replace(mvu.bias, banks=None))
    with pytest.raises(LintError):
        pipeline.build_plan(graph, folded, bad, pipeline.Target.of("pynq-z2"), tmp_path / "out", "m.onnx")
    assert not (tmp_path / "out").exists()  # refused before any file is written


BAD = """
template <int N>
void kernel(int* out) {
    const int HALF = N / 2;  // constants before the loop are fine: a / b
    for (int i = 0; i < N / 2; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        out[i] = i % HALF; /* a comment / with % */
        const char* s = "a/b%c";
    }
}

inline int scale(int x) {
#pragma HLS INLINE
    return x / 3;
}
"""


def test_source_rule_finds_division_and_modulo_in_pipelined_code():
    found = lint_source("bad.h", BAD)
    assert found == [
        "bad.h:8: '%' in a pipelined loop (use a counter, or hoist the constant)",
        "bad.h:15: '/' in an inlined function (use a counter, or hoist the constant)",
    ]
    with pytest.raises(SourceLintError, match="bad.h:8"):
        check_sources({"hls/lib/fpgaq/bad.h": BAD.encode()})


def test_source_rule_finds_a_pipelined_loop_the_timed_simulation_would_not_count():
    untimed = BAD.replace("        FPGAQ_CYCLE();\n", "")
    assert "bad.h:6: a pipelined loop that does not start with FPGAQ_CYCLE() (untimed)" in lint_source("bad.h", untimed)
    assert not any("untimed" in f for f in lint_source("bad.h", BAD))
    timed = BAD.replace("FPGAQ_CYCLE();", "FPGAQ_CYCLES(Act::ii);")
    assert not any("untimed" in f for f in lint_source("bad.h", timed))


def test_the_kernel_library_and_generated_sources_pass_the_source_rule(odd, tmp_path):
    library = {str(p): p.read_text() for p in Path(data_dir("hls")).rglob("*.h")}
    assert len(library) >= 7
    check_sources(library)
    _, _, plan = odd
    target = pipeline.Target.of("pynq-z2")
    check_sources(pipeline.emit(plan, target, "m.onnx"))
    assert np.all([lint_source(name, text) == [] for name, text in library.items()])


def test_tables_are_bound_to_the_memory_the_estimate_costs(odd):
    """Weights and thresholds carry a BIND_STORAGE pragma naming the memory the estimate charged them as, so
    that Vitis does not choose another: LUTRAM up to 128 words per memory, block RAM above."""
    _, _, plan = odd
    params = pipeline.emit(plan, pipeline.Target.of("pynq-z2"), "m.onnx")["hls/params.h"]
    mvus = [x for x in plan.kernels if isinstance(x, k.Mvu)]
    assert mvus
    for mvu in mvus:
        w = mvu.weights
        charged = models.memory(w.shape[0], w.shape[1] * w.elem.bits)
        assert w.storage == ("bram" if charged.bram18 else "lutram")
        assert f"#pragma HLS BIND_STORAGE variable = {w.name} type = rom_1p impl = {w.storage}" in params
    assert (storage(128), storage(129)) == ("lutram", "bram")  # the rule the estimate's memory() applies
    assert models.memory(128, 4).bram18 == 0 and models.memory(129, 4).bram18 == 1
