"""Read a QONNX file safely (external data may not leave the model's folder) and clean it with qonnx passes."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from onnx.external_data_helper import load_external_data_for_model, uses_external_data

from fpgaq.errors import ModelError


def load_qonnx(path: str | os.PathLike):
    """Load and clean a QONNX model; returns a qonnx ModelWrapper."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {str(path)!r}")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, ValueError, ... for non-ONNX bytes
        raise ModelError(f"{str(path)!r} is not an ONNX model ({type(exc).__name__})") from None
    if not proto.graph.node:
        raise ModelError(f"{str(path)!r} is not an ONNX model (its graph has no nodes)")
    _load_external_data(proto, path.parent)
    _split_repeated_inputs(proto)
    _quiet_onnxruntime()
    try:
        return cleanup_model(ModelWrapper(proto))
    except Exception as exc:
        raise ModelError(f"qonnx could not clean up {str(path)!r}: {exc}") from None


def _load_external_data(proto, folder: Path) -> None:
    base = folder.resolve()
    tensors = [t for t in proto.graph.initializer if uses_external_data(t)]
    for node in proto.graph.node:
        for attr in node.attribute:
            if attr.HasField("t") and uses_external_data(attr.t):
                tensors.append(attr.t)
    for tensor in tensors:
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = (base / location).resolve()
        if base not in target.parents:
            raise ModelError(f"external data {location!r} of tensor {tensor.name!r} is outside the model's folder")
        if not target.is_file():
            raise ModelError(f"external data file {location!r} of tensor {tensor.name!r} not found")
    if tensors:
        load_external_data_for_model(proto, str(base))


def _split_repeated_inputs(proto) -> None:
    """Give a node that reads one tensor twice (torch.cat([x, x])) an Identity copy for the second use.

    qonnx's GiveReadableTensorNames renames only one of the repeated inputs, which breaks the graph.
    """
    from onnx import helper

    nodes = []
    for index, node in enumerate(proto.graph.node):
        seen = set()
        for pos, name in enumerate(node.input):
            if name and name in seen:
                copy = f"{name}__fpgaq_copy{index}_{pos}"
                nodes.append(helper.make_node("Identity", [name], [copy], name=f"fpgaq_copy{index}_{pos}"))
                node.input[pos] = copy
            seen.add(name)
        nodes.append(node)
    if len(nodes) != len(proto.graph.node):
        del proto.graph.node[:]
        proto.graph.node.extend(nodes)


def _quiet_onnxruntime() -> None:
    """qonnx folds constants with onnxruntime, which warns about the custom-op opset on every run."""
    try:
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)
    except ImportError:  # pragma: no cover - onnxruntime comes with qonnx
        pass
