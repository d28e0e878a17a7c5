"""Fake vitis_hls, vitis-run, vivado and finn executables for the synthesis tests.

Each records its arguments and working directory (JSON lines in $FAKE_TOOL_LOG) and writes what the real tool
writes, in the real tool's formats: Vitis HLS's csynth XML reports (from fixtures/csynth.xml) and exported IP;
Vivado's bitstream and hardware handoff, copied by the script's own `file copy` commands; finn-plus's
`finn build` estimate report. The Tcl scripts are run by a real Tcl interpreter (tkinter's), with the vendor
commands they call standing in as Python functions that check their arguments (files exist, IP is in its repository,
automation keys are current) and record them in the log ("calls"); any other command is an error, as it would be
in the tool. csim_design compiles the testbench and the design with g++ inside solution1/csim/build, as Vitis HLS
does, and runs it. $FAKE_FAIL=<tool> makes that tool fail like the real one; $FAKE_WNS / $FAKE_WHS set the slack
that Vivado's implementation run reports.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
STUB = Path(__file__).parent / "stub"  # our stand-in for the Vitis include folder's ap_axi_sdata.h

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


class ToolError(Exception):
    """An error the real tool would report (becomes a Tcl error in the script)."""


def run_tcl(script: Path, commands: dict, argv=()) -> None:
    """Source `script` in a real Tcl interpreter in which `commands` (name -> Python function of the words)
    are the tool's commands; raises tkinter.TclError with the script's or a command's error message."""
    import tkinter

    interp = tkinter.Tcl()
    interp.eval('proc unknown args { error "invalid command name \\"[lindex $args 0]\\"" }')
    for name, function in commands.items():

        def call(*words, function=function, name=name):
            try:
                result = function(*words)
            except ToolError as exc:
                return ("error", str(exc))
            except Exception as exc:  # a bug in the script's use of the command, or in the fake
                return ("error", f"{name}: {type(exc).__name__}: {exc}")
            return ("ok", "" if result is None else result)

        interp.createcommand(f"_fake_{name}", call)
        interp.eval(
            f"proc {name} args {{ lassign [_fake_{name} {{*}}$args] status result\n"
            '    if {$status eq "error"} { error $result }\n    return $result }'
        )
    interp.call("set", "argv", tuple(argv))
    interp.call("source", str(script))


def _options(words, with_value: set) -> tuple[dict, list]:
    """Split a command's words into {-option: value or True} and positional words."""
    options, positional = {}, []
    words = list(words)
    while words:
        word = words.pop(0)
        if word in with_value:
            options[word] = words.pop(0)
        elif word.startswith("-") and len(word) > 1 and not word[1].isdigit():
            options[word] = True
        else:
            positional.append(word)
    return options, positional


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


class RecordedTool:
    """A fake tool's Tcl commands (the methods named in COMMANDS), each call recorded in self.calls."""

    COMMANDS: tuple[str, ...] = ()
    calls: list

    def commands(self) -> dict:
        return {name: self._recorded(name, getattr(self, name)) for name in self.COMMANDS}

    def _recorded(self, name, function):
        def command(*words):
            self.calls.append([name, *words])
            return function(*words)

        return command


class VitisHls(RecordedTool):
    """The Tcl commands of Vitis HLS that run_hls.tcl uses."""

    def __init__(self, record: dict):
        self.calls = record.setdefault("calls", [])
        self.project = self.top = self.part = self.clock = None
        self.files: list[tuple[Path, list[str], bool]] = []  # (source, cflags, testbench?)

    COMMANDS = ("open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock", "csim_design",
                "csynth_design", "export_design", "exit")  # fmt: skip

    def open_project(self, *words):
        _, (self.project,) = _options(words, set())
        if os.path.isabs(self.project):
            raise ToolError("open_project takes a project name, made in the current folder")

    def set_top(self, name):
        self.top = name

    def add_files(self, *words):
        """A source is found from the current folder now; its -cflags apply where it is compiled (csim_design:
        solution1/csim/build, so a relative -I there misses)."""
        options, (source,) = _options(words, {"-cflags"})
        if not Path(source).is_file():
            raise ToolError(f"add_files: cannot find {source}")
        self.files.append((Path(source).resolve(), shlex.split(options.get("-cflags", "")), "-tb" in options))

    def open_solution(self, *words):
        if self.project is None:
            raise ToolError("open_solution before open_project")

    def set_part(self, part):
        self.part = part

    def create_clock(self, *words):
        options, _ = _options(words, {"-period", "-name"})
        self.clock = options["-period"]

    def csim_design(self, *words):
        """Compile every file with its flags in solution1/csim/build (where Vitis HLS builds) and run it there."""
        from fpgaq.backends.hls.csim import ap_include_dir

        options, _ = _options(words, {"-argv"})
        build = Path(self.project).resolve() / "solution1" / "csim" / "build"
        build.mkdir(parents=True, exist_ok=True)
        objects = []
        for n, (source, cflags, _) in enumerate(self.files):
            obj = build / f"{n}_{source.stem}.o"
            command = ["g++", "-c", "-O1", *cflags, "-isystem", str(ap_include_dir()), "-I", str(STUB),
                       str(source), "-o", str(obj)]  # fmt: skip
            self._run(command, build, f"csim: {source.name} does not compile")
            objects.append(str(obj))
        self._run(["g++", *objects, "-o", "csim.exe"], build, "csim: the testbench does not link")
        argv = shlex.split(options.get("-argv", ""))
        self._run([str(build / "csim.exe"), *argv], build, "csim: the testbench failed")
        print("INFO: [SIM 1] CSim done with 0 errors.")

    @staticmethod
    def _run(command, cwd, message):
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
        print(proc.stdout, end="")
        if proc.returncode != 0:
            raise ToolError(f"{message}: {proc.stderr.strip()[-2000:]}")

    def csynth_design(self):
        report = Path(self.project) / "solution1" / "syn" / "report"
        report.mkdir(parents=True, exist_ok=True)
        top, part, clock = self.top, self.part, self.clock
        (report / "csynth.xml").write_text(_csynth(top, part, clock, "dataflow", TOP_NUMBERS))
        (report / f"{top}_csynth.xml").write_text(_csynth(top, part, clock, "dataflow", TOP_NUMBERS))
        design = [source for source, _, tb in self.files if not tb and source.name == "top.cpp"]
        for function, config in re.findall(r"fpgaq::(mvu\w*)<(\w+)>", design[0].read_text()):
            module = f"{function}_{config}_s"  # Vitis names template instances after their arguments
            (report / f"{module}_csynth.xml").write_text(_csynth(module, part, clock, "no", MODULE_NUMBERS))

    def export_design(self, *words):
        options, _ = _options(words, {"-format", "-rtl", "-vendor", "-library", "-version", "-display_name"})
        if options.get("-format") != "ip_catalog":
            raise ToolError("export_design: the test expects -format ip_catalog")
        ip = Path(self.project) / "solution1" / "impl" / "ip"
        ip.mkdir(parents=True, exist_ok=True)
        vlnv = f"{options['-vendor']}:{options['-library']}:{self.top}:{options['-version']}"
        (ip / "component.xml").write_text(f"<spirit:component><spirit:name>{vlnv}</spirit:name></spirit:component>\n")
        self._driver_header(Path(self.project) / "solution1" / "impl" / "misc" / "drivers")

    def _driver_header(self, drivers: Path) -> None:
        """The driver header Vitis HLS exports: the AXI4-Lite address of every array on the control bundle (the
        UltraRAM weights), each element padded to a power of two of 32-bit words, regions at 4 KiB multiples."""
        sources = {source.name: source for source, _, tb in self.files if not tb}
        top_h, config_h = (sources["top.cpp"].parent / name for name in ("top.h", "config.h"))
        params = re.search(r"#define FPGAQ_URAM_PARAMS(.*)", top_h.read_text()).group(1)
        lines, base = [], 0x1000
        for ctype, name, rows, lanes in re.findall(r"const (\w+) (\w+)\[(\d+)\]\[(\d+)\]", params):
            declared = rf"FPGAQ_STORE\(fpgaq::u?int_t<(\d+)>, [\w ]+\) {ctype};"
            bits = int(re.search(declared, config_h.read_text()).group(1))
            width, depth = int(lanes) * bits, int(rows)
            stride = 4 * (1 << (math.ceil(width / 32) - 1).bit_length())
            high = base + stride * depth - 1
            macro = f"X{self.top.upper()}_CONTROL_ADDR_{name.upper()}"
            lines += [f"#define {macro}_BASE 0x{base:x}", f"#define {macro}_HIGH 0x{high:x}",
                      f"#define {macro}_WIDTH {width}", f"#define {macro}_DEPTH {depth}"]  # fmt: skip
            base = -(-(high + 1) // 0x1000) * 0x1000
        src = drivers / f"{self.top}_v1_0" / "src"
        src.mkdir(parents=True, exist_ok=True)
        (src / f"x{self.top}_hw.h").write_text("// fake Vitis HLS driver header\n" + "\n".join(lines) + "\n")

    def exit(self, *words):
        pass


def _hls(record: dict, name: str, script: str) -> None:
    print(f"INFO: [HLS 200-10] Running '{sys.argv[0]}'")
    _fail_if_asked(name)
    tool = VitisHls(record)
    _script(Path(script), tool.commands())
    if tool.project is None or tool.top is None or not (Path(tool.project) / "solution1" / "impl" / "ip").is_dir():
        print("ERROR: [HLS 200-1] the script exported no IP")
        sys.exit(1)


def vitis_hls(record: dict) -> None:
    args = sys.argv[1:]
    assert args[:1] == ["-f"] and len(args) == 2, args
    _hls(record, "vitis_hls", args[1])


def vitis_run(record: dict) -> None:
    args = sys.argv[1:]
    assert args[:4] == ["--mode", "hls", "--tcl", args[3]] and len(args) == 4, args
    _hls(record, "vitis-run", args[3])


def _script(script: Path, commands: dict, argv=()) -> None:
    """Run a Tcl script as the tool does in batch mode: an error prints ERROR and the tool exits 1."""
    import tkinter

    try:
        run_tcl(script, commands, argv)
    except tkinter.TclError as exc:
        print(f"ERROR: [Common 17-1] {exc}\n    while executing the script {script.name}")
        sys.exit(1)


AXI4_AUTOMATION = {"Clk_master", "Clk_slave", "Clk_xbar", "Master", "Slave", "ddr_seg", "intc_ip", "master_apm"}


class Vivado(RecordedTool):
    """The Tcl commands of Vivado that build_bitstream.tcl uses; `design` records the block design."""

    def __init__(self, record: dict):
        self.calls = record.setdefault("calls", [])
        self.design = record.setdefault("design", {"cells": {}, "nets": [], "automation": []})
        self.project = self.bd = None
        self.ip_repo = None

    COMMANDS = ("create_project", "set_property", "current_project", "update_ip_catalog", "create_bd_design",
                "create_bd_cell", "get_bd_cells", "get_bd_intf_pins", "connect_bd_intf_net", "apply_bd_automation",
                "validate_bd_design", "save_bd_design", "make_wrapper", "get_files", "add_files", "current_fileset",
                "update_compile_order", "launch_runs", "wait_on_run", "get_runs", "get_property")  # fmt: skip

    def create_project(self, *words):
        options, (self.project, _) = _options(words, {"-part"})
        self.design["part"] = options["-part"]

    def set_property(self, *words):
        import tkinter

        if words[0] == "-dict":
            cell = self.design["cells"][words[2]]
            pairs = tkinter.Tcl().splitlist(words[1])
            cell["config"].update(dict(zip(pairs[::2], pairs[1::2])))
        elif words[0] == "ip_repo_paths":
            self.ip_repo = Path(words[1])
        elif words[0] == "board_part":
            raise ToolError(f"set_property: board part {words[1]} not found (board files not installed)")
        else:
            self.design.setdefault("properties", {})[words[0]] = words[1]

    def current_project(self):
        return self.project

    def update_ip_catalog(self):
        pass

    def create_bd_design(self, name):
        self.bd = name

    def create_bd_cell(self, *words):
        options, (name,) = _options(words, {"-type", "-vlnv"})
        vlnv = options["-vlnv"]
        if not vlnv.startswith("xilinx.com:"):
            component = self.ip_repo / "component.xml" if self.ip_repo else None
            if component is None or not component.is_file() or vlnv not in component.read_text():
                raise ToolError(f"create_bd_cell: IP {vlnv} not found in the IP repository {self.ip_repo}")
        self.design["cells"][name] = {"vlnv": vlnv, "config": {}}
        return name

    def get_bd_cells(self, name):
        if name not in self.design["cells"]:
            raise ToolError(f"get_bd_cells: no cell {name}")
        return name

    def get_bd_intf_pins(self, path):
        self._pin(path)
        return path

    def _pin(self, path: str) -> None:
        cell = path.strip("/").split("/")[0]
        if cell not in self.design["cells"]:
            raise ToolError(f"no interface pin {path}: no cell {cell}")

    def connect_bd_intf_net(self, a, b):
        self.design["nets"].append([a, b])

    def apply_bd_automation(self, *words):
        import tkinter

        options, (target,) = _options(words, {"-rule", "-config"})
        pairs = tkinter.Tcl().splitlist(options["-config"])
        config = dict(zip(pairs[::2], pairs[1::2]))
        if options["-rule"] == "xilinx.com:bd_rule:axi4":
            unknown = set(config) - AXI4_AUTOMATION
            if unknown:  # the legacy `Clk` among them
                valid = sorted(AXI4_AUTOMATION)
                raise ToolError(f"apply_bd_automation: unknown keys {sorted(unknown)}; valid: {valid}")
            for key in ("Master", "Slave"):
                self._pin(config[key])
        self.design["automation"].append({"rule": options["-rule"], "target": target, "config": config})

    def validate_bd_design(self):
        pass

    def save_bd_design(self):
        pass

    def _generated(self) -> Path:
        return Path(f"{self.project}.gen") / "sources_1" / "bd" / self.bd

    def make_wrapper(self, *words):
        hdl = self._generated() / "hdl"
        hdl.mkdir(parents=True, exist_ok=True)
        (hdl / f"{self.bd}_wrapper.v").write_text(f"module {self.bd}_wrapper(); endmodule\n")

    def get_files(self, name):
        return name

    def add_files(self, *words):
        _, (path,) = _options(words, set())
        if not Path(path).is_file():
            raise ToolError(f"add_files: {path} does not exist")

    def current_fileset(self):
        return "sources_1"

    def update_compile_order(self, *words):
        pass

    def launch_runs(self, *words):
        options, (run,) = _options(words, {"-to_step", "-jobs"})
        self.design["jobs"] = options["-jobs"]
        impl = Path(f"{self.project}.runs") / run
        impl.mkdir(parents=True, exist_ok=True)
        (impl / f"{self.bd}_wrapper.bit").write_bytes(b"fake .bit written by the test's vivado")
        handoff = self._generated() / "hw_handoff"
        handoff.mkdir(parents=True, exist_ok=True)
        (handoff / f"{self.bd}.hwh").write_bytes(b"fake .hwh written by the test's vivado")

    def wait_on_run(self, run):
        pass

    def get_runs(self, run):
        return run

    def get_property(self, name, obj):
        values = {
            "PROGRESS": "100%",
            "STATS.WNS": os.environ.get("FAKE_WNS", "0.412"),
            "STATS.WHS": os.environ.get("FAKE_WHS", "0.031"),
        }
        if name not in values:
            raise ToolError(f"get_property: the fake knows no property {name}")
        return values[name]


def vivado(record: dict) -> None:
    args = sys.argv[1:]
    assert args[:2] == ["-mode", "batch"] and "-source" in args, args
    tclargs = args[args.index("-tclargs") + 1 :] if "-tclargs" in args else []
    print("****** Vivado v2024.2 (64-bit)")
    _fail_if_asked("vivado")
    _script(Path(args[args.index("-source") + 1]), Vivado(record).commands(), tclargs)
    print("INFO: [Common 17-206] Exiting Vivado")


def block_design(script: Path, argv=("1",)) -> dict:
    """Run a block-design script in this process (in its folder, which must be the current one): the design
    the fake Vivado recorded (cells with their CONFIG, nets, automation, part)."""
    record: dict = {}
    run_tcl(script, Vivado(record).commands(), argv)
    return record["design"]


def finn(record: dict) -> None:
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
    record = {"tool": name, "argv": sys.argv[1:], "cwd": os.getcwd()}
    try:
        {"vitis_hls": vitis_hls, "vitis-run": vitis_run, "vivado": vivado, "finn": finn}[name](record)
    finally:
        sys.stdout.flush()
        with open(os.environ["FAKE_TOOL_LOG"], "a") as log:
            log.write(json.dumps(record) + "\n")
