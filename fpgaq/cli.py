"""The `fpgaq` command: parse arguments, call the library, print. No logic of its own."""

from __future__ import annotations

import functools
import io
import os
import sys
from pathlib import Path

import click
import numpy as np
from rich.console import Console

from fpgaq import __version__
from fpgaq.errors import FpgaqError
from fpgaq.escape import terminal


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when the output is a pipe or a file, and never reads
    text as markup or emoji codes (a file may be called '[red]x.onnx')."""
    width = None if sys.stdout.isatty() else 200
    return Console(width=width, markup=False, emoji=False, highlight=False)


def _fail(message: str, status: int = 2):
    click.echo(f"error: {terminal(message)}", err=True)
    sys.exit(status)


def _user_errors(fn):
    """Turn FpgaqError into one line `error: ...` on stderr and exit 2 (3 for a finding about the design, such as
    a deadlock; a traceback only with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FpgaqError as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            _fail(str(exc), getattr(exc, "exit_code", 2))
        except OSError as exc:  # the file system refused: permissions, a full disk, a read-only folder
            if exc.filename is None or click.get_current_context().find_root().params.get("debug"):
                raise
            _fail(f"{exc.strerror or exc}: {str(exc.filename)!r}")

    return wrapper


class _Fpgaq(click.Group):
    """The command group: click's usage errors as one line `error: ...` (exit 2), Ctrl-C as exit 130."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            status = super().main(args, "fpgaq", complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.ClickException as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if getattr(exc, "ctx", None) is not None else ""
            _fail(exc.format_message() + hint, exc.exit_code if exc.exit_code != 1 else 2)
        except (click.Abort, KeyboardInterrupt):
            _fail("interrupted", 130)
        except BrokenPipeError:  # `fpgaq inspect m.onnx | head`: the reader left; nothing more to say
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (replaces the closed pipe until exit)
            sys.exit(141)
        sys.exit(status if isinstance(status, int) else 0)


@click.group(cls=_Fpgaq, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for user errors.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display (it only shows on a terminal anyway).")
@click.version_option(__version__, prog_name="fpgaq")
def main(debug: bool, quiet: bool) -> None:
    """fpgaq: quantized PyTorch (Brevitas/QONNX) models to bit-exact FPGA accelerators."""
    from fpgaq import progress

    progress.set_quiet(quiet)


def _target_fps(ctx, param, value):
    if value is None or value == "max":
        return value
    try:
        fps = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a number nor 'max'") from None
    if not fps > 0:
        raise click.BadParameter(f"{value!r} must be positive")
    return fps


@main.command()
@_user_errors
def boards() -> None:
    """List the supported boards with part, clock and resources."""
    from fpgaq.boards import all_boards
    from fpgaq.report.tables import boards_table

    _console().print(boards_table(all_boards()))


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@_user_errors
def inspect(model: str) -> None:
    """Lower MODEL (a QONNX file) and print its integer layers with their exact accumulator widths."""
    from fpgaq.frontend import load
    from fpgaq.report.layers import layer_rows, totals
    from fpgaq.report.tables import INSPECT, accumulator_summary, layer_table

    graph = load(model)
    rows = layer_rows(graph)
    console = _console()
    console.print(layer_table(rows, terminal(f"{model}: {len(rows)} layers"), INSPECT))
    t = totals(rows)
    console.print(
        f"totals: {t['layers']} layers, {t['dot_product_layers']} dot products, {t['weights']:,} weights "
        f"({t['weight_memory_bits']:,} bits); {accumulator_summary(t)}"
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
@click.option(
    "--force", is_flag=True, help="Write into a non-empty folder fpgaq did not create (never replacing its files)."
)
@click.option("--check-overflow", is_flag=True, help="Instrument the C-simulation: fail on any accumulator overflow.")
@click.option(
    "--target-fps",
    callback=_target_fps,
    default=None,
    metavar="N|max",
    help="Choose PE/SIMD per layer to reach N frames/s with the least resources ('max': the fastest that fits).",
)
@click.option(
    "--fifo-depth",
    type=click.IntRange(2, 1 << 20),
    default=None,
    help="Force every stream FIFO to this depth (experiments; default: sized by the timed dataflow simulation).",
)
@click.option(
    "--backend",
    type=click.Choice(["hls", "rtl"]),
    default="hls",
    show_default=True,
    help="hls: Vitis HLS C++ and its C-simulation; rtl: SystemVerilog and its Verilator simulation (rtl/README.md).",
)
@click.option(
    "--weight-memory",
    type=click.Choice(["auto", "bram", "uram"]),
    default="auto",
    show_default=True,
    help="UltraScale+ boards: weights in UltraRAM, written by the host at run time (auto: only where block RAM "
    "would pass --max-utilization).",
)
@click.option(
    "--max-utilization",
    default=None,
    metavar="PCT",
    help="The share of each resource (LUT, FF, BRAM18, DSP, URAM) the folding search and the UltraRAM placement "
    "may use, in percent, compared exactly (default: 85).",
)
@_user_errors
def build(model, board, out_dir, clock_ns, folding_file, force, check_overflow, target_fps, fifo_depth,
          backend, weight_memory, max_utilization) -> None:  # fmt: skip
    """Generate the HLS project (or Verilog) for MODEL, compile its simulation, estimate it and write
    report.json/.html."""
    from fpgaq.pipeline import build as run_build
    from fpgaq.plan.folding import read_folding_file
    from fpgaq.report.tables import BUILD, accumulator_summary, estimate_summary, layer_table

    folding = read_folding_file(folding_file) if folding_file else None
    report = run_build(
        model,
        board,
        out_dir,
        clock_ns=clock_ns,
        folding=folding,
        force=force,
        check_overflow=check_overflow,
        target_fps=target_fps,
        fifo_depth=fifo_depth,
        backend=backend,
        weight_memory=weight_memory,
        max_utilization=max_utilization,
    )
    board = report["board"]
    title = terminal(f"{report['model']} for {board['name']} ({board['part']}, {board['clock_ns']:g} ns)")
    console = _console()
    for warning in report["warnings"]:
        click.echo(f"warning: {terminal(warning)}", err=True)
    console.print(layer_table(report["layers"], title, BUILD))
    checked = "; C-simulation instrumented for overflow" if report["check_overflow"] else ""
    console.print(accumulator_summary(report["totals"]) + checked)
    console.print(estimate_summary(report["totals"]))
    search = report["folding_search"]
    if target_fps is None:
        console.print("folding: default (PE <= 4, SIMD <= 8); --target-fps N or max searches one for the board")
    elif search and search.get("kept_default"):
        console.print("folding: default, kept by the search: its own result was costlier (see the warning)")
    cached = " (cached)" if report.compiled["cached"] else ""
    out = terminal(out_dir)
    if backend == "rtl":
        console.print(f"wrote {out}/rtl (Verilog, Verilated), {out}/report.json, {out}/report.html")
        return
    console.print(
        f"wrote {out}/hls (HLS project), {out}/csim (C-simulation{cached}), {out}/report.json, {out}/report.html"
    )


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
@click.option(
    "--labels",
    "labels_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="LABELS.npy: integer class per sample; the accuracy (argmax) goes into report.json and report.html.",
)
@click.option("--jobs", type=int, default=None,
              help="Threads the batch is split over (default: every core); frames are independent.")  # fmt: skip
@_user_errors
def csim(build_dir, input_file, output_file, labels_file, jobs) -> None:
    """Run the compiled C-simulation of BUILD_DIR on X.npy and write Y.npy."""
    from fpgaq.backends import get_backend
    from fpgaq.backends.hls.csim import CSimError, check_jobs
    from fpgaq.npyfile import read_npy
    from fpgaq.outdir import refuse_overwrite, write_atomic
    from fpgaq.report.files import read_report, record_accuracy

    refuse_overwrite(output_file, (input_file, labels_file), "--output")
    check_jobs(jobs)
    sim = get_backend(read_report(build_dir).backend).simulator(build_dir, jobs)
    x = read_npy(input_file, "--input")
    labels = read_npy(labels_file, "--labels") if labels_file else None
    if labels is not None and (labels.shape != (len(x),) or labels.dtype.kind not in "iu"):
        raise CSimError(f"labels must be {len(x)} integers (one per sample), not {labels.dtype} {labels.shape}")
    y = sim.run(x)
    buffer = io.BytesIO()
    np.save(buffer, y)
    write_atomic(Path(output_file), buffer.getvalue())
    click.echo(f"{len(y)} samples -> {terminal(output_file)} (float32, shape {tuple(y.shape)})")
    if labels is not None:
        accuracy = record_accuracy(build_dir, y, labels, source=Path(input_file).name)
        where = terminal(build_dir)
        click.echo(f"accuracy {accuracy:.4f} on {len(y)} samples; recorded in {where}/report.json and report.html")


@main.command()
@click.argument("build_dir", type=click.Path(file_okay=False))
@click.option("--input", "input_file", required=True, type=click.Path(dir_okay=False),
              help="X.npy: float32, the model's input layout, batch first.")  # fmt: skip
@click.option("--output", "output_file", required=True, type=click.Path(dir_okay=False),
              help="Y.npy: float32 outputs of the simulated design.")  # fmt: skip
@click.option("--frames", type=click.IntRange(1, 1 << 20), default=None,
              help="Frames to simulate, cycling through X's samples (default: one per sample).")  # fmt: skip
@_user_errors
def simulate(build_dir, input_file, output_file, frames) -> None:
    """Run BUILD_DIR's kernels concurrently over FIFOs at the depths its top declares, cycle by cycle; write Y.npy
    and the cycles, latency, stalls and FIFO occupancies into report.json. Exit 3 on a deadlock."""
    from fpgaq.npyfile import read_npy
    from fpgaq.outdir import refuse_overwrite, write_atomic
    from fpgaq.simulate import simulate as run_simulation

    refuse_overwrite(output_file, (input_file,), "--output")
    x = read_npy(input_file, "--input")
    y, section = run_simulation(build_dir, x, frames, source=Path(input_file).name)
    buffer = io.BytesIO()
    np.save(buffer, y)
    write_atomic(Path(output_file), buffer.getvalue())
    est = section["estimate"]
    latency = section["latency_cycles"]
    interval = section["cycles_per_frame"]
    steady = (
        f"{interval:,} cycles per frame in steady state (estimate {est['cycles_per_frame']:,})"
        if interval is not None
        else "steady state not measured (simulate at least 2 frames)"
    )
    click.echo(
        f"{section['frames']} frames simulated: {steady}; first-frame latency {latency:,} cycles "
        f"(estimate {est['latency_cycles']:,}); outputs equal to {section.get('checked_against', 'the C-simulation')}"
    )
    updated = f"{terminal(build_dir)}/report.json and report.html"
    click.echo(f"{len(y)} samples -> {terminal(output_file)}; updated {updated}")


@main.command()
@click.argument("factory")
@click.option("--data", required=True, help="'digits' or FILE.npz (x_train, optional y_train, x_test, y_test).")
@click.option("--method", type=click.Choice(["rtn", "gpfq", "optq"]), default="optq", show_default=True)
@click.option("--weight-bits", type=int, default=4, show_default=True)
@click.option("--act-bits", type=int, default=4, show_default=True)
@click.option("--input-bits", type=int, default=8, show_default=True)
@click.option("--accumulator-bits", type=int, default=None, help="AXE: every accumulator fits this many bits.")
@click.option("--tile", type=int, default=None, help="AXE tile size (multi-stage accumulation).")
@click.option("--bias-correction", is_flag=True, help="Bias compensation after quantization.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="QONNX file to write.")
@_user_errors
def quantize(
    factory, data, method, weight_bits, act_bits, input_bits, accumulator_bits, tile, bias_correction, out
) -> None:
    """Quantize the float model that FACTORY (SCRIPT.py:FUNCTION) returns and export it to QONNX."""
    from fpgaq.outdir import refuse_overwrite
    from fpgaq.quant.command import quantize_command

    refuse_overwrite(out, (factory.rpartition(":")[0], data), "--out")
    summary = quantize_command(
        factory,
        data,
        out,
        method=method,
        weight_bits=weight_bits,
        act_bits=act_bits,
        input_bits=input_bits,
        accumulator_bits=accumulator_bits,
        tile=tile,
        bias_correction=bias_correction,
    )
    if "float_accuracy" in summary:
        click.echo(f"accuracy: float {summary['float_accuracy']:.4f}, quantized {summary['quantized_accuracy']:.4f}")
    if summary["widths"] is not None:
        click.echo(
            f"accumulator bits per layer (verified <= {accumulator_bits}): {summary['widths']}; scales: "
            f"{summary['chosen']}" + (f" gamma {summary['gamma']:g}" if summary["gamma"] else "")
        )
    click.echo(f"wrote {terminal(out)}")


@main.command()
@click.argument("build_dir", type=click.Path(file_okay=False))
@click.option(
    "--backend",
    type=click.Choice(["vitis", "finn", "yosys"]),
    default="vitis",
    show_default=True,
    help="vitis: Vitis HLS (and Vivado); finn: finn-plus; yosys: an RTL build's kernels, Yosys counts (ECP5 boards: "
    "synth_ecp5, nextpnr-ecp5 and ecppack to DIR/deploy/fpgaq.bit).",
)
@click.option("--bitstream", is_flag=True, help="Also run Vivado: block design, bitstream and .hwh into DIR/deploy.")
@click.option("--jobs", type=int, default=None, help="Parallel Vivado implementation jobs (default: CPU count).")
@_user_errors
def synth(build_dir, backend, bitstream, jobs) -> None:
    """Synthesize BUILD_DIR with Vitis HLS (and Vivado), FINN, or (an RTL build) Yosys."""
    from fpgaq.report.tables import ecp5_summary
    from fpgaq.synth import synth as run_synth

    report = run_synth(build_dir, backend, bitstream, jobs)
    syn = report["synthesis"]
    if syn["tool"] == "vitis_hls":
        top, ratio = syn["top"], syn["ratio_estimate_to_synthesis"]
        click.echo(
            f"Vitis HLS: {top['lut']:,} LUT, {top['ff']:,} FF, {top['bram18']} BRAM18, {top['dsp']} DSP; interval "
            f"{top['interval_max']} cycles, estimated clock {top['estimated_clock_ns']} ns"
        )
        click.echo("estimate / synthesis: " + ", ".join(f"{k} {v}" for k, v in ratio.items() if v is not None))
        where = terminal(build_dir)
        click.echo(f"IP: {where}/{syn['ip']}; deploy: {where}/deploy ({', '.join(report['deploy']['files'])})")
    elif syn["tool"] == "yosys-nextpnr":
        click.echo(ecp5_summary(syn))
        click.echo(f"bitstream: {terminal(build_dir)}/{syn['bitstream']}; driver: {terminal(build_dir)}/deploy/"
                   "uart_driver.py (docs/ecp5.md)")  # fmt: skip
    elif syn["tool"] == "yosys":
        top, ratio = syn["top"], syn["ratio_estimate_to_synthesis"]
        click.echo(
            f"Yosys synth_xilinx ({syn['family']}), {len(syn['kernels'])} kernels: {top['lut']:,} LUT, "
            f"{top['ff']:,} FF, {top['carry']:,} CARRY4, {top['dsp']} DSP, {top['lutram']} LUTRAM; estimate / Yosys: "
            f"LUT {ratio['lut']}, FF {ratio['ff']}"
        )
    else:
        click.echo(f"FINN build_dataflow finished: {terminal(build_dir)}/{syn['output_dir']}")
    click.echo(f"updated {terminal(build_dir)}/report.json and report.html")


@main.command(name="run")
@click.argument("build_dir", type=click.Path(file_okay=False))
@click.option("--port", required=True, help="The board's serial port (/dev/ttyUSB0, COM3, or a pyserial URL).")
@click.option("--input", "input_file", required=True, type=click.Path(dir_okay=False),
              help="X.npy: float32, the model's input layout, batch first.")  # fmt: skip
@click.option("--output", "output_file", required=True, type=click.Path(dir_okay=False),
              help="Y.npy: float32 outputs of the board.")  # fmt: skip
@click.option("--baud", type=click.IntRange(300, 12_000_000), default=None,
              help="Baud rate (default: the board file's, DIR/deploy/uart.json).")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(0.01, 3600), default=2.0, show_default=True,
              help="Seconds to wait for a frame's output bytes.")  # fmt: skip
@_user_errors
def run_board(build_dir, port, input_file, output_file, baud, timeout) -> None:
    """Run X.npy through the accelerator on an ECP5 board over its UART (an RTL build, fpgaq.bit loaded)."""
    from fpgaq.backends.rtl.uart import run_on_board
    from fpgaq.npyfile import read_npy
    from fpgaq.outdir import refuse_overwrite, write_atomic

    refuse_overwrite(output_file, (input_file,), "--output")
    y = run_on_board(build_dir, port, read_npy(input_file, "--input"), baud, timeout)
    buffer = io.BytesIO()
    np.save(buffer, y)
    write_atomic(Path(output_file), buffer.getvalue())
    click.echo(f"{len(y)} samples -> {terminal(output_file)} (float32, shape {tuple(y.shape)}) from {terminal(port)}")


@main.command()
@click.option("--board", default="pynq-z2", show_default=True, help="Board name (see `fpgaq boards`).")
@click.option("--out", "out_dir", default="fpgaq-demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--accumulator-bits", type=int, default=12, show_default=True, help="AXE accumulator budget.")
@click.option(
    "--force", is_flag=True, help="Write into a non-empty folder fpgaq did not create (never replacing its files)."
)
@_user_errors
def demo(board, out_dir, accumulator_bits, force) -> None:
    """Train, quantize (AXE), build and C-simulate a digits MLP; print the figures and the report path."""
    from fpgaq.demo import run_demo
    from fpgaq.report.tables import estimate_summary

    r = run_demo(board, out_dir, accumulator_bits=accumulator_bits, force=force)
    used = sum(bits for _, bits, _ in r["accumulators"])
    bound = sum(bound for _, _, bound in r["accumulators"])
    same = "equal" if r["csim_accuracy"] == r["quantized_accuracy"] else "DIFFERENT"
    lines = [
        f"float MLP 64-96-48-10:        test accuracy {r['float_accuracy']:.4f}",
        f"quantized W4A4, 8-bit input:  test accuracy {r['quantized_accuracy']:.4f} "
        f"(AXE, every accumulator <= {accumulator_bits} bits, verified: {r['ptq']['widths']})",
        f"C-simulation of the C++:      test accuracy {r['csim_accuracy']:.4f} ({same}; predictions equal on "
        f"{r['agree']}/{r['samples']})",
        "accumulator bits per layer:   "
        + ", ".join(f"{name} {bits} (data-type bound {b})" for name, bits, b in r["accumulators"])
        + f"; {bound - used} bits saved",
        f"folding (PE, SIMD):           {r['folding']}",
        estimate_summary(r["totals"]),
        terminal(f"model: {r['model']}; report: {r['report']}"),
    ]
    click.echo("\n".join(lines))
    if r["agree"] != r["samples"]:
        click.echo("error: the C-simulation and the quantized PyTorch model disagree", err=True)
        sys.exit(1)


@main.command()
@click.argument("spec_file", metavar="SPEC.yaml", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="The sweep folder: points.csv, sweep.html and a folder per point; rerun to resume.")  # fmt: skip
@click.option(
    "--address",
    default=None,
    help="A Ray cluster to run on (auto, HOST:PORT or ray://HOST:PORT); default: Ray on this machine.",
)
@click.option("--workers", type=int, default=None, help="Points at once (default: every CPU, local or cluster).")
@click.option("--retry-failed", is_flag=True, help="Run failed points again (finished ones are always skipped).")
@_user_errors
def sweep(spec_file, out_dir, address, workers, retry_failed) -> None:
    """Quantize, build and C-simulate every point of SPEC.yaml (the cross product of its lists) as Ray tasks;
    each finished point is written to DIR/points.csv and DIR/sweep.html at once."""
    from fpgaq.sweep import SweepError, load_spec
    from fpgaq.sweep.runner import sweep as run_sweep

    if workers is not None and workers < 1:
        raise SweepError(f"--workers must be at least 1, not {workers}")
    spec = load_spec(spec_file)
    total = len(spec.points())

    def event(kind: str, counts: dict, row: dict) -> None:
        status = f"{counts['done']} done, {counts['running']} running, {counts['failed']} failed of {total}"
        if kind == "start":
            click.echo(f"{total} points; {counts['done'] + counts['failed']} already finished in {terminal(out_dir)}")
            return
        what = (f"accuracy {row.get('csim_accuracy', row.get('quantized_accuracy', ''))}, {row.get('lut')} LUT"
                if kind == "done" else terminal(str(row.get("error", "")))[:160])  # fmt: skip
        click.echo(f"[{status}] {terminal(row['point'])}: {kind} ({what}, {row.get('build_s', '?')} s)")

    rows = run_sweep(spec, out_dir, address=address, workers=workers, retry_failed=retry_failed, on_event=event)
    failed = sum(r.get("status") != "ok" for r in rows)
    click.echo(f"{len(rows) - failed} points ok, {failed} failed; wrote {terminal(out_dir)}/points.csv and sweep.html")


if __name__ == "__main__":
    main(prog_name="fpgaq")
