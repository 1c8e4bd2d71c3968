"""Project invariants: README commands match CI, exports are what __all__ says,
imports point down the layers."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    assert block, "README.md must open with a code block of two commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands() -> None:
    cmds = readme_commands()
    assert len(cmds) == 2
    assert "orchestra run config/demo.yaml" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs the README's second command verbatim."""
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert readme_commands()[1] in ci


def test_ci_installs_nothing_before_the_readme_test_command() -> None:
    """The README's test command runs in a new venv before any other install: an extra
    installed first (the bench's matplotlib bringing numpy) once hid an undeclared
    dependency that failed on every new machine."""
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    code = [line for line in ci if line and not line.startswith("#")]
    first_install = next(i for i, line in enumerate(code) if "pip install" in line)
    assert code[first_install] == readme_commands()[1]
    assert "venv" in " ".join(code[:first_install])


PACKAGES = [
    "orchestra",
    "orchestra.errors",
    "orchestra.config",
    "orchestra.wire",
    "orchestra.runtime",
    "orchestra.supervision",
    "orchestra.backends",
    "orchestra.pipeline",
    "orchestra.testing",
    "orchestra.hostplugins",
    "orchestra.confine",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    """Every public attribute defined or re-exported is in __all__, and vice versa."""
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert isinstance(module.__all__, tuple)
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names missing {item}"
    public = {
        k
        for k, v in vars(module).items()
        if not k.startswith("_")
        and not (hasattr(v, "__file__") and k not in exported)
        and getattr(v, "__module__", name).startswith("orchestra")
        and k not in {"annotations"}
    }
    assert public <= exported, f"public but not in __all__: {sorted(public - exported)}"


# Which top-level parts each part may import (DESIGN.md "Layers").
ALLOWED = {
    "errors": set(),
    "_paths": set(),
    "config": {"errors"},
    "wire": {"errors"},
    "runtime": {"errors", "config", "wire", "hostplugins", "_paths"},
    "hostplugins": {"errors", "config", "_paths"},
    "confine": {"errors", "config"},
    "worker": {"errors", "config", "wire", "runtime", "hostplugins", "confine"},
    "backends": {"errors", "config", "wire"},
    "supervision": {"errors", "config", "wire", "backends", "_paths"},
    "pipeline": {"errors", "config", "wire"},
    "testing": {"errors", "wire", "confine"},
    "_orchestra": {
        "errors",
        "config",
        "wire",
        "backends",
        "supervision",
        "pipeline",
        "_paths",
        "_logging",
    },
    "_logging": set(),
    "inspect": {"errors", "config", "runtime", "hostplugins", "_paths"},
    "preflight": {"errors", "config", "runtime", "pipeline", "_paths"},
    "cli": {
        "errors",
        "config",
        "_orchestra",
        "_logging",
        "inspect",
        "preflight",
        "pipeline",
        "hostplugins",
        "graph",
        "_runio",
        "_report",
        "_interrupt",
        "_callargs",
    },
    "graph": {"config"},
    "_runio": {"pipeline"},
    "_report": {"pipeline", "_runio"},
    "_interrupt": set(),
    "_callargs": set(),
    "__main__": {"cli"},
    "zygote": {"worker", "confine"},
    "__init__": {"errors", "config", "_orchestra", "pipeline"},
}


# Files that run on the worker side of their layer: the Ray actor runs the worker's
# serve loop inside a Ray worker process (like ``zygote``), never in the driver.
# The faulty worker, once it has misbehaved as told, hands over to that loop too.
WORKER_SIDE = {
    "orchestra/backends/ray/_actor.py": {"worker"},
    "orchestra/testing/faulty_worker.py": {"worker"},
}


def _part(path: Path) -> str:
    rel = path.relative_to(REPO / "orchestra")
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    here = path.relative_to(REPO).with_suffix("").parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(here[: len(here) - node.level])
            target = [*base, *(node.module or "").split(".")] if node.module else base
            if len(target) >= 2 and target[0] == "orchestra":
                found.add(target[1])
            elif node.module is None:
                for alias in node.names:
                    found.add(alias.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for n in names:
                if n.startswith("orchestra."):
                    found.add(n.split(".")[1])
                if n.split(".")[0] == "anyio" and "runtime" in here:
                    found.add("anyio")
    return found


def test_imports_point_down_the_layers() -> None:
    """runtime never imports anyio or supervision; supervision never loads runtime; ..."""
    problems = []
    for path in sorted((REPO / "orchestra").rglob("*.py")):
        part = _part(path)
        allowed = ALLOWED.get(part)
        assert allowed is not None, f"{path}: part {part!r} has no layer in this test"
        extra = WORKER_SIDE.get(path.relative_to(REPO).as_posix(), set())
        for target in _imports(path) - {part} - extra:
            if target not in allowed:
                problems.append(f"{path.relative_to(REPO)} imports {target}")
    assert problems == []


def test_ruff_is_clean() -> None:
    """Lint is part of the suite, so CI enforces it (ruff comes with the test extra)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "orchestra", "tests", "examples"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_doc_installs_the_unrelated_pypi_orchestra() -> None:
    """PyPI's ``orchestra`` is somebody else's project: the distribution is
    ``orchestra-wasm``, and nothing tells a user (or a Ray node) to pip install
    ``orchestra``."""
    import tomllib

    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"] == (
        "orchestra-wasm"
    )
    found = []
    for path in [REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("orchestra/**/*.py")]:
        for line in path.read_text().splitlines():
            for cmd in re.findall(r"(?:pip install|pip:)([^&;#]*)", line):
                for token in re.split(r"[\s,]+", cmd):
                    name = re.split(r"[\[=<>~]", token.strip("'\"`[]{}()"))[0]
                    if name == "orchestra":
                        found.append(f"{path.relative_to(REPO)}: {line.strip()}")
    assert found == []


def test_version_names_the_distribution() -> None:
    """``orchestra --version`` reads the installed distribution's metadata."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "orchestra", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "version" in proc.stdout
