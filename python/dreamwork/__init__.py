"""dreamwork: on-device long-term memory for AI agents, with offline dreaming.

A thin layer over the Rust library of the same name: a crash-safe store of
path-addressed text memories, search by meaning, Claude's client-side
memory tool, and the dream, which reads the store and past session
transcripts and writes a new, cleaner store with a report, leaving the
input untouched until you accept it::

    import dreamwork

    store = dreamwork.Store.create("mem")
    store.put("/prefs/indent.md", "Use tabs.\\n")
    store.get("/prefs/indent.md")                     # "Use tabs.\\n"
    store.search("indentation", k=5, embedder="lexical")   # [(path, cosine), ...]
    report = dreamwork.dream(store, out="mem.dream", sessions=["sessions/"],
                             embedder="lexical")      # report.json as a dict
    dreamwork.accept(store, "mem.dream")              # old store kept as mem.bak-1

Errors: ``KeyError`` for a path with no memory, ``ValueError`` for a path
or argument the library refuses, and subclasses of :class:`Error`
(:class:`StoreError`, :class:`DreamError`, :class:`EmbedError`,
:class:`SessionError`) with the library's message for everything else.
Calls release the GIL; a dream stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Iterable, Optional, Union

from . import _native
from ._memory_tool import MemoryTool, ToolError
from ._native import (
    DreamError,
    EmbedError,
    Error,
    SessionError,
    Store,
    StoreError,
    __version__,
    fetch_model,
)

__all__ = [
    "DreamError",
    "EmbedError",
    "Error",
    "MemoryTool",
    "SessionError",
    "Store",
    "StoreError",
    "ToolError",
    "__version__",
    "accept",
    "discard",
    "dream",
    "fetch_model",
]

StrPath = Union[str, "os.PathLike[str]"]
"""A file-system path: a ``str`` or a ``pathlib.Path``."""

StoreLike = Union[Store, str, "os.PathLike[str]"]
"""A store: a :class:`Store`, or its directory."""


def _dir(store: StoreLike) -> str:
    return os.fspath(store.path if isinstance(store, Store) else store)


def dream(
    store: StoreLike,
    out: StrPath,
    *,
    sessions: Union[StrPath, Iterable[StrPath]] = (),
    format: str = "auto",
    embedder: str = "minilm",
    resolver: str = "local",
    resolver_cmd: Optional[str] = None,
    resolver_timeout: int = 300,
    model: Optional[str] = None,
    request_timeout: int = 600,
    journal: Optional[StrPath] = None,
    instructions: Optional[str] = None,
    max_questions: Optional[int] = None,
    max_tokens: Optional[int] = None,
    dry_run: bool = False,
    threads: Optional[int] = None,
    cache: bool = True,
    cache_dir: Optional[StrPath] = None,
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> Dict[str, Any]:
    """Dreams over ``store`` and writes a new, cleaner store to ``out``.

    What ``dreamwork dream STORE --out OUT`` does, with the same options:
    ``store`` is only read (a store directory, a :class:`Store`, or a folder
    of Markdown memory files such as Claude Code's memory folder); ``out``
    must not exist and appears whole or not at all. ``sessions`` are
    transcript files or directories read alongside the store's own
    (``format``: ``auto``, ``claude-code``, ``managed-agents``, ``openai``
    or ``text``). ``embedder`` is ``minilm`` (needs ``dreamwork model
    fetch``) or ``lexical``. ``resolver`` settles what the rules leave
    open: ``local`` (offline rules), ``exec`` (``resolver_cmd``, any program
    speaking the contract), ``anthropic`` or ``dreams`` (the key is read
    from ``ANTHROPIC_API_KEY`` only). ``journal`` replays and records
    answers; ``dry_run`` sends nothing and writes the questions instead.
    ``cache`` reads and fills the user vector cache (``cache_dir``, else
    ``$DREAMWORK_CACHE_DIR``, else ``~/.cache/dreamwork``).

    ``progress(stage, done, total)`` is called on the calling thread as
    the dream advances; if it raises, the dream stops and the exception
    propagates. Ctrl-C stops the dream at its next batch (no ``out`` is
    left) and raises ``KeyboardInterrupt``.

    Returns ``out/dream/report.json`` as a dict.
    """
    if isinstance(sessions, (str, os.PathLike)):
        sessions = [sessions]
    text = _native.dream(
        _dir(store),
        os.fspath(out),
        sessions=[os.fspath(s) for s in sessions],
        format=format,
        embedder=embedder,
        resolver=resolver,
        resolver_cmd=resolver_cmd,
        resolver_timeout=resolver_timeout,
        model=model,
        request_timeout=request_timeout,
        journal=None if journal is None else os.fspath(journal),
        instructions=instructions,
        max_questions=max_questions,
        max_tokens=max_tokens,
        dry_run=dry_run,
        threads=threads,
        cache=cache,
        cache_dir=None if cache_dir is None else os.fspath(cache_dir),
        progress=progress,
    )
    report: Dict[str, Any] = json.loads(text)
    return report


def accept(store: StoreLike, out: StrPath) -> str:
    """Replaces ``store`` with the dream output ``out``.

    The old store is kept beside it as ``STORE.bak-N`` (returned). Refused
    (:class:`DreamError`) when the store changed since the dream. A
    :class:`Store` object of that directory stays usable: its next call
    reads the accepted store.
    """
    return os.fspath(_native.accept(_dir(store), os.fspath(out)))


def discard(out: StrPath) -> None:
    """Removes the dream output ``out`` (refuses a directory that is not one)."""
    _native.discard(os.fspath(out))
