"""An HTTP fuzzer of ``rookdb serve`` (issue 12 §2): bad input is a 4xx in RavenDB's error shape,
never a 5xx.

A real ``rookdb serve`` process on loopback, on SQLite files and on PostgreSQL, gets requests
made for every route the server implements (``rookdb.server.routes.ROUTES``): first a plausible
request for the route, then, most of the time, hostile mutations of its method, path, query
string, headers or body (Unicode digits and 65-bit numbers where counts go, control characters
and huge strings where ids, tags and collection names go, JSON nested to the limits and past
them, broken bodies). About one request in four is left valid, so that documents exist for the
reads and queries to encode. Every answer must be below 500 (or the 501 of a route outside the
subset, in RavenDB's shape), and every error must carry RavenDB's body (``Type``, ``Message``).

Bounded in count and in time: ``make test`` sends ``REQUESTS`` per backend, ``ROOKDB_FULL=1``
many more. The generator is seeded (``ROOKDB_FUZZ_SEED``), so a failure can be replayed; each
failure names the request that caused it.
"""

from __future__ import annotations

import dataclasses
import os
import random
import socket
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from rookdb.server.routes import ROUTES
from rookdb.testing.backends import serve_on

FULL = os.environ.get("ROOKDB_FULL") == "1"
REQUESTS = 20_000 if FULL else 2_500  # per backend
SECONDS = 900.0 if FULL else 20.0  # per backend, whichever bound comes first
SEED = int(os.environ.get("ROOKDB_FUZZ_SEED", "12"))

Report = Callable[[str], None]


@dataclasses.dataclass
class Probe:
    """One request: ``target`` is the path and query string as sent (already encoded)."""

    route: str
    method: str
    path: str
    query: list[tuple[str, str | bytes]]
    headers: dict[str, bytes]
    body: bytes | None

    @property
    def target(self) -> str:
        return self.path + ("?" + _encode_query(self.query) if self.query else "")

    def __str__(self) -> str:
        body = "" if self.body is None else f" body[{len(self.body)}]={self.body[:160]!r}"
        return f"{self.method} {self.target[:300]}{body} headers={self.headers}"


def _encode_query(pairs: list[tuple[str, str | bytes]]) -> str:
    return "&".join(
        f"{urllib.parse.quote(k, safe='')}={urllib.parse.quote(v, safe='')}" for k, v in pairs
    )


# -- hostile values ---------------------------------------------------------------------------

DATABASES = ["fuzz", "Fuzz", "fuzz-2"]  # a few, so reads find what writes left
BAD_DATABASES = [
    "", ".", "..", ".hidden", "a" * 129, "%00", "a%00b", "%2e%2e", "a%2Fb", "%C2%B2",
    "%ED%A0%80", "%FF", "%C3%A9", "a%20b", "a%0Ab", "*",
]  # fmt: skip
COUNTS = [
    "0", "1", "25", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "1_000", "\u00b2", "\u0663",
    "\u0661\u0662", "\U0001d7d9", "\u216b", "9" * 18, "9" * 19, str(2**63 - 1), str(2**63),
    str(2**64), "9" * 100, "9" * 5000, "", "abc", "\x00", "1\x00", "NaN", "Infinity",
]  # fmt: skip
TEXTS = [
    "users/1", "users/1-A", "Users/1-a", "", "/", "/a", "a" * 512, "a" * 513, "\u00e9" * 257,
    "a\x00b", "\x00", "\x01", "a\nb", "\x7f", "\x85", "\u2028", "\ufeff", "%", "*", "a'b", '"',
    "\\", "\U0001f980", "\u216b", " ", "a" * 5000, "users/", "users|", "@empty", "@metadata",
]  # fmt: skip
INVALID_UTF8 = [b"\xed\xa0\x80", b"\xff", b"a\xc3", b"\xc0\xaf"]
NUMBERS = [
    b"0", b"-0", b"1.5", b"-1", b"9223372036854775807", b"-9223372036854775808",
    b"9223372036854775808", b"18446744073709551616", b"1" + b"0" * 400, b"1e400", b"-1e400",
    b"1e-400", b"NaN", b"Infinity", b"0.1e1", b"1E2",
]  # fmt: skip
DEPTHS = [1, 2, 50, 126, 127, 128, 129, 130, 253, 254, 255, 256, 300, 999, 1000, 1021, 1022,
          1024, 1025, 5000]  # fmt: skip
FIELDS = ["name", "n", "Manager", "a.b", "tags[]", "x", "@metadata.@collection", "id()", "Name"]
RQL = [
    "from Fuzz",
    "from @empty",
    "from Fuzz where name = $p",
    "from Fuzz where n > $p order by n desc",
    "from Fuzz where n between 1 and 10 order by name",
    "from Fuzz where name in ($p, 'a') or n = 1",
    "from Fuzz where startsWith(name, 'a') and not exists(x)",
    "from Fuzz where search(name, 'a b')",
    "from Fuzz where regex(name, '^a')",
    "from Fuzz where tags[] = 'a'",
    "from Fuzz select name, n",
    "from Fuzz select distinct name",
    "from Fuzz include Manager",
    "from Fuzz where id() = 'fuzz/1'",
    "from Fuzz limit 5 offset 2",
    "from Fuzz limit 2, 5",
    "from Fuzz order by n as long desc",
]


def _deep(rng: random.Random, depth: int | None = None) -> bytes:
    depth = rng.choice(DEPTHS) if depth is None else depth
    if rng.random() < 0.5:
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def _text(rng: random.Random) -> str:
    return rng.choice(TEXTS)


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value, sometimes one orjson would not write itself (a ``Fragment``)."""
    roll = rng.random()
    if roll < 0.08:
        return orjson.Fragment(_deep(rng))
    if roll < 0.16:
        return orjson.Fragment(rng.choice(NUMBERS))
    if depth < 3 and roll < 0.35:
        return [_json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if depth < 3 and roll < 0.5:
        return {_text(rng): _json_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return rng.choice(
        [None, True, False, 0, 1, -1, 1.5, 2**63 - 1, -(2**63), "a", "", _text(rng), [], {}]
    )


# -- plausible requests, one maker per route ---------------------------------------------------


def _document(rng: random.Random) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": rng.choice(["a", "b", "ab", _text(rng)]),
        "n": rng.randrange(20),
    }
    if rng.random() < 0.3:
        document["tags"] = ["a", "b"]
    if rng.random() < 0.2:
        document["Manager"] = f"fuzz/{rng.randrange(5)}"
    if rng.random() < 0.15:  # deep, but within what a document may be
        document["deep"] = orjson.Fragment(_deep(rng, rng.choice([10, 100, 250])))
    if rng.random() < 0.2:
        document["x"] = _json_value(rng)
    collection: Any = rng.choice(["Fuzz", "Fuzz", "Others", "fuzz"])
    document["@metadata"] = {"@collection": collection}
    return document


def _command(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["PUT", "PUT", "PUT", "DELETE", "ReadCheck", "Counters"])
    command: dict[str, Any] = {"Type": kind, "Id": f"fuzz/{rng.randrange(8)}", "ChangeVector": None}
    if kind == "PUT":
        command["Document"] = _document(rng)
    if kind == "Counters":
        command["Counters"] = _counter_operations(rng, command["Id"])
    return command


def _counter_operations(rng: random.Random, document_id: str) -> dict[str, Any]:
    """A ``DocumentCountersOperation``: increments (deltas to the edges of 64 bits and past
    them), deletes and gets of a few names, some of them bad."""
    operations = [
        {
            "Type": rng.choice(["Increment", "Increment", "Delete", "Get", "Put", None]),
            "CounterName": rng.choice(["likes", "Likes", "views", "", None, 5, _text(rng)]),
            "Delta": rng.choice([1, -1, 0, 2**63 - 1, -(2**63), 2**63, 1.5, "1", None]),
        }
        for _ in range(rng.randrange(0, 4))
    ]
    return {"DocumentId": document_id, "Operations": operations}


def _docs(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    if rng.random() < 0.3:
        q += [("startsWith", rng.choice(["fuzz/", "", "Fuzz"])), ("start", "0"), ("pageSize", "10")]
        return None
    ids = [f"fuzz/{rng.randrange(8)}" for _ in range(rng.randrange(1, 4))]
    if rng.random() < 0.3:
        q += [("include", rng.choice(FIELDS))]
    if rng.random() < 0.5:
        return orjson.dumps({"Ids": ids})
    q += [("id", i) for i in ids]
    return None


def _write_document(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q.append(("id", f"fuzz/{rng.randrange(8)}"))
    return orjson.dumps(_document(rng))  # PUT's document (DELETE ignores a body)


def _bulk_docs(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    commands = [_command(rng) for _ in range(rng.randrange(1, 5))]
    if rng.random() < 0.3:  # a batch with attachments: multipart, as RavenDB's client sends
        streams = []
        for _ in range(rng.randrange(1, 3)):
            commands.append(_attachment_command(rng))
            if commands[-1]["Type"] == "AttachmentPUT":
                streams.append(rng.choice([b"", b"abc", bytes(range(256)) * 10, b"\r\n--x"]))
        if rng.random() < 0.2:
            streams.append(b"one too many")
        return _multipart(rng, [orjson.dumps({"Commands": commands}), *streams])
    return orjson.dumps({"Commands": commands})


def _attachment_command(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["AttachmentPUT", "AttachmentDELETE", "AttachmentCOPY", "AttachmentMOVE"])
    command: dict[str, Any] = {
        "Type": kind,
        "Id": rng.choice(["fuzz/1", "fuzz/2", "missing/1", _text(rng)]),
        "Name": rng.choice(["a.txt", "B.TXT", "", " ", _text(rng), None, 5]),
        "ChangeVector": rng.choice([None, None, "", "A:1-x", _text(rng)]),
    }
    if kind == "AttachmentPUT":
        command["ContentType"] = rng.choice(["text/plain", "", None, 7, _text(rng)])
    elif kind != "AttachmentDELETE":
        command["DestinationId"] = rng.choice(["fuzz/1", "fuzz/3", _text(rng), None])
        command["DestinationName"] = rng.choice(["c.txt", "a.txt", "", _text(rng)])
    return command


#: The multipart bodies made, by id(), and their content types (``probes`` sends them).
_MULTIPART: dict[int, bytes] = {}


def _multipart(rng: random.Random, parts: list[bytes]) -> bytes:
    boundary = rng.choice([b"fuzzboundary", b"x", b"--", "é".encode()])
    body = b"".join(
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="p"\r\n\r\n' + part + b"\r\n"
        for part in parts
    )
    body += rng.choice([b"--" + boundary + b"--\r\n", b"", b"--" + boundary])
    _MULTIPART.clear()
    _MULTIPART[id(body)] = b"multipart/form-data; boundary=" + boundary
    return body


def _attachment(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q.append(("id", rng.choice(["fuzz/1", "fuzz/2", "missing/1", _text(rng)])))
    q.append(("name", rng.choice(["a.txt", "B.TXT", "", _text(rng)])))
    if rng.random() < 0.5:
        q.append(("contentType", rng.choice(["text/plain", "", _text(rng)])))
    content = rng.choice([b"", b"hello", bytes(range(256)) * 50])
    if rng.random() < 0.3:
        return _multipart(rng, [content])
    return content


def _query_body(rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Query": rng.choice(RQL),
        "QueryParameters": {"p": rng.choice([1, "a", 5])},
    }
    if rng.random() < 0.3:
        body["Start"], body["PageSize"] = rng.randrange(5), rng.randrange(1, 50)
    return body


def _queries(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    return orjson.dumps(_query_body(rng))


def _by_query(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    # PATCH /queries wraps the query ({"Query": {...}} ending in update { }); DELETE sends it.
    body = _query_body(rng)
    if rng.random() < 0.5:
        script = rng.choice(["this.f = 1;", "this.a.b = 1;", "", "}", "put('x/1', {});"])
        body["Query"] = f"{body['Query']} update {{ {script} }}"
        return orjson.dumps({"Query": body})
    return orjson.dumps(body)


def _stream(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    # GET reads the query string, POST (RavenDB 7.x clients) the body: both are made.
    q.append(
        ("query", rng.choice(["from Fuzz", "from @empty", "from Others", "from Fuzz where n = 1"]))
    )
    if rng.random() < 0.5:
        q.append(("format", "jsonl"))
    return orjson.dumps(_query_body(rng))


def _stream_docs(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q.append(("startsWith", rng.choice(["fuzz/", "", "Fuzz", "others/"])))
    for name, values in (
        ("matches", ["*", "1|2", "?", "a*b"]),
        ("exclude", ["3", "*"]),
        ("startAfter", ["fuzz/2", "fuzz/"]),
        ("start", ["0", "2"]),
        ("pageSize", ["1", "10"]),
        ("format", ["jsonl"]),
    ):
        if rng.random() < 0.3:
            q.append((name, rng.choice(values)))
    return None


def _bulk_insert(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    if rng.random() < 0.7:
        q += [("id", str(rng.randrange(1, 50))), ("skipOverwriteIfUnchanged", "false")]
    commands = []
    for _ in range(rng.randrange(0, 5)):
        command = _command(rng)
        command["Type"] = "PUT"
        command.pop("ChangeVector")
        command.setdefault("Document", _document(rng))
        commands.append(command)
    if rng.random() < 0.3:  # an attachment: its ContentLength raw bytes follow it
        content = rng.choice([b"", b"abc", b"]", b'{"x":1}', bytes(range(256))])
        length = rng.choice([len(content), len(content), len(content) + 5, -1, "7", None])
        header = {
            "Id": rng.choice(["fuzz/1", "missing/1", "", _text(rng)]),
            "Type": "AttachmentPUT",
            "Name": rng.choice(["a.bin", "", _text(rng)]),
            "ContentLength": length,
        }
        body = orjson.dumps(commands)[:-1] + (b"," if commands else b"")
        return body + orjson.dumps(header) + content + rng.choice([b"]", b""])
    return orjson.dumps(commands)


def _operation(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q.append(("id", str(rng.randrange(1, 50))))
    return None


def _hilo_next(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q.append(("tag", rng.choice(["fuzz", "Fuzz", "users"])))
    if rng.random() < 0.5:
        q.append(("capacity", str(rng.randrange(1, 100))))
    else:
        q += [("lastBatchSize", str(rng.randrange(64))), ("identityPartsSeparator", "/")]
    return None


def _hilo_return(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    last = rng.randrange(100)
    q += [("tag", "fuzz"), ("last", str(last)), ("end", str(last + rng.randrange(50)))]
    return None


def _nothing(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    return None


def _topology(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    if rng.random() < 0.7:
        q.append(("name", rng.choice(DATABASES)))
    return None


def _list_databases(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q += [("start", "0"), ("pageSize", str(rng.randrange(1, 100))), ("namesOnly", "true")]
    return None


def _admin_databases(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    name = rng.choice([*DATABASES, "fuzz-new"])
    if rng.random() < 0.5:
        q.append(("name", name))
        return None
    return orjson.dumps({"DatabaseName": name, "DatabaseNames": [name], "HardDelete": True})


def _multi_get(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    requests: list[dict[str, Any]] = []
    for _ in range(rng.randrange(1, 5)):
        kind = rng.random()
        if kind < 0.4:
            query: list[tuple[str, str | bytes]] = []
            body = _docs(rng, query)
            requests.append(
                {
                    "Url": "/docs",
                    "Query": "?" + _encode_query(query),
                    "Method": "POST" if body is not None else "GET",
                    "Content": orjson.loads(body) if body is not None else None,
                }
            )
        elif kind < 0.6:
            patterns = [
                ("startsWith", "fuzz/"),
                ("matches", rng.choice(["*", "1|2", "?", "", _text(rng)])),
                ("exclude", rng.choice(["", "3*", _text(rng)])),
                ("startAfter", rng.choice(["", "fuzz/2", _text(rng)])),
            ]
            requests.append({"Url": "/docs", "Query": "?" + _encode_query(patterns)})
        else:
            requests.append({"Url": "/queries", "Method": "POST", "Content": _query_body(rng)})
    return orjson.dumps({"Requests": requests})


def _identity_next(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q.append(("name", rng.choice(["users", "Users|", "fuzz|", _text(rng)])))
    return None


def _identity_seed(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q += [("name", rng.choice(["users", "fuzz|"])), ("value", str(rng.randrange(10**6)))]
    if rng.random() < 0.5:
        q.append(("force", rng.choice(["true", "false"])))
    return None


def _client_configuration_put(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    return orjson.dumps(
        {
            "Etag": rng.randrange(100),
            "Disabled": rng.random() < 0.5,
            "MaxNumberOfRequestsPerSession": rng.choice([None, 30, 1000]),
            "IdentityPartsSeparator": rng.choice([None, "/", "-"]),
            "ReadBalanceBehavior": rng.choice([None, "None", "RoundRobin"]),
        }
    )


def _json_patch(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q.append(("id", rng.choice(["users/1", "users/2", _text(rng)])))
    operation = rng.choice(
        [
            {"op": "add", "path": "/name", "value": _json_value(rng)},
            {"op": "replace", "path": "/" + _text(rng), "value": 1},
            {"op": "remove", "path": "/name"},
            {"op": "test", "path": "/name", "value": "x"},
            {"op": rng.choice(["move", "copy"]), "from": "/name", "path": "/other"},
        ]
    )
    return orjson.dumps({"Operations": [operation]})


def _configure_revisions(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    collection = {
        "Disabled": rng.random() < 0.3,
        "MinimumRevisionsToKeep": rng.choice([None, 0, 2, -1, "x"]),
        "MinimumRevisionAgeToKeep": rng.choice([None, "1.00:00:00", "00:00:01", "soon", 5]),
        "PurgeOnDelete": rng.choice([False, True, None, 1]),
    }
    names = rng.choice([["users"], ["users", "USERS"], [_text(rng)], []])
    return orjson.dumps(
        {"Default": rng.choice([None, collection]), "Collections": dict.fromkeys(names, collection)}
    )


def _revisions(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    if rng.random() < 0.3:
        for _ in range(rng.randrange(1, 3)):
            q.append(("changeVector", rng.choice(["A:1-x", "", _text(rng)])))
        return None
    q.append(("id", rng.choice(["users/1", "users/2", _text(rng)])))
    if rng.random() < 0.5:
        q += [("start", str(rng.randrange(5))), ("pageSize", str(rng.randrange(30)))]
    if rng.random() < 0.3:
        q.append(("metadataOnly", "true"))
    if rng.random() < 0.3:  # by date: a time, a bad one, or the official client's "before<time>"
        moment = rng.choice(["2020-01-01T00:00:00.0000000", "0001-01-01T00:00:00+05:00", "x"])
        q.append(("before", moment) if rng.random() < 0.5 else ("before" + moment, ""))
    return None


def _revisions_count(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q.append(("id", rng.choice(["users/1", _text(rng)])))
    return None


def _counters(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    q.append(("docId", rng.choice(["fuzz/1", "fuzz/2", "FUZZ/1", _text(rng)])))
    for _ in range(rng.randrange(0, 3)):
        q.append(("counter", rng.choice(["likes", "LIKES", "views", "", _text(rng)])))
    return None


def _counter_batch(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    documents = [
        _counter_operations(rng, rng.choice(["fuzz/1", "fuzz/2", "fuzz/404", "fuzz/", ""]))
        for _ in range(rng.randrange(0, 3))
    ]
    return orjson.dumps({"ReplyWithAllNodesValues": False, "Documents": documents})


def _revisions_bin(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    if rng.random() < 0.7:
        q += [("start", rng.choice(["0", "3", "-1", "x"])), ("pageSize", str(rng.randrange(30)))]
    return None


def _revisions_config(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    return None


def _import_revisions(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    metadata = {
        "@id": rng.choice(["users/1", "users/", _text(rng), 5]),
        "@collection": rng.choice(["Users", "", None]),
        "@change-vector": rng.choice(["A:1-imported", "", "a\x00b", _text(rng), None]),
        "@last-modified": rng.choice(["2020-01-01T00:00:00.0000000Z", "x", 3]),
        "@flags": rng.choice(["HasRevisions, Revision", "HasRevisions, DeleteRevision", "x"]),
    }
    revision = {"name": _text(rng), "@metadata": metadata}
    return orjson.dumps({"Revisions": rng.choice([[revision], [revision, revision], {}, [5]])})


_MAPS = [
    "from o in docs.Orders select new { o.Company, Count = 1 }",
    "from o in docs.Orders select new { Total = o.Total / 2 }",
    "from o in docs.Orders let c = LoadDocument(o.Company) select new { c.Name }",
    "map('Orders', o => ({ Company: o.Company }))",
    "from o in docs.Orders select o.Foo(",
    "from o in docs.Orders select new { o.Company }" * 200,
]
_REDUCES = [
    None,
    "from r in results group r by r.Company into g select new { Company = g.Key, "
    "Count = g.Sum(x => x.Count) }",
    "from r in results select r",
]


def _put_indexes(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    definition: dict[str, Any] = {
        "Name": rng.choice(["Orders/ByCompany", "Auto/x", "", _text(rng), None, 5]),
        "Maps": rng.choice([[rng.choice(_MAPS)], [], [5], "x", None]),
        "Reduce": rng.choice(_REDUCES),
        "Fields": rng.choice(
            [{}, {"Company": {"Indexing": "Search", "Storage": "Yes"}}, {"x": 5}, [1]]
        ),
    }
    if rng.random() < 0.2:
        definition[rng.choice(["Priority", "LockMode", "State", "IndexType"])] = _text(rng)
    return orjson.dumps({"Indexes": rng.choice([[definition], [definition, definition], {}, 5])})


def _indexes(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    choice = rng.random()
    if choice < 0.4:
        q.append(("name", rng.choice(["Orders/ByCompany", "nope", _text(rng)])))
    elif choice < 0.8:
        q += [("start", rng.choice(["0", "1", "-1", "x"])), ("pageSize", str(rng.randrange(30)))]
        if rng.random() < 0.5:
            q.append(("namesOnly", rng.choice(["true", "false", "x"])))
    else:  # the official client's GetIndexesOperation: "&pageSize25 " without "="
        q += [("start", "0"), ("pageSize" + str(rng.randrange(30)) + " ", "")]
    return None


def _index_statistics(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    if rng.random() < 0.6:
        q.append(("name", rng.choice(["Orders/ByCompany", "nope", _text(rng)])))
    return None


def _index_errors(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    for _ in range(rng.randrange(3)):
        q.append(("name", rng.choice(["Orders/ByCompany", "nope", _text(rng)])))
    return None


def _index_names(rng: random.Random) -> Any:
    return rng.choice(
        [["Orders/ByCompany"], ["nope"], [_text(rng)], [], "Orders/ByCompany", [5], None]
    )


def _set_index_lock(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    mode = rng.choice(["Unlock", "LockedIgnore", "LockedError", "Side", _text(rng), 3, None])
    return orjson.dumps({"IndexNames": _index_names(rng), "Mode": mode})


def _set_index_priority(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    priority = rng.choice(["Low", "Normal", "High", "Urgent", _text(rng), 1, None])
    return orjson.dumps({"IndexNames": _index_names(rng), "Priority": priority})


def _index_has_changed(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    definition = {
        "Name": rng.choice(["Orders/ByCompany", "", None, 5]),
        "Maps": [rng.choice(_MAPS)],
    }
    return orjson.dumps(rng.choice([definition, [definition], {}, "x"]))


def _index_terms(rng: random.Random, q: list[tuple[str, str | bytes]]) -> bytes | None:
    _index_statistics(rng, q)
    if rng.random() < 0.8:
        q.append(("field", rng.choice(["Company", "Count", "", _text(rng)])))
    if rng.random() < 0.4:
        q.append(("fromValue", _text(rng)))
    if rng.random() < 0.4:
        q.append(("pageSize", rng.choice(["0", "10", "-1", "x", "99999999999"])))
    return None


MAKERS: dict[str, Callable[[random.Random, list[tuple[str, str | bytes]]], bytes | None]] = {
    "docs": _docs,
    "write_document": _write_document,
    "bulk_docs": _bulk_docs,
    "queries": _queries,
    "queries_by_query": _by_query,
    "stream_query": _stream,
    "stream_docs": _stream_docs,
    "bulk_insert": _bulk_insert,
    "next_operation_id": _nothing,
    "operation_state": _operation,
    "kill_operation": _operation,
    "hilo_next": _hilo_next,
    "hilo_return": _hilo_return,
    "stats": _nothing,
    "detailed_stats": _nothing,
    "collection_stats": _nothing,
    "client_configuration": _nothing,
    "topology": _topology,
    "cluster_topology": _nothing,
    "list_databases": _list_databases,
    "admin_databases": _admin_databases,
    "multi_get": _multi_get,
    "identity_next": _identity_next,
    "identity_seed": _identity_seed,
    "identities": _nothing,
    "put_client_configuration": _client_configuration_put,
    "server_client_configuration": _nothing,
    "put_server_client_configuration": _client_configuration_put,
    "json_patch": _json_patch,
    "configure_revisions": _configure_revisions,
    "revisions": _revisions,
    "revisions_count": _revisions_count,
    "counters": _counters,
    "counter_batch": _counter_batch,
    "attachment": _attachment,
    "revisions_bin": _revisions_bin,
    "revisions_config": _revisions_config,
    "import_revisions": _import_revisions,
    "put_indexes": _put_indexes,
    "indexes": _indexes,
    "index_statistics": _index_statistics,
    "index_errors": _index_errors,
    "set_index_lock": _set_index_lock,
    "set_index_priority": _set_index_priority,
    "index_has_changed": _index_has_changed,
    "index_terms": _index_terms,
    "indexing_status": _nothing,
    "stop_indexing": _index_statistics,  # an optional name: one index, or all of them
    "start_indexing": _index_statistics,
    "disable_index": _index_statistics,
    "enable_index": _index_statistics,
}

#: Query-string parameters the routes read, for mutations to aim at.
PARAMETERS = [
    "id", "include", "startsWith", "start", "pageSize", "tag", "capacity", "lastBatchSize",
    "last", "end", "identityPartsSeparator", "name", "query", "namesOnly", "metadataOnly",
    "format", "matches", "exclude", "startAfter", "skipOverwriteIfUnchanged", "value", "force",
    "changeVector", "contentType", "docId", "counter", "field", "fromValue",
]  # fmt: skip


# -- mutations ----------------------------------------------------------------------------------


def _mutate_method(rng: random.Random, probe: Probe) -> None:
    probe.method = rng.choice(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FOO"])


def _mutate_path(rng: random.Random, probe: Probe) -> None:
    how = rng.randrange(5)
    if how == 0 and probe.path.startswith("/databases/") and probe.path.count("/") > 2:
        rest = probe.path.split("/", 3)[3]
        probe.path = "/databases/" + rng.choice(BAD_DATABASES) + "/" + rest
    elif how == 1:
        probe.path += rng.choice(["/", "/x", "%00", "/..", "//"])
    elif how == 2:
        probe.path = probe.path.upper()
    elif how == 3:
        probe.path = probe.path.replace("/", "//", 1)
    else:
        probe.path = "/" + rng.choice(["", "databases", "admin", "studio", "%ff", "a" * 3000])


def _mutate_query(rng: random.Random, probe: Probe) -> None:
    how = rng.randrange(5)
    if how == 0 and probe.query:
        probe.query.pop(rng.randrange(len(probe.query)))
    elif how == 1 and probe.query:
        probe.query.append(rng.choice(probe.query))
    elif how == 2:
        name = rng.choice(PARAMETERS)
        probe.query.append((name, rng.choice(COUNTS + TEXTS)))
    elif how == 3 and probe.query:
        i = rng.randrange(len(probe.query))
        name = probe.query[i][0]
        value: str | bytes = rng.choice(COUNTS + TEXTS)
        if rng.random() < 0.2:
            value = rng.choice(INVALID_UTF8)
        elif name == "query":
            value = rng.choice(RQL) + rng.choice(["", " limit " + rng.choice(COUNTS), " where"])
        probe.query[i] = (name, value)
    else:
        probe.query.append((rng.choice(TEXTS), rng.choice(COUNTS)))


def _mutate_headers(rng: random.Random, probe: Probe) -> None:
    name = rng.choice(["accept", "content-type", "authorization", "x-fuzz", "accept-encoding"])
    probe.headers[name] = rng.choice(
        [
            b"application/vnd.rookdb.records+json",
            b"application/json",
            b"Bearer " + b"k" * 20,
            b"Bearer",
            b"\xff\xfe",
            b"gzip, br",
            b"a" * 2000,
            b"",
        ]
    )


def _mutate_body(rng: random.Random, probe: Probe) -> None:
    body = probe.body if probe.body is not None else b""
    how = rng.randrange(9)
    if how == 0 and body:
        probe.body = body[: rng.randrange(len(body))]
    elif how == 1 and body:
        i = rng.randrange(len(body))
        probe.body = body[:i] + rng.choice([*INVALID_UTF8, b"\x00", b"{", b"]", b'"']) + body[i:]
    elif how == 2:
        probe.body = orjson.dumps(_json_value(rng))
    elif how == 3:
        probe.body = _deep(rng)
    else:
        probe.body = orjson.dumps(_hostile_structure(rng, probe.route))


def _hostile_structure(rng: random.Random, route: str) -> Any:
    """A body of the route's shape with one part made hostile."""
    if route == "bulk_insert":  # a bulk_docs command made hostile, in a bulk insert's array
        return _hostile_structure(rng, "bulk_docs")["Commands"]
    if route == "bulk_docs":
        command = _command(rng)
        field = rng.choice(["Type", "Id", "ChangeVector", "Document", "Collection", "@collection"])
        value = _json_value(rng) if rng.random() < 0.4 else _text(rng)
        if field == "@collection":
            command.setdefault("Document", _document(rng))
            command["Type"] = "PUT"
            command["Document"]["@metadata"] = rng.choice(
                [{"@collection": value}, {"@collection": "c" * 300_000}, value]
            )
        elif field == "Document":
            command["Type"], command["Document"] = "PUT", {"deep": orjson.Fragment(_deep(rng))}
        else:
            command[field] = value
        return {"Commands": [_command(rng), command]}
    if route == "queries":
        body = _query_body(rng)
        field = rng.choice(["Query", "QueryParameters", "Start", "PageSize", "p"])
        if field == "Query":
            body["Query"] = rng.choice(
                [
                    rng.choice(RQL) + " limit " + rng.choice(COUNTS),
                    rng.choice(RQL) + " offset " + rng.choice(COUNTS),
                    "from Fuzz where " + "(" * 2000 + "a = 1" + ")" * 2000,
                    "from Fuzz where " + "not " * 2000 + "a = 1",
                    "from Fuzz where " + " or ".join(f"n = {i}" for i in range(1000)),
                    "from Fuzz where " + " and ".join(f"tags[] = {i}" for i in range(1200)),
                    "from Fuzz where n = " + "9" * rng.choice([20, 4301, 5000]),
                    "from Fuzz limit " + "9" * 5000,
                    "from Fuzz where " + ".".join(["a"] * 1000) + " = 1",
                    "from Fuzz where " + "a[]." * 127 + "a[] = 1",
                    "from Fuzz where " + "a." * 253 + "a in (1, 2)",
                    "from " + _text(rng),
                    rng.choice(RQL)[: rng.randrange(30)],
                    _text(rng),
                ]
            )
        elif field == "p":
            body["QueryParameters"] = {"p": _json_value(rng)}
        else:
            body[field] = (
                _json_value(rng) if rng.random() < 0.5 else orjson.Fragment(rng.choice(NUMBERS))
            )
        return body
    if route == "docs":
        return {"Ids": rng.choice([[_text(rng)], [_json_value(rng)], _json_value(rng)])}
    if route == "counter_batch":
        document = _counter_operations(rng, "fuzz/1")
        hostile = _json_value(rng) if rng.random() < 0.5 else _text(rng)
        field = rng.choice(["DocumentId", "Operations", "Type", "CounterName", "Delta"])
        if field in ("DocumentId", "Operations") or not document["Operations"]:
            document[field] = hostile
        else:
            document["Operations"][0][field] = hostile
        return {"Documents": rng.choice([[document], document, hostile])}
    if route == "admin_databases":
        value = rng.choice([_text(rng), _json_value(rng), "a" * 129, "."])
        return {"DatabaseName": value, "DatabaseNames": rng.choice([[value], value])}
    return _json_value(rng)


MUTATIONS = [_mutate_method, _mutate_path, _mutate_query, _mutate_query, _mutate_headers,
             _mutate_body, _mutate_body, _mutate_body]  # fmt: skip


def probes(rng: random.Random) -> Iterator[Probe]:
    """Requests without end: a plausible one for a random route, mutated three times in four."""
    while True:
        path, handler, methods = rng.choice(ROUTES)
        query: list[tuple[str, str | bytes]] = []
        body = MAKERS[handler](rng, query)
        method = rng.choice(methods)
        if method in ("GET", "HEAD") and handler == "docs" and body is not None:
            method = "POST"
        if method == "POST" and handler == "docs" and body is None:
            method = "GET"
        path = path.replace("{database}", rng.choice(DATABASES))
        headers = {}
        if body is not None and id(body) in _MULTIPART:
            headers["content-type"] = _MULTIPART.pop(id(body))
        probe = Probe(handler, method, path, query, headers, body)
        if rng.random() < 0.75:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                rng.choice(MUTATIONS)(rng, probe)
        yield probe


# -- sending and checking ----------------------------------------------------------------------


def _send(client: httpx.Client, base: str, probe: Probe) -> tuple[int, bytes]:
    """Send over httpx; a head httpx itself refuses to write goes over a raw socket."""
    try:
        response = client.request(
            probe.method, base + probe.target, content=probe.body, headers=probe.headers
        )
        return response.status_code, response.content
    except httpx.LocalProtocolError:
        return _send_raw(base, probe)


def _send_raw(base: str, probe: Probe) -> tuple[int, bytes]:
    host, port = urllib.parse.urlsplit(base).netloc.rsplit(":", 1)
    body = probe.body or b""
    head = f"{probe.method} {probe.target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n".encode()
    head += b"".join(k.encode() + b": " + v + b"\r\n" for k, v in probe.headers.items())
    head += b"content-length: %d\r\n\r\n" % len(body)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def problem(probe: Probe, status: int, content: bytes) -> str | None:
    """What is wrong with this answer, or None."""
    if status == 503 and b"DatabaseDoesNotExistException" in content:
        return None  # RavenDB's answer for a missing database (deleting one twice)
    if status >= 500 and status != 501:
        return f"HTTP {status}"
    if 300 <= status < 400:  # the server never redirects (not even "/databases/")
        return f"HTTP {status}"
    if status < 400 or probe.method == "HEAD":
        return None
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return f"HTTP {status} without a JSON body"
    if not (
        type(body) is dict
        and type(body.get("Type")) is str
        and body["Type"].startswith("Raven.Client.Exceptions.")
        and type(body.get("Message")) is str
    ):
        return f"HTTP {status} without RavenDB's error shape"
    if status == 501 and body["Type"] != "Raven.Client.Exceptions.NotSupportedException":
        return f"HTTP 501 that is not a NotSupportedException: {body['Message'][:100]}"
    return None


@dataclasses.dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    routes: Counter[str] = dataclasses.field(default_factory=Counter)
    problems: dict[str, tuple[int, Probe, bytes]] = dataclasses.field(default_factory=dict)

    def add(self, index: int, probe: Probe, status: int, content: bytes) -> None:
        self.requests += 1
        self.statuses[status] += 1
        self.routes[probe.route] += 1
        found = problem(probe, status, content)
        if found is not None:
            message = content[:120].decode(errors="replace")
            self.problems.setdefault(f"{probe.route}: {found}: {message}", (index, probe, content))


def fuzz(base: str, count: int, seconds: float, seed: int) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=60) as client:
        for index, probe in enumerate(probes(rng)):
            if index >= count or time.monotonic() > deadline:
                break
            status, content = _send(client, base, probe)
            tally.add(index, probe, status, content)
    return tally


# -- the tests --------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A ``rookdb serve`` process of its own, on SQLite files or in PostgreSQL schemas of its
    own (dropped afterwards): (backend name, base URL)."""
    with serve_on(request.param, tmp_path) as base:
        yield request.param, base


def test_every_route_has_a_request_maker() -> None:
    assert {handler for _, handler, _ in ROUTES} == set(MAKERS)


def test_hostile_requests_get_4xx_in_ravendb_shape(served: tuple[str, str], report: Report) -> None:
    name, base = served
    started = time.monotonic()
    tally = fuzz(base, REQUESTS, SECONDS, SEED)
    took = time.monotonic() - started
    assert httpx.get(f"{base}/topology").status_code == 200  # still serving
    fives = sum(n for s, n in tally.statuses.items() if s >= 500 and s not in (501, 503))
    report(
        f"http fuzzer ({name}): {tally.requests} requests over {len(tally.routes)} routes in "
        f"{took:.0f} s (seed {SEED}): {sum(n for s, n in tally.statuses.items() if s < 300)} 2xx, "
        f"{sum(n for s, n in tally.statuses.items() if 400 <= s < 500)} 4xx, "
        f"{tally.statuses[501]} 501 (routes outside the subset), {tally.statuses[503]} 503 "
        f"(a database that does not exist), {fives} other 5xx, "
        f"{len(tally.problems)} kinds of problem"
    )
    assert len(tally.routes) == len(ROUTES)
    assert not tally.problems, "\n\n".join(
        f"{kind}\n  request #{index}: {probe}" for kind, (index, probe, _) in tally.problems.items()
    )
