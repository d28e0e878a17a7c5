"""report.json and report.html of a build folder: read, write, and the accuracy `fpgaq csim --labels` records."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fpgaq import outdir
from fpgaq.errors import FpgaqError
from fpgaq.outdir import write_atomic
from fpgaq.report.html import render_html
from fpgaq.report.model import Report


def write_report(out: Path, result: Report) -> None:
    """DIR/report.json and DIR/report.html (the caller holds the folder's lock)."""
    write_atomic(out / "report.json", result.to_json())
    write_atomic(out / "report.html", render_html(result.public()))


def read_report(build_dir: str | os.PathLike) -> Report:
    """DIR/report.json of a complete build folder."""
    out = Path(build_dir)
    if not outdir.is_complete(out) or not (out / "report.json").is_file():
        raise FpgaqError(f"{str(out)!r} is not an fpgaq build folder (run fpgaq build first)")
    return Report.from_json((out / "report.json").read_bytes(), str(out / "report.json"))


def record_accuracy(
    build_dir: str | os.PathLike,
    outputs: np.ndarray,
    labels: np.ndarray,
    *,
    source: str = "",
    reference: np.ndarray | None = None,
) -> float:
    """Argmax accuracy of simulated outputs; recorded in DIR/report.json and report.html. `reference`: the
    quantized model's own predictions (e.g. PyTorch), compared prediction by prediction."""
    out = Path(build_dir)
    if len(labels) == 0:
        raise FpgaqError("no labels: the accuracy of zero samples is undefined")
    predictions = outputs.reshape(len(outputs), -1).argmax(axis=1)
    accuracy = float((predictions == labels).mean())
    csim = {"samples": int(len(labels)), "accuracy": accuracy, "source": source, "reference_accuracy": None}
    if reference is not None:
        csim["reference_accuracy"] = float((reference == labels).mean())
        csim["agree"] = int((reference == predictions).sum())
    with outdir.updating(out):
        write_report(out, read_report(out).replace(csim=csim))
    return accuracy
