"""The store: put, get, ls, history, delete, search, and the errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import dreamwork


def test_put_get_ls_history_delete(store: dreamwork.Store) -> None:
    v1 = store.put("/prefs/indent.md", "Use tabs.\n")
    assert store.get("/prefs/indent.md") == "Use tabs.\n"
    assert store.ls("/prefs/") == ["/prefs/indent.md"]
    assert store.ls() == ["/prefs/indent.md"]
    v2 = store.put("/prefs/indent.md", "Use spaces.\n")
    assert v2 > v1
    assert store.get("/prefs/indent.md", version=v1) == "Use tabs.\n"
    assert len(store) == 1 and "/prefs/indent.md" in store and "/x.md" not in store
    v3 = store.delete("/prefs/indent.md")
    history = store.history("/prefs/indent.md")
    assert [h["version"] for h in history] == [v1, v2, v3]
    assert [h["change"] for h in history] == ["put", "put", "delete"]
    assert history[0]["size"] == len("Use tabs.\n") and len(history[0]["hash"]) == 64
    assert history[2]["hash"] is None and history[2]["time"].endswith("Z")
    assert store.ls() == [] and len(store) == 0


def test_unicode_round_trips(store: dreamwork.Store) -> None:
    store.put("/notes/café.md", "naïve — 日本語 ✓\n")
    assert store.get("/notes/café.md") == "naïve — 日本語 ✓\n"


def test_absent_path_is_key_error(store: dreamwork.Store) -> None:
    with pytest.raises(KeyError, match="/nope.md"):
        store.get("/nope.md")
    with pytest.raises(KeyError):
        store.delete("/nope.md")


@pytest.mark.parametrize("bad", ["relative.md", "/a/../b.md", "/a//b.md", "", "/x\x00.md"])
def test_bad_path_is_value_error(store: dreamwork.Store, bad: str) -> None:
    with pytest.raises(ValueError):
        store.put(bad, "text")
    with pytest.raises(ValueError):
        store.get(bad)


def test_store_errors_carry_the_library_message(tmp_path: Path) -> None:
    with pytest.raises(dreamwork.StoreError) as missing:
        dreamwork.Store.open(tmp_path / "missing")
    assert "missing" in str(missing.value)
    dreamwork.Store.create(tmp_path / "s")
    with pytest.raises(dreamwork.StoreError):
        dreamwork.Store.create(tmp_path / "s")
    assert issubclass(dreamwork.StoreError, dreamwork.Error)


def test_content_over_the_limit_is_refused(store: dreamwork.Store) -> None:
    with pytest.raises((dreamwork.StoreError, ValueError)) as err:
        store.put("/big.md", "x" * 200_000)
    assert "102400" in str(err.value) or "100" in str(err.value)
    assert store.ls() == []


def test_two_handles_see_each_others_writes(tmp_path: Path) -> None:
    a = dreamwork.Store.create(tmp_path / "s")
    b = dreamwork.Store.open(str(tmp_path / "s"))
    a.put("/a.md", "from a")
    assert b.get("/a.md") == "from a"
    b.put("/b.md", "from b")
    assert a.ls() == ["/a.md", "/b.md"]
    assert a.store_hash() == b.store_hash()


def test_threads_share_a_store(store: dreamwork.Store) -> None:
    def work(n: int) -> None:
        for i in range(20):
            store.put(f"/t{n}/{i}.md", f"thread {n} item {i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store) == 80
    assert store.get("/t3/19.md") == "thread 3 item 19"


def test_search_lexical(team: dreamwork.Store) -> None:
    hits = team.search("which port does the staging database listen on", k=3, embedder="lexical")
    assert len(hits) == 3
    paths = [p for p, _ in hits]
    assert any("staging-db" in p for p in paths), hits
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(s, float) for s in scores)
    # The index is kept and follows changes.
    team.put("/infra/cache.md", "The staging cache listens on port 6380.\n")
    hits = team.search("staging cache port", k=1, embedder="lexical")
    assert hits[0][0] == "/infra/cache.md"


def test_search_bad_embedder_is_value_error(store: dreamwork.Store) -> None:
    with pytest.raises(ValueError, match="bert"):
        store.search("x", embedder="bert")


def test_version_and_repr(store: dreamwork.Store) -> None:
    assert dreamwork.__version__
    assert "dreamwork.Store(" in repr(store)
    assert isinstance(store.path, Path)


def test_fetch_model_then_search_by_meaning(team: dreamwork.Store) -> None:
    """What `dreamwork model fetch` does (scripts/test.sh ran it already, so
    this only verifies the installed files), then a MiniLM search."""
    fetched = dreamwork.fetch_model()
    assert fetched["model"][0] in ("installed", "present"), fetched
    if fetched["runtime"][0] == "unsupported":
        pytest.skip(fetched["runtime"][1])
    hits = team.search("what port does the staging DB use", k=2, embedder="minilm")
    assert any("staging-db" in path for path, _ in hits), hits
