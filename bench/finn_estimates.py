"""Run inside a finn-plus virtual environment: FINN's own cycle and resource estimates for a given folding.

    FINN_PYTHON/bin/python bench/finn_estimates.py MODEL.onnx FOLDING.json PART   -> JSON on stdout

The model goes through the same FINN steps as bench/finn_accumulators.py (to the hardware graph, accumulators
minimized), its MVAU nodes are specialized to the HLS backend (whose estimators implement FINN-R), get the
folding [(PE, SIMD), ...] in graph order, and report get_exp_cycles, lut/bram/dsp_estimation per node.
Imports nothing from fpgaq.
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore")


def finn_estimates(path: str, folding: list, part: str) -> dict:
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
    from finn_accumulators import to_hw
    from qonnx.custom_op.registry import getCustomOp

    model = to_hw(path)
    for node in model.graph.node:
        if node.op_type.startswith(("MVAU", "Thresholding")):
            getCustomOp(node).set_nodeattr("preferred_impl_style", "hls")
    model = model.transform(SpecializeLayers(part))
    mvaus = [n for n in model.graph.node if n.op_type.startswith("MVAU")]
    if len(mvaus) != len(folding):
        raise ValueError(f"{len(mvaus)} MVAU nodes, {len(folding)} foldings")
    layers = []
    for node, (pe, simd) in zip(mvaus, folding):
        op = getCustomOp(node)
        op.set_nodeattr("PE", pe)
        op.set_nodeattr("SIMD", simd)
        layers.append(
            {
                "node": node.name,
                "op": node.op_type,
                "pe": pe,
                "simd": simd,
                "cycles": int(op.get_exp_cycles()),
                "lut": int(op.lut_estimation(part)),
                "bram18": int(op.bram_estimation(part)),
                "dsp": int(op.dsp_estimation(part)),
                "acc": op.get_nodeattr("accDataType"),
                "mem_mode": op.get_nodeattr("mem_mode"),
            }
        )
    others = [n.op_type for n in model.graph.node if not n.op_type.startswith("MVAU")]
    return {"layers": layers, "other_nodes": others}


if __name__ == "__main__":
    try:
        result = {"ok": True, **finn_estimates(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3])}
    except Exception as exc:  # report the peer's failure, do not hide it
        result = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    json.dump(result, sys.stdout)
