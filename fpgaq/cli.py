"""The `fpgaq` command: parse arguments, call the library, print. No logic of its own."""

from __future__ import annotations

import functools
import io
import sys
from pathlib import Path

import click
import numpy as np
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
    columns = (
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
    for col in columns:
        table.add_column(col)
    for r in rows:
        dot = "acc_bits" in r
        table.add_row(
            r["name"],
            r["op"],
            "x".join(map(str, r["input_shape"])),
            "x".join(map(str, r["output_shape"])),
            r["input_type"],
            r.get("weight_type", "-"),
            r["output_type"],
            str(r.get("acc_bits", "-")),
            f"[{r['acc_range'][0]}, {r['acc_range'][1]}]" if dot else "-",
            str(r.get("acc_bits_datatype", "-")),
            str(r.get("acc_bits_l1", "-")),
            str(r["acc_bits_datatype"] - r["acc_bits"]) if dot else "-",
        )
    console = _console()
    console.print(table)
    t = totals(rows)
    console.print(
        f"totals: {t['layers']} layers, {t['dot_product_layers']} dot products, {t['weights']:,} weights "
        f"({t['weight_memory_bits']:,} bits); accumulator bits {t['accumulator_bits']} exact vs "
        f"{t['accumulator_bits_datatype']} by the data-type bound (saved "
        f"{t['accumulator_bits_datatype'] - t['accumulator_bits']}) and {t['accumulator_bits_l1']} by the A2Q l1 bound"
    )
    console.print(
        f"input: {graph.input.kind} {graph.tensors[graph.input.tensor].dtype} "
        f"shape {list(graph.tensors[graph.input.tensor].shape)}; output: "
        f"{'quantized' if graph.output.quant else 'float (host applies scale and bias)'}"
    )


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--board", required=True, help="Board name (see `fpgaq boards`).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--clock-ns", type=float, default=None, help="Clock period in ns (default: the board's).")
@click.option(
    "--folding",
    "folding_file",
    type=click.Path(dir_okay=False),
    default=None,
    help='JSON {layer: {"pe": n, "simd": m}} overriding the default folding.',
)
@click.option("--force", is_flag=True, help="Overwrite an output folder fpgaq did not create.")
@click.option("--check-overflow", is_flag=True, help="Instrument the C-simulation: fail on any accumulator overflow.")
@_user_errors
def build(model, board, out_dir, clock_ns, folding_file, force, check_overflow) -> None:
    """Generate the HLS project for MODEL, compile its C-simulation and write report.json."""
    from fpgaq.hls.build import build as run_build
    from fpgaq.hls.folding import read_folding_file

    folding = read_folding_file(folding_file) if folding_file else None
    report = run_build(
        model, board, out_dir, clock_ns=clock_ns, folding=folding, force=force, check_overflow=check_overflow
    )
    table = Table(
        title=f"{report['model']} for {report['board']['name']} ({report['board']['part']}, "
        f"{report['board']['clock_ns']:g} ns)"
    )
    for col in (
        "layer",
        "op",
        "input",
        "output",
        "in",
        "weight",
        "out",
        "acc bits",
        "inner/outer",
        "bound",
        "saved",
        "PE",
        "SIMD",
    ):
        table.add_column(col)
    for r in report["layers"]:
        fused = f" + {r['fused_threshold']}" if "fused_threshold" in r else ""
        dot = "acc_bits" in r
        stages = f"{r['acc_bits_inner']}/{r['acc_bits_outer']}" if "acc_bits_inner" in r else "-"
        table.add_row(
            r["name"] + fused,
            r["op"],
            "x".join(map(str, r["input_shape"])),
            "x".join(map(str, r["output_shape"])),
            r["input_type"],
            r.get("weight_type", "-"),
            r["output_type"],
            str(r.get("acc_bits", "-")),
            stages,
            str(r.get("acc_bits_datatype", "-")),
            str(r["acc_bits_datatype"] - r["acc_bits"]) if dot else "-",
            str(r.get("pe", "-")),
            str(r.get("simd", "-")),
        )
    console = _console()
    console.print(table)
    t = report["totals"]
    console.print(
        f"accumulator bits: {t['accumulator_bits']} used, {t['accumulator_bits_datatype']} by the "
        f"data-type bound (saved {t['accumulator_bits_datatype'] - t['accumulator_bits']})"
        + ("; C-simulation instrumented for overflow" if report["check_overflow"] else "")
    )
    cached = " (cached)" if report["_compile"]["cached"] else ""
    console.print(f"wrote {out_dir}/hls (HLS project), {out_dir}/csim (C-simulation{cached}), {out_dir}/report.json")


@main.command()
@click.argument("build_dir", type=click.Path(file_okay=False))
@click.option(
    "--input",
    "input_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="X.npy: float32, the model's input layout, batch first.",
)
@click.option(
    "--output",
    "output_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="Y.npy: float32 outputs of the compiled C++.",
)
@_user_errors
def csim(build_dir, input_file, output_file) -> None:
    """Run the compiled C-simulation of BUILD_DIR on X.npy and write Y.npy."""
    from fpgaq.hls.build import write_atomic
    from fpgaq.hls.csim import CSim, CSimError

    sim = CSim(build_dir)
    try:
        x = np.load(input_file, allow_pickle=False)
    except FileNotFoundError:
        raise CSimError(f"input file not found: {input_file!r}") from None
    except ValueError as exc:
        raise CSimError(f"{input_file!r} is not a .npy array ({exc})") from None
    y = sim.run(x)
    buffer = io.BytesIO()
    np.save(buffer, y)
    write_atomic(Path(output_file), buffer.getvalue())
    click.echo(f"{len(y)} samples -> {output_file} (float32, shape {tuple(y.shape)})")


if __name__ == "__main__":
    main()
