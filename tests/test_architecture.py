"""The package's layers: nothing imports a layer above it (so there is no import cycle), and the planner and
the estimator read typed kernels, never C++ (they cannot parse a backend's spelling)."""

from __future__ import annotations

import ast
from pathlib import Path

import fpgaq

PACKAGE = Path(fpgaq.__file__).parent

# lowest first; a module may import its own layer and the layers below it
LAYERS = [
    {"errors", "escape", "resources", "host", "progress", "npyfile", "outdir", "data"},
    {"boards", "bounds"},
    {"ir"},
    {"passes"},
    {"frontend"},
    {"plan"},
    {"estimate"},
    {"backends"},
    {"report"},
    {"synth", "simulate"},
    {"pipeline"},
    {"quant"},
    {"demo", "sweep"},
    {"cli"},
]
LEVEL = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.name == "__init__.py" and rel.parent == Path("."):
            continue
        yield rel.parts[0].removesuffix(".py"), path


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fpgaq."):
            yield node.module.split(".")[1], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module == "fpgaq":
            for alias in node.names:
                if alias.name != "__version__":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fpgaq."):
                    yield alias.name.split(".")[1], node.lineno


def test_every_package_has_a_layer():
    names = {name for name, _ in _modules()}
    assert names <= set(LEVEL), f"add these to LAYERS: {sorted(names - set(LEVEL))}"


def test_no_package_imports_one_above_it():
    upward = []
    for name, path in _modules():
        for target, line in _imports(path):
            if target in LEVEL and LEVEL[target] > LEVEL[name]:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports fpgaq.{target}")
    assert not upward, "\n".join(upward)


def test_planner_and_estimator_never_read_a_backend_spelling():
    for folder in ("plan", "estimate"):
        for path in (PACKAGE / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
            assert "re" not in imported, f"{path.name} parses strings"
            assert not any(m.startswith("fpgaq.backends") for m in imported), f"{path.name} reads a backend"
