"""QONNX -> integer IR."""

from __future__ import annotations


def load(path):
    """Load a QONNX file, clean it with qonnx's passes and lower it to an fpgaq IR Graph."""
    from fpgaq.frontend.lower import lower
    from fpgaq.frontend.reader import load_qonnx
    from fpgaq.passes import run_passes

    return run_passes(lower(load_qonnx(path)))
