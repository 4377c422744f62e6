"""Shared fixtures: a store in a temporary directory, the example team's memories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

import dreamwork

REPO = Path(__file__).resolve().parents[2]
TEAM = REPO / "examples" / "team"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[dreamwork.Store]:
    yield dreamwork.Store.create(tmp_path / "mem")


@pytest.fixture
def team(tmp_path: Path) -> dreamwork.Store:
    """The example team store (examples/team/memories.jsonl)."""
    s = dreamwork.Store.create(tmp_path / "team")
    for line in (TEAM / "memories.jsonl").read_text().splitlines():
        if line.strip():
            m = json.loads(line)
            s.put(m["path"], m["content"])
    return s
