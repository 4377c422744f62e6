"""Claude's client-side memory tool (``memory_20250818``) over a dreamwork store.

The commands run in the Rust library (``dreamwork::agent::memory_tool``, the
same code as ``dreamwork memory-tool``), with the semantics and result texts
of the Anthropic SDK's own file-system helper. This module only adapts them
to the SDK: when ``anthropic`` is installed, :class:`MemoryTool` subclasses
``anthropic.lib.tools.BetaAbstractMemoryTool`` and :class:`ToolError`
subclasses the SDK's ``ToolError``, so the tool runner sends a failed
command back as a ``tool_result`` with ``is_error: true`` and the text.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Union

from ._native import Store

if TYPE_CHECKING:
    _Base = object
    _SdkToolError = Exception
    HAS_ANTHROPIC = False
else:
    try:
        from anthropic.lib.tools import BetaAbstractMemoryTool as _Base
        from anthropic.lib.tools import ToolError as _SdkToolError

        HAS_ANTHROPIC = True
    except ImportError:  # the SDK is optional
        _Base = object
        _SdkToolError = Exception
        HAS_ANTHROPIC = False


class ToolError(_SdkToolError):
    """A memory-tool command was refused or failed.

    ``content`` (and ``str(error)``) is the text the model reads in the
    error ``tool_result``: the SDK helper's wording (``The path /memories/x
    does not exist...``) or the store's error.
    """

    content: Any

    def __init__(self, content: str) -> None:
        super().__init__(content)
        self.content = content


def _as_dict(command: Any) -> Dict[str, Any]:
    if isinstance(command, Mapping):
        return dict(command)
    for method in ("to_dict", "model_dump"):  # the SDK's command models
        dump = getattr(command, method, None)
        if callable(dump):
            value = dump()
            if isinstance(value, Mapping):
                return dict(value)
    raise TypeError(f"a memory-tool command is a dict, not {type(command).__name__}")


class MemoryTool(_Base):  # type: ignore[misc, valid-type]
    """Claude's client-side memory tool, backed by a dreamwork store.

    The model sees the store as the directory ``/memories``: the memory
    ``/notes/ci.md`` is the file ``/memories/notes/ci.md``. Every change is
    one store version (``Store.history``). Give it to the SDK's tool runner
    as is::

        tool = dreamwork.MemoryTool(dreamwork.Store.open("mem"))
        runner = client.beta.messages.tool_runner(
            model=..., max_tokens=1024, messages=[...], tools=[tool])

    or call :meth:`execute` with the ``tool_use`` input yourself.
    """

    def __init__(
        self,
        store: Union[Store, str, "os.PathLike[str]"],
        *,
        cache_control: Optional[Mapping[str, Any]] = None,
    ) -> None:
        if HAS_ANTHROPIC:
            super().__init__(cache_control=cache_control)  # type: ignore[call-arg]
        self._cache_control = cache_control
        self.store = store if isinstance(store, Store) else Store.open(store)

    def execute(self, command: Any) -> str:  # type: ignore[override]
        """Runs one command and returns the ``tool_result`` text.

        ``command`` is the ``tool_use`` input (``{"command": "view", "path":
        "/memories"}``), or one of the SDK's command models. Raises
        :class:`ToolError` with the text the model should read when the
        command is refused (nothing is written then).
        """
        is_error, text = self.store._memory_tool(json.dumps(_as_dict(command)))
        if is_error:
            raise ToolError(text)
        return text

    def call(self, input: object) -> str:  # noqa: A002 (the SDK's name)
        """What the SDK's tool runner calls with a ``tool_use`` input."""
        return self.execute(input)

    def to_dict(self) -> Dict[str, Any]:  # type: ignore[override]
        """The tool definition sent to the model."""
        param: Dict[str, Any] = {"type": "memory_20250818", "name": "memory"}
        if self._cache_control is not None:
            param["cache_control"] = dict(self._cache_control)
        return param

    @property
    def name(self) -> str:
        """The tool's name, ``memory``."""
        return "memory"

    # The SDK base class dispatches to one method per command; each runs
    # the same way here.
    def view(self, command: Any) -> str:
        """``view``: a file's numbered lines, or a directory two levels deep."""
        return self.execute(command)

    def create(self, command: Any) -> str:
        """``create``: a new file (never overwrites)."""
        return self.execute(command)

    def str_replace(self, command: Any) -> str:
        """``str_replace``: replace the one occurrence of ``old_str``."""
        return self.execute(command)

    def insert(self, command: Any) -> str:
        """``insert``: a line after ``insert_line`` (0 = at the top)."""
        return self.execute(command)

    def delete(self, command: Any) -> str:
        """``delete``: a file or a directory (not ``/memories``)."""
        return self.execute(command)

    def rename(self, command: Any) -> str:
        """``rename``: move a file or a directory (the target must not exist)."""
        return self.execute(command)
