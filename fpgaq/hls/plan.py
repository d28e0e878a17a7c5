"""IR -> a stream plan: the kernel calls, streams and constant tables of the accelerator, in dataflow order.

The plan is backend-neutral data; templates/ renders it as C++. Decisions made here: stream orders (see
layout.py), where a threshold fuses into its matrix-vector unit, where forks, width converters and (rarely)
reorder buffers go, and how weights are laid out for PE/SIMD folding.
"""

from __future__ import annotations

import math

import numpy as np

from fpgaq.bounds import prefix_range
from fpgaq.hls import layout
from fpgaq.hls.plan_data import (
    LINEAR_MAX_LEVELS,
    Call,
    Const,
    Plan,
    Port,
    Stream,
    boundary,
    c_storage,
    const_type,
    ctype,
    geometry,
)
from fpgaq.ir import graph as ir
from fpgaq.ir.types import IntType

SPATIAL = (ir.Conv, ir.MaxPool, ir.SumPool)


class Planner:
    def __init__(self, graph: ir.Graph, folding: dict, acc_delta: dict | None = None):
        self.graph = graph
        self.folding = folding
        self.acc_delta = acc_delta or {}  # layer -> (inner, outer) bits added (tests prove minimality with -1)
        self.plan = Plan()
        self.ports: dict[str, list[Port]] = {}
        self.fused_thresholds = self._fusable()
        self.consumers = self._count_consumers()

    # ---- streams -----------------------------------------------------------------------------------

    def numel(self, tensor: str) -> int:
        return int(np.prod(self.graph.tensors[tensor].shape))

    def stream(self, elem: str, width: int, num: int) -> str:
        name = f"s{len(self.plan.streams)}"
        self.plan.streams.append(Stream(name, elem, width, num // width))
        return name

    def const(self, name: str, elem: str, values, cyclic=None) -> str:
        pragmas = []
        if cyclic is not None and cyclic[1] > 1:
            pragmas.append(f"ARRAY_PARTITION variable = {name} cyclic factor = {cyclic[1]} dim = {cyclic[0]}")
        self.plan.consts.append(Const(name, elem, np.asarray(values), None, pragmas))
        return name

    def table(self, name: str, values, t: IntType, reshape=(), cyclic=None) -> str:
        """An integer table stored as type t; returns its element type name (name_t). reshape: dimensions packed
        into one memory word; cyclic (dim, factor): a dimension split into `factor` memories (synthesis only)."""
        values = np.asarray(values)
        pragmas = [f"ARRAY_RESHAPE variable = {name} complete dim = {d}" for d in reshape if values.shape[d - 1] > 1]
        if cyclic is not None and cyclic[1] > 1:
            pragmas.append(f"ARRAY_PARTITION variable = {name} cyclic factor = {cyclic[1]} dim = {cyclic[0]}")
        const = Const(name, ctype(t), values, c_storage(t), pragmas)
        self.plan.consts.append(const)
        return const.type_name

    def publish(self, tensor: str, port: Port) -> None:
        """Make the producer's port available to the tensor's consumers, forking when there are several."""
        ports = [port]
        num = self.numel(tensor)
        while len(ports) < self.consumers.get(tensor, 0):
            src = ports.pop()
            outs = [Port(self.stream(src.ctype, src.width, num), src.width, src.order, src.ctype) for _ in range(2)]
            self.call(
                "fork2",
                [num // src.width, src.ctype, src.width],
                [src.stream, outs[0].stream, outs[1].stream],
                f"fork of {tensor}",
            )
            ports += outs
        self.ports[tensor] = ports

    def take(self, tensor: str, width: int | None = None, order: np.ndarray | None = None) -> Port:
        """A port of the tensor with the given words width and stream order (converting if needed)."""
        port = self.ports[tensor].pop(0)
        num = self.numel(tensor)
        if order is not None and not np.array_equal(port.order, order):
            port = self.convert(port, 1, num, tensor)
            position = np.empty(num, dtype=np.int64)
            position[port.order] = np.arange(num)
            perm = self.const(f"perm_{port.stream}", "int", position[order])
            out = Port(self.stream(port.ctype, 1, num), 1, order, port.ctype)
            self.call("reorder", [num, port.ctype], [port.stream, out.stream, perm], f"reorder of {tensor}")
            port = out
        if width is not None:
            port = self.convert(port, width, num, tensor)
        return port

    def convert(self, port: Port, width: int, num: int, tensor: str) -> Port:
        """Width conversion; between widths where neither divides the other, in two stages through their least
        common multiple (each stage moves a whole word of the narrower side per cycle, FINN's converter)."""
        if port.width == width:
            return port
        if port.width % width and width % port.width:
            port = self.convert(port, math.lcm(port.width, width), num, tensor)
        out = Port(self.stream(port.ctype, width, num), width, port.order, port.ctype)
        self.call(
            "dwc",
            [num, port.width, width, port.ctype, port.ctype],
            [port.stream, out.stream],
            f"width {port.width} -> {width} of {tensor}",
        )
        return out

    def call(self, func, targs, args, layer) -> None:
        self.plan.calls.append(Call(func, [str(a) for a in targs], list(args), layer))

    def layer_id(self, name: str) -> int:
        self.plan.layer_ids.append(name)
        return len(self.plan.layer_ids) - 1

    # ---- analysis ----------------------------------------------------------------------------------

    def _fusable(self) -> dict:
        """Thresholds that fold into the matrix-vector unit producing their input (rows = output channels)."""
        uses: dict[str, int] = {}
        for node in self.graph.nodes:
            for name in node.inputs:
                uses[name] = uses.get(name, 0) + 1
        fused = {}
        for node in self.graph.nodes:
            producer = self.graph.producer(node.inputs[0])
            if not isinstance(node, ir.Threshold) or not isinstance(producer, ir.DOT_PRODUCT_OPS):
                continue
            if uses[node.inputs[0]] != 1 or node.inputs[0] == self.graph.output.tensor:
                continue
            shape = self.graph.tensors[node.inputs[0]].shape
            order = layout.channels_last(shape) if isinstance(producer, ir.Conv) else layout.identity(shape)
            channels = producer.weight.shape[0]
            index = layout.param_index(node.sign.shape, shape, order)
            if np.array_equal(index, np.tile(index[:channels], len(index) // channels)):
                fused[producer.name] = (node, index[:channels])
        return fused

    def _count_consumers(self) -> dict:
        fused_inputs = {th.inputs[0] for th, _ in self.fused_thresholds.values()}
        counts = {self.graph.output.tensor: 1}
        for node in self.graph.nodes:
            for name in node.inputs:
                if name not in fused_inputs:
                    counts[name] = counts.get(name, 0) + 1
        return counts

    # ---- the walk ----------------------------------------------------------------------------------

    def run(self) -> Plan:
        g = self.graph
        t_in = g.tensors[g.input.tensor]
        spatial = any(isinstance(n, SPATIAL) and n.inputs[0] == t_in.name for n in g.nodes)
        order = layout.channels_last(t_in.shape) if spatial and len(t_in.shape) >= 2 else layout.identity(t_in.shape)
        self.plan.input = boundary(t_in, order, self._input_width(t_in.name))
        b = self.plan.input
        s = self.stream(ctype(t_in.dtype), b.pack, self.numel(t_in.name))
        self.call("unpack_axis", [b.num, b.pack, b.bits, b.word, b.ctype], ["in", s], "input")
        self.publish(t_in.name, Port(s, b.pack, order, b.ctype))
        fused_nodes = {id(th) for th, _ in self.fused_thresholds.values()}
        for node in g.nodes:
            if id(node) not in fused_nodes:
                getattr(self, f"plan_{node.op.lower()}")(node)
        t_out = g.tensors[g.output.tensor]
        port = self.take(t_out.name)
        self.plan.output = boundary(t_out, port.order, port.width)
        b = self.plan.output
        port = self.convert(port, b.pack, b.num, t_out.name)
        self.call("pack_axis", [b.num, b.pack, b.bits, b.word, b.ctype], [port.stream, "out"], "output")
        self.plan.fused = {k: v[0].name for k, v in self.fused_thresholds.items()}
        return self.plan

    def _input_width(self, tensor: str) -> int | None:
        """The words width in which the graph input's only reader takes it (the SIMD of a first dense layer)."""
        users = [n for n in self.graph.nodes if tensor in n.inputs]
        if len(users) != 1:
            return None
        node = users[0]
        if isinstance(node, ir.Dense):
            return self.folding[node.name][1]
        if isinstance(node, (ir.Reshape, ir.Transpose)):
            return self._input_width(node.output)
        return None

    def _activation(self, node):
        """(activation expression, its C++ type, output tensor) of a dot product, fusing its threshold."""
        if node.name not in self.fused_thresholds:
            return "fpgaq::NoActivation()", "fpgaq::NoActivation", node.output
        th, rows = self.fused_thresholds[node.name]
        levels = th.thresholds.shape[-1]
        thr = th.thresholds.reshape(-1, levels)[rows]
        t = f"thr_{th.name}"
        pe = self.folding[node.name][0]
        parallel = [2] if levels <= LINEAR_MAX_LEVELS else []  # all levels of a row compared at once
        t_type = self.table(t, thr, const_type(thr, th.name), reshape=parallel, cyclic=(1, pe))
        n = self.const(f"neg_{th.name}", "bool", th.sign.reshape(-1)[rows] < 0, cyclic=(1, pe))
        act_type = f"fpgaq::ThresholdActivation<{len(rows)}, {levels}, {t_type} >"
        act = self.const(f"act_{th.name}", act_type, np.array([t, n, th.base], dtype=object))
        return act, act_type, th.output

    def _mvu(self, node, port_in: Port, weight_rows: np.ndarray, groups: int, nv: int, out_order) -> None:
        pe, simd = self.folding[node.name]
        oc, k = weight_rows.shape
        ocg, kg = oc // groups, k
        nf, sf = ocg // pe, kg // simd
        w = weight_rows.reshape(groups, nf, pe, sf, simd).transpose(0, 1, 3, 2, 4).reshape(groups * nf * sf, pe * simd)
        inner, outer = self._accumulator_types(node, weight_rows, port_in, simd)
        act, act_type, out_tensor = self._activation(node)
        out_t = ctype(self.graph.tensors[out_tensor].dtype)
        wname, bname = f"w_{node.name}", f"b_{node.name}"
        w_type = self.table(wname, w, const_type(w, node.name), reshape=[2])
        bias = node.bias if node.bias is not None else np.zeros(oc, dtype=np.int64)
        b_type = self.table(bname, bias, const_type(bias, node.name), cyclic=(1, pe))
        s = self.stream(out_t, pe, nv * oc)
        ident = self.layer_id(node.name)
        targs = [ident, nv, groups, kg, ocg, simd, pe, port_in.ctype, w_type, b_type, ctype(inner), ctype(outer)]
        self.call("mvu", targs + [out_t, act_type], [port_in.stream, s, wname, bname, act], node.name)
        self.publish(out_tensor, Port(s, pe, out_order, out_t))

    def _accumulator_types(self, node, rows: np.ndarray, port_in: Port, simd: int) -> tuple[IntType, IntType]:
        """Inner (one SIMD tile) and outer (running, bias included) types from the exact ranges of `rows`,
        the weights in the order the hardware reads them."""
        src = self.graph.tensors[node.inputs[0]]
        bias = node.bias
        o_lo, o_hi = prefix_range(rows, src.lo, src.hi, bias, simd)
        outer = IntType.for_range(min(o_lo), max(o_hi))
        tiles = [prefix_range(rows[:, i : i + simd], src.lo, src.hi, None, 1) for i in range(0, rows.shape[1], simd)]
        inner = IntType.for_range(min(min(t[0]) for t in tiles), max(max(t[1]) for t in tiles))
        d_inner, d_outer = self.acc_delta.get(node.name, (0, 0))
        inner, outer = IntType(inner.bits + d_inner, inner.signed), IntType(outer.bits + d_outer, outer.signed)
        self.plan.accumulators[node.name] = {
            "inner_bits": inner.bits,
            "outer_bits": outer.bits,
            "tiled": simd < rows.shape[1],
        }
        return inner, outer

    def plan_dense(self, node: ir.Dense) -> None:
        shape = self.graph.tensors[node.inputs[0]].shape
        _, simd = self.folding[node.name]
        if len(shape) == 1:
            port = self.take(node.inputs[0], simd)
            weight = node.weight[:, port.order]  # the stream order folds into the weight columns
        else:
            port = self.take(node.inputs[0], simd, layout.identity(shape))
            weight = node.weight
        out_shape = self.graph.tensors[node.output].shape
        self._mvu(node, port, weight, 1, int(np.prod(shape[:-1])), layout.identity(out_shape))

    def plan_conv(self, node: ir.Conv) -> None:
        shape = self.graph.tensors[node.inputs[0]].shape
        out_shape = self.graph.tensors[node.output].shape
        port = self.take(node.inputs[0], None, layout.channels_last(shape))
        _, simd = self.folding[node.name]
        if port.width % simd and simd % port.width:  # swg.h assembles rows of SIMD from words of WIN
            port = self.convert(port, math.gcd(port.width, simd), self.numel(node.inputs[0]), node.inputs[0])
        geo = geometry(shape, out_shape, node.weight.shape[2:], node.strides, node.dilations, node.pads)
        win = self.stream(port.ctype, simd, int(np.prod(out_shape[1:])) * node.weight[0].size * node.group)
        self.call(
            "swg",
            geo + [node.group, port.width, simd, port.ctype],
            [port.stream, win, f"{port.ctype}({node.pad_value})"],
            node.name,
        )
        # weight columns in the window's order (kh, kw, then the group's input channels)
        rows = np.moveaxis(node.weight, 1, -1).reshape(node.weight.shape[0], -1)
        self._mvu(
            node,
            Port(win, simd, None, port.ctype),
            rows,
            node.group,
            int(np.prod(out_shape[1:])),
            layout.channels_last(out_shape),
        )

    def plan_threshold(self, node: ir.Threshold) -> None:
        port = self.take(node.inputs[0])
        shape = self.graph.tensors[node.inputs[0]].shape
        index = layout.param_index(node.sign.shape, shape, port.order)
        rows = index[: layout.period(index)]
        levels = node.thresholds.shape[-1]
        thr = node.thresholds.reshape(-1, levels)[rows]
        t = f"thr_{node.name}"
        parallel = [2] if levels <= LINEAR_MAX_LEVELS else []
        lanes = port.width if len(rows) % port.width == 0 else 1
        t_type = self.table(t, thr, const_type(thr, node.name), reshape=parallel, cyclic=(1, lanes))
        n = self.const(f"neg_{node.name}", "bool", node.sign.reshape(-1)[rows] < 0, cyclic=(1, lanes))
        out_t = ctype(self.graph.tensors[node.output].dtype)
        s = self.stream(out_t, port.width, self.numel(node.output))
        self.call(
            "threshold",
            [self.numel(node.output), port.width, len(rows), levels, port.ctype, t_type, out_t],
            [port.stream, s, t, n, str(node.base)],
            node.name,
        )
        self.publish(node.output, Port(s, port.width, port.order, out_t))

    def _pool(self, node, func, extra_targs, extra_args) -> None:
        shape = self.graph.tensors[node.inputs[0]].shape
        out_shape = self.graph.tensors[node.output].shape
        port = self.take(node.inputs[0], None, layout.channels_last(shape))
        lanes = math.gcd(port.width, shape[0])  # channels per word: a divisor of the channels (pool.h)
        port = self.convert(port, lanes, self.numel(node.inputs[0]), node.inputs[0])
        dil = getattr(node, "dilations", (1,) * len(node.kernel))
        geo = geometry(shape, out_shape, node.kernel, node.strides, dil, node.pads)
        out_type = self.graph.tensors[node.output].dtype
        if func == "sumpool":
            geo = [self.layer_id(node.name)] + geo[:7] + geo[9:]  # no dilation parameters
            out_type = IntType(out_type.bits + self.acc_delta.get(node.name, (0, 0))[1], out_type.signed)
        out_t = ctype(out_type)
        s = self.stream(out_t, lanes, self.numel(node.output))
        self.call(func, geo + [lanes, port.ctype, out_t] + extra_targs, [port.stream, s] + extra_args, node.name)
        tensor_t = ctype(self.graph.tensors[node.output].dtype)
        if tensor_t != out_t:  # a test narrowed the sum (acc_delta): convert back to the tensor's declared type
            wide = self.stream(tensor_t, lanes, self.numel(node.output))
            self.call("dwc", [self.numel(node.output), lanes, lanes, out_t, tensor_t], [s, wide], node.name)
            s, out_t = wide, tensor_t
        self.publish(node.output, Port(s, lanes, layout.channels_last(out_shape), out_t))

    def plan_maxpool(self, node: ir.MaxPool) -> None:
        channels = self.graph.tensors[node.inputs[0]].shape[0]
        sign = np.broadcast_to(node.sign.reshape(-1), (channels,))
        self._pool(node, "maxpool", [], [self.const(f"sign_{node.name}", "signed char", sign)])

    def plan_sumpool(self, node: ir.SumPool) -> None:
        port_type = ctype(self.graph.tensors[node.inputs[0]].dtype)
        self._pool(node, "sumpool", [], [f"{port_type}({node.pad_value})"])

    def plan_add(self, node: ir.Add) -> None:
        a = self.take(node.inputs[0], 1)
        b = self.take(node.inputs[1], 1, a.order)
        out_t = ctype(self.graph.tensors[node.output].dtype)
        m0, m1 = int(node.scale0), int(node.scale1)
        t0, t1 = ctype(IntType.for_range(min(m0, 0), max(m0, 0))), ctype(IntType.for_range(min(m1, 0), max(m1, 0)))
        s = self.stream(out_t, 1, self.numel(node.output))
        self.call(
            "add",
            [self.layer_id(node.name), self.numel(node.output), 1, a.ctype, b.ctype, out_t, t0, t1],
            [a.stream, b.stream, s, f"{t0}({m0})", f"{t1}({m1})"],
            node.name,
        )
        self.publish(node.output, Port(s, 1, a.order, out_t))

    def plan_concat(self, node: ir.Concat) -> None:
        shapes = [self.graph.tensors[t].shape for t in node.inputs]
        out_shape = self.graph.tensors[node.output].shape
        channel_mode = node.axis == 0 and len(out_shape) >= 2
        if channel_mode:
            outer, sizes = int(np.prod(out_shape[1:])), [s[0] for s in shapes]
            orders = [layout.channels_last(s) for s in shapes]
            out_order = layout.channels_last(out_shape)
        else:
            outer = int(np.prod(out_shape[: node.axis]))
            sizes = [int(np.prod(s[node.axis :])) for s in shapes]
            orders = [layout.identity(s) for s in shapes]
            out_order = layout.identity(out_shape)
        out_t = ctype(self.graph.tensors[node.output].dtype)
        ports = [self.take(t, 1, o) for t, o in zip(node.inputs, orders, strict=True)]
        current, size = ports[0], sizes[0]
        for port, n in zip(ports[1:], sizes[1:], strict=True):
            s = self.stream(out_t, 1, outer * (size + n))
            self.call(
                "concat2",
                [outer, size, n, current.ctype, port.ctype, out_t],
                [current.stream, port.stream, s],
                node.name,
            )
            current, size = Port(s, 1, None, out_t), size + n
        self.publish(node.output, Port(current.stream, 1, out_order, out_t))

    def plan_reshape(self, node: ir.Reshape) -> None:
        port = self.take(node.inputs[0])
        self.publish(node.output, port)

    def plan_transpose(self, node: ir.Transpose) -> None:
        port = self.take(node.inputs[0])
        shape = self.graph.tensors[node.inputs[0]].shape
        order = layout.transposed(port.order, shape, node.perm)
        self.publish(node.output, Port(port.stream, port.width, order, port.ctype))


def make_plan(graph: ir.Graph, folding: dict, acc_delta: dict | None = None) -> Plan:
    return Planner(graph, folding, acc_delta).run()
