"""README.md's shell commands, run as written from a clean copy of the repository,
so the docs and the behaviour cannot drift apart.

Convention (stated in the README, "From the command line"): in a ``console``
block each ``$ `` line is a command; the lines under it are its stdout, where a
line ``...`` stands for any number of lines; ``# stderr: TEXT`` must be a line of
its stderr (``...`` inside stands for any text); ``# exit N`` is its exit code
(else 0); other ``#`` lines are comments. In ``sh``/``bash`` blocks each line is a
command whose output is not shown. Every command either runs here or is listed in
:data:`NOT_RUN` with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..conftest import REPO

#: Commands this test does not run (by prefix), and why.
NOT_RUN = {
    "python -m pip install '.[test]' && python -m pytest": (
        "the whole suite (this test is part of it); .ci/run runs it in a clean venv"
    ),
    "python examples/build.py": (
        "builds the C plug-ins with zig for about a minute; "
        "tests/integration/test_examples_build.py runs it"
    ),
    "just test": "the whole suite (this test is part of it)",
    "just examples": "python examples/build.py (see above)",
    "just bench": "benchmarks take minutes and are not tests",
}
#: Installing this checkout again is what the test environment already did: the
#: rest of such a command runs.
INSTALLED = "python -m pip install . && "
#: Commands that need the C examples built by examples/build.py (not in a clone).
BUILT = "examples/build/"


@dataclass
class Command:
    line: int
    text: str
    stdout: list[str] | None = None  # None: not shown, not compared
    stderr: list[str] = field(default_factory=list)
    exit: int = 0


def readme_commands() -> list[Command]:
    """Every shell command of README.md, with what the README says it prints."""
    commands: list[Command] = []
    lines = (REPO / "README.md").read_text().splitlines()
    fence: str | None = None
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
            continue
        if fence in ("sh", "bash", "shell"):
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(Command(number, line.strip()))
        elif fence == "console":
            if line.startswith("$ "):
                commands.append(Command(number, line[2:].strip()))
            elif not commands or commands[-1].line < _block_start(lines, number):
                raise AssertionError(f"README.md:{number}: output before any `$ ` command")
            elif line.startswith("# stderr: "):
                commands[-1].stderr.append(line.removeprefix("# stderr: "))
            elif line.startswith("# exit "):
                commands[-1].exit = int(line.removeprefix("# exit "))
            elif not line.startswith("#"):
                cmd = commands[-1]
                cmd.stdout = [*(cmd.stdout or []), line]
    return commands


def _block_start(lines: list[str], number: int) -> int:
    """The line number of the fence that opens the block holding line ``number``."""
    while not lines[number - 1].startswith("```"):
        number -= 1
    return number


def _not_run(cmd: Command) -> str | None:
    for prefix, reason in NOT_RUN.items():
        if cmd.text.startswith(prefix):
            return reason
    return None


def _matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` with ``...`` lines as wildcards for any run of lines."""
    pattern = "".join("(?:.*\n)*" if line == "..." else re.escape(line) + "\n" for line in expected)
    return re.fullmatch(pattern, "".join(f"{line}\n" for line in actual)) is not None


def _line_in(expected: str, actual: list[str]) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return any(re.fullmatch(pattern, line) for line in actual)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files a clone would have (tracked, or new and not ignored), copied; the
    C examples linked in when they have been built here."""
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know what a clone holds")
    listed = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    root = tmp_path_factory.mktemp("clone")
    for name in filter(None, (n.decode() for n in listed)):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    built = REPO / "examples" / "build"
    if (built / "extism").is_dir():
        (root / "examples" / "build").symlink_to(built)
    return root


def test_readme_commands_are_all_accounted_for() -> None:
    """The README has commands, and output is only shown under a command."""
    commands = readme_commands()
    assert len(commands) > 15
    assert any(cmd.stdout for cmd in commands)


@pytest.mark.parametrize("cmd", readme_commands(), ids=lambda c: f"README.md:{c.line}")
def test_readme_command(cmd: Command, clone: Path) -> None:
    """The command runs as written and prints what the README shows."""
    reason = _not_run(cmd)
    if reason is not None:
        pytest.skip(reason)
    if BUILT in cmd.text and not (clone / "examples" / "build").exists():
        pytest.skip("needs the C examples: python examples/build.py (about a minute)")
    bindir = os.path.dirname(sys.executable)
    env = {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(clone),
    }
    proc = subprocess.run(
        ["bash", "-c", cmd.text.removeprefix(INSTALLED)],
        cwd=clone,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    out = proc.stdout.decode("utf-8", "replace").splitlines()
    err = proc.stderr.decode("utf-8", "replace").splitlines()
    where = f"README.md:{cmd.line}: {cmd.text}\nstdout:\n{proc.stdout.decode()}\nstderr:\n"
    assert proc.returncode == cmd.exit, where + proc.stderr.decode()
    if cmd.stdout is not None:
        assert _matches(cmd.stdout, out), where + proc.stderr.decode()
    for line in cmd.stderr:
        assert _line_in(line, err), where + proc.stderr.decode()
