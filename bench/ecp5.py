"""The open flow to an ECP5 bitstream (docs/ecp5.md): a small MLP built with --backend rtl for the ULX3S, then
`fpgaq synth DIR --backend yosys` (Yosys synth_ecp5, nextpnr-ecp5 at the board's 25 MHz, ecppack): Fmax,
utilisation and the time of each tool, or the error that names why there is no bitstream.

    python bench/ecp5.py                                  # the test MLP (16-?-?-5) and the digits MLP (64-64-32-10)
    python bench/ecp5.py --models digits --folding ones   # PE = SIMD = 1 only

Models: "mlp" is tests/models.py's mlp_float_bias (the MLP of tests/rtl/test_ecp5.py); "digits" is
examples/digits_mlp.py's DigitsMLP (8-bit input, 4-bit weights and activations), untrained: the hardware does not
depend on what the weights learned. Foldings: "default" (PE <= 4, SIMD <= 8) and "ones" (PE = SIMD = 1 everywhere).
Takes minutes per design: nextpnr-ecp5 runs as WebAssembly (yowasp) on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fpgaq import frontend  # noqa: E402
from fpgaq.errors import FpgaqError  # noqa: E402
from fpgaq.ir import graph as ir  # noqa: E402
from fpgaq.pipeline import Target, build_graph  # noqa: E402
from fpgaq.report.tables import ecp5_summary  # noqa: E402
from fpgaq.synth import synth  # noqa: E402
from tests.conftest import export  # noqa: E402


def _model(name: str):
    if name == "digits":
        sys.path.insert(0, str(ROOT / "examples"))
        from digits_mlp import DigitsMLP

        model = DigitsMLP()
        model.eval()
        return model, (64,)
    from tests.models import build

    return build("mlp_float_bias")


def run(name: str, folding: str, folder: Path) -> dict:
    """Build and synthesize one model at one folding in `folder`: the figures of the report, or the error."""
    model, shape = _model(name)
    path = export(model, shape, folder / "model.onnx", dynamo=False)
    graph = frontend.load(path)
    dots = [n.name for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)]
    layers = None if folding == "default" else {n: {"pe": 1, "simd": 1} for n in dots}
    out = folder / "build"
    start = time.monotonic()
    build_graph(graph, Target.of("ulx3s", backend="rtl"), out, "model.onnx", folding=layers, model_file=Path(path))
    result = {"model": name, "folding": folding, "build_s": round(time.monotonic() - start, 1)}
    start = time.monotonic()
    try:
        report = synth(out, "yosys")
    except FpgaqError as exc:
        result.update(error=str(exc), synth_s=round(time.monotonic() - start, 1))
        placed = out / "synth" / "ecp5" / "report.json"  # nextpnr's report, kept when timing failed
        if placed.is_file():
            used = json.loads(placed.read_text()).get("utilization", {})
            result["utilization"] = {cell: v for cell, v in used.items() if v["used"]}
        return result
    syn = report["synthesis"]
    bit = out / syn["bitstream"]
    return {**result, "synth_s": round(time.monotonic() - start, 1), "summary": ecp5_summary(syn),
            "bitstream_bytes": bit.stat().st_size, "fmax": syn["fmax"], "utilization": syn["utilization"],
            "seconds": syn["seconds"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=["mlp", "digits"], choices=["mlp", "digits"])
    parser.add_argument("--folding", nargs="*", default=["ones", "default"], choices=["ones", "default"])
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            for folding in args.folding:
                folder = Path(tmp) / f"{name}_{folding}"
                folder.mkdir()
                r = run(name, folding, folder)
                results.append(r)
                what = r.get("summary") or f"no bitstream: {r['error']}; placed: {r.get('utilization')}"
                print(f"{name} ({folding} folding): build {r['build_s']} s, synth {r['synth_s']} s; {what}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
