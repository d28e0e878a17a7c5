"""QONNX -> integer IR."""

from __future__ import annotations


def load(path):
    """Load a QONNX file, clean it with qonnx's passes and lower it to an fpgaq IR Graph."""
    from fpgaq.frontend.load import load_qonnx
    from fpgaq.frontend.lower import lower

    return lower(load_qonnx(path))
