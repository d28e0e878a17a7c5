"""Small inline SVG charts for report.html (no plotting library at run time; the page stays one file)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

FONT = "font-family='Helvetica, Arial, sans-serif' font-size='12'"


@dataclass
class Series:
    name: str
    values: list[float]
    color: str


def _fmt(value: float) -> str:
    if value >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.1f}"


def bar_chart(
    title: str,
    labels: list[str],
    series: list[Series],
    *,
    unit: str = "",
    highlight: set[int] | None = None,
    lines: list[tuple[float, str]] = (),
    width: int = 760,
    log: bool = False,
) -> str:
    """Horizontal grouped bars, one group per label; `highlight` draws those groups' bars in red, `lines` are
    vertical reference lines (value, caption). With log=True the axis is logarithmic (cycles span decades)."""
    import math

    highlight = highlight or set()
    label_w = min(260, 12 + 7 * max((len(s) for s in labels), default=4))
    bar_h, gap = 14, 8
    group_h = bar_h * len(series) + gap
    top = 40 if len(series) > 1 else 28
    height = top + group_h * len(labels) + 30
    vmax = max([v for s in series for v in s.values] + [v for v, _ in lines] + [1])
    plot_w = width - label_w - 70

    def x_of(v: float) -> float:
        if log:
            return plot_w * math.log10(max(v, 1)) / math.log10(max(vmax, 10))
        return plot_w * v / vmax

    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
        f"aria-label='{escape(title)}' {FONT}>",
        f"<text x='0' y='16' font-size='14' font-weight='bold'>{escape(title)}</text>",
    ]
    if len(series) > 1:
        x = label_w
        for s in series:
            out.append(f"<rect x='{x}' y='24' width='10' height='10' fill='{s.color}'/>")
            out.append(f"<text x='{x + 14}' y='33'>{escape(s.name)}</text>")
            x += 24 + 7 * len(s.name)
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        out.append(f"<text x='{label_w - 6}' y='{y0 + group_h / 2}' text-anchor='end'>{escape(label)}</text>")
        for j, s in enumerate(series):
            v = s.values[i]
            color = "#d62728" if i in highlight else s.color
            y = y0 + j * bar_h
            w = max(x_of(v), 1)
            out.append(f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h - 2}' fill='{color}'/>")
            out.append(f"<text x='{label_w + w + 4:.1f}' y='{y + bar_h - 4}'>{_fmt(v)}{escape(unit)}</text>")
    bottom = top + group_h * len(labels)
    for value, caption in lines:
        x = label_w + x_of(value)
        dashed = "stroke='#555' stroke-dasharray='4 3'"
        out.append(f"<line x1='{x:.1f}' y1='{top - 4}' x2='{x:.1f}' y2='{bottom}' {dashed}/>")
        out.append(f"<text x='{x:.1f}' y='{bottom + 14}' text-anchor='middle'>{escape(caption)}</text>")
    out.append(f"<line x1='{label_w}' y1='{top - 4}' x2='{label_w}' y2='{bottom}' stroke='#333'/>")
    out.append("</svg>")
    return "\n".join(out)
