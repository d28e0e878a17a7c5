"""One point of a sweep, run start to finish in one process (a Ray task): quantize -> export -> build -> C-simulation
accuracy on the test split -> estimate (-> Yosys counts). Everything it writes lives in the point's folder."""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

import numpy as np

# the columns of points.csv, in order: the point's parameters, then what it measured
PARAMS = ("method", "weight_bits", "act_bits", "accumulator_bits", "board", "target_fps")
RESULTS = ("status", "float_accuracy", "quantized_accuracy", "csim_accuracy", "widest_accumulator",
           "accumulator_widths", "lut", "ff", "bram18", "dsp", "uram", "fps", "yosys_lut", "yosys_ff", "build_s",
           "error", "report")  # fmt: skip
COLUMNS = ("point", *PARAMS, *RESULTS)


def _seed(seed: int) -> None:
    """The same numbers whatever worker runs the point: seeded generators, one intra-op thread."""
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)


def run_point(settings: dict, params: dict, folder: str) -> dict:
    """The point's row (COLUMNS): status "ok" with its measurements, or "failed" with the error; never raises for
    a failure of the point itself, so one bad point does not stop a sweep."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    row = dict.fromkeys(COLUMNS, "")
    row.update(params)
    start = time.perf_counter()
    try:
        row.update(_measure(settings, params, folder))
        row["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - recorded as the point's outcome
        from fpgaq.errors import FpgaqError

        row["status"] = "failed"
        row["error"] = str(exc) if isinstance(exc, FpgaqError) else f"{type(exc).__name__}: {exc}"
        (folder / "error.txt").write_text(traceback.format_exc())
    row["build_s"] = round(time.perf_counter() - start, 1)
    return row


def _measure(settings: dict, params: dict, folder: Path) -> dict:
    from fpgaq.backends import get_backend
    from fpgaq.pipeline import build
    from fpgaq.quant.command import load_data, quantize_command
    from fpgaq.report.files import read_report, record_accuracy

    _seed(settings["seed"])
    model = folder / "model.onnx"
    summary = quantize_command(
        settings["model"],
        settings["data"],
        str(model),
        method=params["method"],
        weight_bits=params["weight_bits"],
        act_bits=params["act_bits"],
        input_bits=settings["input_bits"],
        accumulator_bits=params["accumulator_bits"],
    )
    out = folder / "build"
    build(model, params["board"], out, target_fps=params["target_fps"], backend=settings["backend"],
          force=True)  # fmt: skip
    result = {
        "float_accuracy": summary.get("float_accuracy", ""),
        "quantized_accuracy": summary.get("quantized_accuracy", ""),
        "report": str(out.relative_to(folder.parent.parent) / "report.html"),  # from the sweep folder
    }
    arrays = load_data(settings["data"])
    if "x_test" in arrays and "y_test" in arrays:
        sim = get_backend(settings["backend"]).simulator(out, jobs=1)  # a point has one CPU
        x = np.asarray(arrays["x_test"], dtype=np.float32).reshape(-1, *sim.input_shape)
        result["csim_accuracy"] = record_accuracy(out, sim.run(x), np.asarray(arrays["y_test"]), source="test split")
    if settings["synth"] == "yosys":
        from fpgaq.synth import synth

        top = synth(out, "yosys", False, None)["synthesis"]["top"]
        result.update(yosys_lut=top["lut"], yosys_ff=top["ff"])
    report = read_report(out)
    widths = [row["acc_bits"] for row in report.layers if row.get("acc_bits") is not None]
    totals = report.totals
    result.update(
        widest_accumulator=max(widths, default=""),
        accumulator_widths=json.dumps(widths),
        fps=round(totals["fps"], 1),
        **{r: totals[r] for r in ("lut", "ff", "bram18", "dsp", "uram")},
    )
    return result
