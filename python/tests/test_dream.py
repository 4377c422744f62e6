"""dream, accept and discard: what `dreamwork dream/accept/discard` do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import List, Tuple

import pytest

import dreamwork
from conftest import TEAM


def test_dream_returns_the_report_and_accept_swaps_it_in(team: dreamwork.Store, tmp_path: Path) -> None:
    # An exact copy folds into one output whatever the timestamps (which
    # decide the rest: the fixture's puts can share a millisecond).
    team.put("/copies/staging-db.md", team.get("/infra/staging-db.md"))
    out = tmp_path / "team.dream"
    events: List[Tuple[str, int, int]] = []
    report = dreamwork.dream(
        team,
        out=out,
        sessions=[TEAM / "sessions"],
        embedder="lexical",
        resolver="local",
        cache=False,
        progress=lambda stage, done, total: events.append((stage, done, total)),
    )
    assert report["input"]["memories"] == 23
    assert report["input"]["store_hash"] == team.store_hash()
    assert report["output"]["memories"] < 23
    copies = {"/infra/staging-db.md", "/copies/staging-db.md"}
    assert any(set(m["sources"]) >= copies for m in report["memories"]), report["memories"]
    assert report["resolver"]["name"] == "local"
    assert (out / "dream" / "report.json").is_file()
    stages = {e[0] for e in events}
    assert {"import", "embed", "apply"} <= stages, stages
    before = team.ls()
    backup = dreamwork.accept(team, out)
    assert Path(backup).name == "team.bak-1" and not out.exists()
    # The Store object reads the accepted store on its next call.
    assert len(team.ls()) == report["output"]["memories"] < len(before)
    assert dreamwork.Store.open(backup).ls() == before


def test_the_same_dream_twice_gives_the_same_report(team: dreamwork.Store, tmp_path: Path) -> None:
    a = dreamwork.dream(team.path, tmp_path / "a", embedder="lexical", cache=False)
    b = dreamwork.dream(str(team.path), str(tmp_path / "b"), embedder="lexical", cache=False)
    assert a == b
    assert (tmp_path / "a" / "dream" / "report.json").read_bytes() == (
        tmp_path / "b" / "dream" / "report.json"
    ).read_bytes()


def test_accept_refuses_a_store_changed_since(team: dreamwork.Store, tmp_path: Path) -> None:
    out = tmp_path / "d"
    dreamwork.dream(team, out, embedder="lexical", cache=False)
    team.put("/new.md", "written while the dream was under review")
    with pytest.raises(dreamwork.DreamError, match="changed"):
        dreamwork.accept(team, out)
    assert "/new.md" in team
    dreamwork.discard(out)
    assert not out.exists()


def test_discard_refuses_a_plain_store(team: dreamwork.Store) -> None:
    with pytest.raises(dreamwork.DreamError):
        dreamwork.discard(team.path)
    assert len(team) == 22


def test_bad_arguments_fail_before_any_work(team: dreamwork.Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="embedder"):
        dreamwork.dream(team, tmp_path / "x", embedder="bert")
    with pytest.raises(ValueError, match="resolver"):
        dreamwork.dream(team, tmp_path / "x", resolver="oracle", embedder="lexical")
    with pytest.raises(ValueError, match="resolver_cmd"):
        dreamwork.dream(team, tmp_path / "x", resolver="exec", embedder="lexical")
    with pytest.raises(ValueError, match="format"):
        dreamwork.dream(team, tmp_path / "x", sessions=TEAM / "sessions", format="xml", embedder="lexical")
    assert not (tmp_path / "x").exists()


def test_output_that_exists_is_a_dream_error(team: dreamwork.Store, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(dreamwork.DreamError):
        dreamwork.dream(team, tmp_path / "taken", embedder="lexical", cache=False)


def test_remote_resolver_without_a_key_fails_cleanly(
    team: dreamwork.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(dreamwork.DreamError, match="ANTHROPIC_API_KEY"):
        dreamwork.dream(team, tmp_path / "x", embedder="lexical", resolver="anthropic", cache=False)
    # A dry run needs no key and sends nothing.
    report = dreamwork.dream(team, tmp_path / "dry", embedder="lexical", resolver="anthropic", dry_run=True, cache=False)
    assert "unresolved" in report


def test_a_callback_that_raises_stops_the_dream(team: dreamwork.Store, tmp_path: Path) -> None:
    class Stop(Exception):
        pass

    def progress(stage: str, done: int, total: int) -> None:
        raise Stop(stage)

    out = tmp_path / "stopped"
    with pytest.raises(Stop):
        dreamwork.dream(team, out, embedder="lexical", cache=False, progress=progress)
    assert not out.exists()
    assert not any(p.name.startswith(".stopped") for p in tmp_path.iterdir())


def test_minilm_without_the_model_is_an_embed_error(
    team: dreamwork.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DREAMWORK_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("DREAMWORK_MODEL_DIR", raising=False)
    monkeypatch.delenv("DREAMWORK_ORT_LIB", raising=False)
    with pytest.raises(dreamwork.EmbedError, match="model fetch"):
        team.search("x", embedder="minilm")


# A resolver that never answers: the dream waits on it until interrupted.
# An exec resolver that touches the file named by its argument, then never answers.
SILENT_RESOLVER = "import sys, time\nopen(sys.argv[1], 'w').close()\ntime.sleep(60)\n"

CHILD = textwrap.dedent(
    """
    import signal, sys, dreamwork
    # As in a terminal: a job started in the background (as CI may be)
    # inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    store = dreamwork.Store.create(sys.argv[1])
    store.put("/ops/alerts.md", "Error alerts for the payments team go to Opsgenie.")
    store.put("/notes/alerts.md", "Error alerts for the payments team go to PagerDuty.")
    print("dreaming", flush=True)
    dreamwork.dream(store, sys.argv[2], embedder="lexical", resolver="exec",
                    resolver_cmd=sys.argv[3], cache=False)
    print("finished", flush=True)
    """
)


def test_ctrl_c_cancels_a_dream(tmp_path: Path) -> None:
    out = tmp_path / "out"
    aside = Path(tempfile.mkdtemp())
    resolver, asked = aside / "silent.py", aside / "asked"
    resolver.write_text(SILENT_RESOLVER)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "s"), str(out), f"{sys.executable} {resolver} {asked}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "dreaming"
    # Wait until the dream is waiting on the resolver (however loaded the machine).
    deadline = time.monotonic() + 120
    while not asked.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert asked.exists() and child.poll() is None, child.communicate()
    time.sleep(0.5)  # the questions are written; the dream waits for answers
    child.send_signal(signal.SIGINT)
    try:
        stdout, stderr = child.communicate(timeout=30)
    finally:
        child.kill()
    assert "KeyboardInterrupt" in stderr, stderr
    assert "finished" not in stdout
    assert child.returncode != 0
    assert not out.exists()
    assert os.listdir(tmp_path) == ["s"]


def test_an_exec_resolver_answers_the_questions(tmp_path: Path) -> None:
    """examples/exec_resolver.py (the newest member of a cluster stands) as
    the resolver: the open question is asked and answered."""
    store = dreamwork.Store.create(tmp_path / "s")
    store.put("/ops/alerts.md", "Error alerts for the payments team go to Opsgenie.")
    store.put("/notes/alerts.md", "Error alerts for the payments team go to PagerDuty.")
    local = dreamwork.dream(store, tmp_path / "local", embedder="lexical", cache=False)
    assert local["unresolved"], local
    resolver = f"{sys.executable} {TEAM.parent / 'exec_resolver.py'}"
    report = dreamwork.dream(
        store, tmp_path / "exec", embedder="lexical", resolver="exec", resolver_cmd=resolver, cache=False
    )
    assert report["resolver"]["name"] == "exec"
    assert not report["unresolved"], report["unresolved"]
    assert report["output"]["memories"] == 1


def test_a_folder_of_markdown_memories_is_dreamed_and_written_back(tmp_path: Path) -> None:
    """As `dreamwork dream FOLDER` / `accept FOLDER`: a folder of .md files
    (Claude Code's memory folder, notes) is a store for dream and accept."""
    folder = tmp_path / "memory"
    folder.mkdir()
    (folder / "deploys.md").write_text("We deploy the shop on Thursdays.\n")
    (folder / "deploys-copy.md").write_text("We deploy the shop on Thursdays.\n")
    (folder / "cache.md").write_text("The cache listens on port 6380.\n")
    report = dreamwork.dream(folder, tmp_path / "out", embedder="lexical", cache=False)
    assert report["input"]["memories"] == 3 and report["output"]["memories"] == 2
    assert (folder / "deploys-copy.md").exists()  # only read
    backup = dreamwork.accept(folder, tmp_path / "out")
    assert Path(backup).is_dir()
    left = sorted(p.name for p in folder.glob("*.md") if p.name != "MEMORY.md")
    assert len(left) == 2 and "cache.md" in left, left
