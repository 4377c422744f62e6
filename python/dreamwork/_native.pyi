"""Type stubs of the extension module (python/src/lib.rs)."""

from os import PathLike
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

_Path = Union[str, PathLike[str]]

__version__: str

class Error(Exception):
    """Base class of the errors dreamwork raises (besides KeyError and ValueError)."""

class StoreError(Error):
    """The store failed: I/O, corruption, locked by another process, a limit."""

class DreamError(Error):
    """A dream, accept or discard failed."""

class EmbedError(Error):
    """The embedder could not be loaded (MiniLM not installed) or failed."""

class SessionError(Error):
    """A session transcript could not be read."""

class Store:
    """A memory store (a directory); the lock is taken per call only."""

    @staticmethod
    def create(path: _Path) -> Store:
        """Creates a new, empty store in ``path`` (refused if one is there)."""
    @staticmethod
    def open(path: _Path) -> Store:
        """Opens the store in ``path`` (it must exist)."""
    @property
    def path(self) -> Path:
        """The store directory."""
    def put(self, path: str, content: str) -> int:
        """Writes ``content`` at ``path``; the new store version."""
    def get(self, path: str, version: Optional[int] = None) -> str:
        """The content at ``path`` (as of ``version``); KeyError if absent."""
    def ls(self, prefix: str = "/") -> List[str]:
        """The paths starting with ``prefix``, sorted."""
    def history(self, path: str) -> List[Dict[str, Any]]:
        """Every version of ``path``: version, time, change, hash, size."""
    def delete(self, path: str) -> int:
        """Deletes ``path``; the new store version. KeyError if absent."""
    def search(self, query: str, k: int = 5, embedder: str = "minilm") -> List[Tuple[str, float]]:
        """The ``k`` memories nearest in meaning to ``query``: (path, cosine)."""
    def store_hash(self) -> str:
        """A digest of the live (path, content) pairs."""
    def _memory_tool(self, command_json: str) -> Tuple[bool, str]: ...
    def __len__(self) -> int: ...
    def __contains__(self, path: str) -> bool: ...

def dream(
    store: _Path,
    out: _Path,
    *,
    sessions: List[_Path] = ...,
    format: str = "auto",
    embedder: str = "minilm",
    resolver: str = "local",
    resolver_cmd: Optional[str] = None,
    resolver_timeout: int = 300,
    model: Optional[str] = None,
    request_timeout: int = 600,
    journal: Optional[_Path] = None,
    instructions: Optional[str] = None,
    max_questions: Optional[int] = None,
    max_tokens: Optional[int] = None,
    dry_run: bool = False,
    threads: Optional[int] = None,
    cache: bool = True,
    cache_dir: Optional[_Path] = None,
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> str:
    """Dreams over ``store`` into ``out``; the text of report.json."""

def accept(store: _Path, out: _Path) -> str:
    """The dream output replaces the store; where the old one was kept."""

def discard(out: _Path) -> None:
    """Removes a dream output."""

def fetch_model(cache_dir: Optional[_Path] = None) -> Dict[str, Tuple[str, str]]:
    """Installs the MiniLM model and ONNX Runtime (``dreamwork model fetch``)."""
