"""The `fpgaq` command: parse arguments, call the library, print. No logic of its own."""

from __future__ import annotations

import functools
import sys

import click
from rich.console import Console
from rich.table import Table

from fpgaq import __version__
from fpgaq.errors import FpgaqError


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when the output is a pipe or a file."""
    return Console() if sys.stdout.isatty() else Console(width=200)


def _user_errors(fn):
    """Turn FpgaqError into one line `error: ...` on stderr and exit 2 (a traceback only with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FpgaqError as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for user errors.")
@click.version_option(__version__, prog_name="fpgaq")
def main(debug: bool) -> None:
    """fpgaq: quantized PyTorch (Brevitas/QONNX) models to bit-exact FPGA accelerators."""


@main.command()
@_user_errors
def boards() -> None:
    """List the supported boards with part, clock and resources."""
    from fpgaq.boards import all_boards

    table = Table(title="boards")
    for col in ("board", "part", "processing system", "clock MHz", "LUT", "FF", "BRAM18", "DSP", "URAM"):
        table.add_column(col, justify="right" if col[0].isupper() or col == "clock MHz" else "left")
    for b in all_boards():
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
    _console().print(table)


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@_user_errors
def inspect(model: str) -> None:
    """Lower MODEL (a QONNX file) and print its integer layers with their exact accumulator widths."""
    from fpgaq.frontend import load
    from fpgaq.report.layers import layer_rows, totals

    graph = load(model)
    rows = layer_rows(graph)
    table = Table(title=f"{model}: {len(rows)} layers")
    for col in ("layer", "op", "input", "output", "in type", "weight", "out type", "acc bits", "acc range"):
        table.add_column(col)
    for r in rows:
        acc_range = f"[{r['acc_range'][0]}, {r['acc_range'][1]}]" if "acc_bits" in r else "-"
        table.add_row(
            r["name"],
            r["op"],
            "x".join(map(str, r["input_shape"])),
            "x".join(map(str, r["output_shape"])),
            r["input_type"],
            r.get("weight_type", "-"),
            r["output_type"],
            str(r.get("acc_bits", "-")),
            acc_range,
        )
    console = _console()
    console.print(table)
    t = totals(rows)
    console.print(
        f"totals: {t['layers']} layers, {t['dot_product_layers']} dot products, {t['weights']:,} weights "
        f"({t['weight_memory_bits']:,} bits), accumulator bits {t['accumulator_bits']}"
    )
    console.print(
        f"input: {graph.input.kind} {graph.tensors[graph.input.tensor].dtype} "
        f"shape {list(graph.tensors[graph.input.tensor].shape)}; output: "
        f"{'quantized' if graph.output.quant else 'float (host applies scale and bias)'}"
    )


if __name__ == "__main__":
    main()
