"""The package is typed: mypy --strict accepts a program using the whole API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_mypy_strict_accepts_typed_usage() -> None:
    pytest.importorskip("mypy")
    usage = Path(__file__).with_name("typed_usage.py")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(usage)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_installs_in_a_fresh_environment(tmp_path: Path) -> None:
    """`pip install` of the built wheel (scripts/test.sh names it) into a new
    virtual environment, without the Anthropic SDK: the standalone memory tool."""
    import os

    wheel = os.environ.get("DREAMWORK_WHEEL")
    if not wheel:
        pytest.skip("DREAMWORK_WHEEL is set by scripts/test.sh")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--disable-pip-version-check", wheel],
        check=True,
    )
    program = (
        "import dreamwork, sys\n"
        "s = dreamwork.Store.create(sys.argv[1])\n"
        "t = dreamwork.MemoryTool(s)\n"
        "assert not dreamwork._memory_tool.HAS_ANTHROPIC\n"
        "t.execute({'command': 'create', 'path': '/memories/a.md', 'file_text': 'x'})\n"
        "print(s.get('/a.md'), t.to_dict()['type'])\n"
    )
    done = subprocess.run(
        [str(python), "-c", program, str(tmp_path / "store")], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["x", "memory_20250818"]
