"""Read a QONNX file safely (external data may not leave the model's folder) and clean it with qonnx passes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
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
    load_external_data(proto, path.parent)
    check_graph(proto.graph)
    check_io_shapes(proto.graph)
    check_qonnx_ops(proto.graph)
    _check_with_onnx(proto)
    _split_repeated_inputs(proto)
    _quiet_onnxruntime()
    try:
        return cleanup_model(ModelWrapper(proto))
    except Exception as exc:
        raise ModelError(f"qonnx could not clean up {str(path)!r}: {exc}") from None


def load_external_data(proto, folder: Path) -> bool:
    """Load the tensors a model keeps in external files, which must lie inside its folder; True if there were any."""
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
        try:
            load_external_data_for_model(proto, str(base))
        except (ValueError, OSError) as exc:
            raise ModelError(f"external data of the model cannot be read: {exc}") from None
        for tensor in tensors:
            _check_size(tensor)
    return bool(tensors)


def _check_size(tensor) -> None:
    """External bytes must fill the tensor exactly (a short file would be read as a smaller tensor)."""
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
    expected = int(np.prod(tensor.dims, dtype=np.int64)) * dtype.itemsize
    if len(tensor.raw_data) != expected:
        raise ModelError(
            f"external data of tensor {tensor.name!r} holds {len(tensor.raw_data)} bytes; its shape "
            f"{list(tensor.dims)} needs {expected}"
        )


def check_graph(graph) -> None:
    """Refuse tensors written twice and node inputs that nothing produces (qonnx would silently drop a node)."""
    writers: dict[str, str] = {}
    for value in graph.input:
        _define(writers, value.name, "a graph input")
    for tensor in graph.initializer:
        if writers.get(tensor.name) == "a graph input":  # an input with a default value (ONNX IR < 4)
            writers[tensor.name] = "an initializer"
        else:
            _define(writers, tensor.name, "an initializer")
    for index, node in enumerate(graph.node):
        where = _describe(node, index)
        for name in node.input:
            if name and name not in writers:
                raise ModelError(
                    f"{where} reads tensor {name!r}, which no graph input, initializer or earlier node writes"
                )
        for name in node.output:
            if name:
                _define(writers, name, f"the output of {where}")
    for value in graph.output:
        if value.name not in writers:
            raise ModelError(f"the model output {value.name!r} is not written by any node")


def _define(writers: dict, name: str, what: str) -> None:
    if name in writers:
        raise ModelError(f"tensor {name!r} is defined twice: as {writers[name]} and as {what}")
    writers[name] = what


def check_qonnx_ops(graph) -> None:
    """Quant, BipolarQuant and Trunc, which onnx's checker does not know, have the inputs they need."""
    from fpgaq.frontend.context import check_inputs
    from fpgaq.frontend.ops_quant import ARITY

    for index, node in enumerate(graph.node):
        if node.op_type in ARITY:
            check_inputs(node, _describe(node, index), *ARITY[node.op_type])


def _describe(node, index: int) -> str:
    return f"{node.op_type} node {node.name!r}" if node.name else f"{node.op_type} node #{index}"


def check_io_shapes(graph) -> None:
    """Model inputs and outputs declare a tensor shape (as ONNX requires); input axes after the batch are positive."""
    initializers = {t.name for t in graph.initializer}
    for kind, values in (("input", graph.input), ("output", graph.output)):
        for value in values:
            if value.name in initializers:
                continue
            if not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
                raise ModelError(f"the model {kind} {value.name!r} declares no tensor shape")
            if kind == "input":
                _check_input_dims(value)


def _check_input_dims(value) -> None:
    elem = value.type.tensor_type.elem_type
    if elem != onnx.TensorProto.FLOAT:
        kind = onnx.TensorProto.DataType.Name(elem) if elem in onnx.TensorProto.DataType.values() else str(elem)
        raise ModelError(f"the model input {value.name!r} is of type {kind}; fpgaq needs a FLOAT input")
    dims = [d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in value.type.tensor_type.shape.dim]
    if not dims or any(not isinstance(d, int) or d < 1 for d in dims[1:]):
        raise ModelError(
            f"the model input {value.name!r} has shape {dims}; every axis after the batch axis must have a "
            "positive static size"
        )


def _check_with_onnx(proto) -> None:
    """onnx's structural checker (attribute types, input counts of standard ops, opsets), as one line.

    Skipped past protobuf's 2 GiB limit, which the checker cannot serialize (qonnx's cleanup reports those).
    """
    if proto.ByteSize() >= 2**31:
        return
    try:
        onnx.checker.check_model(proto)
    except (onnx.checker.ValidationError, ValueError) as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        node = re.search(r"Name: (\S*) OpType: (\S+)", text)
        if node:
            raise ModelError(f"{node.group(2)} node {node.group(1)!r} is not valid ONNX: {first}") from None
        raise ModelError(f"the model is not valid ONNX: {first}") from None


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
