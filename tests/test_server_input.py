"""Bad input to ``rookdb serve`` is a 4xx with RavenDB's error body, never a 5xx (issue 12 §2),
on SQLite files and on PostgreSQL: nesting, counts in query strings, ids, HiLo tags and
collection names, ``HEAD``, credentials. ``test_http_fuzz`` looks for what these miss."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from rookdb.ids import MAX_HILO_TAG_BYTES
from rookdb.serialization.encoding import MAX_DEPTH
from rookdb.server.routes import ROUTES
from rookdb.testing.backends import serve_on, start_server

RAVEN = "Raven.Client.Exceptions."


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A ``rookdb serve`` process for this module, on SQLite files or in PostgreSQL schemas of
    its own (dropped afterwards)."""
    with serve_on(request.param, tmp_path_factory.mktemp(request.param)) as base:
        yield base


def _refused(answer: httpx.Response, status: int = 400) -> dict[str, Any]:
    """Assert a refusal in RavenDB's shape; its body."""
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    body = answer.json()
    assert body["Type"].startswith(RAVEN) and type(body["Message"]) is str
    return body


def _count(server: str, database: str) -> int:
    answer = httpx.get(f"{server}/databases/{database}/stats")
    assert answer.status_code == 200
    return int(answer.json()["CountOfDocuments"])


def _deep(depth: int, leaf: bytes = b"1") -> bytes:
    return b'{"a":' * depth + leaf + b"}" * depth


def _put(document: bytes, document_id: bytes = b"deep/1") -> bytes:
    return b'{"Commands":[{"Type":"PUT","Id":"' + document_id + b'","Document":' + document + b"}]}"


# -- nesting ------------------------------------------------------------------------------------

#: A body nested just inside what orjson parses (1,024 levels), with a 65-bit integer deep in
#: it: the strict re-parse of such a body used to recurse (RecursionError, a 500).
DEEPEST_BODY = _deep(1021, b"36893488147419103232")


@pytest.mark.parametrize(
    "body",
    [
        _put(_deep(1021)),  # 1,024 levels in all
        _put(_deep(1000, b"36893488147419103232")),
        _put(_deep(MAX_DEPTH + 1)),
        _put(b"[" * 1021 + b"]" * 1021),
        _put(_deep(1022)),  # past what orjson parses
        DEEPEST_BODY,
    ],
    ids=["1024-levels", "1000-levels-65-bit-int", "past-max-depth", "arrays", "1025", "bare"],
)
def test_a_body_nested_deep_is_400_and_writes_nothing(server: str, body: bytes) -> None:
    _refused(httpx.post(f"{server}/databases/nesting/bulk_docs", content=body))
    assert _count(server, "nesting") == 0


@pytest.mark.parametrize(
    ("method", "route", "body"),
    [
        ("POST", "docs", b'{"Ids":' + b"[" * 1000 + b"]" * 1000 + b"}"),
        (
            "POST",
            "queries",
            b'{"Query":"from x where a = $p","QueryParameters":{"p":' + _deep(1000) + b"}}",
        ),
        ("POST", "queries", b'{"Query":' + _deep(1000) + b"}"),
        ("PUT", "admin", b'{"DatabaseName":' + b"[" * 1020 + b"]" * 1020 + b"}"),
        ("DELETE", "admin", b'{"DatabaseNames":[' + b"[" * 1020 + b"]" * 1020 + b"]}"),
        ("DELETE", "admin", b'{"DatabaseNames":[' + DEEPEST_BODY[:-3] + b"]}"),
        ("POST", "admin/revisions/config", b"[" * 1000 + b"]" * 1000),
        ("POST", "admin/revisions/config", b'{"Default":' + b"[" * 1000 + b"]" * 1000 + b"}"),
        (
            "POST",
            "counters",
            b'{"Documents":[{"DocumentId":"a/1","Operations":[{"Type":"Increment",'
            b'"CounterName":' + b"[" * 1000 + b"]" * 1000 + b',"Delta":1}]}]}',
        ),
        (
            "PUT",
            "admin/configuration/client",
            b'{"MaxNumberOfRequestsPerSession":' + b"[" * 1000 + b"]" * 1000 + b"}",
        ),
        (
            "POST",
            "indexes/set-lock",
            b'{"IndexNames":["a"],"Mode":' + b"[" * 1000 + b"]" * 1000 + b"}",
        ),
        (
            "PUT",
            "server/admin/configuration/client",
            b'{"MaxNumberOfRequestsPerSession":' + b"[" * 1000 + b"]" * 1000 + b"}",
        ),
    ],
    ids=[
        "docs-ids",
        "query-parameter",
        "query-text",
        "create-database",
        "delete-database",
        "long-int",
        "revisions-configuration",
        "revisions-default",
        "counter-name",  # the error's message was a repr of the name: RecursionError
        "client-configuration",  # likewise
        "index-lock-mode",  # the enum's own message: the guard of every route answers it
        "server-client-configuration",
    ],
)
def test_every_body_nested_deep_is_4xx(server: str, method: str, route: str, body: bytes) -> None:
    if route == "admin":
        path = "/admin/databases"
    elif route.startswith("server/"):
        path = route.removeprefix("server")
    else:
        path = f"/databases/nesting/{route}"
    answer = httpx.request(method, server + path, content=body)
    assert 400 <= answer.status_code < 500, answer.text[:300]
    _refused(answer, answer.status_code)


def _values(depth: int) -> bytes:
    return b'{"v":' + b"[" * depth + b"1" + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 1015])
@pytest.mark.parametrize("route", ["patch", "bulk-patch", "patch-by-query"])
def test_a_script_value_nested_deep_is_400_and_writes_nothing(
    server: str, route: str, depth: int
) -> None:
    # A script's values were written out for the engine as they came: past 254 levels,
    # orjson's refusal was a 500.
    base = f"{server}/databases/scripts"
    document = {"n": 1, "@metadata": {"@collection": "Things"}}
    assert httpx.put(f"{base}/docs", params={"id": "things/1"}, json=document).status_code == 201
    patch = b'{"Script":"this.n = args.v","Values":' + _values(depth) + b"}"
    if route == "patch":
        answer = httpx.patch(
            f"{base}/docs", params={"id": "things/1"}, content=b'{"Patch":' + patch + b"}"
        )
    elif route == "bulk-patch":
        command = b'{"Type":"PATCH","Id":"things/1","Patch":' + patch + b"}"
        answer = httpx.post(f"{base}/bulk_docs", content=b'{"Commands":[' + command + b"]}")
    else:
        query = b'{"Query":"from Things update { this.n = $v; }","QueryParameters":'
        answer = httpx.patch(
            f"{base}/queries", content=b'{"Query":' + query + _values(depth) + b"}}"
        )
    _refused(answer)
    assert httpx.get(f"{base}/docs", params={"id": "things/1"}).json()["Results"][0]["n"] == 1


def test_a_document_at_the_depth_limit_is_stored_loaded_and_queried(server: str) -> None:
    # (a NUL at the bottom: PostgreSQL's jsonb copy of the document is cut there, a walk)
    document = {"name": "deep", "tree": orjson.loads(_deep(MAX_DEPTH - 1, b'"x\\u0000y"'))}
    document["@metadata"] = {"@collection": "Deeps"}
    written = httpx.post(
        f"{server}/databases/limit/bulk_docs",
        content=_put(orjson.dumps(document)[:-1] + b',"ref":"deep/1"}'),
    )
    assert written.status_code == 201, written.text[:300]
    records = {"accept": "application/vnd.rookdb.records+json"}
    for headers in ({}, records):
        answers = [
            httpx.get(f"{server}/databases/limit/docs", params={"id": "deep/1"}, headers=headers),
            httpx.get(
                f"{server}/databases/limit/docs",
                params={"id": "deep/1", "include": "ref"},
                headers=headers,
            ),
            httpx.get(
                f"{server}/databases/limit/docs",
                params={"startsWith": "deep/"},
                headers=headers,
            ),
            httpx.post(
                f"{server}/databases/limit/queries",
                content=orjson.dumps({"Query": "from Deeps where name = 'deep' include ref"}),
                headers=headers,
            ),
            httpx.post(
                f"{server}/databases/limit/queries",
                content=orjson.dumps({"Query": "from Deeps select tree, name"}),
                headers=headers,
            ),
            httpx.post(  # evaluated in Python on SQLite
                f"{server}/databases/limit/queries",
                content=orjson.dumps({"Query": "from Deeps where regex(name, '^de')"}),
                headers=headers,
            ),
            httpx.get(
                f"{server}/databases/limit/streams/queries",
                params={"query": "from Deeps"},
                headers=headers,
            ),
        ]
        for answer in answers:
            assert answer.status_code == 200, answer.text[:300]
            result = answer.json()["Results"][0]
            if "Data" in result:  # a record: the document's bytes as they were stored
                result = orjson.loads(result["Data"])
            assert result["tree"] == document["tree"]


#: 10 MB of a JSON string that is no path and no sort mode (the "!").
HUGE_STRING = b'"' + b"x" * 10_000_000 + b'!"'


@pytest.mark.parametrize(
    "value", [b"[" * 1000 + b"]" * 1000, HUGE_STRING], ids=["1000-levels", "10-MB-string"]
)
@pytest.mark.parametrize(
    ("route", "body", "named"),
    [
        (
            "queries",
            b'{"Query":"from Docs select facet(a, $o)",'
            b'"QueryParameters":{"o":{"TermSortMode":%s}}}',
            "unknown TermSortMode",
        ),
        (
            "bulk_docs",
            b'{"Commands":[{"Type":"PATCH","Id":"a/1","Patch":{"Script":"",'
            b'"RookdbOperations":[{"Op":"set","Path":%s,"Value":1}]}}]}',
            "a patch path is",
        ),
    ],
    ids=["facet-sort-mode", "patch-path"],
)
def test_a_bad_value_is_4xx_with_a_short_message_naming_it(
    server: str, route: str, body: bytes, named: str, value: bytes
) -> None:
    # The message showed the value whole: 10 MB of it, or, 1,000 levels deep, a RecursionError
    # (the route's guard answered the depth of the body, not what was wrong in it).
    answer = httpx.post(f"{server}/databases/shown/{route}", content=body % value, timeout=60)
    message = _refused(answer)["Message"]
    assert named in message and len(message) < 1000, message[:1000]


@pytest.mark.parametrize(
    "item", [b'{"Url": %s}', b'{"Url": "/docs", "Method": %s}'], ids=["url", "method"]
)
def test_a_multi_get_item_of_a_long_url_or_method_is_a_short_400(server: str, item: bytes) -> None:
    # The message named the method and the URL plain: 10 MB of either came back whole.
    body = b'{"Requests": [%s]}' % (item % HUGE_STRING)
    answer = httpx.post(f"{server}/databases/shown/multi_get", content=body, timeout=60)
    assert answer.status_code == 200, answer.text[:300]  # each item answers for itself
    (result,) = answer.json()["Results"]
    assert result["StatusCode"] == 400, str(result)[:300]
    message = result["Result"]["Message"]
    assert "multi_get serves GET/POST /docs" in message and len(message) < 1000, message[:1000]


# -- counts in query strings ------------------------------------------------------------------

BAD_COUNTS = ["\u00b2", "\u0661", "\U0001d7d9", "-1", "+1", " 1", "1.0", "1e3", "", "x",
              str(2**63), "9" * 30, "9" * 5000]  # fmt: skip
COUNT_PARAMETERS = [
    ("GET", "/databases/counts/docs?startsWith=a&", "start"),
    ("GET", "/databases/counts/docs?startsWith=a&", "pageSize"),
    ("GET", "/databases/counts/hilo/next?tag=a&", "capacity"),
    ("GET", "/databases/counts/hilo/next?tag=a&", "lastBatchSize"),
    ("GET", "/databases/counts/hilo/next?tag=a&", "lastMax"),
    ("PUT", "/databases/counts/hilo/return?tag=a&end=5&", "last"),
    ("PUT", "/databases/counts/hilo/return?tag=a&last=5&", "end"),
    ("GET", "/databases?", "start"),
    ("GET", "/databases?", "pageSize"),
]


@pytest.mark.parametrize("value", BAD_COUNTS)
@pytest.mark.parametrize(("method", "path", "name"), COUNT_PARAMETERS)
def test_a_count_in_a_query_string_is_ascii_digits_in_64_bits(
    server: str, method: str, path: str, name: str, value: str
) -> None:
    answer = httpx.request(method, server + path + urllib.parse.urlencode({name: value}))
    body = _refused(answer)
    assert name in body["Message"]


@pytest.mark.parametrize(("method", "path", "name"), COUNT_PARAMETERS)
def test_a_count_in_64_bits_is_taken(server: str, method: str, path: str, name: str) -> None:
    value = 7 if "hilo" in path else 2**63 - 1
    answer = httpx.request(method, server + path + f"{name}={value}")
    assert answer.status_code < 300, answer.text[:300]


@pytest.mark.parametrize(
    "body",
    [
        {"Query": "from x", "Start": 2**63},
        {"Query": "from x", "PageSize": 2**63},
        {"Query": f"from x limit {2**64}"},
        {"Query": f"from x limit 5 offset {2**63}"},
        {"Query": "from x", "Start": -1},
        {"Query": "from x", "PageSize": "5"},
        {"Query": "from x limit " + "9" * 5000},  # past the digits Python's int() takes
        {"Query": "from x where a = " + "9" * 5000},
    ],
)
def test_paging_past_64_bits_is_400(server: str, body: dict[str, Any]) -> None:
    _refused(httpx.post(f"{server}/databases/counts/queries", content=orjson.dumps(body)))


@pytest.mark.parametrize(
    "body",
    [  # RavenDB takes the larger offset and the smaller count, so these never overflow
        {"Query": f"from x offset {2**63 - 1}", "Start": 1},
        {"Query": f"from x limit {2**63 - 1} offset {2**63 - 1}", "Start": 2**63 - 1},
        {"Query": "from x limit $a, $b", "QueryParameters": {"a": None, "b": None}},
    ],
)
def test_paging_at_64_bits_is_taken(server: str, body: dict[str, Any]) -> None:
    answer = httpx.post(f"{server}/databases/counts/queries", content=orjson.dumps(body))
    assert answer.status_code == 200, answer.text[:300]


# -- ids, HiLo tags, collection names -------------------------------------------------------

# NUL (PostgreSQL cannot hold it), past RavenDB's 512 bytes, a leading "/"; other control
# characters are ids as in RavenDB (the shipped suite's test_limits).
BAD_IDS = ["a\x00b", "\x00", "x" * 513, "é" * 257, "/a"]


@pytest.mark.parametrize("bad", BAD_IDS, ids=lambda v: repr(v)[:20])
def test_ids_storage_cannot_hold_are_400_everywhere(server: str, bad: str) -> None:
    docs = f"{server}/databases/ids/docs"
    _refused(httpx.get(docs, params={"id": bad}))
    _refused(httpx.get(docs, params=[("id", "a/1"), ("id", bad)]))
    _refused(httpx.post(docs, content=orjson.dumps({"Ids": ["a/1", bad]})))
    _refused(httpx.get(docs, params={"startsWith": bad}))
    body = {"Commands": [{"Type": "PUT", "Id": bad, "Document": {}}]}
    _refused(httpx.post(f"{server}/databases/ids/bulk_docs", content=orjson.dumps(body)))
    assert _count(server, "ids") == 0


@pytest.mark.parametrize(
    "tag", ["", "a\x00b", "x" * (MAX_HILO_TAG_BYTES + 1), None], ids=lambda v: repr(v)[:20]
)
def test_bad_hilo_tags_are_400_and_reserve_nothing(server: str, tag: str | None) -> None:
    params = {} if tag is None else {"tag": tag}
    _refused(httpx.get(f"{server}/databases/tags/hilo/next", params=params))
    _refused(
        httpx.put(f"{server}/databases/tags/hilo/return", params={**params, "last": 1, "end": 5})
    )
    first = httpx.get(f"{server}/databases/tags/hilo/next", params={"tag": "good", "capacity": 4})
    assert first.status_code == 200 and first.json()["Prefix"] == "good/"


@pytest.mark.parametrize(
    "collection",
    ["c" * 300_000, "c" * 513, 5, 1.5, True, [], {}, ["a"], "a\x00b"],
    ids=lambda c: repr(c)[:20],
)
@pytest.mark.parametrize("where", ["metadata", "command"])
def test_bad_collection_names_are_400_and_write_nothing(
    server: str, collection: Any, where: str
) -> None:
    put: dict[str, Any] = {"Type": "PUT", "Id": "c/1", "Document": {"n": 1}}
    if where == "metadata":
        put["Document"]["@metadata"] = {"@collection": collection}
    else:
        put["Collection"] = collection
    body = {"Commands": [{"Type": "PUT", "Id": "c/0", "Document": {}}, put]}
    _refused(httpx.post(f"{server}/databases/names/bulk_docs", content=orjson.dumps(body)))
    assert _count(server, "names") == 0


# -- HEAD, a missing document -----------------------------------------------------------------


def test_head_takes_one_id(server: str) -> None:
    put = {"Commands": [{"Type": "PUT", "Id": "h/1", "Document": {}}]}
    assert httpx.post(f"{server}/databases/head/bulk_docs", content=orjson.dumps(put)).is_success
    docs = f"{server}/databases/head/docs"
    for ids in (["h/1", "h/2"], ["h/1", "h/1"], ["h/2", "h/3"]):
        assert httpx.head(docs, params=[("id", i) for i in ids]).status_code == 400
    found = httpx.head(docs, params={"id": "h/1"})
    assert found.status_code == 200 and found.headers["etag"].startswith('"A:')
    assert httpx.head(docs, params={"id": "h/2"}).status_code == 404
    _refused(httpx.get(docs, params={"id": "h/2"}), 404)  # RavenDB's clients read "no document"


# -- credentials ------------------------------------------------------------------------------


def test_no_route_answers_without_credentials_when_api_keys_are_on(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    admin = "admin-key-0123456789"
    keys.write_bytes(orjson.dumps({"keys": [{"key": admin, "databases": {"*": "admin"}}]}))
    process, base, _ = start_server(
        "--data", str(tmp_path / "data"), "--api-keys", str(keys), "--create-databases"
    )
    try:
        for path, _, methods in ROUTES:
            url = base + path.replace("{database}", "Shop") + "?name=Shop&id=a/1&tag=a"
            for method in methods:
                for authorization in ({}, {"authorization": "Bearer wrong-key-0123456789"}):
                    answer = httpx.request(method, url, content=b"{}", headers=authorization)
                    assert answer.status_code == 401, (method, path, answer.status_code)
        for params in ({}, {"name": "Shop"}):
            answer = httpx.get(f"{base}/topology", params=params)
            _refused(answer, 401)
            answer = httpx.get(
                f"{base}/topology", params=params, headers={"authorization": f"Bearer {admin}"}
            )
            assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_head_of_admin_databases_never_deletes(server: str) -> None:
    # Starlette routes HEAD with GET; the handler once sent it on to the delete (the HTTP
    # fuzzer found it: a HEAD with a delete's body deleted the database).
    created = httpx.put(f"{server}/admin/databases", params={"name": "head_kept"})
    assert created.status_code == 200
    body = orjson.dumps({"DatabaseNames": ["head_kept"], "HardDelete": True})
    head = httpx.request("HEAD", f"{server}/admin/databases?name=head_kept", content=body)
    assert head.status_code == 200
    assert "head_kept" in httpx.get(f"{server}/databases").text
    httpx.request("DELETE", f"{server}/admin/databases", content=body)
