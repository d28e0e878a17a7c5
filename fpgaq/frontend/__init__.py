"""QONNX -> integer IR."""

from __future__ import annotations


def load(path):
    """Load a QONNX file, clean it with qonnx's passes and lower it to an fpgaq IR Graph."""
    from fpgaq.frontend.lower import lower
    from fpgaq.frontend.reader import load_qonnx

    return lower(load_qonnx(path))
