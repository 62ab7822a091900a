"""``rookdb serve`` stores a document's numbers as its client wrote them (``9.50``, ``1E+3``),
by every route that writes documents, where reading the body into floats wrote ``9.5`` and
``1000.0``; other values in the same body are still read as numbers (a patch's increment).
The suite's ``test_decimal_digits`` does the same through rookdb's own client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from rookdb.testing.backends import serve_on

RECORDS = {"accept": "application/vnd.rookdb.records+json"}
DOCUMENT = b'{"p":9.50,"q":[1E+3,2.5,0.00],"s":"1.50","@metadata":{"@collection":"Prices"}}'


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_on("sqlite", tmp_path_factory.mktemp("digits")) as base:
        yield f"{base}/databases/digits"


def _stored(database: str, document_id: str) -> bytes:
    """The document's data as stored (rookdb's records: the stored bytes as a string)."""
    answer = httpx.get(f"{database}/docs", params={"id": document_id}, headers=RECORDS)
    assert answer.status_code == 200, answer.text[:300]
    data: str = answer.json()["Results"][0]["Data"]
    return data.encode()


def _kept(data: bytes) -> None:
    assert b'"p":9.50' in data and b'"q":[1E+3,2.5,0.00]' in data and b'"s":"1.50"' in data


def test_put_docs_keeps_digits(database: str) -> None:
    answer = httpx.put(f"{database}/docs", params={"id": "prices/1"}, content=DOCUMENT)
    assert answer.status_code == 201, answer.text[:300]
    _kept(_stored(database, "prices/1"))


def test_a_batch_keeps_its_documents_digits_and_reads_its_patches_numbers(database: str) -> None:
    base = b'{"n":1,"@metadata":{"@collection":"Counts"}}'
    assert httpx.put(f"{database}/docs", params={"id": "counts/1"}, content=base).is_success
    increment = {"Op": "increment", "Path": "n", "Value": "DELTA"}
    script = "this.n += args.d"
    patch = {"Script": script, "Values": {"d": "DELTA"}, "RookdbOperations": [increment]}
    commands = (
        b'{"Commands":[{"Type":"PUT","Id":"prices/2","Document":'
        + DOCUMENT
        + b'},{"Type":"PATCH","Id":"counts/1","Patch":'
        + orjson.dumps(patch).replace(b'"DELTA"', b"0.50")
        + b"}]}"
    )
    answer = httpx.post(f"{database}/bulk_docs", content=commands)
    assert answer.status_code == 201, answer.text[:300]
    _kept(_stored(database, "prices/2"))
    assert orjson.loads(_stored(database, "counts/1"))["n"] == 1.5


# rookdb's client sends a typed patch's values with their digits (the session's
# ``Decimal("9.50")``), in its operations and in the script they stand for.
TYPED_PATCH = (
    b'{"Script":"this.s = args.val_0; this.t.push(args.val_1); this.n += args.val_2;",'
    b'"Values":{"val_0":{"v":9.50},"val_1":1E+3,"val_2":0.50},"RookdbOperations":['
    b'{"Op":"set","Path":"s","Value":{"v":9.50}},{"Op":"add","Path":"t","Value":[1E+3]},'
    b'{"Op":"increment","Path":"n","Value":0.50}]}'
)


@pytest.mark.parametrize("route", ["bulk_docs", "docs"])
def test_a_typed_patch_stores_the_numbers_it_sets_as_written(database: str, route: str) -> None:
    document_id = f"patched/{route}"
    base = b'{"n":1,"t":[],"@metadata":{"@collection":"Patched"}}'
    assert httpx.put(f"{database}/docs", params={"id": document_id}, content=base).is_success
    if route == "bulk_docs":
        body = b'{"Commands":[{"Type":"PATCH","Id":"' + document_id.encode() + b'","Patch":'
        answer = httpx.post(f"{database}/bulk_docs", content=body + TYPED_PATCH + b"}]}")
        assert answer.status_code == 201, answer.text[:300]
    else:
        answer = httpx.patch(
            f"{database}/docs",
            params={"id": document_id},
            content=b'{"Patch":' + TYPED_PATCH + b"}",
        )
        assert answer.status_code == 200, answer.text[:300]
    data = _stored(database, document_id)
    assert b'"s":{"v":9.50}' in data and b'"t":[1E+3]' in data
    assert orjson.loads(data)["n"] == 1.5  # an increment's value: a number, as before


def test_a_multipart_batch_keeps_digits(database: str) -> None:
    commands = (
        b'{"Commands":[{"Type":"PUT","Id":"prices/3","Document":' + DOCUMENT + b"},"
        b'{"Type":"AttachmentPUT","Id":"prices/3","Name":"a.txt","ContentType":"text/plain"}]}'
    )
    files = {"commands": (None, commands, "application/json"), "a": ("a.txt", b"x", "text/plain")}
    answer = httpx.post(f"{database}/bulk_docs", files=files)
    assert answer.status_code == 201, answer.text[:300]
    _kept(_stored(database, "prices/3"))


def test_bulk_insert_keeps_digits(database: str) -> None:
    body = b'[{"Id":"prices/4","Type":"PUT","Document":' + DOCUMENT + b"}]"
    answer = httpx.post(f"{database}/bulk_insert", content=body)
    assert answer.status_code == 204, answer.text[:300]
    _kept(_stored(database, "prices/4"))


def test_storing_an_attachment_keeps_the_documents_digits(database: str, tmp_path: Path) -> None:
    assert httpx.put(f"{database}/docs", params={"id": "prices/5"}, content=DOCUMENT).is_success
    answer = httpx.put(
        f"{database}/attachments", params={"id": "prices/5", "name": "b.txt"}, content=b"y"
    )
    assert answer.status_code == 201, answer.text[:300]
    data = _stored(database, "prices/5")
    _kept(data)
    assert b"@attachments" in data  # its metadata rewritten, its numbers as they were


def test_documents_are_answered_with_their_digits_in_ravendbs_shape(database: str) -> None:
    # RavenDB's clients (no records asked for) read the stored text too, whatever they make
    # of it; so do the answers of a patch and an export (rookdb export uses this shape).
    assert httpx.put(f"{database}/docs", params={"id": "prices/6"}, content=DOCUMENT).is_success
    answer = httpx.get(f"{database}/docs", params={"id": "prices/6"})
    assert answer.status_code == 200, answer.text[:300]
    _kept(answer.content)
    # A typed patch (rookdb's client sends its operations with the script they stand for).
    increment = {"Op": "increment", "Path": "t", "Value": 1}
    patch = {"Script": "this.t += 1", "Values": {}, "RookdbOperations": [increment]}
    answer = httpx.patch(f"{database}/docs", params={"id": "prices/6"}, json={"Patch": patch})
    assert answer.status_code == 200, answer.text[:300]
    _kept(answer.content)  # its ModifiedDocument


@pytest.mark.parametrize("headers", [RECORDS, {}], ids=["rookdb's client", "RavenDB's"])
def test_projections_are_answered_with_their_digits(database: str, headers: dict[str, str]) -> None:
    # A query with a select, a lazy one (multi_get) and a streamed one: the projected numbers
    # as stored, for a projection into a Decimal field.
    document = DOCUMENT.replace(b"Prices", b"Projected")
    assert httpx.put(f"{database}/docs", params={"id": "projected/1"}, content=document).is_success
    query = {"Query": "from Projected select p, q, s", "QueryParameters": {}}
    answer = httpx.post(f"{database}/queries", json=query, headers=headers)
    assert answer.status_code == 200, answer.text[:300]
    _kept(answer.content)
    assert answer.headers.get("Rookdb-Digits") == "1"  # the client reads its digits
    requests = {"Requests": [{"Url": "/queries", "Method": "POST", "Content": query}]}
    answer = httpx.post(f"{database}/multi_get", json=requests, headers=headers)
    assert answer.status_code == 200, answer.text[:300]
    _kept(answer.content)
    assert answer.headers.get("Rookdb-Digits") == "1"
    streamed = httpx.post(
        f"{database}/streams/queries", params={"format": "jsonl"}, json=query, headers=headers
    )
    assert streamed.status_code == 200, streamed.text[:300]
    _kept(streamed.content)


def test_projections_of_numbers_a_float_keeps_are_not_marked(database: str) -> None:
    # The client reads an answer without the header with orjson alone: no second read of
    # every projection query's answer (a datetime's fraction is no number's).
    document = b'{"p":9.5,"at":"2024-05-01T10:00:00.1234560Z","@metadata":{"@collection":"Plain"}}'
    assert httpx.put(f"{database}/docs", params={"id": "plain/1"}, content=document).is_success
    query = {"Query": "from Plain select p, at", "QueryParameters": {}}
    answer = httpx.post(f"{database}/queries", json=query, headers=RECORDS)
    assert answer.status_code == 200, answer.text[:300]
    assert "Rookdb-Digits" not in answer.headers
    requests = {"Requests": [{"Url": "/queries", "Method": "POST", "Content": query}]}
    answer = httpx.post(f"{database}/multi_get", json=requests, headers=RECORDS)
    assert "Rookdb-Digits" not in answer.headers


def test_a_json_patch_writes_back_the_numbers_it_does_not_touch(database: str) -> None:
    assert httpx.put(f"{database}/docs", params={"id": "prices/7"}, content=DOCUMENT).is_success
    operations = (
        b'{"Operations":[{"op":"add","path":"/r","value":2.50},'
        b'{"op":"copy","from":"/p","path":"/c"}]}'
    )
    answer = httpx.patch(f"{database}/json-patch", params={"id": "prices/7"}, content=operations)
    assert answer.status_code == 200, answer.text[:300]
    data = _stored(database, "prices/7")
    _kept(data)
    # What the patch sets is written as JSON writes its value; a copy of a number as it was.
    assert orjson.loads(data)["r"] == 2.5 and b'"c":9.50' in data


def test_imported_revisions_keep_their_digits(database: str) -> None:
    revision = DOCUMENT.replace(
        b'"@metadata":{',
        b'"@metadata":{"@id":"prices/8","@change-vector":"A:1-imported",'
        b'"@last-modified":"2026-01-02T03:04:05.0000000Z","@flags":"Revision",',
    )
    body = b'{"Revisions":[' + revision + b"]}"
    answer = httpx.post(f"{database}/admin/revisions/import", content=body)
    assert answer.status_code == 200, answer.text[:300]
    answer = httpx.get(f"{database}/revisions", params={"id": "prices/8"})
    assert answer.status_code == 200, answer.text[:300]
    _kept(answer.content)


@pytest.mark.parametrize("number", [b"1e-99999999999999999999", b"0e99999999999999999999"])
def test_an_exponent_past_a_decimals_range_is_stored_as_json_reads_it(
    database: str, number: bytes
) -> None:
    # orjson reads it (as 0.0); Decimal refuses it: kept as the float, never a 5xx.
    document = b'{"a":' + number + b',"p":9.50,"@metadata":{"@collection":"Odd"}}'
    answer = httpx.put(f"{database}/docs", params={"id": "odd/1"}, content=document)
    assert answer.status_code == 201, answer.text[:300]
    batch = b'{"Commands":[{"Type":"PUT","Id":"odd/2","Document":' + document + b"}]}"
    answer = httpx.post(f"{database}/bulk_docs", content=batch)
    assert answer.status_code == 201, answer.text[:300]
    for document_id in ("odd/1", "odd/2"):
        data = _stored(database, document_id)
        assert orjson.loads(data)["a"] == 0.0 and b'"p":9.50' in data


def test_a_patch_value_nested_too_deep_is_a_400(database: str) -> None:
    # A typed operation's value nested past what a document may hold is refused whole, as
    # bad input, before anything walks it (it answered 500: Python's recursion limit).
    httpx.put(f"{database}/docs", params={"id": "deep/1"}, content=DOCUMENT)
    value = b"[" * 600 + b"]" * 600
    body = (
        b'{"Patch":{"Script":"","Values":{},"RookdbOperations":[{"Op":"set","Path":"p",'
        b'"Value":' + value + b"}]}}"
    )
    answer = httpx.patch(f"{database}/docs", params={"id": "deep/1"}, content=body)
    assert answer.status_code == 400, answer.text[:300]
    assert "nests more than" in answer.text
    _kept(_stored(database, "deep/1"))  # nothing written


@pytest.mark.parametrize("route", ["bulk_docs", "docs"])
def test_a_patch_value_at_the_depth_limit_keeps_its_digits(database: str, route: str) -> None:
    # The value sits six levels into a batch (four into PATCH /docs): its digits were kept
    # only for bodies three levels deeper than a document may be.
    document_id = f"deepest/{route}"
    base = b'{"n":1,"@metadata":{"@collection":"Patched"}}'
    assert httpx.put(f"{database}/docs", params={"id": document_id}, content=base).is_success
    levels = 127  # in the document: 128 levels, the most it may hold
    value = b"[" * levels + b"9.50" + b"]" * levels
    patch = (
        b'{"Script":"this.s = args.val_0;","Values":{"val_0":' + value + b'},"RookdbOperations":'
        b'[{"Op":"set","Path":"s","Value":' + value + b"}]}"
    )
    if route == "bulk_docs":
        body = b'{"Commands":[{"Type":"PATCH","Id":"' + document_id.encode() + b'","Patch":'
        answer = httpx.post(f"{database}/bulk_docs", content=body + patch + b"}]}")
    else:
        answer = httpx.patch(
            f"{database}/docs", params={"id": document_id}, content=b'{"Patch":' + patch + b"}"
        )
    assert answer.is_success, answer.text[:300]
    assert b'"s":' + value in _stored(database, document_id)
