"""Run inside a finn-plus virtual environment (it pins older brevitas/onnx): FINN's accumulator widths.

    FINN_PYTHON/bin/python bench/finn_accumulators.py MODEL.onnx [...]   -> JSON on stdout

For each QONNX model: FINN's own build steps qonnx_to_finn, tidy_up, streamline and convert_to_hw, then
MinimizeAccumulatorWidth; prints the accumulator DataType of every MVAU/VVAU node in graph order.
Called by bench/accumulators.py; imports nothing from fpgaq.
"""

from __future__ import annotations

import json
import sys
import warnings

warnings.filterwarnings("ignore")


def to_hw(path: str):
    """FINN's transformations as its builder's steps (qonnx_to_finn, tidy_up, streamline, convert_to_hw) apply
    them for an MLP/CNN, without importing the builder (which needs Vivado and XSI), then
    MinimizeAccumulatorWidth. Returns the ModelWrapper."""
    from finn.util.settings import initialize_dummy_settings

    initialize_dummy_settings()
    import finn.transformation.streamline.absorb as absorb
    from finn.transformation.fpgadataflow.convert_to_hw.binary_matrix_vector_activation import (
        InferBinaryMatrixVectorActivation,
    )
    from finn.transformation.fpgadataflow.convert_to_hw.quantized_matrix_vector_activation import (
        InferQuantizedMatrixVectorActivation,
    )
    from finn.transformation.fpgadataflow.convert_to_hw.thresholding import InferThresholdingLayer
    from finn.transformation.fpgadataflow.convert_to_hw.vector_vector_activation import InferVectorVectorActivation
    from finn.transformation.fpgadataflow.minimize_accumulator_width import MinimizeAccumulatorWidth
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from finn.transformation.streamline import Streamline
    from finn.transformation.streamline.reorder import MakeMaxPoolNHWC
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.bipolar_to_xnor import ConvertBipolarMatMulToXnorPopcount
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul
    from qonnx.util.cleanup import cleanup_model

    model = cleanup_model(ModelWrapper(path))
    model = model.transform(ConvertQONNXtoFINN())
    model = model.transform(absorb.AbsorbScalarBiasIntoMultiThreshold())
    model = model.transform(Streamline())
    model = model.transform(LowerConvsToMatMul())
    model = model.transform(MakeMaxPoolNHWC())
    model = model.transform(absorb.AbsorbTransposeIntoMultiThreshold())
    model = model.transform(absorb.AbsorbConsecutiveTransposes())
    model = model.transform(Streamline())
    model = model.transform(ConvertBipolarMatMulToXnorPopcount())  # W1A1: XNOR-popcount, as step_streamline
    model = model.transform(Streamline())
    model = model.transform(InferDataTypes())
    for transform in (
        InferBinaryMatrixVectorActivation(),
        InferQuantizedMatrixVectorActivation(),
        InferVectorVectorActivation(),
        InferThresholdingLayer(),
    ):
        model = model.transform(transform)
    return model.transform(MinimizeAccumulatorWidth())


def finn_widths(path: str) -> list[dict]:
    """The accumulator DataType of every MVAU/VVAU of FINN's hardware graph, in graph order."""
    from qonnx.custom_op.registry import getCustomOp

    model = to_hw(path)
    rows = []
    for node in model.graph.node:
        if node.op_type.startswith(("MVAU", "VVAU")):
            acc = getCustomOp(node).get_nodeattr("accDataType")
            rows.append({"node": node.name, "op": node.op_type, "acc": acc})
    return rows


if __name__ == "__main__":
    out = {}
    for model_path in sys.argv[1:]:
        try:
            out[model_path] = {"ok": True, "layers": finn_widths(model_path)}
        except Exception as exc:  # report the peer's failure, do not hide it
            out[model_path] = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    json.dump(out, sys.stdout)
