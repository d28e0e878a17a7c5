"""DIR/report.html: the build report as one self-contained page (inline CSS and SVG, no scripts, no links out)."""

from __future__ import annotations

from fractions import Fraction

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from fpgaq import __version__
from fpgaq.estimate.fit import format_limit, percent
from fpgaq.report.svg import Series, bar_chart
from fpgaq.resources import data_dir

RESOURCE_NAMES = {"lut": "LUT", "ff": "FF", "bram18": "BRAM18", "dsp": "DSP"}


def _accumulator_chart(report: dict) -> str | None:
    dots = [r for r in report["layers"] if "acc_bits_datatype" in r]
    if not dots:
        return None
    return bar_chart(
        "Accumulator bits per dot product",
        [r["name"] for r in dots],
        [
            Series("data-type bound", [r["acc_bits_datatype"] for r in dots], "#9e9e9e"),
            Series("exact range", [r["acc_bits_exact"] for r in dots], "#1f77b4"),
            Series("used (outer)", [r["acc_bits"] for r in dots], "#2ca02c"),
        ],
        unit=" b",
    )


def _resource_chart(report: dict) -> str:
    t = report["totals"]
    search = report.get("folding_search") or {}
    limit = Fraction(str(search.get("max_utilization_percent", 85))) / 100  # the search's limit, else its default
    names = [r for r in RESOURCE_NAMES if t["capacity"][r]]
    return bar_chart(
        f"Estimated resources on {report['board']['name']} (% of the device)",
        [f"{RESOURCE_NAMES[r]} {t[r]:,} / {t['capacity'][r]:,}" for r in names],
        [Series("used", [100.0 * t[r] / t["capacity"][r] for r in names], "#1f77b4")],
        unit="%",
        highlight={i for i, r in enumerate(names) if t[r] > t["capacity"][r]},
        lines=[(float(limit * 100), format_limit(limit)), (100.0, "100%")],
    )


def _cycles_chart(report: dict) -> str:
    kernels = report["estimate"]["kernels"]
    return bar_chart(
        "Cycles per frame by kernel (bottleneck in red; log scale)",
        [f"{k['kernel']} {k['layer']}" for k in kernels],
        [Series("cycles", [k["cycles"] for k in kernels], "#ff7f0e")],
        highlight={i for i, k in enumerate(kernels) if k["bottleneck"]},
        log=True,
    )


def render_html(report: dict) -> str:
    env = Environment(
        loader=FileSystemLoader(str(data_dir("templates"))),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = percent
    charts = [c for c in (_accumulator_chart(report), _resource_chart(report), _cycles_chart(report)) if c]
    return env.get_template("report.html.j2").render(
        report=report, charts=charts, resources=RESOURCE_NAMES, version=__version__
    )
