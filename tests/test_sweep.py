"""`fpgaq sweep`: the spec refused before any work starts (unknown keys and values named), a sweep on local Ray
whose finished points survive an interruption, resume without recomputation, record a failing point without
stopping, and report a Pareto front; the CSV cells and the HTML escape what they show."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from fpgaq import escape
from fpgaq.cli import main
from fpgaq.sweep import SweepError, load_spec, parse_spec
from fpgaq.sweep.report import pareto, render_sweep
from fpgaq.sweep.runner import sweep

FACTORY = '''
import torch
from fpgaq.data import digits_split, train


def small():
    """64-16-10, trained for a few epochs: a point in seconds."""
    x_tr, _, y_tr, _ = digits_split()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    return train(model, x_tr, y_tr, epochs=8)
'''


@pytest.fixture
def factory(tmp_path):
    (tmp_path / "tiny.py").write_text(FACTORY)
    return tmp_path


def _spec(base: Path, **changes) -> dict:
    data = {"model": "tiny.py:small", "data": "digits", "method": ["rtn"], "weight_bits": [4], "act_bits": [4],
            "accumulator_bits": [None], "board": ["pynq-z2"]}  # fmt: skip
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"methods": ["optq"]}, "unknown key 'methods'"),
        ({"method": ["optq", "sgd"]}, "method: 'sgd' is not one of rtn, gpfq, optq"),
        ({"board": ["pynq-z2", "no-such-board"]}, "no-such-board"),
        ({"accumulator_bits": [16, 8]}, "accumulator_bits: 8 is below 9"),
        ({"weight_bits": [4, 1]}, "weight_bits: 1 is not an integer from 2 to 16"),
        ({"weight_bits": [True]}, "weight_bits: True"),
        ({"target_fps": ["fast"]}, "target_fps: 'fast'"),
        ({"target_fps": [-5]}, "target_fps: -5"),
        ({"act_bits": []}, "act_bits: an empty list"),
        ({"method": ["rtn", "rtn"]}, "method: a value is listed twice"),
        ({"model": "missing.py:small"}, "the script"),
        ({"model": "tiny.py"}, "is not SCRIPT.py:FUNCTION"),
        ({"data": "nothing.npz"}, "data: 'nothing.npz' is neither 'digits' nor an existing .npz file"),
        ({"synth": "yosys"}, "synth: yosys measures RTL builds; set backend: rtl"),
        ({"backend": "vhdl"}, "backend: 'vhdl'"),
        ({"weight_bits": list(range(2, 17)), "act_bits": list(range(1, 17)), "accumulator_bits": list(range(17, 62))},
         "points; at most 10,000"),
    ],
)  # fmt: skip
def test_bad_specs_are_refused_naming_the_key_and_value(factory, changes, named):
    with pytest.raises(SweepError) as info:
        parse_spec(_spec(factory, **changes), factory)
    assert named in str(info.value)


def test_a_bad_spec_exits_2_before_any_work(factory):
    (factory / "spec.yaml").write_text("model: tiny.py:small\ndata: digits\nboard: [pynq-z2, zcu9999]\n")
    result = CliRunner().invoke(main, ["sweep", str(factory / "spec.yaml"), "--out", str(factory / "out")])
    assert result.exit_code == 2 and "zcu9999" in result.output and not (factory / "out").exists()
    (factory / "bad.yaml").write_text("model: [unclosed\n")
    result = CliRunner().invoke(main, ["sweep", str(factory / "bad.yaml"), "--out", str(factory / "out")])
    assert result.exit_code == 2 and "is not YAML" in result.output
    result = CliRunner().invoke(main, ["sweep", str(factory / "spec.yaml"), "--out", "o", "--workers", "0"])
    assert result.exit_code == 2 and "--workers must be at least 1" in result.output


def test_points_are_the_cross_product_in_a_fixed_order(factory):
    spec = parse_spec(_spec(factory, method=["gpfq", "optq"], weight_bits=[3, 4], accumulator_bits=[12, None],
                            target_fps=["max", 1000]), factory)  # fmt: skip
    points = spec.points()
    assert len(points) == 16 and len({p.ident for p in points}) == 16
    assert [p.params() for p in points] == [p.params() for p in spec.points()]
    assert points[0].params() == {"method": "gpfq", "weight_bits": 3, "act_bits": 4, "accumulator_bits": 12,
                                  "board": "pynq-z2", "target_fps": "max"}  # fmt: skip
    assert spec.model == f"{(factory / 'tiny.py').resolve()}:small"  # relative to the spec's folder


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=12))
def test_pareto_front_is_exactly_the_undominated_points(values):
    points = [(c, v, i) for i, (c, v) in enumerate(values)]
    front = set(pareto(points))

    def dominated(p):
        return any(q[0] <= p[0] and q[1] >= p[1] and (q[0], q[1]) != (p[0], p[1]) for q in points)

    undominated = {p[2] for p in points if not dominated(p)}
    # of equal points exactly one stands for them
    assert {(values[i]) for i in front} == {values[i] for i in undominated}
    assert len(front) == len({values[i] for i in front})


def test_csv_cells_and_the_page_escape_what_they_show(factory):
    for text in ("=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\tx"):
        assert escape.csv(text) == "'" + text
    assert escape.csv('plain, "quoted"') == 'plain, "quoted"'
    spec = parse_spec(_spec(factory), factory)
    hostile = "<script>alert(1)</script>\x1b[2J"
    row = {**spec.points()[0].params(), "point": "p", "status": "failed", "error": hostile}
    page = render_sweep(spec, [row])
    assert "<script>" not in page and "&lt;script&gt;" in page


def _rows(out: Path) -> list[dict]:
    with open(out / "points.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_sweep_on_local_ray_survives_an_interruption_and_resumes(factory):
    """Two points on local Ray: one fails (no folding reaches 10^12 frames/s), one runs end to end. The first run
    (one worker: the points in the spec's order) is interrupted at its first finished point; the failure is on disk
    and only the other point runs the next time; a third run computes nothing and writes the same results."""
    (factory / "spec.yaml").write_text(textwrap.dedent("""\
        model: tiny.py:small
        data: digits
        method: rtn
        weight_bits: 4
        act_bits: 4
        accumulator_bits: [null]
        board: pynq-z2
        target_fps: [1000000000000, null]
        """))  # fmt: skip
    spec = load_spec(factory / "spec.yaml")
    out = factory / "out"
    events = []

    def interrupt(kind, counts, row):
        events.append((kind, dict(counts)))
        if kind != "start":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(spec, out, workers=1, on_event=interrupt)
    (first,) = _rows(out)
    assert first["status"] == "failed" and "FPS" in first["error"] and first["target_fps"] == "1000000000000.0"
    failed_json = out / "points" / first["point"] / "point.json"
    stamp = failed_json.stat().st_mtime_ns

    seen = []
    rows = sweep(spec, out, workers=2, on_event=lambda kind, counts, row: seen.append((kind, row.get("point"))))
    assert [kind for kind, _ in seen] == ["start", "done"] and failed_json.stat().st_mtime_ns == stamp
    ok = rows[1]
    assert [r["status"] for r in rows] == ["failed", "ok"] and ok["csim_accuracy"] == ok["quantized_accuracy"]
    assert ok["csim_accuracy"] > 0.8 and ok["widest_accumulator"] > 0 and ok["lut"] > 0
    assert (out / ok["report"]).is_file()
    before = (out / "points.csv").read_text()
    page = (out / "sweep.html").read_text()
    assert "Pareto front" in page and f"href='{ok['report']}'" in page

    result = CliRunner().invoke(main, ["sweep", str(factory / "spec.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 already finished" in result.output and (out / "points.csv").read_text() == before
    assert json.loads((out / "sweep.json").read_text())["model"] == spec.model

    (factory / "other.yaml").write_text((factory / "spec.yaml").read_text() + "seed: 7\n")
    result = CliRunner().invoke(main, ["sweep", str(factory / "other.yaml"), "--out", str(out)])
    assert result.exit_code == 2 and "holds a sweep of another spec (seed differ)" in result.output
    (factory / "user.txt").write_text("mine")
    result = CliRunner().invoke(main, ["sweep", str(factory / "spec.yaml"), "--out", str(factory)])
    assert result.exit_code == 2 and "holds no fpgaq sweep" in result.output
    assert (factory / "user.txt").read_text() == "mine"


@pytest.mark.parametrize("address", ["ray://127.0.0.1:9", "127.0.0.1:9", "nowhere"])
def test_an_unreachable_cluster_is_named(factory, address):
    (factory / "spec.yaml").write_text("model: tiny.py:small\ndata: digits\nmethod: rtn\n")
    result = CliRunner().invoke(main, ["sweep", str(factory / "spec.yaml"), "--out", str(factory / "out"),
                                       "--address", address])  # fmt: skip
    assert result.exit_code == 2 and f"--address {address}" in result.output or f"at {address}" in result.output
