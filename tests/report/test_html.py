"""report.html: one self-contained page with the charts, tables and C-sim accuracy, text escaped."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np

from fpgaq import frontend
from fpgaq.backends.hls.csim import CSim
from fpgaq.pipeline import build_graph
from fpgaq.report.files import record_accuracy


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: dict[str, int] = {}
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.attrs += [(k, v or "") for k, v in attrs]

    def handle_data(self, data):
        self.text.append(data)


def _parse(path) -> _Tags:
    parser = _Tags()
    parser.feed(path.read_text())
    return parser


def test_report_is_self_contained_with_charts_and_tables(built):
    report, out, _ = built("cnn", False)
    html = (out / "report.html").read_text()
    page = _parse(out / "report.html")
    assert page.tags.get("script", 0) == 0 and page.tags.get("img", 0) == 0 and page.tags.get("link", 0) == 0
    assert not [a for a in page.attrs if a[0] in ("src", "href")]
    assert set(re.findall(r"https?://[^'\" ]+", html)) == {"http://www.w3.org/2000/svg"}  # the SVG namespace only
    assert page.tags["svg"] == 3  # accumulator widths, resources against the board, cycles per kernel
    text = " ".join(page.text)
    for title in ("Accumulator bits per dot product", "Estimated resources on pynq-z2", "Cycles per frame by kernel"):
        assert title in text
    for row in report["layers"]:
        assert row["name"] in text
    bottleneck = report["totals"]["bottleneck"]
    assert f"bottleneck {bottleneck['kernel']} {bottleneck['layer']}" in text
    assert html.count('class="bottleneck"') >= 1
    assert f"{report['totals']['fps']:,.0f}" in text
    assert "C-sim accuracy" not in text  # no labels yet


def test_csim_accuracy_is_recorded(built, tmp_path):
    import shutil

    _, out, _ = built("mlp_float_bias", False)
    folder = tmp_path / "b"
    shutil.copytree(out, folder)
    x = np.random.default_rng(0).uniform(-1, 1, (40, 16)).astype(np.float32)
    y = CSim(folder).run(x)
    labels = y.argmax(1).copy()
    labels[:10] = (labels[:10] + 1) % y.shape[1]  # 30 of 40 right
    accuracy = record_accuracy(folder, y, labels, source="random", reference=y.argmax(1))
    assert accuracy == 0.75
    report = json.loads((folder / "report.json").read_text())
    assert report["csim"] == {
        "samples": 40,
        "accuracy": 0.75,
        "source": "random",
        "reference_accuracy": 0.75,
        "agree": 40,
    }
    text = " ".join(_parse(folder / "report.html").text)
    assert "75.00%" in text and "C-sim accuracy (40 labelled samples)" in text


def test_names_are_escaped(exported, tmp_path):
    path, _ = exported("mlp_float_bias", False)
    graph = frontend.load(path)
    build_graph(graph, "pynq-z2", tmp_path / "out", "<script>alert(1)</script>&.onnx")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;.onnx" in html
