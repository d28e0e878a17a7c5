"""Fake vitis_hls, vivado and finn executables for the synthesis tests.

Each records its arguments and working directory (JSON lines in $FAKE_TOOL_LOG), checks the script it was
given, and writes what the real tool writes, in the real tool's formats: Vitis HLS's csynth XML reports (from
fixtures/csynth.xml) and exported IP; Vivado's bitstream and hardware handoff, copied by the script's own
`file copy` commands; finn-plus's `finn build` estimate report. $FAKE_FAIL=<tool> makes that tool fail like
the real one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"

TOOL = r"""#!{python}
import sys
sys.path.insert(0, {tests!r})
from synth.fakes import main
main({name!r})
"""


def install(bin_dir: Path, names=("vitis_hls", "vivado")) -> None:
    """Executables named `names` in bin_dir that run main(name) with this interpreter."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = bin_dir / name
        path.write_text(TOOL.format(python=sys.executable, tests=str(FIXTURES.parents[1]), name=name))
        path.chmod(0o755)


def _record(name: str) -> None:
    with open(os.environ["FAKE_TOOL_LOG"], "a") as log:
        log.write(json.dumps({"tool": name, "argv": sys.argv[1:], "cwd": os.getcwd()}) + "\n")


def _fail_if_asked(name: str) -> None:
    if os.environ.get("FAKE_FAIL") == name:
        print(f"ERROR: [{name.upper()} 200-1] fake failure requested by the test")
        sys.exit(1)


def _csynth(module: str, part: str, clock: str, pipeline: str, numbers: dict) -> str:
    text = (FIXTURES / "csynth.xml").read_text()
    fields = {"@MODULE@": module, "@PART@": part, "@CLOCK@": clock, "@PIPELINE@": pipeline}
    fields.update({f"@{k.upper()}@": str(v) for k, v in numbers.items()})
    for key, value in fields.items():
        text = text.replace(key, value)
    return text


TOP_NUMBERS = {"latency": 42, "interval": 24, "bram": 2, "dsp": 0, "ff": 9000, "lut": 16000}
MODULE_NUMBERS = {"latency": 30, "interval": 24, "bram": 0, "dsp": 0, "ff": 2500, "lut": 5000}


def vitis_hls() -> None:
    args = sys.argv[1:]
    assert args[:1] == ["-f"] and len(args) == 2, args
    tcl = Path(args[1]).read_text()
    for command in (
        "open_project",
        "set_top",
        "add_files top.cpp",
        "add_files top_axi.cpp",
        "set_part",
        "create_clock",
        "csynth_design",
        "export_design -format ip_catalog",
    ):
        assert command in tcl, command
    project = re.search(r"open_project -reset \{(\S+)\}", tcl).group(1)
    top = re.search(r"set_top \{(\S+)\}", tcl).group(1)
    part = re.search(r"set_part \{(\S+)\}", tcl).group(1)
    clock = re.search(r"create_clock -period (\S+)", tcl).group(1)
    print(f"INFO: [HLS 200-10] Running '{sys.argv[0]}'\nINFO: [HLS 200-10] Setting target device to '{part}'")
    _fail_if_asked("vitis_hls")
    report = Path(project) / "solution1" / "syn" / "report"
    report.mkdir(parents=True, exist_ok=True)
    (report / "csynth.xml").write_text(_csynth(top, part, clock, "dataflow", TOP_NUMBERS))
    (report / f"{top}_csynth.xml").write_text(_csynth(top, part, clock, "dataflow", TOP_NUMBERS))
    for function, config in re.findall(r"fpgaq::(mvu\w*)<(\w+)>", Path("top.cpp").read_text()):
        module = f"{function}_{config}_s"  # Vitis names template instances after their arguments
        (report / f"{module}_csynth.xml").write_text(_csynth(module, part, clock, "no", MODULE_NUMBERS))
    ip = Path(project) / "solution1" / "impl" / "ip"
    ip.mkdir(parents=True, exist_ok=True)
    (ip / "component.xml").write_text(f"<spirit:component><spirit:name>{top}</spirit:name></spirit:component>\n")


def _tcl_value(word: str, variables: dict) -> str:
    word = word.strip()
    if word.startswith("{") and word.endswith("}"):
        word = word[1:-1]
    return re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], word)


def vivado() -> None:
    args = sys.argv[1:]
    assert args[:2] == ["-mode", "batch"] and "-source" in args, args
    tcl = Path(args[args.index("-source") + 1]).read_text()
    for command in (
        "create_project",
        "create_bd_design",
        "create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma dma",
        "make_wrapper",
        "launch_runs impl_1 -to_step write_bitstream",
        "wait_on_run impl_1",
    ):
        assert command in tcl, command
    print("****** Vivado v2024.2 (64-bit)\nINFO: [Common 17-206] Exiting Vivado")
    _fail_if_asked("vivado")
    variables = {}
    for line in tcl.splitlines():
        if m := re.fullmatch(r"set (\w+) (.+)", line.strip()):
            if m.group(2).startswith("["):  # a command substitution (set jobs [expr ...]): not needed here
                continue
            variables[m.group(1)] = _tcl_value(m.group(2), variables)
        elif m := re.fullmatch(r"file mkdir (\S+)", line.strip()):
            Path(_tcl_value(m.group(1), variables)).mkdir(parents=True, exist_ok=True)
        elif m := re.fullmatch(r"file copy -force (\S+) (\S+)", line.strip()):
            src, dst = (Path(_tcl_value(w, variables)) for w in m.groups())
            src.parent.mkdir(parents=True, exist_ok=True)
            src.write_bytes(b"fake " + src.suffix.encode() + b" written by the test's vivado")  # what impl_1 makes
            shutil.copyfile(src, dst)


def finn() -> None:
    args = sys.argv[1:]
    assert args[0] == "build" and args[1] == "build.yaml" and args[3:] == ["--batch"], args
    assert Path(args[2]).is_file(), "the model"
    config = Path("build.yaml").read_text()
    for key in ("output_dir:", "synth_clk_period_ns:", "board:", "shell_flow_type: vivado_zynq", "target_fps:"):
        assert key in config, key
    _fail_if_asked("finn")
    output = Path(json.loads(re.search(r"^output_dir: (.+)$", config, re.M).group(1)))
    (output / "report").mkdir(parents=True, exist_ok=True)
    (output / "report" / "estimate_network_performance.json").write_text(
        json.dumps({"critical_path_cycles": 100, "max_cycles": 24, "estimated_throughput_fps": 4166666.67})
    )


def main(name: str) -> None:
    _record(name)
    {"vitis_hls": vitis_hls, "vivado": vivado, "finn": finn}[name]()
