"""Every module imports with only the dependencies its extra declares.

A fresh interpreter imports each module of ``orchestra/`` with a finder in front of
``sys.meta_path`` that refuses any third-party top-level module whose distribution is
not in the closure of what ``pyproject.toml`` declares for that part: the base
``dependencies`` for the core, base + the ``ray`` extra for ``orchestra.backends.ray``.
So a module that imports something only another extra (or the test extra, or a
benchmark's matplotlib) happens to bring fails here, on any machine, even when that
something is installed: the failure a clean ``pip install 'orchestra-wasm[ray]'`` would
meet (numpy, once).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

# Which extra each part of the package belongs to (a prefix of the module name).
EXTRA_OF = {"orchestra.backends.ray": "ray"}
# Modules that do something when imported, not just define things.
NOT_IMPORTED = {"orchestra.__main__"}


def _closure(requirements: list[str], extras: frozenset[str] = frozenset()) -> set[str]:
    """The distributions ``requirements`` install, transitively (canonical names)."""
    seen: set[str] = set()
    todo = [(Requirement(r), extras) for r in requirements]
    while todo:
        req, asked = todo.pop()
        if req.marker is not None and not any(
            req.marker.evaluate({"extra": e}) for e in (asked or {""})
        ):
            continue
        name = canonicalize_name(req.name)
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional dependency not installed here: nothing to import
        for sub in dist.requires or []:
            todo.append((Requirement(sub), frozenset(req.extras)))
    return {k.split("[")[0] for k in seen}


def _allowed(extra: str | None) -> set[str]:
    reqs = list(PYPROJECT["project"]["dependencies"])
    if extra is not None:
        reqs += PYPROJECT["project"]["optional-dependencies"][extra]
    return _closure(reqs)


def _modules() -> list[str]:
    found = []
    for path in sorted((REPO / "orchestra").rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if name not in NOT_IMPORTED:
            found.append(name)
    return found


def _extra(module: str) -> str | None:
    for prefix, extra in EXTRA_OF.items():
        if module == prefix or module.startswith(prefix + "."):
            return extra
    return None


_PROBE = r"""
import importlib, importlib.machinery, importlib.metadata, json, sys

allowed = set(json.loads(sys.argv[1]))
modules = json.loads(sys.argv[2])
owners = importlib.metadata.packages_distributions()

def canon(name):
    return name.lower().replace("_", "-").replace(".", "-")

class Refuse:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top == "orchestra" or top.startswith("_"):
            return None
        dists = {canon(d) for d in owners.get(top, [])}
        if dists and not dists & allowed:
            raise ModuleNotFoundError(
                f"{top!r} (from {', '.join(sorted(dists))}) is not a declared dependency",
                name=top,
            )
        return None

sys.meta_path.insert(0, Refuse())
failed = {}
for module in modules:
    try:
        importlib.import_module(module)
    except Exception as exc:
        failed[module] = f"{type(exc).__name__}: {exc}"
print(json.dumps(failed))
"""


@pytest.mark.parametrize("extra", [None, "ray"], ids=["base", "ray"])
def test_every_module_imports_with_only_its_extras(extra: str | None) -> None:
    allowed = {canonicalize_name(d) for d in _allowed(extra)}
    modules = [m for m in _modules() if _extra(m) == extra]
    assert modules, f"no modules belong to extra {extra!r}"
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(sorted(allowed)), json.dumps(modules)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    failed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert failed == {}, (
        f"modules of the {extra or 'base'} set need something pyproject.toml does not declare "
        f"for it: {json.dumps(failed, indent=1)}"
    )


def test_the_probe_refuses_an_undeclared_import() -> None:
    """The finder really refuses: pytest is installed here but is no runtime dependency."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(sorted(_allowed(None))), '["pytest"]'],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    failed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "pytest" in failed and "not a declared dependency" in failed["pytest"]
