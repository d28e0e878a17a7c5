"""The QONNX reference: qonnx.core.onnx_exec.execute_onnx, in chunks of the exported batch size."""

from __future__ import annotations

import numpy as np


def _patch_rounding(model):
    """qonnx's executor spells Brevitas' ROUND_TO_ZERO as DOWN (np.fix); same semantics."""
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name == "rounding_mode" and attr.s.upper() == b"ROUND_TO_ZERO":
                attr.s = b"DOWN"
    return model


def original_model(path):
    """The exported file as written, with only qonnx's shape inference (execute_onnx needs shapes)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    return _patch_rounding(ModelWrapper(str(path)).transform(InferShapes()))


def cleaned_model(path):
    from fpgaq.frontend.reader import load_qonnx

    return _patch_rounding(load_qonnx(path))


def execute(model, x: np.ndarray, full: bool = False):
    """Run the model over x in chunks of its static batch size; returns the output or every tensor."""
    from qonnx.core.onnx_exec import execute_onnx

    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    batch = model.get_tensor_shape(iname)[0]
    parts = [
        execute_onnx(model, {iname: x[i : i + batch]}, return_full_exec_context=full) for i in range(0, len(x), batch)
    ]
    if not full:
        return np.concatenate([p[oname] for p in parts])
    return {
        k: np.concatenate([p[k] for p in parts])
        for k in parts[0]
        if np.ndim(parts[0][k]) and np.shape(parts[0][k])[0] == batch
    }


def quant_codes(model, tensor: str, values: np.ndarray) -> tuple[np.ndarray, object]:
    """Integer codes of a Quant/BipolarQuant output from its float32 values; also returns the node."""
    node = next(n for n in model.graph.node if n.output[0] == tensor)
    scale = model.get_initializer(node.input[1]).astype(np.float32)
    if node.op_type == "BipolarQuant":
        return (values > 0).astype(np.int64), node
    zp = model.get_initializer(node.input[2]).astype(np.float32)
    bits = int(model.get_initializer(node.input[3]))
    signed = next((a.i for a in node.attribute if a.name == "signed"), 1)
    y = values / scale + zp
    if bits == 1 and signed:
        return (y > 0).astype(np.int64), node
    return np.rint(y).astype(np.int64), node


def tie_distance(model, node, pre: np.ndarray) -> np.ndarray:
    """Distance, in code units, of the QONNX pre-rounding value from the nearest rounding boundary."""
    scale = model.get_initializer(node.input[1]).astype(np.float32)
    if node.op_type == "BipolarQuant":
        return np.abs(pre / scale)
    zp = model.get_initializer(node.input[2]).astype(np.float32)
    y = (pre / scale + zp).astype(np.float64)
    mode = next((a.s for a in node.attribute if a.name == "rounding_mode"), b"ROUND").upper()
    if mode in (b"ROUND", b"HALF_EVEN", b"HALF_UP", b"HALF_DOWN"):
        return np.abs(y - (np.floor(y) + 0.5))
    return np.abs(y - np.rint(y))
