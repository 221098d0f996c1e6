"""Checks one benchmark query's answer before it is timed: a GraphQL answer with data and no
errors, of a plausible size (printed, to compare engines), so that the figures measure work done, not errors returned.

usage: check.py URL BODY_FILE QUERY [AUTH]  (prints a one-line summary; exits 1 if wrong)
"""

import json
import sys
import urllib.request

url, body_file, query = sys.argv[1:4]
auth = sys.argv[4] if len(sys.argv) > 4 else ""
headers = {"Content-Type": "application/json"}
if auth:
    headers["Authorization"] = auth
with open(body_file, "rb") as f:
    body = f.read()
raw = urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=60).read()
answer = json.loads(raw)
if answer.get("errors") or not answer.get("data"):
    sys.exit(f"{query}: {raw[:500]!r}")
data = next(iter(answer["data"].values()))


def nodes(value):
    """The first non-empty list found under `nodes` or `features` (or a bare list), depth first;
    an empty list when every list is empty."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in ("nodes", "features"):
            if isinstance(value.get(key), list):
                return value[key]
        empty = None
        for v in value.values():
            found = nodes(v)
            if found:
                return found
            if found is not None:
                empty = found
        return empty
    return None


if isinstance(data, str):  # a JSON scalar may come back as text
    data = json.loads(data)
rows = nodes(data) or []
# The page sizes asked for; a small dataset may hold fewer.
most = {"Q1": 50, "Q2": 7, "Q3": 100, "Q4": 500, "Q5": 20, "Q6": 12, "Q7": 500}[query]
if not 1 <= len(rows) <= most:
    sys.exit(f"{query}: expected 1 to {most} rows, got {len(rows)}: {raw[:300]!r}")
matched = data.get("numberMatched") if isinstance(data, dict) else None
extra = f", {matched} matched" if matched is not None else ""
print(f"{query}: {len(rows)} rows{extra}, {len(raw)} bytes")
