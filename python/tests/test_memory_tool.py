"""MemoryTool: Claude's client-side memory tool commands, and the Anthropic
SDK's tool runner driving it against a loopback stand-in of the API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import pytest

import dreamwork


def test_commands_follow_the_sdk_helpers(store: dreamwork.Store) -> None:
    tool = dreamwork.MemoryTool(store)
    assert "created" in tool.execute(
        {"command": "create", "path": "/memories/notes/ci.md", "file_text": "CI runs on Jenkins.\n"}
    ).lower()
    assert store.get("/notes/ci.md") == "CI runs on Jenkins.\n"
    view = tool.execute({"command": "view", "path": "/memories"})
    assert "/memories/notes/ci.md" in view
    tool.execute({"command": "str_replace", "path": "/memories/notes/ci.md", "old_str": "Jenkins", "new_str": "Buildkite"})
    tool.execute({"command": "insert", "path": "/memories/notes/ci.md", "insert_line": 0, "insert_text": "# CI"})
    numbered = tool.execute({"command": "view", "path": "/memories/notes/ci.md"})
    assert "1\t# CI" in numbered and "2\tCI runs on Buildkite." in numbered
    tool.execute({"command": "rename", "old_path": "/memories/notes", "new_path": "/memories/team"})
    assert store.ls() == ["/team/ci.md"]
    tool.execute({"command": "delete", "path": "/memories/team/ci.md"})
    assert store.ls() == []
    # Every change is one store version.
    assert [h["change"] for h in store.history("/notes/ci.md")] == ["put", "put", "put", "delete"]


@pytest.mark.parametrize(
    "command, says",
    [
        ({"command": "view", "path": "/etc/passwd"}, "/memories"),
        ({"command": "view", "path": "/memories/../x"}, ".."),
        ({"command": "view", "path": "/memories/absent.md"}, "does not exist"),
        ({"command": "create", "path": "/memories/a.md", "file_text": "again"}, "already exists"),
        ({"command": "str_replace", "path": "/memories/a.md", "old_str": "zzz", "new_str": "y"}, "did not appear"),
        ({"command": "delete", "path": "/memories"}, "/memories"),
        ({"command": "explode", "path": "/memories"}, "explode"),
        ({"path": "/memories"}, "command"),
    ],
)
def test_refused_commands_raise_tool_error(store: dreamwork.Store, command: Dict[str, Any], says: str) -> None:
    tool = dreamwork.MemoryTool(store)
    tool.execute({"command": "create", "path": "/memories/a.md", "file_text": "a"})
    with pytest.raises(dreamwork.ToolError) as err:
        tool.execute(command)
    assert says in err.value.content and says in str(err.value)
    assert store.ls() == ["/a.md"] and store.get("/a.md") == "a"


def test_takes_a_path_and_describes_itself(tmp_path: Any) -> None:
    dreamwork.Store.create(tmp_path / "m")
    tool = dreamwork.MemoryTool(tmp_path / "m")
    assert tool.to_dict() == {"type": "memory_20250818", "name": "memory"}
    assert tool.name == "memory"
    assert dreamwork.MemoryTool(tool.store, cache_control={"type": "ephemeral"}).to_dict()["cache_control"] == {
        "type": "ephemeral"
    }


anthropic = pytest.importorskip("anthropic")


def test_subclasses_the_sdk_memory_tool(store: dreamwork.Store) -> None:
    from anthropic.lib.tools import BetaAbstractMemoryTool, ToolError

    tool = dreamwork.MemoryTool(store)
    assert isinstance(tool, BetaAbstractMemoryTool)
    assert issubclass(dreamwork.ToolError, ToolError)
    # The SDK's own command models go through too.
    from anthropic.types.beta import BetaMemoryTool20250818CreateCommand

    tool.execute(BetaMemoryTool20250818CreateCommand(command="create", path="/memories/m.md", file_text="x"))
    assert store.get("/m.md") == "x"


def _message(content: List[Dict[str, Any]], stop: str) -> Dict[str, Any]:
    return {
        "id": "msg_stand_in",
        "type": "message",
        "role": "assistant",
        "model": "claude-stand-in",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }


TOOL_CALLS = [
    {"id": "toolu_1", "input": {"command": "create", "path": "/memories/prefs/coffee.md", "file_text": "Likes coffee.\n"}},
    {"id": "toolu_2", "input": {"command": "view", "path": "/memories"}},
    {"id": "toolu_3", "input": {"command": "view", "path": "/secrets"}},
]


class StandIn(BaseHTTPRequestHandler):
    """Answers POST /v1/messages: first with memory tool calls, then, once
    the tool results came back, with a final text."""

    requests: List[Dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        StandIn.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if len(StandIn.requests) == 1:
            calls = [{"type": "tool_use", "name": "memory", **c} for c in TOOL_CALLS]
            reply = _message(calls, "tool_use")
        else:
            reply = _message([{"type": "text", "text": "Noted."}], "end_turn")
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    StandIn.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_sdk_tool_runner_drives_the_store(store: dreamwork.Store, api: str) -> None:
    client = anthropic.Anthropic(api_key="sk-ant-stand-in", base_url=api, max_retries=0)
    tool = dreamwork.MemoryTool(store)
    runner = client.beta.messages.tool_runner(
        model="claude-stand-in",
        max_tokens=1024,
        messages=[{"role": "user", "content": "Remember that I like coffee."}],
        tools=[tool],
    )
    final = runner.until_done()
    assert final.content[0].text == "Noted."
    assert store.get("/prefs/coffee.md") == "Likes coffee.\n"

    first, second = StandIn.requests
    assert first["path"].startswith("/v1/messages")
    assert {"type": "memory_20250818", "name": "memory"} in first["body"]["tools"]
    results = {b["tool_use_id"]: b for b in second["body"]["messages"][-1]["content"] if b["type"] == "tool_result"}
    assert set(results) == {"toolu_1", "toolu_2", "toolu_3"}

    def text(block: Dict[str, Any]) -> str:
        content = block["content"]
        return content if isinstance(content, str) else "".join(c.get("text", "") for c in content)

    assert "created" in text(results["toolu_1"]).lower() and not results["toolu_1"].get("is_error")
    assert "/memories/prefs/coffee.md" in text(results["toolu_2"])
    assert results["toolu_3"]["is_error"] is True
    assert text(results["toolu_3"]) == "Path must start with /memories, got: /secrets"
