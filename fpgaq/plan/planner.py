"""IR -> kernel plan: the kernels, streams and constant tables of the accelerator, in dataflow order.

Decisions made here and nowhere else: stream orders (layout.py), stream widths (widths.py), where a threshold
fuses into its matrix-vector unit, where forks, width converters and (rarely) reorder buffers go, and how
weights are laid out for PE/SIMD folding. One rule per IR op (RULES); the result is backend-neutral data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fpgaq.ir import graph as ir
from fpgaq.ir.types import IntType
from fpgaq.plan import layout, widths
from fpgaq.plan.kernels import (
    Add,
    Boundary,
    Concat,
    Fork,
    FusedRequant,
    FusedThreshold,
    MaxPool,
    Mvu,
    PackAxis,
    Plan,
    Reorder,
    Requantize,
    SlidingWindow,
    Stream,
    SumPool,
    Table,
    TableKind,
    Thresholding,
    UnpackAxis,
    WidthConverter,
    Window,
)
from fpgaq.plan.layer_cache import conv_rows, tiled_ranges_of, weight_facts
from fpgaq.plan.requant import requantizer
from fpgaq.plan.tables import LINEAR_MAX_LEVELS, storage, table_type

SPATIAL = (ir.Conv, ir.MaxPool, ir.SumPool)
FLAG, INDEX, SIGN = IntType(1, False), IntType(32, True), IntType(8, True)


@dataclass(frozen=True)
class Port:
    """A stream carrying a tensor, and the order of the tensor's elements in it."""

    stream: Stream
    order: np.ndarray | None

    @property
    def width(self) -> int:
        return self.stream.width

    @property
    def elem(self) -> IntType:
        return self.stream.elem


class Planner:
    def __init__(self, graph: ir.Graph, folding: dict, fused: dict | None = None, consumers: dict | None = None):
        self.graph = graph
        self.folding = folding
        self.kernels: list = []
        self.streams: list[Stream] = []
        self.layer_ids: list[str] = []
        self.accumulators: dict = {}
        self.ports: dict[str, list[Port]] = {}
        self.fused_thresholds = widths.fusable(graph) if fused is None else fused
        self.consumers = self._count_consumers() if consumers is None else consumers
        self.shapes_only = False  # weight tables of zeros, of the right shape and type (layer_kernels)

    # ---- streams -----------------------------------------------------------------------------------

    def numel(self, tensor: str) -> int:
        return int(np.prod(self.graph.tensors[tensor].shape))

    def stream(self, elem: IntType, width: int, num: int) -> Stream:
        s = Stream(f"s{len(self.streams)}", elem, width, num // width)
        self.streams.append(s)
        return s

    def add(self, kernel) -> None:
        self.kernels.append(kernel)

    def publish(self, tensor: str, port: Port) -> None:
        """Make the producer's port available to the tensor's consumers, forking when there are several."""
        ports = [port]
        num = self.numel(tensor)
        while len(ports) < self.consumers.get(tensor, 0):
            src = ports.pop()
            outs = [Port(self.stream(src.elem, src.width, num), src.order) for _ in range(2)]
            name = f"fork_{src.stream.name}"
            self.add(Fork(name, f"fork of {tensor}", src.stream, outs[0].stream, outs[1].stream))
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
            perm = Table(f"perm_{port.stream.name}", position[order], INDEX, TableKind.INDEX)
            out = Port(self.stream(port.elem, 1, num), order)
            self.add(Reorder(f"reorder_{port.stream.name}", f"reorder of {tensor}", port.stream, out.stream, num, perm))
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
        out = Port(self.stream(port.elem, width, num), port.order)
        layer = f"width {port.width} -> {width} of {tensor}"
        self.add(WidthConverter(f"dwc_{port.stream.name}", layer, port.stream, out.stream, num))
        return out

    def layer_id(self, name: str) -> int:
        self.layer_ids.append(name)
        return len(self.layer_ids) - 1

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
        b_in = boundary(t_in, order, widths.input_width(g, self.folding))
        s = self.stream(t_in.dtype, b_in.pack, self.numel(t_in.name))
        self.add(UnpackAxis("unpack_input", "input", s, b_in))
        self.publish(t_in.name, Port(s, order))
        fused_nodes = {id(th) for th, _ in self.fused_thresholds.values()}
        for node in g.nodes:
            if id(node) not in fused_nodes:
                RULES[type(node)](self, node)
        t_out = g.tensors[g.output.tensor]
        port = self.take(t_out.name)
        b_out = boundary(t_out, port.order, port.width)
        port = self.convert(port, b_out.pack, b_out.num, t_out.name)
        self.add(PackAxis("pack_output", "output", port.stream, b_out))
        return Plan(
            kernels=tuple(self.kernels),
            streams=tuple(self.streams),
            input=b_in,
            output=b_out,
            fused={k: v[0].name for k, v in self.fused_thresholds.items()},
            layer_ids=tuple(self.layer_ids),
            accumulators=self.accumulators,
        )

    # ---- matrix-vector units -----------------------------------------------------------------------

    def _activation(self, node) -> tuple[FusedThreshold | FusedRequant | None, str]:
        """The activation fused into a dot product (or None) and the tensor the unit produces: the threshold, or
        above 64 levels the exact requantizer proven equal to it. Tables are laid out [PE][neuron fold][...], as
        the bias: lane p reads only its own memory."""
        if node.name not in self.fused_thresholds:
            return None, node.output
        th, rows = self.fused_thresholds[node.name]
        pe = self.folding[node.name][0]
        levels = th.thresholds.shape[-1]
        thr = th.thresholds.reshape(-1, levels)[rows]
        flags = th.sign.reshape(-1)[rows] < 0
        negate = Table(f"neg_{th.name}", by_lane(flags, pe), FLAG, TableKind.FLAG, banks=(1, pe))
        rq = requantizer(self.graph, th, rows)
        if rq is not None:
            return FusedRequant(th.name, _lane_table(f"mul_{th.name}", rq.mult, pe, th.name),
                                _lane_table(f"off_{th.name}", rq.offset, pe, th.name), negate, rq.shift, int(th.base),
                                levels, rq.product), th.output  # fmt: skip
        thresholds = Table(f"thr_{th.name}", by_lane(thr, pe), table_type(thr, th.name), packed=LEVELS_PACKED,
                           banks=(1, pe), storage=_threshold_storage(levels, len(rows) // pe))  # fmt: skip
        return FusedThreshold(th.name, thresholds, negate, int(th.base), len(rows), levels), th.output

    def _mvu(self, node, port_in: Port, weight_rows: np.ndarray, groups: int, nv: int, out_order,
             depthwise: bool = False, columns: bytes = b"") -> None:  # fmt: skip
        """A matrix-vector unit; `depthwise`: a vector-vector unit - `groups` blocks of PE channels, lane p of a
        block using only its own channel's inputs (element s * PE + p of a word of PE * SIMD). `columns` names
        the order of weight_rows' columns (the same bytes for the same order of one node's weights)."""
        pe, simd = self.folding[node.name]
        oc, k = weight_rows.shape
        ocg, kg = oc // groups, k
        nf, sf = ocg // pe, kg // simd
        if self.shapes_only:  # the search weighs the kernels: the table's shape and type, not its values
            bipolar, elem = weight_facts(node, weight_rows)
            w = np.broadcast_to(np.int64(0), (groups * nf * sf, pe * simd))
        else:
            tiles = weight_rows.reshape(groups, nf, pe, sf, simd).transpose(0, 1, 3, 2, 4)
            w = tiles.reshape(groups * nf * sf, pe * simd)
            bipolar = w.size > 0 and bool(np.all(np.abs(w) == 1))  # +-1 weights: one bit each, a sign per product
            if bipolar:
                w = (w > 0).astype(np.int64)
            elem = table_type(w, node.name)
        inner, outer = self._accumulator_types(node, weight_rows, simd, columns)
        activation, out_tensor = self._activation(node)
        out_elem = self.graph.tensors[out_tensor].dtype
        weights = Table(f"w_{node.name}", w, elem, packed=(2,), storage=storage(w.shape[0]))
        bias = node.bias if node.bias is not None else np.zeros(oc, dtype=np.int64)
        biases = Table(f"b_{node.name}", by_lane(bias, pe), table_type(bias, node.name), banks=(1, pe))
        s = self.stream(out_elem, pe, nv * oc)
        ident = self.layer_id(node.name)
        mvu = Mvu(f"{node.name}_mvu", node.name, ident, port_in.stream, s, nv, groups, kg, ocg, simd, pe, weights,
                  biases, inner, outer, activation, depthwise, bipolar)  # fmt: skip
        self.add(mvu)
        self.publish(out_tensor, Port(s, out_order))

    def _accumulator_types(self, node, rows: np.ndarray, simd: int, columns: bytes) -> tuple[IntType, IntType]:
        """Inner (one SIMD tile) and outer (running, bias included) types from the exact ranges of `rows`,
        the weights in the order the hardware reads them (remembered per layer, column order and SIMD)."""
        src = self.graph.tensors[node.inputs[0]]
        (o_lo, o_hi), (i_lo, i_hi) = tiled_ranges_of(node, rows, columns, src.lo, src.hi, simd)
        outer, inner = IntType.for_range(o_lo, o_hi), IntType.for_range(i_lo, i_hi)
        tiled = simd < rows.shape[1]
        self.accumulators[node.name] = {"inner_bits": inner.bits, "outer_bits": outer.bits, "tiled": tiled}
        return inner, outer


def boundary(tensor: ir.Tensor, order: np.ndarray, prefer: int | None = None) -> Boundary:
    """The AXI-Stream packing of a graph input or output: pack elements per word of 8, 16, 32 or 64 bits."""
    num = int(np.prod(tensor.shape))
    bits = tensor.dtype.bits
    pack = widths.pack_for(num, bits, prefer)
    word = max(8, 1 << (pack * bits - 1).bit_length())  # an AXI DMA stream width
    return Boundary(num, pack, tensor.dtype, word, tuple(int(v) for v in order))


LEVELS_PACKED = (3,)  # every level of a threshold row is compared at once: one memory word (the last dimension)


def by_lane(values: np.ndarray, lanes: int) -> np.ndarray:
    """A per-channel table [channels, ...] laid out [lane][channels / lanes][...]: channel f * lanes + p at
    [p][f], so that the lane that computes a channel is the only reader of its memory (finn-hlslib's layout)."""
    values = np.asarray(values)
    rest = values.shape[1:]
    return np.ascontiguousarray(np.swapaxes(values.reshape(-1, lanes, *rest), 0, 1))


def _threshold_storage(levels: int, rows_per_lane: int) -> str:
    """Where a lane's thresholds live, as the estimate costs them (models.threshold_store): every level of a
    row in one word, LUTRAM up to 64 levels; above, by the depth rule."""
    return "lutram" if levels <= LINEAR_MAX_LEVELS else storage(rows_per_lane)


def window_rows(window: Window) -> int:
    """Rows of the sliding window's line buffer: the rows one window spans, plus a stride of rows filled while
    the current windows leave (swg.h)."""
    return (window.kh - 1) * window.dh + 1 + window.sh


# ---- one rule per IR op ----------------------------------------------------------------------------------


def plan_dense(p: Planner, node: ir.Dense) -> None:
    shape = p.graph.tensors[node.inputs[0]].shape
    _, simd = p.folding[node.name]
    weight, columns = node.weight, b""  # b"": the weights' own column order
    if len(shape) == 1:
        port = p.take(node.inputs[0], simd)
        if not np.array_equal(port.order, layout.identity(shape)):
            weight = node.weight[:, port.order]  # the stream order folds into the weight columns
            columns = np.asarray(port.order, dtype=np.int64).tobytes()
    else:
        port = p.take(node.inputs[0], simd, layout.identity(shape))
        weight = node.weight
    out_shape = p.graph.tensors[node.output].shape
    p._mvu(node, port, weight, 1, int(np.prod(shape[:-1])), layout.identity(out_shape), columns=columns)


def _sliding_window(p: Planner, node: ir.Conv, port: Port, simd: int) -> Stream:
    """The sliding window of a convolution and the width converters around it; returns the stream of windows
    at `simd` elements per word. The window generator moves words of gcd(SIMD, channels per group) channels of
    one pixel (one line-buffer word per cycle); a wider SIMD is assembled by a converter after it."""
    shape, out_shape = p.graph.tensors[node.inputs[0]].shape, p.graph.tensors[node.output].shape
    window = Window.of(shape, out_shape, node.weight.shape[2:], node.strides, node.dilations, node.pads)
    lanes = math.gcd(simd, window.c // node.group)
    win = _window_stream(p, node.name, node.inputs[0], port, window, node.group, lanes, int(node.pad_value))
    return p.convert(Port(win, None), simd, win.words * win.width, f"the windows of {node.name}").stream


def _window_stream(p: Planner, layer: str, tensor: str, port: Port, window: Window, groups: int, lanes: int,
                   pad: int) -> Stream:  # fmt: skip
    """A line-buffer window generator over `tensor` (converted to words of `lanes` channels)."""
    port = p.convert(port, lanes, p.numel(tensor), tensor)
    words = window.oh * window.ow * window.c * window.kh * window.kw // lanes
    win = p.stream(port.elem, lanes, words * lanes)
    p.add(SlidingWindow(f"{layer}_swg", layer, port.stream, win, window, groups, pad, window_rows(window)))
    return win


def plan_conv(p: Planner, node: ir.Conv) -> None:
    shape = p.graph.tensors[node.inputs[0]].shape
    out_shape = p.graph.tensors[node.output].shape
    port = p.take(node.inputs[0], None, layout.channels_last(shape))
    pe, simd = p.folding[node.name]
    rows = conv_rows(node)  # weight columns in the window's order (kh, kw, then the group's input channels)
    if node.depthwise:
        win = _depthwise_window(p, node, port, pe, simd)
        p._mvu(node, Port(win, None), rows, node.group // pe, int(np.prod(out_shape[1:])),
               layout.channels_last(out_shape), depthwise=True)  # fmt: skip
        return
    win = _sliding_window(p, node, port, simd)
    p._mvu(node, Port(win, None), rows, node.group, int(np.prod(out_shape[1:])), layout.channels_last(out_shape))


def _depthwise_window(p: Planner, node: ir.Conv, port: Port, pe: int, simd: int) -> Stream:
    """The windows of a depthwise convolution for a vector-vector unit: groups of PE channels, each group's KH x KW
    window words of PE channels one after another (as pooling reads them), SIMD of those words per unit word
    (element s * PE + p: kernel position s of the block's channel p)."""
    shape, out_shape = p.graph.tensors[node.inputs[0]].shape, p.graph.tensors[node.output].shape
    window = Window.of(shape, out_shape, node.weight.shape[2:], node.strides, node.dilations, node.pads)
    win = _window_stream(p, node.name, node.inputs[0], port, window, window.c // pe, pe, int(node.pad_value))
    return p.convert(Port(win, None), pe * simd, win.words * win.width, f"the windows of {node.name}").stream


def plan_threshold(p: Planner, node: ir.Threshold) -> None:
    port = p.take(node.inputs[0])
    shape = p.graph.tensors[node.inputs[0]].shape
    index = layout.param_index(node.sign.shape, shape, port.order)
    rows = index[: layout.period(index)]
    rows = np.tile(rows, math.lcm(len(rows), port.width) // len(rows))  # a whole number of rows per lane
    levels = node.thresholds.shape[-1]
    lanes = port.width
    s = p.stream(p.graph.tensors[node.output].dtype, port.width, p.numel(node.output))
    flags = by_lane(node.sign.reshape(-1)[rows] < 0, lanes)
    negate = Table(f"neg_{node.name}", flags, FLAG, TableKind.FLAG, banks=(1, lanes))
    rq = requantizer(p.graph, node, rows)
    if rq is not None:
        p.add(Requantize(node.name, node.name, port.stream, s, p.numel(node.output), len(rows),
                         _lane_table(f"mul_{node.name}", rq.mult, lanes, node.name),
                         _lane_table(f"off_{node.name}", rq.offset, lanes, node.name), negate, rq.shift,
                         int(node.base), levels, rq.product))  # fmt: skip
    else:
        thr = node.thresholds.reshape(-1, levels)[rows]
        thresholds = Table(f"thr_{node.name}", by_lane(thr, lanes), table_type(thr, node.name),
                           packed=LEVELS_PACKED, banks=(1, lanes),
                           storage=_threshold_storage(levels, len(rows) // lanes))  # fmt: skip
        p.add(Thresholding(node.name, node.name, port.stream, s, p.numel(node.output), len(rows), levels, thresholds,
                           negate, int(node.base)))  # fmt: skip
    p.publish(node.output, Port(s, port.order))


def _lane_table(name: str, values: np.ndarray, lanes: int, what: str) -> Table:
    return Table(name, by_lane(values, lanes), table_type(values, what), banks=(1, lanes))


def _pool_window(p: Planner, node, pad: int) -> tuple[Stream, Window]:
    """The stream a pooling reducer reads, in words of L channels (L = gcd(the producer's width, C)): a window
    generator's, each group's KH x KW window words one after another; for a global pool the frame itself."""
    shape = p.graph.tensors[node.inputs[0]].shape
    out_shape = p.graph.tensors[node.output].shape
    port = p.take(node.inputs[0], None, layout.channels_last(shape))
    lanes = widths.pool_lanes(port.width, shape[0])
    dilations = getattr(node, "dilations", (1,) * len(node.kernel))
    window = Window.of(shape, out_shape, node.kernel, node.strides, dilations, node.pads)
    if window.is_global:
        return p.convert(port, lanes, p.numel(node.inputs[0]), node.inputs[0]).stream, window
    return _window_stream(p, node.name, node.inputs[0], port, window, shape[0] // lanes, lanes, pad), window


def plan_maxpool(p: Planner, node: ir.MaxPool) -> None:
    win, window = _pool_window(p, node, 0)  # padding never reaches the maximum: the reducer skips it
    channels = p.graph.tensors[node.inputs[0]].shape[0]
    signs = np.broadcast_to(node.sign.reshape(-1), (channels,))
    sign = Table(f"sign_{node.name}", by_lane(signs, win.width).astype(np.int64), SIGN, TableKind.SIGN,
                 banks=(1, win.width))  # fmt: skip
    s = p.stream(p.graph.tensors[node.output].dtype, win.width, p.numel(node.output))
    p.add(MaxPool(node.name, node.name, win, s, window, sign))
    p.publish(node.output, Port(s, layout.channels_last(p.graph.tensors[node.output].shape)))


def plan_sumpool(p: Planner, node: ir.SumPool) -> None:
    win, window = _pool_window(p, node, int(node.pad_value))
    s = p.stream(p.graph.tensors[node.output].dtype, win.width, p.numel(node.output))
    p.add(SumPool(node.name, node.name, p.layer_id(node.name), win, s, window))
    p.publish(node.output, Port(s, layout.channels_last(p.graph.tensors[node.output].shape)))


def plan_add(p: Planner, node: ir.Add) -> None:
    a = p.take(node.inputs[0], 1)
    b = p.take(node.inputs[1], 1, a.order)
    s = p.stream(p.graph.tensors[node.output].dtype, 1, p.numel(node.output))
    m0, m1 = int(node.scale0), int(node.scale1)
    p.add(Add(node.name, node.name, p.layer_id(node.name), a.stream, b.stream, s, p.numel(node.output), m0, m1))
    p.publish(node.output, Port(s, a.order))


def plan_concat(p: Planner, node: ir.Concat) -> None:
    shapes = [p.graph.tensors[t].shape for t in node.inputs]
    out_shape = p.graph.tensors[node.output].shape
    if node.axis == 0 and len(out_shape) >= 2:  # channels: pixel by pixel
        outer, sizes = int(np.prod(out_shape[1:])), [s[0] for s in shapes]
        orders = [layout.channels_last(s) for s in shapes]
        out_order = layout.channels_last(out_shape)
    else:
        outer = int(np.prod(out_shape[: node.axis]))
        sizes = [int(np.prod(s[node.axis :])) for s in shapes]
        orders = [layout.identity(s) for s in shapes]
        out_order = layout.identity(out_shape)
    elem = p.graph.tensors[node.output].dtype
    ports = [p.take(t, 1, o) for t, o in zip(node.inputs, orders, strict=True)]
    current, size = ports[0].stream, sizes[0]
    for i, (port, n) in enumerate(zip(ports[1:], sizes[1:], strict=True)):
        s = p.stream(elem, 1, outer * (size + n))
        p.add(Concat(f"{node.name}_{i}", node.name, current, port.stream, s, outer, size, n))
        current, size = s, size + n
    p.publish(node.output, Port(current, out_order))


def plan_reshape(p: Planner, node: ir.Reshape) -> None:
    p.publish(node.output, p.take(node.inputs[0]))


def plan_transpose(p: Planner, node: ir.Transpose) -> None:
    port = p.take(node.inputs[0])
    shape = p.graph.tensors[node.inputs[0]].shape
    p.publish(node.output, Port(port.stream, layout.transposed(port.order, shape, node.perm)))


RULES = {
    ir.Dense: plan_dense,
    ir.Conv: plan_conv,
    ir.Threshold: plan_threshold,
    ir.MaxPool: plan_maxpool,
    ir.SumPool: plan_sumpool,
    ir.Add: plan_add,
    ir.Concat: plan_concat,
    ir.Reshape: plan_reshape,
    ir.Transpose: plan_transpose,
}


def make_plan(graph: ir.Graph, folding: dict, fused: dict | None = None) -> Plan:
    """The kernel plan of a graph at a folding ({layer: (PE, SIMD)} for every dot-product layer); `fused`:
    widths.fusable(graph) when the caller has it (the folding search plans one graph several times)."""
    return Planner(graph, folding, fused=fused).run()


def natural_order(graph: ir.Graph, node: ir.Node) -> np.ndarray:
    """The stream order in which `node` reads its input without a reorder buffer."""
    shape = graph.tensors[node.inputs[0]].shape
    return layout.channels_last(shape) if isinstance(node, SPATIAL) else layout.identity(shape)


def layer_kernels(graph: ir.Graph, node: ir.Node, folding: dict, in_width: int, fused: dict) -> tuple[list, int]:
    """The kernels the planner builds for one layer whose input arrives in words of `in_width` elements (in the
    order the layer reads), and the width of the stream it produces - what the folding search weighs (its weight
    tables hold zeros of the right shape and type, not the weights)."""
    p = Planner(graph, folding, fused=fused, consumers={})  # no forks: the search weighs the layer's own kernels
    p.shapes_only = True
    tensor = node.inputs[0]
    stream = Stream("in", graph.tensors[tensor].dtype, in_width, p.numel(tensor) // in_width)
    p.ports[tensor] = [Port(stream, natural_order(graph, node))]
    RULES[type(node)](p, node)
    produced = fused[node.name][0].output if node.name in fused else node.output
    return p.kernels, p.ports[produced][0].width


def window_kernels(graph: ir.Graph, node: ir.Conv, in_width: int, pe: int, simd: int) -> list:
    """The sliding window (and converters around it) of a convolution read in words of `in_width`, at a folding."""
    p = Planner(graph, {}, fused={})
    tensor = node.inputs[0]
    stream = Stream("in", graph.tensors[tensor].dtype, in_width, p.numel(tensor) // in_width)
    port = Port(stream, natural_order(graph, node))
    if node.depthwise:
        _depthwise_window(p, node, port, pe, simd)
    else:
        _sliding_window(p, node, port, simd)
    return p.kernels


def output_kernels(graph: ir.Graph, width: int) -> list:
    """The width converters between the last layer (words of `width`) and the AXI-Stream output packing."""
    p = Planner(graph, {}, fused={})
    t_out = graph.tensors[graph.output.tensor]
    num = p.numel(t_out.name)
    port = Port(Stream("out", t_out.dtype, width, num // width), layout.identity(t_out.shape))
    b_out = boundary(t_out, port.order, width)
    p.convert(port, b_out.pack, num, t_out.name)
    return p.kernels
