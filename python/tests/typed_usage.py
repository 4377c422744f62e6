"""Type-checked by test_typing.py with mypy --strict: the stubs and the
annotations must describe the API as the tests use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

import dreamwork


def use(root: Path) -> None:
    store: dreamwork.Store = dreamwork.Store.create(root / "mem")
    version: int = store.put("/a.md", "text")
    text: str = store.get("/a.md", version=version)
    paths: List[str] = store.ls("/")
    history: List[Dict[str, Any]] = store.history("/a.md")
    hits: List[Tuple[str, float]] = store.search("query", k=3, embedder="lexical")
    where: Path = store.path
    report: Dict[str, Any] = dreamwork.dream(
        store, root / "out", sessions=[root / "sessions"], embedder="lexical", progress=lambda s, d, t: None
    )
    backup: str = dreamwork.accept(store, root / "out")
    dreamwork.discard(root / "other")
    tool = dreamwork.MemoryTool(store)
    result: str = tool.execute({"command": "view", "path": "/memories"})
    try:
        store.delete("/a.md")
    except (dreamwork.StoreError, dreamwork.DreamError, dreamwork.ToolError):
        pass
    print(text, paths, history, hits, where, report, backup, result)
