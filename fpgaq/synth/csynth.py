"""Vitis HLS synthesis reports (solution/syn/report/*_csynth.xml) into report.json, next to the estimates.

The XML schema is Vitis HLS's (the same fields hls4ml and FINN read): UserAssignments (TopModelName, Part,
TargetClockPeriod), PerformanceEstimates (SummaryOfTimingAnalysis/EstimatedClockPeriod,
SummaryOfOverallLatency/Best-caseLatency, Worst-caseLatency, Interval-min, Interval-max) and AreaEstimates
(Resources and AvailableResources: BRAM_18K, DSP - DSP48E in older releases -, FF, LUT, URAM).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from fpgaq.backends.hls.emit import FUNCTIONS
from fpgaq.synth.tools import SynthError

RESOURCES = {"lut": ("LUT",), "ff": ("FF",), "bram18": ("BRAM_18K",), "dsp": ("DSP", "DSP48E"), "uram": ("URAM",)}


def _number(node, path: str):
    found = node.find(path)
    if found is None or found.text is None:
        return None
    text = found.text.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None  # "undef" (a latency Vitis cannot bound)


def parse_csynth(path: Path) -> dict:
    """One *_csynth.xml -> {module, part, target_clock_ns, estimated_clock_ns, latency_best/worst, interval_min/max,
    lut, ff, bram18, dsp, uram, available: {...}}."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SynthError(f"Vitis HLS wrote no report {path}") from None
    try:
        root = ET.fromstring(re.sub(r' xmlns="[^"]+"', "", text, count=1))
    except ET.ParseError as exc:
        raise SynthError(f"{path} is not a Vitis HLS XML report ({exc})") from None
    if root.find("AreaEstimates/Resources") is None:
        raise SynthError(f"{path} has no AreaEstimates/Resources: not a csynth report")
    out = {
        "module": (root.findtext("UserAssignments/TopModelName") or path.stem.removesuffix("_csynth")).strip(),
        "part": (root.findtext("UserAssignments/Part") or "").strip(),
        "target_clock_ns": _number(root, "UserAssignments/TargetClockPeriod"),
        "estimated_clock_ns": _number(root, "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"),
        "latency_best": _number(root, "PerformanceEstimates/SummaryOfOverallLatency/Best-caseLatency"),
        "latency_worst": _number(root, "PerformanceEstimates/SummaryOfOverallLatency/Worst-caseLatency"),
        "interval_min": _number(root, "PerformanceEstimates/SummaryOfOverallLatency/Interval-min"),
        "interval_max": _number(root, "PerformanceEstimates/SummaryOfOverallLatency/Interval-max"),
        "available": {},
    }
    for key, names in RESOURCES.items():
        out[key] = next((v for n in names if (v := _number(root, f"AreaEstimates/Resources/{n}")) is not None), 0)
        out["available"][key] = next(
            (v for n in names if (v := _number(root, f"AreaEstimates/AvailableResources/{n}")) is not None), 0
        )
    return out


def _ratio(estimate, synthesized):
    if estimate is None or not synthesized:
        return None
    return round(estimate / synthesized, 3)


def _kernel_of(module: str, estimates: list) -> dict | None:
    """The estimate row of the kernel a Vitis module implements: the library function instantiated with the
    kernel's configuration struct is named FUNCTION_CONFIG (plus Vitis' suffix, e.g. mvu_threshold_dense0_mvu_s),
    FUNCTION one of the functions of the kernel's kind (emit.FUNCTIONS)."""
    for row in estimates:
        kind = row.get("kernel")
        for function in FUNCTIONS.get(kind, (kind,)):
            prefix = f"{function}_{row.get('name')}"
            if module == prefix or module.startswith(prefix + "_"):
                return row
    return None


def synthesis_report(report_dir: Path, top: str, report) -> dict:
    """The top's and every module's figures, modules matched to kernels, and estimate/synthesis ratios."""
    top_xml = report_dir / "csynth.xml"
    summary = parse_csynth(top_xml if top_xml.is_file() else report_dir / f"{top}_csynth.xml")
    modules = []
    estimates = report["estimate"].get("kernels", [])
    for path in sorted(report_dir.glob("*_csynth.xml")):
        module = parse_csynth(path)
        if module["module"] == summary["module"]:
            continue
        est = _kernel_of(module["module"], estimates)
        if est is not None:
            module["layer"], module["kernel"] = est["layer"], est["name"]
            module["estimate"] = {k: est[k] for k in ("cycles", "lut", "ff", "bram18", "dsp")}
            module["ratio"] = {k: _ratio(est[k], module[k]) for k in ("lut", "ff", "bram18", "dsp")}
            module["ratio"]["cycles"] = _ratio(est["cycles"], module["interval_max"])
        modules.append(module)
    order = {row.get("name"): i for i, row in enumerate(estimates)}
    modules.sort(key=lambda m: (order.get(m.get("kernel"), len(order)), m["module"]))  # dataflow order
    totals = report.get("totals", {})
    ratio = {k: _ratio(totals.get(k), summary[k]) for k in ("lut", "ff", "bram18", "dsp")}
    ratio["cycles"] = _ratio(totals.get("cycles_per_frame"), summary["interval_max"])
    return {"tool": "vitis_hls", "top": summary, "modules": modules, "ratio_estimate_to_synthesis": ratio}
