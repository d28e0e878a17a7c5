"""One summary row per IR layer: op, shapes, bit widths and the exact accumulator width of dot products."""

from __future__ import annotations

from fpgaq.ir import graph as ir
from fpgaq.ir.ranges import bound_widths
from fpgaq.ir.types import IntType


def layer_rows(graph: ir.Graph) -> list[dict]:
    rows = []
    for node in graph.nodes:
        inp = graph.tensors[node.inputs[0]]
        out = graph.tensors[node.output]
        row = {
            "name": node.name,
            "op": node.op,
            "origin": node.origin,
            "input_shape": list(inp.shape),
            "output_shape": list(out.shape),
            "input_type": str(inp.dtype),
            "input_bits": inp.dtype.bits,
            "input_signed": inp.dtype.signed,
            "output_type": str(out.dtype),
            "output_bits": out.dtype.bits,
        }
        if isinstance(node, ir.DOT_PRODUCT_OPS):
            w = node.weight
            stored = IntType.for_range(min(int(w.min()), 0), max(int(w.max()), 0))
            row.update(
                weight_type=str(node.weight_type),
                weight_bits=node.weight_type.bits,
                weight_bits_stored=stored.bits,
                weights=int(w.size),
                dot_length=int(w[0].size),
                acc_bits=out.dtype.bits,
                acc_signed=out.dtype.signed,
                acc_range=[out.lo, out.hi],
                **bound_widths(node, inp),
            )
        elif isinstance(node, ir.Threshold):
            row.update(thresholds_per_channel=int(node.thresholds.shape[-1]))
        rows.append(row)
    return rows


def totals(rows: list[dict]) -> dict:
    dots = [r for r in rows if "acc_bits" in r]
    return {
        "layers": len(rows),
        "dot_product_layers": len(dots),
        "weights": sum(r["weights"] for r in dots),
        "weight_memory_bits": sum(r["weights"] * r["weight_bits"] for r in dots),
        "accumulator_bits": sum(r["acc_bits"] for r in dots),
        "accumulator_bits_datatype": sum(r["acc_bits_datatype"] for r in dots),
        "accumulator_bits_l1": sum(r["acc_bits_l1"] for r in dots),
    }
