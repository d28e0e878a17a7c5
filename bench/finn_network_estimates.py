"""Run inside a finn-plus virtual environment: FINN's estimate-only build of a whole network at a given folding.

    FINN_PYTHON bench/finn_network_estimates.py MODEL.onnx SPEC.json   -> JSON, the last line on stdout

SPEC: {"part": FPGA part, "clock_ns": 10, "dots": [{"pe", "simd", "ram_style"?, "res_type"?}, ...] (one per
MVAU/VVAU in graph order), "threshold_pe": PE of a standalone input Thresholding node or null}.

The leading 8-bit input quantizer (the image as the board receives it; fpgaq quantizes it on the host) becomes
a Mul by its scale on a UINT8/INT8 input, as FINN's own flows mark the image input. Then FINN's builder runs its
estimate-only steps (finn.builder.build_dataflow_config.estimate_only_dataflow_steps: qonnx_to_finn, tidy_up,
streamline, convert_to_hw, minimize_bit_width_initial, create_dataflow_partition, specialize_layers, the folding,
minimize_bit_width, generate_estimate_reports), the folding applied from SPEC instead of a folding-config file:
MVAU/VVAU PE, SIMD, ram_style and resType as given, each sliding window generator's SIMD the SIMD of the MVAU it
feeds (the PE of a VVAU), a Reshape node's PE the largest its shapes allow, a standalone Thresholding node's PE
threshold_pe. Where the standard steps fail, the failing step and FINN's message are reported and, for a network
with depthwise convolutions, the build is retried
with the streamlining of finn-examples' MobileNet-v1 build (FINN's Streamline, then MoveMulPastDWConv,
AbsorbMulIntoMultiThreshold, the average-pool layout change, MoveScalarMulPastMatMul, CollapseRepeatedMul,
RoundAndClipThresholds; then LowerConvsToMatMul) in place of step_streamline.

Output: every node of FINN's dataflow partition with its op type, LUT, BRAM18, URAM, DSP (res_estimation) and
expected cycles (an MVAU/VVAU also its input, weight and accumulator types and weight ram_style; lut_thresholds:
the LUTs with an MVAU_hls's fused thresholds counted, as its estimator does for ram_style_thresholds=distributed
and VVAU_hls always; at its default, auto, it counts neither their memory nor comparators); the nodes FINN
leaves outside the partition (run on the host); and the width converters FINN's later step_set_fifo_depths would
insert (InsertDWC), estimated separately. Imports nothing from fpgaq.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def integer_input(path: str, out: str) -> str:
    """The model with its leading 8-bit Quant replaced by a Mul by its scale on an integer input; returns the
    input's FINN DataType name."""
    import numpy as np
    from onnx import helper
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper

    model = ModelWrapper(path)
    name = model.graph.input[0].name
    quant = model.find_consumer(name)
    if quant is None or quant.op_type != "Quant":
        raise ValueError(f"the input {name!r} does not go into a Quant node")
    zero, bits = model.get_initializer(quant.input[2]), model.get_initializer(quant.input[3])
    attrs = {a.name: helper.get_attribute_value(a) for a in quant.attribute}
    if np.any(zero) or float(bits) != 8 or attrs.get("narrow", 0):
        raise ValueError("the input quantizer is not a plain 8-bit one")
    dtype = "INT8" if attrs.get("signed", 1) else "UINT8"
    quant.op_type, quant.domain = "Mul", ""
    del quant.attribute[:]
    del quant.input[2:]
    model.set_tensor_datatype(name, DataType[dtype])
    model.save(out)
    return dtype


def fold_step(spec: dict):
    """A build step setting the folding of SPEC (FINN's step_apply_folding_config without a file)."""
    from qonnx.custom_op.registry import getCustomOp

    def step_apply_spec_folding(model, cfg):
        dots = [n for n in model.graph.node if n.op_type.startswith(("MVAU", "VVAU"))]
        if len(dots) != len(spec["dots"]):
            raise ValueError(f"FINN built {len(dots)} MVAU/VVAU nodes, the folding has {len(spec['dots'])}")
        for node, fold in zip(dots, spec["dots"], strict=True):
            op = getCustomOp(node)
            op.set_nodeattr("PE", fold["pe"])
            op.set_nodeattr("SIMD", fold["simd"])
            for key, attr in (("ram_style", "ram_style"), ("res_type", "resType")):
                if fold.get(key):
                    op.set_nodeattr(attr, fold[key])
        for node in model.graph.node:
            op = getCustomOp(node) if node.domain.startswith("finn") else None
            if node.op_type.startswith("ConvolutionInputGenerator"):
                consumer = model.find_consumer(node.output[0])
                if consumer is not None and consumer.op_type.startswith(("MVAU", "VVAU")):
                    attr = "SIMD" if consumer.op_type.startswith("MVAU") else "PE"
                    op.set_nodeattr("SIMD", getCustomOp(consumer).get_nodeattr(attr))
            elif node.op_type.startswith("Reshape"):  # as wide as both last axes allow: never the bottleneck
                op.set_nodeattr("PE", math.gcd(op.get_nodeattr("inp_shape")[-1], op.get_nodeattr("out_shape")[-1]))
            elif node.op_type.startswith("Thresholding") and spec.get("threshold_pe"):
                if op.get_nodeattr("NumChannels") % spec["threshold_pe"] == 0:
                    op.set_nodeattr("PE", spec["threshold_pe"])
        return model

    return step_apply_spec_folding


def step_mobilenet_streamline(model, cfg):
    """step_streamline for depthwise-separable networks, after finn-examples' MobileNet-v1 build."""
    import finn.transformation.streamline.absorb as absorb
    import finn.transformation.streamline.reorder as reorder
    from finn.transformation.streamline import Streamline
    from finn.transformation.streamline.collapse_repeated import CollapseRepeatedMul
    from finn.transformation.streamline.round_thresholds import RoundAndClipThresholds
    from qonnx.transformation.change_datalayout import ChangeDataLayoutQuantAvgPool2d
    from qonnx.transformation.double_to_single_float import DoubleToSingleFloat
    from qonnx.transformation.general import GiveReadableTensorNames, GiveUniqueNodeNames
    from qonnx.transformation.infer_data_layouts import InferDataLayouts
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul
    from qonnx.transformation.remove import RemoveIdentityOps

    model = model.transform(Streamline())
    for transform in (DoubleToSingleFloat(), reorder.MoveMulPastDWConv(), absorb.AbsorbMulIntoMultiThreshold(),
                      ChangeDataLayoutQuantAvgPool2d(), InferDataLayouts(), reorder.MoveTransposePastScalarMul(),
                      absorb.AbsorbTransposeIntoFlatten(), reorder.MoveFlattenPastAffine(),
                      reorder.MoveScalarMulPastMatMul(), CollapseRepeatedMul(), RemoveIdentityOps(),
                      RoundAndClipThresholds(), LowerConvsToMatMul(), absorb.AbsorbTransposeIntoMultiThreshold(),
                      absorb.AbsorbConsecutiveTransposes(), RoundAndClipThresholds(), InferDataLayouts()):  # fmt: skip
        model = model.transform(transform)
        model = model.transform(GiveUniqueNodeNames()).transform(GiveReadableTensorNames())
        model = model.transform(InferDataTypes())
    return model


def run_steps(path: str, spec: dict, folder: Path, streamline=None) -> dict:
    """FINN's estimate-only steps on `path`; the step that fails is named in the exception."""
    import finn.builder.build_dataflow_config as config
    import finn.builder.build_dataflow_steps as steps
    from finn.transformation.fpgadataflow.insert_dwc import InsertDWC
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    cfg = config.DataflowBuildConfig(
        output_dir=str(folder), synth_clk_period_ns=spec.get("clock_ns", 10.0), fpga_part=spec["part"],
        generate_outputs=[config.DataflowOutputType.ESTIMATE_REPORTS], folding_config_file=None,
        target_fps=None, steps=[],
    )  # fmt: skip
    model = ModelWrapper(path)
    for name in config.estimate_only_dataflow_steps:
        step = getattr(steps, name)
        if name == "step_streamline" and streamline is not None:
            step = streamline
        elif name == "step_apply_folding_config":
            step = fold_step(spec)
        elif name == "step_target_fps_parallelization":
            continue
        try:
            model = step(model, cfg)
        except Exception as exc:
            raise RuntimeError(f"{name}: {type(exc).__name__}: {' '.join(str(exc).split())[:400]}") from exc
        if name == "step_create_dataflow_partition":
            parent = ModelWrapper(str(folder / "intermediate_models" / "dataflow_parent.onnx"))
            outside = [n.op_type for n in parent.graph.node if n.op_type != "StreamingDataflowPartition"]
    report = folder / "report"
    resources = json.loads((report / "estimate_layer_resources.json").read_text())
    cycles = json.loads((report / "estimate_layer_cycles.json").read_text())
    nodes = []
    for node in model.graph.node:
        r = resources.get(node.name)
        if r is None:
            continue
        row = {"lut": int(r["LUT"]), "bram18": int(r["BRAM_18K"]), "uram": int(r["URAM"]), "dsp": int(r["DSP"])}
        nodes.append({"node": node.name, "op": node.op_type, **row, "cycles": int(cycles.get(node.name, 0))})
        if node.op_type.startswith(("MVAU", "VVAU")):  # the types its estimators see
            op = getCustomOp(node)
            nodes[-1]["types"] = [str(op.get_input_datatype(0)), str(op.get_input_datatype(1)),
                                  op.get_nodeattr("accDataType"), op.get_nodeattr("ram_style")]  # fmt: skip
        nodes[-1]["lut_thresholds"] = nodes[-1]["lut"]
        if node.op_type == "MVAU_hls" and not getCustomOp(node).get_nodeattr("noActivation"):
            op = getCustomOp(node)  # MVAU_hls counts its thresholds only when they are in LUTRAM
            style = op.get_nodeattr("ram_style_thresholds")
            op.set_nodeattr("ram_style_thresholds", "distributed")
            nodes[-1]["lut_thresholds"] = int(op.lut_estimation(spec["part"]))
            op.set_nodeattr("ram_style_thresholds", style)
    dwcs = []
    for node in model.transform(InsertDWC()).get_nodes_by_op_type("StreamingDataWidthConverter"):
        r = getCustomOp(node).node_res_estimation(spec["part"])
        dwcs.append({"lut": int(r["LUT"]), "bram18": int(r["BRAM_18K"]), "uram": int(r["URAM"]), "dsp": int(r["DSP"])})
    performance = json.loads((report / "estimate_network_performance.json").read_text())
    return {"nodes": nodes, "outside": outside, "dwcs": dwcs, "max_cycles": performance["max_cycles"]}


def network_estimates(path: str, spec: dict) -> dict:
    from finn.util.settings import initialize_dummy_settings

    initialize_dummy_settings()
    import finn.xsi

    finn.xsi.SimEngine = None  # the builder imports XSI's simulator by name; the estimate steps never run it
    folder = Path(tempfile.mkdtemp())
    dtype = integer_input(path, str(folder / "model.onnx"))
    result = {"input": dtype}
    try:
        result.update(run_steps(str(folder / "model.onnx"), spec, folder / "standard"), ok=True)
    except RuntimeError as exc:
        result.update(ok=False, error=str(exc))
        if spec.get("depthwise"):
            try:
                alt = run_steps(str(folder / "model.onnx"), spec, folder / "mobilenet", step_mobilenet_streamline)
                result.update(alt, ok=True, streamline="finn-examples MobileNet-v1")
            except RuntimeError as exc2:
                result["error_mobilenet_streamline"] = str(exc2)
    return result


if __name__ == "__main__":
    try:
        out = network_estimates(sys.argv[1], json.loads(Path(sys.argv[2]).read_text()))
    except Exception as exc:  # report the peer's failure, do not hide it
        out = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}", "trace": traceback.format_exc()}
    print(json.dumps(out))
