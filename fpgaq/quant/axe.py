"""Post-training quantization: RTN, GPFQ or OPTQ, optionally accumulator-aware (AXE, docs/algorithms.md#axe).

The float model is traced and quantized with Brevitas' graph quantizer (batch norms merged): input at
`input_bits`, weights per output channel at `weight_bits` with *frozen* scales (PARAMETER_FROM_STATS, so the
AXE guarantee survives - the frozen-scale pitfall), ReLU outputs at `act_bits`, float biases (absorbed into
fpgaq's thresholds, so they never widen an accumulator). GPFQ/OPTQ run through brevitas.graph; with
`accumulator_bits` P, Brevitas' AXE modes (brevitas_examples.common.axe) constrain every layer so that its
accumulator fits P signed bits (per tile of `tile` inputs when given).

Beyond the reference [ours]: AXE spends its l1 budget against the weight scales; scales chosen for an
unconstrained range leave it almost nothing (budget starvation, docs/algorithms.md#frozen-scales-and-budget-
starvation). Each channel's scale is raised
to at least gamma * ||w_c||_1 / Z, Z = (2^P - 2) / (nu - mu) the zero-centred l1 budget for its input range
(per tile with `tile`), and gamma is chosen from a grid by the calibration error of the logits (no labels
needed). RTN with a budget raises each channel's scale until its exact range fits. Finally the integer
weights are verified with fpgaq's exact bound on the exported QONNX: a violation is an error, never a warning.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from pathlib import Path

import torch

from fpgaq.bounds import accumulator_range, bits_for_range
from fpgaq.errors import FpgaqError
from fpgaq.quant.bias_comp import bias_compensation
from fpgaq.quant.export import export

METHODS = ("rtn", "gpfq", "optq")
GAMMAS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)


class PTQError(FpgaqError):
    """Invalid ptq arguments, or a result that does not meet its accumulator width."""


def _quantizers(weight_bits, act_bits, input_bits, unsigned_input):
    from brevitas import nn as qnn
    from brevitas.inject.enum import ScalingImplType
    from brevitas.quant import Int8ActPerTensorFloat, Int8WeightPerChannelFloat, Uint8ActPerTensorFloat

    class FrozenPerChannelWeight(Int8WeightPerChannelFloat):
        scaling_impl_type = ScalingImplType.PARAMETER_FROM_STATS

    layer = {
        "weight_quant": FrozenPerChannelWeight,
        "weight_bit_width": weight_bits,
        "bias_quant": None,
        "return_quant_tensor": True,
    }
    inp = (
        qnn.QuantIdentity,
        {
            "act_quant": Uint8ActPerTensorFloat if unsigned_input else Int8ActPerTensorFloat,
            "bit_width": input_bits,
            "return_quant_tensor": True,
        },
    )
    return (
        {"signed": inp, "unsigned": inp},
        {
            torch.nn.Linear: (qnn.QuantLinear, layer),
            torch.nn.Conv1d: (qnn.QuantConv1d, layer),
            torch.nn.Conv2d: (qnn.QuantConv2d, layer),
        },
        {
            torch.nn.ReLU: (
                qnn.QuantReLU,
                {"act_quant": Uint8ActPerTensorFloat, "bit_width": act_bits, "return_quant_tensor": True},
            )
        },
    )


def quantize_float_model(model, calib, weight_bits, act_bits, input_bits) -> torch.nn.Module:
    """A calibrated Brevitas model of a float model (Linear/Conv/ReLU/BatchNorm/pooling/residual, fx-traceable)."""
    from brevitas.graph.calibrate import calibration_mode
    from brevitas.graph.quantize import preprocess_for_quantize, quantize

    identity, layers, acts = _quantizers(weight_bits, act_bits, input_bits, bool(calib.min() >= 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = preprocess_for_quantize(copy.deepcopy(model).eval())
        qmodel = quantize(
            traced,
            quant_identity_map=identity,
            compute_layer_map=layers,
            quant_act_map=acts,
            requantize_layer_handler_output=False,
        )
    qmodel.eval()
    with torch.no_grad(), calibration_mode(qmodel):
        qmodel(calib)
    with torch.no_grad():
        qmodel(calib[:2])  # initialises the (frozen) weight scales
    return qmodel


def _weight_layers(qmodel):
    from brevitas.nn.quant_layer import QuantWeightBiasInputOutputLayer

    return [m for m in qmodel.modules() if isinstance(m, QuantWeightBiasInputOutputLayer)]


def _input_ranges(qmodel, calib) -> dict:
    """(mu, nu) of every weight layer's quantized input, read from the QuantTensors a forward pass carries."""
    ranges, handles = {}, []

    def hook(module, inputs):
        x = inputs[0]
        if not hasattr(x, "bit_width"):
            raise PTQError(
                f"a {type(module).__name__} layer has an unquantized input; ptq needs every weight "
                "layer's input quantized"
            )
        bits, signed = int(x.bit_width), bool(x.signed)
        ranges[module] = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)

    for m in _weight_layers(qmodel):
        handles.append(m.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            qmodel(calib[:2])
    finally:
        for h in handles:
            h.remove()
    return ranges


def _scale_param(layer):
    return layer.weight_quant.tensor_quant.scaling_impl.value


def _rows(layer) -> torch.Tensor:
    return layer.weight.detach().reshape(layer.weight.shape[0], -1)


def raise_scales_to_budget(qmodel, calib, bits: int, tile: int | None, gamma: float) -> None:
    """[ours] Each channel's scale >= gamma * l1 / Z (the largest tile's l1 with tiles)."""
    for layer, (mu, nu) in _input_ranges(qmodel, calib).items():
        budget = (2**bits - 2) / (nu - mu)
        rows = _rows(layer).abs()
        step = tile or rows.shape[1]
        l1 = torch.stack([rows[:, i : i + step].sum(dim=1) for i in range(0, rows.shape[1], step)], 1).amax(1)
        param = _scale_param(layer)
        with torch.no_grad():
            param.copy_(torch.maximum(param, (gamma * l1 / budget).reshape(param.shape)))


def _integer_rows(layer) -> torch.Tensor:
    q = layer.quant_weight()
    return torch.round(q.value / q.scale).to(torch.int64).reshape(layer.weight.shape[0], -1)


def fit_rtn_scales(qmodel, calib, bits: int, tile: int | None) -> None:
    """RTN under a budget: raise each channel's scale by 5% steps until its exact range fits `bits`."""
    for layer, (mu, nu) in _input_ranges(qmodel, calib).items():
        param = _scale_param(layer)
        for _ in range(200):
            lo, hi = accumulator_range(_integer_rows(layer).numpy(), mu, nu, tile=tile)
            over = torch.tensor([bits_for_range(a, b, symmetric=True) > bits for a, b in zip(lo, hi, strict=True)])
            if not over.any():
                break
            with torch.no_grad():
                flat = param.view(-1) if param.numel() == over.numel() else None
                if flat is None:
                    raise PTQError("RTN under a budget needs per-channel weight scales")
                flat[over] *= 1.05


def run_gpxq(qmodel, calib, method: str, bits: int | None, tile: int | None):
    """Brevitas' GPFQ/GPTQ (AXE variants with a budget), layer by layer on the calibration data."""
    kwargs = {}
    if bits is None:
        from brevitas.graph.gpfq import gpfq_mode as gpfq
        from brevitas.graph.gptq import gptq_mode as gptq
    else:
        from brevitas_examples.common.axe import a2gpfq_mode as gpfq
        from brevitas_examples.common.axe import a2gptq_mode as gptq

        kwargs = {"max_accumulator_bit_width": bits, "max_accumulator_tile_size": tile}
    mode = gpfq if method == "gpfq" else gptq
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        with mode(qmodel, **kwargs) as gpxq:
            for _ in range(gpxq.num_layers):
                gpxq.model(calib)
                gpxq.update()
    return qmodel


def logit_error(qmodel, float_model, calib) -> float:
    with torch.no_grad():
        q = qmodel(calib)
        q = q.value if hasattr(q, "value") else q
        return float(((q - float_model(calib)) ** 2).mean())


def verify_accumulators(qmodel, example, bits: int, tile: int | None) -> list[int]:
    """Export, lower with fpgaq and check every dot product's exact (tiled) range against `bits` signed bits."""
    from fpgaq import frontend
    from fpgaq.ir import graph as ir

    with tempfile.TemporaryDirectory() as tmp:
        graph = frontend.load(export(qmodel, example, Path(tmp) / "m.onnx"))
    widths = []
    for node in graph.nodes:
        if isinstance(node, ir.DOT_PRODUCT_OPS):
            src = graph.tensors[node.inputs[0]]
            lo, hi = accumulator_range(node.weight, src.lo, src.hi, node.bias, tile)
            width = bits_for_range(min(lo), max(hi), symmetric=True)
            if width > bits:
                raise PTQError(
                    f"layer {node.name} needs {width} accumulator bits, more than the {bits} requested "
                    "(are its weight scales frozen?)"
                )
            widths.append(width)
    return widths


def _stack(calib) -> torch.Tensor:
    if isinstance(calib, torch.Tensor):
        return calib.float()
    return torch.cat([torch.as_tensor(c).float() for c in calib])


def check_ptq_args(weight_bits, act_bits, input_bits, method, accumulator_bits, tile) -> None:
    """Refuse invalid ptq() settings (before any model is built or data is read)."""
    if method not in METHODS:
        raise PTQError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    for name, value, lo, hi in (
        ("weight_bits", weight_bits, 2, 16),
        ("act_bits", act_bits, 1, 16),
        ("input_bits", input_bits, 1, 16),
    ):
        if not isinstance(value, int) or not lo <= value <= hi:
            raise PTQError(f"{name} must be an integer from {lo} to {hi}, not {value!r}")
    if accumulator_bits is not None and (not isinstance(accumulator_bits, int) or not 3 <= accumulator_bits <= 62):
        raise PTQError(f"accumulator_bits must be an integer from 3 to 62, not {accumulator_bits!r}")
    if tile is not None and (not isinstance(tile, int) or tile < 1):
        raise PTQError(f"tile must be a positive integer, not {tile!r}")


def ptq(
    model: torch.nn.Module,
    calib,
    *,
    weight_bits: int = 4,
    act_bits: int = 4,
    input_bits: int = 8,
    method: str = "rtn",
    accumulator_bits: int | None = None,
    tile: int | None = None,
    bias_correction: bool = False,
) -> torch.nn.Module:
    """Quantize `model` (float, or already Brevitas) with calibration inputs `calib` (tensor or iterable).

    Returns a Brevitas model; with accumulator_bits its `fpgaq_ptq` attribute records the candidates tried
    (gamma, algorithm, calibration error of the logits), the one chosen (`chosen` is "rtn-fit" when RTN with
    fitted scales beat every GPFQ/OPTQ candidate) and the verified accumulator width of every layer.
    """
    check_ptq_args(weight_bits, act_bits, input_bits, method, accumulator_bits, tile)
    calib = _stack(calib)
    float_model = copy.deepcopy(model).eval()
    brevitas_input = bool(_weight_layers(model))

    def prepare():
        if brevitas_input:
            return copy.deepcopy(model).eval()
        return quantize_float_model(model, calib, weight_bits, act_bits, input_bits)

    def quantize_weights(qmodel, gamma):
        if accumulator_bits is not None and gamma is not None:
            raise_scales_to_budget(qmodel, calib, accumulator_bits, tile, gamma)
        if method == "rtn":
            if accumulator_bits is not None and not brevitas_input:  # a given model's quantizers stay as they are
                fit_rtn_scales(qmodel, calib, accumulator_bits, tile)
            return qmodel
        return run_gpxq(qmodel, calib, method, accumulator_bits, tile)

    info = {"method": method, "accumulator_bits": accumulator_bits, "tile": tile}
    if accumulator_bits is None or brevitas_input:
        qmodel = quantize_weights(prepare(), None)
    else:
        trials = []
        for gamma in GAMMAS:
            candidate = quantize_weights(prepare(), gamma)
            trials.append((logit_error(candidate, float_model, calib), gamma, method, candidate))
        if method != "rtn":  # RTN with fitted scales competes: GPFQ's greedy path can lose to it at tight P
            candidate = prepare()
            fit_rtn_scales(candidate, calib, accumulator_bits, tile)
            trials.append((logit_error(candidate, float_model, calib), None, "rtn-fit", candidate))
        error, gamma, chosen, qmodel = min(trials, key=lambda t: t[0])
        info.update(
            gamma=gamma, chosen=chosen, calibration_error=error, candidates=[(g, m, e) for e, g, m, _ in trials]
        )
    if bias_correction:
        info["bias_correction"] = bias_compensation(qmodel, float_model, calib)
    if accumulator_bits is not None:
        info["widths"] = verify_accumulators(qmodel, calib[:2], accumulator_bits, tile)
    qmodel.fpgaq_ptq = info
    return qmodel
