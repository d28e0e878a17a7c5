"""DIR/sweep.html: one self-contained page (inline SVG, no script, no fetched asset) over a sweep's points -
accuracy against the accumulator width per method and weight width (the AXE paper's plot), accuracy and frame rate
against LUTs with the Pareto front drawn, and the table of points linking each point's build report."""

from __future__ import annotations

import math
from html import escape

from fpgaq.report.svg import FONT

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


def _num(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def pareto(points: list[tuple[float, float, int]]) -> list[int]:
    """Indices of the (cost, value, index) points no other point beats: none has a cost as low and a value as high
    with one of them strictly better. Returned by increasing cost."""
    front, best = [], -math.inf
    for _cost, value, index in sorted(points, key=lambda p: (p[0], -p[1])):
        if value > best:
            front.append(index)
            best = value
    return front


def scatter(
    title: str,
    xlabel: str,
    ylabel: str,
    series: dict[str, list[tuple[float, float]]],
    front: list[tuple[float, float]] = (),
    lines: bool = False,
    width: int = 640,
    height: int = 360,
) -> str:
    """An SVG scatter plot: one colour per series (joined in x order when `lines`), `front` drawn as a stepped
    red line through its points."""
    every = [p for pts in series.values() for p in pts] + list(front)
    if not every:
        return f"<p>{escape(title)}: no finished point yet.</p>"
    left, right, top, bottom = 64, 170, 30, 44
    x0, x1 = min(p[0] for p in every), max(p[0] for p in every)
    y0, y1 = min(p[1] for p in every), max(p[1] for p in every)
    x0, x1 = (x0 - 1, x1 + 1) if x0 == x1 else (x0 - 0.04 * (x1 - x0), x1 + 0.04 * (x1 - x0))
    y0, y1 = (y0 - 0.05, y1 + 0.05) if y0 == y1 else (y0 - 0.05 * (y1 - y0), y1 + 0.05 * (y1 - y0))
    pw, ph = width - left - right, height - top - bottom

    def xy(p):
        return left + pw * (p[0] - x0) / (x1 - x0), top + ph * (1 - (p[1] - y0) / (y1 - y0))

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
           f"aria-label='{escape(title)}' {FONT}>",
           f"<text x='0' y='16' font-size='14' font-weight='bold'>{escape(title)}</text>",
           f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' fill='none' stroke='#999'/>"]  # fmt: skip
    for i in range(5):
        fx, fy = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        px, py = xy((fx, fy))
        out.append(f"<text x='{px:.1f}' y='{top + ph + 16}' text-anchor='middle'>{_tick(fx)}</text>")
        out.append(f"<text x='{left - 6}' y='{py + 4:.1f}' text-anchor='end'>{_tick(fy)}</text>")
    out.append(f"<text x='{left + pw / 2:.0f}' y='{height - 6}' text-anchor='middle'>{escape(xlabel)}</text>")
    out.append(f"<text x='14' y='{top + ph / 2:.0f}' transform='rotate(-90 14 {top + ph / 2:.0f})' "
               f"text-anchor='middle'>{escape(ylabel)}</text>")  # fmt: skip
    if front:
        steps = []
        for a, b in zip(front, front[1:]):
            steps += [a, (b[0], a[1])]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, [*steps, front[-1]]))
        out.append(
            f"<polyline points='{path}' fill='none' stroke='#d62728' stroke-width='1.5' stroke-dasharray='4 3'/>"
        )
        for p in front:
            x, y = xy(p)
            out.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='7' fill='none' stroke='#d62728' stroke-width='1.5'/>")
    for k, (name, pts) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        if lines and len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, sorted(pts)))
            out.append(f"<polyline points='{path}' fill='none' stroke='{color}' stroke-width='1.5'/>")
        for p in pts:
            x, y = xy(p)
            out.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' fill='{color}'><title>{escape(name)}: "
                       f"{_tick(p[0])}, {_tick(p[1])}</title></circle>")  # fmt: skip
        ly = top + 14 + 16 * k
        out.append(f"<circle cx='{left + pw + 14}' cy='{ly - 4}' r='4' fill='{color}'/>")
        out.append(f"<text x='{left + pw + 24}' y='{ly}'>{escape(name)}</text>")
    if front:
        ly = top + 14 + 16 * len(series)
        out.append(f"<circle cx='{left + pw + 14}' cy='{ly - 4}' r='6' fill='none' stroke='#d62728'/>")
        out.append(f"<text x='{left + pw + 24}' y='{ly}'>Pareto front</text>")
    out.append("</svg>")
    return "\n".join(out)


def _tick(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"


def _accuracy(row: dict) -> float | None:
    """C-simulation accuracy (what the hardware computes), else the quantized model's."""
    accuracy = _num(row.get("csim_accuracy"))
    return accuracy if accuracy is not None else _num(row.get("quantized_accuracy"))


def fronts(rows: list[dict]) -> dict[str, list[int]]:
    """Row indices on the accuracy-vs-LUT and FPS-vs-LUT Pareto fronts (finished points only)."""
    ok = [(i, r) for i, r in enumerate(rows) if r.get("status") == "ok" and _num(r.get("lut")) is not None]
    acc = [(_num(r["lut"]), _accuracy(r), i) for i, r in ok if _accuracy(r) is not None]
    fps = [(_num(r["lut"]), _num(r.get("fps")), i) for i, r in ok if _num(r.get("fps")) is not None]
    return {"accuracy": pareto(acc), "fps": pareto(fps)}


def render_sweep(spec, rows: list[dict]) -> str:
    ok = [r for r in rows if r.get("status") == "ok"]
    front = fronts(rows)
    by_curve: dict[str, list[tuple[float, float]]] = {}
    by_method: dict[str, list[tuple[float, float]]] = {}
    fps_points: dict[str, list[tuple[float, float]]] = {}
    for r in ok:
        width, lut, fps, accuracy = (
            _num(r.get("widest_accumulator")),
            _num(r.get("lut")),
            _num(r.get("fps")),
            _accuracy(r),
        )
        method = f"{r['method']} W{r['weight_bits']}"
        if width is not None and accuracy is not None:
            by_curve.setdefault(f"{method}A{r['act_bits']}", []).append((width, accuracy))
        if lut is not None and accuracy is not None:
            by_method.setdefault(method, []).append((lut, accuracy))
        if lut is not None and fps is not None:
            fps_points.setdefault(method, []).append((lut, fps))
    charts = [
        scatter("Accuracy vs accumulator width", "widest accumulator (bits, as built)", "accuracy", by_curve,
                lines=True),
        scatter("Accuracy vs LUT (estimate)", "LUT", "accuracy", by_method,
                [(_num(rows[i]["lut"]), _accuracy(rows[i])) for i in front["accuracy"]]),
        scatter("Frame rate vs LUT (estimate)", "LUT", "frames/s", fps_points,
                [(_num(rows[i]["lut"]), _num(rows[i]["fps"])) for i in front["fps"]]),
    ]  # fmt: skip
    on_front = set(front["accuracy"]) | set(front["fps"])
    head = ["point", "method", "W", "A", "P", "board", "target fps", "status", "float acc", "quant acc",
            "C-sim acc", "widest acc", "LUT", "FF", "BRAM18", "DSP", "FPS", "build s", "report"]  # fmt: skip
    body = []
    for i, r in enumerate(rows):
        link = r.get("report") or ""
        cells = [r.get("point", ""), r["method"], r["weight_bits"], r["act_bits"],
                 "free" if r.get("accumulator_bits") in (None, "") else r["accumulator_bits"], r["board"],
                 r.get("target_fps") or "default", r.get("status", ""), _fmt(r.get("float_accuracy")),
                 _fmt(r.get("quantized_accuracy")), _fmt(r.get("csim_accuracy")), r.get("widest_accumulator", ""),
                 _fmt(r.get("lut")), _fmt(r.get("ff")), _fmt(r.get("bram18")), _fmt(r.get("dsp")),
                 _fmt(r.get("fps")), r.get("build_s", "")]  # fmt: skip
        tds = "".join(f"<td>{escape(str(c))}</td>" for c in cells)
        if r.get("status") == "ok" and link:
            tds += f"<td><a href='{escape(link, quote=True)}'>report</a></td>"
        else:
            tds += (
                f"<td title='{escape(str(r.get('error', '')), quote=True)}'>{escape(str(r.get('error', ''))[:80])}</td>"
            )
        mark = " class='front'" if i in on_front else ""
        body.append(f"<tr{mark}>{tds}</tr>")
    failed = sum(r.get("status") == "failed" for r in rows)
    settings = ", ".join(f"{k}: {v}" for k, v in spec.settings().items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fpgaq sweep</title>
<style>body{{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}}
table{{border-collapse:collapse;font-size:12px}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}
tr.front td{{background:#fdecea}}.charts svg{{margin:8px 16px 8px 0}}</style></head><body>
<h1>fpgaq sweep</h1>
<p>{len(rows)} points finished ({len(ok)} ok, {failed} failed). {escape(settings)}</p>
<p>Accuracy is the C-simulation's on the test split (the quantized model's where the data has no test split). LUT and
frame rate are fpgaq's estimates. Highlighted rows lie on a Pareto front (highest accuracy, or frame rate, for their
LUTs).</p>
<div class="charts">{"".join(charts)}</div>
<h2>Points</h2>
<table><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr>
{chr(10).join(body)}
</table></body></html>
"""


def _fmt(value) -> str:
    number = _num(value)
    if number is None:
        return "" if value in (None, "") else str(value)
    if number.is_integer():
        return f"{number:,.0f}"
    return f"{number:.4f}" if abs(number) < 1 else f"{number:,.1f}"
