"""Package layering: imports only go down, and no two top-level subpackages import each other.

Layers, bottom to top (README "Layout"): the shared modules (errors, io, yamlfile), the
evaluation protocol and shot segmentation, data, evaluation, video, models, training, analysis,
cli. Every import is counted, including those inside functions (they are dependencies too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "vsumlab"

#: rank of each top-level subpackage or module; an import must not go to a higher rank
LAYERS = {
    "errors": 0,
    "io": 0,
    "yamlfile": 0,
    "protocol": 1,
    "segmentation": 1,
    "data": 2,
    "evaluation": 3,
    "video": 4,
    "models": 5,
    "training": 6,
    "analysis": 7,
    "cli": 8,
}
#: the console script: the only module outside cli that may import cli
ENTRY_POINTS = {"__main__"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, relative ones resolved."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from vsumlab import cli`` imports the subpackage itself
            found += [(node.lineno, target)]
            if target == "vsumlab":
                found += [(node.lineno, f"vsumlab.{alias.name}") for alias in node.names]
    return found


def top_level(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "vsumlab" else None


def package_imports(root: Path = PACKAGE) -> list[tuple[str, str, str, int]]:
    """(importer top level, imported top level, importing file, line) across top levels."""
    edges = []
    for path in sorted(root.rglob("*.py")):
        source = top_level(module_name(path, root))
        for line, target in imported_modules(path, root):
            imported = top_level(target)
            if source and imported and imported != source:
                edges.append((source, imported, str(path.relative_to(root.parent)), line))
    return edges


def layer_violations(edges: list[tuple[str, str, str, int]]) -> list[str]:
    out = []
    for source, imported, where, line in edges:
        if imported == "cli" and source not in ENTRY_POINTS:
            out.append(f"{where}:{line}: {source} imports cli (only cli and the entry point may)")
        elif LAYERS.get(imported, -1) > LAYERS.get(source, len(LAYERS)):
            out.append(f"{where}:{line}: {source} (layer {LAYERS[source]}) imports "
                       f"{imported} (layer {LAYERS[imported]}), a higher layer")
    return out


def package_cycles(edges: list[tuple[str, str, str, int]]) -> list[list[str]]:
    """Every cycle of the top-level import graph, each as the list of packages around it."""
    graph: dict[str, set[str]] = {}
    for source, imported, _, _ in edges:
        graph.setdefault(source, set()).add(imported)
    cycles = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                cycles.append(path + [start])
            elif nxt not in path and nxt > start:  # each cycle once, from its smallest member
                walk(start, nxt, path + [nxt])

    for start in sorted(graph):
        walk(start, start, [start])
    return cycles


def test_every_top_level_part_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.stem != "__init__"}
    assert parts - ENTRY_POINTS <= set(LAYERS), sorted(parts - ENTRY_POINTS - set(LAYERS))


def test_imports_only_go_down_the_layers():
    assert layer_violations(package_imports()) == []


def test_no_cycle_between_top_level_packages():
    assert package_cycles(package_imports()) == []


# ------------------------------------------------------- the checks themselves catch violations
def _write(root: Path, files: dict[str, str]) -> Path:
    package = root / "vsumlab"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in [package, *[p for p in package.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()
    return package


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"training/cv.py": "def f():\n    from vsumlab.cli.lightning import make_cli\n"},
         "training imports cli"),
        ({"training/reproduce.py": "from vsumlab.analysis import published\n"},
         "training (layer 6) imports analysis (layer 7)"),
        ({"data/uses.py": "from vsumlab.evaluation.metrics import annotation_style\n"},
         "data (layer 2) imports evaluation (layer 3)"),
        ({"models/x.py": "from ..training import cv\n"},
         "models (layer 5) imports training (layer 6)"),
        ({"evaluation/x.py": "from vsumlab import models\n"},
         "evaluation (layer 3) imports models (layer 5)"),
    ],
)
def test_upward_imports_are_reported(tmp_path, files, expected):
    package = _write(tmp_path, files)
    (found,) = layer_violations(package_imports(package))
    assert expected in found


def test_downward_imports_and_the_entry_point_pass(tmp_path):
    package = _write(tmp_path, {
        "cli/main.py": "from vsumlab.training import cv\n",
        "training/cv.py": "from vsumlab.models import summarizer\nfrom . import recipes\n",
        "models/summarizer.py": "from vsumlab.data.schema import Dataset\n",
        "__main__.py": "from vsumlab.cli.main import main\n",
    })
    assert layer_violations(package_imports(package)) == []


def test_cycles_are_reported(tmp_path):
    package = _write(tmp_path, {
        "data/uses.py": "def f():\n    from vsumlab.evaluation import metrics\n",
        "evaluation/metrics.py": "from vsumlab.data import uses\n",
        "video/a.py": "from vsumlab.models import b\n",
        "models/b.py": "from vsumlab.training import c\n",
        "training/c.py": "from vsumlab.video import a\n",
    })
    assert package_cycles(package_imports(package)) == [
        ["data", "evaluation", "data"], ["models", "training", "video", "models"],
    ]
