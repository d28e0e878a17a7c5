"""Lower a cleaned QONNX graph to the integer IR.

The walk visits the ONNX nodes in order and keeps, for every float tensor of the graph, either a constant or
a `State`: an IR integer tensor plus the exact monotone chain (fpgaq.ir.chain) that maps its codes to the
float values of the QONNX reference. Dot products, pooling, adds and shape ops create IR nodes on the integer
tensors; float ops on activations (bias, batch norm, Mul/Add by constants, Relu, Clip) only extend the chain;
a Quant, BipolarQuant or Trunc on an activation turns the chain into a Threshold node.
"""

from __future__ import annotations

from fpgaq.errors import ModelError, UnsupportedOpError
from fpgaq.frontend import ops_nn, ops_quant, ops_shape
from fpgaq.frontend.context import Lowering, RawInput, State, check_inputs, where
from fpgaq.ir import graph as ir

HANDLERS = {**ops_quant.HANDLERS, **ops_nn.HANDLERS, **ops_shape.HANDLERS}
SUPPORTED_OPS = tuple(sorted(HANDLERS))
ARITY = {**ops_quant.ARITY, **ops_nn.ARITY, **ops_shape.ARITY}  # op -> (required inputs, most inputs or None)


def lower(model) -> ir.Graph:
    """Lower a cleaned qonnx ModelWrapper to the IR."""
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ModelError(
            f"the model must have one input and one output, not {len(graph.input)} and {len(graph.output)}"
        )
    low = Lowering(model)
    consumed = {name for node in graph.node for name in node.input} | {graph.output[0].name}
    for node in graph.node:
        handler = HANDLERS.get(node.op_type)
        if handler is None:
            raise UnsupportedOpError(
                f"unsupported op {node.op_type!r} at node {node.name!r}; supported: {', '.join(SUPPORTED_OPS)}"
            )
        check_arity(node, consumed)
        handler(low, node)
    if low.input_spec is None:
        raise UnsupportedOpError("the model input must be quantized by a Quant or BipolarQuant op")
    out_name = graph.output[0].name
    result = low.values.get(out_name)
    if isinstance(result, RawInput):
        raise UnsupportedOpError(f"the model output {out_name!r} is the model input before its quantizer")
    if not isinstance(result, State):
        raise ModelError(f"the model output {out_name!r} does not depend on the input")
    out_chain = result.chain
    if any(type(s).__name__ not in ("Affine", "Clamp") for s in out_chain.steps):
        raise AssertionError("output chain must end in affine/clamp maps")
    output = ir.OutputSpec(result.src, out_chain, result.quant, low.tensors[result.src].shape)
    nodes = _live_nodes(low.nodes, result.src)
    live = {low.input_spec.tensor} | {n.output for n in nodes}
    tensors = {k: v for k, v in low.tensors.items() if k in live}
    quantized = {k: v for k, v in low.quantized.items() if v in live}
    return ir.Graph(low.input_spec, tensors, tuple(nodes), output, quantized)


def check_arity(node, consumed: set) -> None:
    """The node has the inputs its op needs (required ones non-empty) and one output that others may read."""
    check_inputs(node, where(node), *ARITY[node.op_type])
    if not node.output or not node.output[0]:
        raise ModelError(f"{where(node)}: it has no output")
    for name in node.output[1:]:
        if name and name in consumed:
            raise UnsupportedOpError(f"{where(node)}: only its first output is supported, and {name!r} is read")


def _live_nodes(nodes, output: str):
    needed, keep = {output}, []
    for node in reversed(nodes):
        if node.output in needed:
            keep.append(node)
            needed.update(node.inputs)
    return keep[::-1]
