"""Drives `dreamwork mcp STORE` with the official Python MCP SDK (`mcp` on PyPI),
as an agent host would: initialize, list the tools, call each with good and bad
arguments, search, and check that other processes can write and dream while the
server runs. Run by tests/it/agent_mcp.rs:

    python client.py DREAMWORK_BINARY STORE WORK_DIR EMBEDDER

Exits non-zero with a message naming the failed check.
"""

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters, stdio_client

BIN, STORE, WORK, EMBEDDER = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
TOOLS = [
    "memory_view",
    "memory_create",
    "memory_str_replace",
    "memory_insert",
    "memory_delete",
    "memory_rename",
    "memory_search",
]
checks = 0


def check(condition, what, detail=""):
    global checks
    if not condition:
        sys.exit(f"FAILED: {what}\n{detail}")
    checks += 1


def dreamwork(*args, stdin=None):
    return subprocess.run([BIN, *args], input=stdin, capture_output=True, timeout=300)


async def main():
    params = StdioServerParameters(command=BIN, args=["mcp", STORE, "--embedder", EMBEDDER])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check(init.server_info.name == "dreamwork", "server name", init.server_info)
            check("long-term memory" in (init.instructions or ""), "instructions", init.instructions)

            listed = await session.list_tools()
            check([t.name for t in listed.tools] == TOOLS, "tool list", [t.name for t in listed.tools])
            for tool in listed.tools:
                check(len(tool.description or "") > 100, f"{tool.name} has a description for the model")
                check(tool.input_schema.get("type") == "object", f"{tool.name} input schema")

            async def call(name, **arguments):
                result = await session.call_tool(name, arguments)
                text = "".join(block.text for block in result.content if block.type == "text")
                return result.is_error, text

            async def ok(name, expected=None, **arguments):
                is_error, text = await call(name, **arguments)
                check(not is_error, f"{name} {arguments} succeeds", text)
                if expected is not None:
                    check(expected in text, f"{name} {arguments} answers {expected!r}", text)
                return text

            async def refused(name, expected, **arguments):
                is_error, text = await call(name, **arguments)
                check(is_error, f"{name} {arguments} is an error result", text)
                check(expected in text, f"{name} {arguments} says {expected!r}", text)

            # view of the (empty) root, then create.
            await ok("memory_view", "Here're the files and directories up to 2 levels deep in /memories", path="/memories")
            await ok(
                "memory_create",
                "File created successfully at: /memories/infra/staging-db.md",
                path="/memories/infra/staging-db.md",
                file_text="The staging database listens on port 5433.\nOwner: the platform team of the staging site.\n",
            )
            await refused("memory_create", "File /memories/infra/staging-db.md already exists",
                          path="/memories/infra/staging-db.md", file_text="again")
            await refused("memory_create", "Path must start with /memories, got: /etc/x", path="/etc/x", file_text="x")
            await refused("memory_create", "would escape /memories directory", path="/memories/../x", file_text="x")

            # view of a file, with and without a range; errors.
            text = await ok("memory_view", "Here's the content of /memories/infra/staging-db.md with line numbers:",
                            path="/memories/infra/staging-db.md")
            check("     1\tThe staging database listens on port 5433." in text, "numbered lines", text)
            text = await ok("memory_view", path="/memories/infra/staging-db.md", view_range=[2, 2])
            check(text.endswith("     2\tOwner: the platform team of the staging site."), "view_range", text)
            await refused("memory_view", "The path /memories/nope does not exist. Please provide a valid path.",
                          path="/memories/nope")
            await refused("memory_view", "missing field `path`")
            listing = await ok("memory_view", path="/memories")
            check("\t/memories/infra/\n" in listing and listing.endswith("\t/memories/infra/staging-db.md"),
                  "directory listing", listing)

            # str_replace: one match, none, several.
            await ok("memory_str_replace", "     1\tThe staging database listens on port 6543.",
                     path="/memories/infra/staging-db.md", old_str="5433", new_str="6543")
            await refused("memory_str_replace", "did not appear verbatim in /memories/infra/staging-db.md",
                          path="/memories/infra/staging-db.md", old_str="5433", new_str="1")
            await refused("memory_str_replace", "Multiple occurrences of old_str `staging` in lines: 1, 2",
                          path="/memories/infra/staging-db.md", old_str="staging", new_str="test")
            await refused("memory_str_replace", "The path /memories/infra is not a file.",
                          path="/memories/infra", old_str="a", new_str="b")

            # insert: in range and out of range.
            await ok("memory_insert", "The file /memories/infra/staging-db.md has been edited.",
                     path="/memories/infra/staging-db.md", insert_line=1, insert_text="Engine: Postgres 16.")
            text = await ok("memory_view", path="/memories/infra/staging-db.md")
            check("     2\tEngine: Postgres 16.\n     3\tOwner: the platform" in text, "inserted line", text)
            await refused("memory_insert", "Invalid `insert_line` parameter: 9. It should be within the range [0, 3].",
                          path="/memories/infra/staging-db.md", insert_line=9, insert_text="x")

            # rename and delete, with their errors.
            await ok("memory_create", path="/memories/inbox/lunch.md", file_text="Team lunch is at noon on Fridays.")
            await ok("memory_rename", "Successfully renamed /memories/inbox/lunch.md to /memories/team/lunch.md",
                     old_path="/memories/inbox/lunch.md", new_path="/memories/team/lunch.md")
            await refused("memory_rename", "The path /memories/inbox/lunch.md does not exist",
                          old_path="/memories/inbox/lunch.md", new_path="/memories/x.md")
            await refused("memory_rename", "The destination /memories/team/lunch.md already exists",
                          old_path="/memories/infra/staging-db.md", new_path="/memories/team/lunch.md")
            await ok("memory_create", path="/memories/scratch/a.md", file_text="temporary")
            await ok("memory_delete", "Successfully deleted /memories/scratch", path="/memories/scratch")
            await refused("memory_delete", "The path /memories/scratch does not exist", path="/memories/scratch")
            await refused("memory_delete", "Cannot delete the /memories directory itself", path="/memories")

            # Search ranks by meaning.
            await ok("memory_create", path="/memories/ci/runner.md",
                     file_text="Continuous integration runs on the self-hosted runner in the basement.")
            await ok("memory_create", path="/memories/preferences/indentation.md",
                     file_text="Ana prefers tabs over spaces for indentation in Go code.")
            text = await ok("memory_search", query="which port does the staging database listen on", k=2)
            lines = text.splitlines()
            check(len(lines) == 3, "two hits and a header", text)
            check(lines[1].split("\t")[1] == "/memories/infra/staging-db.md", "best hit for the database", text)
            text = await ok("memory_search", query="does Ana like tabs or spaces", k=1)
            check("\t/memories/preferences/indentation.md\t" in text, "best hit for indentation", text)
            if EMBEDDER == "minilm":
                # No shared words: only a model of meaning finds it.
                text = await ok("memory_search", query="Where do we eat together at midday?", k=1)
                check("\t/memories/team/lunch.md\t" in text, "paraphrase found by meaning", text)
            await refused("memory_search", "needs `query`")

            # Another process writes while the server runs: it gets the lock at
            # once, and the server's next read sees the write.
            started = time.monotonic()
            put = dreamwork("put", STORE, "/team/oncall.md", stdin=b"Bob is on call this week.")
            check(put.returncode == 0, "dreamwork put while the server runs", put.stderr.decode())
            check(time.monotonic() - started < 5, "put did not wait for the server")
            await ok("memory_view", "Bob is on call this week.", path="/memories/team/oncall.md")
            text = await ok("memory_search", query="who is on call", k=1)
            check("\t/memories/team/oncall.md\t" in text, "search sees the other process's write", text)

            # A dream runs while the server serves and writes.
            out = WORK / "dream-out"
            dream = subprocess.Popen([BIN, "dream", STORE, "--out", str(out), "--embedder", EMBEDDER],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            await ok("memory_view", path="/memories")
            await ok("memory_create", path="/memories/notes/during-dream.md", file_text="Written while dreaming.")
            stdout, stderr = dream.communicate(timeout=300)
            check(dream.returncode == 0, "dream while the server runs", stderr.decode())
            check((out / "dream" / "report.json").exists(), "the dream wrote its report")
            await ok("memory_view", "Written while dreaming.", path="/memories/notes/during-dream.md")

            # A dream with no writes during it is accepted; the server then
            # serves the accepted store, where an exact copy was merged away.
            original = await ok("memory_view", path="/memories/infra/staging-db.md")
            content = "\n".join(line.split("\t", 1)[1] for line in original.splitlines()[1:])
            await ok("memory_create", path="/memories/notes/db-copy.md", file_text=content)
            out2 = WORK / "dream-out-2"
            dream = dreamwork("dream", STORE, "--out", str(out2), "--embedder", EMBEDDER)
            check(dream.returncode == 0, "second dream", dream.stderr.decode())
            accept = dreamwork("accept", STORE, str(out2))
            check(accept.returncode == 0, "accept while the server runs", accept.stderr.decode())
            kept = []
            for path in ["/memories/infra/staging-db.md", "/memories/notes/db-copy.md"]:
                is_error, _ = await call("memory_view", path=path)
                if not is_error:
                    kept.append(path)
            check(len(kept) == 1, "the server sees the accepted store (the copy merged)", kept)
            await ok("memory_str_replace", path=kept[0], old_str="6543", new_str="7654")
            get = dreamwork("get", STORE, kept[0][len("/memories"):])
            check("port 7654" in get.stdout.decode(), "the server wrote the accepted store",
                  get.stdout.decode() + get.stderr.decode())

    print(f"mcp client ({EMBEDDER}): all {checks} checks held")


asyncio.run(main())
