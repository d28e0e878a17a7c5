"""What `fpgaq quantize` does: load a user's model factory and data, run ptq, report accuracy, export."""

from __future__ import annotations

import importlib.util
import inspect
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from fpgaq import progress
from fpgaq.errors import FpgaqError


def load_factory(spec: str):
    """`path/to/script.py:function` -> the function (the script is the user's own code, imported as such)."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path.endswith(".py") or not name.isidentifier():
        raise FpgaqError(f"model factory must be SCRIPT.py:FUNCTION, not {spec!r}")
    if not Path(path).is_file():
        raise FpgaqError(f"model script not found: {path!r}")
    module_spec = importlib.util.spec_from_file_location(f"fpgaq_user_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    factory = getattr(module, name, None)
    if not callable(factory):
        raise FpgaqError(f"{path!r} has no function {name!r}")
    return factory


def load_data(source: str) -> dict:
    """'digits' (scikit-learn's bundled 8x8 digits, 75/25 split, pixels / 16) or an .npz with x_train
    (calibration), optional y_train, x_test, y_test."""
    if source == "digits":
        from fpgaq.data import digits_split

        x_tr, x_te, y_tr, y_te = digits_split()
        return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te}
    if not source.endswith(".npz") or not os.path.isfile(source):
        raise FpgaqError(f"--data must be 'digits' or an existing .npz file, not {source!r}")
    try:
        with np.load(source, allow_pickle=False) as f:
            if "x_train" not in f:
                raise FpgaqError(f"{source!r} has no 'x_train' array (keys: {', '.join(f.files)})")
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise FpgaqError(f"{source!r} is not a readable .npz archive ({exc})") from None
    for key, value in arrays.items():
        if value.dtype.kind not in "biuf":
            raise FpgaqError(f"{source!r}: array {key!r} holds {value.dtype} values; fpgaq reads numbers only")
        if key.startswith("x_") and not np.all(np.isfinite(value)):
            raise FpgaqError(f"{source!r}: array {key!r} holds NaN or infinite values")
    return arrays


def fit_input(model, x: np.ndarray) -> torch.Tensor:
    """The data as the model takes it: as stored, else as single-channel square images (digits for a CNN)."""
    tensor = torch.from_numpy(np.asarray(x, dtype=np.float32))
    candidates = [tensor]
    side = int(round(tensor.shape[1] ** 0.5)) if tensor.ndim == 2 else 0
    if side * side == (tensor.shape[1] if tensor.ndim == 2 else -1):
        candidates.append(tensor.reshape(-1, 1, side, side))
    for candidate in candidates:
        try:
            with torch.no_grad():
                model(candidate[:2])
            return candidate
        except RuntimeError:
            continue
    raise FpgaqError(f"the model does not accept the data's shape {tuple(tensor.shape[1:])}")


def accuracy(model, x: torch.Tensor, y) -> float:
    with torch.no_grad():
        out = model(x)
    out = out.value if hasattr(out, "value") else out
    return float((out.argmax(1).numpy() == np.asarray(y)).mean())


def quantize_command(factory_spec: str, data: str, out: str, **ptq_args) -> dict:
    from fpgaq.quant import export, ptq
    from fpgaq.quant.axe import check_ptq_args

    settings = inspect.signature(ptq).bind(None, None, **ptq_args)  # the user's settings with ptq's defaults
    settings.apply_defaults()
    keys = ("weight_bits", "act_bits", "input_bits", "method", "accumulator_bits", "tile")
    check_ptq_args(**{k: settings.arguments[k] for k in keys})
    arrays = load_data(data)  # a bad file is refused before the factory's work (it may train the model)
    with progress.step(f"building the float model ({factory_spec})"):
        model = load_factory(factory_spec)()
    if not isinstance(model, torch.nn.Module):
        raise FpgaqError(f"{factory_spec} returned {type(model).__name__}, not a torch.nn.Module")
    model.eval()
    calib = fit_input(model, arrays["x_train"])
    summary = {}
    test = "x_test" in arrays and "y_test" in arrays
    if test:
        x_test = fit_input(model, arrays["x_test"])
        summary["float_accuracy"] = accuracy(model, x_test, arrays["y_test"])
    with progress.step(f"quantizing ({ptq_args.get('method', 'rtn')})"):
        qmodel = ptq(model, calib, **ptq_args)
    if test:
        summary["quantized_accuracy"] = accuracy(qmodel, x_test, arrays["y_test"])
    with progress.step("exporting QONNX"):
        export(qmodel, calib[:2], out)
    summary.update(
        out=out,
        widths=qmodel.fpgaq_ptq.get("widths"),
        chosen=qmodel.fpgaq_ptq.get("chosen"),
        gamma=qmodel.fpgaq_ptq.get("gamma"),
    )
    return summary
