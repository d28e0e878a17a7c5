"""`fpgaq sweep`: design-space exploration over quantization widths, accumulator widths, boards and frame-rate
targets, each point a Ray task (runner.py), validated up front (spec.py), reported as points.csv and sweep.html."""

from fpgaq.sweep.spec import Point, Spec, SweepError, load_spec, parse_spec

__all__ = ["Point", "Spec", "SweepError", "load_spec", "parse_spec"]
