"""PE/SIMD folding of the dot-product layers: a default, and validation of a user's folding file."""

from __future__ import annotations

import json
from pathlib import Path

from fpgaq.errors import FpgaqError
from fpgaq.ir import graph as ir
from fpgaq.plan.layout import divisors


class FoldingError(FpgaqError):
    """An invalid --folding file or value."""


def fold_limits(node) -> tuple[int, int]:
    """(output channels per group, inputs per group): PE must divide the first, SIMD the second. A depthwise
    convolution folds over its channels and its kernel positions: (channels, KH * KW)."""
    if isinstance(node, ir.Conv) and node.depthwise:
        return node.weight.shape[0], int(node.weight[0].size)
    if isinstance(node, ir.Conv):
        return node.weight.shape[0] // node.group, int(node.weight[0].size)
    return node.weight.shape[0], node.weight.shape[1]


def default_folding(graph: ir.Graph) -> dict[str, tuple[int, int]]:
    """A simple valid folding: PE the largest divisor <= 4, SIMD the largest divisor <= 8."""
    result = {}
    for node in graph.nodes:
        if isinstance(node, ir.DOT_PRODUCT_OPS):
            oc, k = fold_limits(node)
            result[node.name] = (max(d for d in divisors(oc) if d <= 4), max(d for d in divisors(k) if d <= 8))
    return result


def resolve_folding(graph: ir.Graph, overrides: dict | None, base: dict | None = None) -> dict[str, tuple[int, int]]:
    """`base` (default: the default folding) with the user's {layer: {"pe": n, "simd": m}} applied and validated."""
    folding = dict(base) if base is not None else default_folding(graph)
    nodes = {n.name: n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)}
    for name, spec in (overrides or {}).items():
        if name not in nodes:
            raise FoldingError(f"folding: unknown layer {name!r}; dot-product layers: {', '.join(nodes) or 'none'}")
        if not isinstance(spec, dict) or set(spec) - {"pe", "simd"}:
            raise FoldingError(f'folding: layer {name!r} must map to {{"pe": n, "simd": m}}, not {spec!r}')
        oc, k = fold_limits(nodes[name])
        pe, simd = folding[name]
        for key, limit, what in (("pe", oc, "output channels"), ("simd", k, "inputs")):
            if key not in spec:
                continue
            value = spec[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1 or limit % value:
                valid = ", ".join(map(str, divisors(limit)))
                raise FoldingError(
                    f"folding: layer {name!r}: {key}={value!r} does not divide its {limit} {what}; valid: {valid}"
                )
            pe, simd = (value, simd) if key == "pe" else (pe, value)
        folding[name] = (pe, simd)
    return folding


MAX_FOLDING_FILE = 10_000_000  # bytes; a folding file names each dot-product layer once


def read_folding_file(path: str | Path) -> dict:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FOLDING_FILE:
            raise FoldingError(f"folding file {str(path)!r} is larger than {MAX_FOLDING_FILE:,} bytes")
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise FoldingError(f"folding file not found: {str(path)!r}") from None
    except IsADirectoryError:
        raise FoldingError(f"folding file {str(path)!r} is a folder") from None
    except UnicodeDecodeError as exc:
        raise FoldingError(f"folding file {str(path)!r} is not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FoldingError(f"folding file {str(path)!r} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise FoldingError(f"folding file {str(path)!r} is nested too deeply") from None
    if not isinstance(data, dict):
        raise FoldingError(f"folding file {str(path)!r} must hold an object {{layer: {{pe, simd}}}}")
    return data
