"""Rich tables of layer rows for `fpgaq inspect` and the `fpgaq build` summary."""

from __future__ import annotations

from rich.table import Table

from fpgaq.estimate.fit import percent


def _shape(key):
    return lambda r: "x".join(map(str, r[key]))


def _dot(fn):
    return lambda r: fn(r) if "acc_bits" in r else "-"


COLUMNS = {
    "layer": lambda r: r["name"] + (f" + {r['fused_threshold']}" if "fused_threshold" in r else ""),
    "op": lambda r: r["op"],
    "input": _shape("input_shape"),
    "output": _shape("output_shape"),
    "in type": lambda r: r["input_type"],
    "weight": lambda r: r.get("weight_type", "-"),
    "out type": lambda r: r["output_type"],
    "acc bits": _dot(lambda r: str(r["acc_bits"])),
    "acc range": _dot(lambda r: f"[{r['acc_range'][0]}, {r['acc_range'][1]}]"),
    "inner/outer": lambda r: f"{r['acc_bits_inner']}/{r['acc_bits_outer']}" if "acc_bits_inner" in r else "-",
    "data-type bound": _dot(lambda r: str(r["acc_bits_datatype"])),
    "A2Q l1": _dot(lambda r: str(r["acc_bits_l1"])),
    "saved": _dot(lambda r: str(r["acc_bits_datatype"] - r["acc_bits"])),
    "PE": lambda r: str(r.get("pe", "-")),
    "cycles": lambda r: f"{r['estimate']['cycles']:,}" if "estimate" in r else "-",
    "LUT": lambda r: f"{r['estimate']['lut']:,}" if "estimate" in r else "-",
    "SIMD": lambda r: str(r.get("simd", "-")),
}
INSPECT = (
    "layer",
    "op",
    "input",
    "output",
    "in type",
    "weight",
    "out type",
    "acc bits",
    "acc range",
    "data-type bound",
    "A2Q l1",
    "saved",
)
BUILD = (
    "layer",
    "op",
    "input",
    "output",
    "in type",
    "weight",
    "out type",
    "acc bits",
    "inner/outer",
    "data-type bound",
    "saved",
    "PE",
    "SIMD",
    "cycles",
    "LUT",
)


def layer_table(rows: list[dict], title: str, columns=INSPECT) -> Table:
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(COLUMNS[col](row) for col in columns))
    return table


def accumulator_summary(totals: dict) -> str:
    used, bound = totals["accumulator_bits"], totals["accumulator_bits_datatype"]
    return (
        f"accumulator bits: {used} exact, {bound} by the data-type bound (saved {bound - used}), "
        f"{totals['accumulator_bits_l1']} by the A2Q l1 bound"
    )


def estimate_summary(totals: dict) -> str:
    """One line: estimated FPS, latency and resources against the board."""
    parts = []
    for key, name in (("lut", "LUT"), ("ff", "FF"), ("bram18", "BRAM18"), ("dsp", "DSP")):
        cap = totals["capacity"][key]
        share = f" ({percent(totals[key], cap)})" if cap else ""
        parts.append(f"{name} {totals[key]:,}/{cap:,}{share}")
    b = totals["bottleneck"]
    return (
        f"estimate: {totals['fps']:,.0f} FPS at {totals['clock_mhz']:g} MHz ({totals['cycles_per_frame']:,} cycles per "
        f"frame, bottleneck {b['kernel']} {b['layer']}), latency {totals['latency_us']:.2f} us; " + ", ".join(parts)
    )


def boards_table(boards) -> Table:
    table = Table(title="boards")
    numeric = ("clock MHz", "LUT", "FF", "BRAM18", "DSP", "URAM")
    for col in ("board", "part", "processing system") + numeric:
        table.add_column(col, justify="right" if col in numeric else "left")
    for b in boards:
        table.add_row(
            b.name,
            b.part,
            b.shell,
            f"{b.clock_mhz:g}",
            f"{b.lut:,}",
            f"{b.ff:,}",
            f"{b.bram18:,}",
            f"{b.dsp:,}",
            f"{b.uram:,}",
        )
    return table


ECP5_CELLS = ("TRELLIS_COMB", "TRELLIS_FF", "TRELLIS_RAMW", "DP16KD", "MULT18X18D")  # the summary's cells, in order


def ecp5_summary(syn: dict) -> str:
    """One line of an ECP5 synthesis section: Fmax per clock against the board clock, the main cells used."""
    clocks = ", ".join(f"{clock} {f['achieved_mhz']:g} MHz" for clock, f in syn["fmax"].items())
    used = syn["utilization"]
    cells = ", ".join(f"{used[c]['used']:,}/{used[c]['available']:,} {c}" for c in ECP5_CELLS if c in used)
    seconds = ", ".join(f"{tool} {s:g} s" for tool, s in syn["seconds"].items())
    return f"nextpnr-ecp5 on {syn['device']}: Fmax {clocks} (board clock {syn['clock_mhz']:g} MHz); {cells}; {seconds}"
