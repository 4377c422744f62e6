#!/usr/bin/env python3
"""A complete resolver for `dreamwork dream --resolver exec --resolver-cmd
"python3 examples/exec_resolver.py"`: in a cluster the newest memory stands;
a pattern is written as drafted, unless memories that may state it came too.
Swap `answer` for a call to your model: it gets the members' texts and the
excerpts; ids name them in the answer, and no "content" keeps a text."""
import json
import sys

table = {}  # "m1", "e1" -> the memory or excerpt line, sent once per dream


def answer(q):
    if "pattern" in q:
        if q.get("members") or "draft" not in q:
            return {"id": q["pattern"], "unresolved": True, "reason": "left for review"}
        d, sessions = q["draft"], sorted({table[e]["s"] for e in q["excerpts"]})
        out = {"path": d["path"], "sources": [], "action": "pattern", "kind": d["kind"], "sessions": sessions}
        return {"id": q["pattern"], "outputs": [out], "reason": "the drafted pattern stands"}
    newest = max(q["members"], key=lambda m: (table[m]["at"], table[m]["path"]))
    out = {"path": newest, "sources": q["members"], "action": "superseded"}
    return {"id": q["cluster"], "outputs": [out], "reason": "the most recently written memory stands"}


for line in sys.stdin:
    msg = json.loads(line)
    if "m" in msg or "e" in msg:
        table[msg.get("m") or msg.get("e")] = msg
    elif "cluster" in msg or "pattern" in msg:
        print(json.dumps(answer(msg)), flush=True)
