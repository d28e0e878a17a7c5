"""The build report: one typed object, serialized to DIR/report.json (schema: docs/architecture.md#report).

Commands that add to a build folder (csim --labels, synth) read it, replace one field and write it back; no
module edits a dict in place.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from fpgaq.errors import FpgaqError

REQUIRED = ("fpgaq_version", "model", "board", "input", "output", "layers", "kernels", "estimate", "totals")


@dataclass(frozen=True)
class Report:
    """What a build produced. Nested values are plain JSON data, described in docs/architecture.md#report."""

    fpgaq_version: str
    model: str  # the model file's name
    board: dict  # name, description, part, clock_ns
    input: dict  # shape, type
    output: dict  # shape, type, quantized
    layers: list  # one row per IR layer (fpgaq.report.layers) with folding, accumulator widths and estimate
    kernels: list  # kernel ident -> layer name (overflow reports of the C-simulation)
    estimate: dict  # {"kernels": one row per kernel: kernel, name, layer, cycles, lut, ff, bram18, dsp, bottleneck}
    totals: dict  # resources, fps, cycles_per_frame, latency, bottleneck, capacity, utilization, accumulator sums
    backend: str = "hls"
    check_overflow: bool = False
    folding_search: dict | None = None  # target_fps and target_cycles when --target-fps chose the folding
    warnings: list = field(default_factory=list)
    fit: dict | None = None  # fits (every resource within the board), over: resource, used, available, percent
    fifos: dict | None = None  # FIFO depths: how they were chosen (sized by the timed simulation, or forced)
    simulation: dict | None = None  # what `fpgaq simulate` measured (cycles, latency, per-kernel and per-FIFO)
    csim: dict | None = None  # accuracy recorded by `fpgaq csim --labels`
    synthesis: dict | None = None  # what `fpgaq synth` measured
    deploy: dict | None = None  # the files `fpgaq synth` wrote into DIR/deploy
    compiled: dict | None = field(default=None, compare=False)  # this run's compile (cached, warnings): not saved

    def __getitem__(self, key: str):
        """Read a field as the JSON has it (report["totals"]["fps"])."""
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default=None):
        return getattr(self, key, default)

    def replace(self, **changes) -> Report:
        return dataclasses.replace(self, **changes)

    def public(self) -> dict:
        """The fields report.json holds."""
        data = dataclasses.asdict(self)
        data.pop("compiled")
        return data

    def to_json(self) -> str:
        return json.dumps(self.public(), indent=2, sort_keys=True, allow_nan=False) + "\n"

    @staticmethod
    def from_json(text: str | bytes, where: str) -> Report:
        """Parse report.json; a damaged or foreign file is an error naming `where`."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise FpgaqError(f"{where!r} is damaged (not JSON); rebuild the folder") from None
        if not isinstance(data, dict) or any(key not in data for key in REQUIRED):
            raise FpgaqError(f"{where!r} is damaged (not an fpgaq report); rebuild the folder")
        known = {f.name for f in dataclasses.fields(Report)} - {"compiled"}
        if not isinstance(data["board"], dict) or not isinstance(data["totals"], dict):
            raise FpgaqError(f"{where!r} is damaged (not an fpgaq report); rebuild the folder")
        return Report(**{k: v for k, v in data.items() if k in known})
