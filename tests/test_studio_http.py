"""The Studio's routes (``rookdb.server.studio``) without a browser: each answers bad input
with a 4xx page in words, never a 5xx; every answer carries the security headers; a form
without the session's token changes nothing. A small random fuzzer covers every route of
``STUDIO_ROUTES`` (the protocol's routes are ``test_http_fuzz``'s)."""

from __future__ import annotations

import random
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from rookdb.server.app import create_app
from rookdb.server.security import ApiKey, ApiKeys
from rookdb.server.studio import STUDIO_ROUTES
from rookdb.storage.registry import open_backend

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ADMIN_KEY = "admin-key-0123456789abcdef"
READ_KEY = "read-key-0123456789abcdef"


def _client(tmp_path: Path, access: Any = None) -> TestClient:
    backend = open_backend(f"sqlite:///{tmp_path}")
    return TestClient(create_app(backend, access=access), raise_server_exceptions=True)


def _token(client: TestClient, path: str = "/studio") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path) as made:
        token = _token(made)
        made.post("/studio/databases", data={"csrf": token, "name": "shop"})
        document = '{"name": "Ann", "@metadata": {"@collection": "Users"}}'
        made.post(
            "/studio/db/shop/doc", data={"csrf": token, "id": "users/1", "document": document}
        )
        yield made


BAD_INPUT = [
    ("GET", "/studio/db/%00/docs"),
    ("GET", "/studio/db/nope"),
    ("GET", "/studio/db/shop/docs?start=-1"),
    ("GET", "/studio/db/shop/docs?start=99999999999999999"),
    ("GET", "/studio/db/shop/doc"),
    ("GET", "/studio/db/shop/doc?id=%00"),
    ("GET", "/studio/db/shop/doc?id=nobody%2F1"),
    ("GET", "/studio/db/shop/query?q=from+Users+where+%28%28%28"),
    ("GET", "/studio/db/shop/query?q=from+Users+where+name+%3D+%24n"),
    ("GET", "/studio/db/shop/query?q=from+Users&params=%5B1%5D"),
    ("GET", "/studio/db/shop/query?q=from+Users&params=%7Bx"),
    ("GET", "/studio/no-such-page"),
    ("GET", "/studio/db/shop/index"),
    ("GET", "/studio/db/shop/index?name=nope"),
    ("GET", "/studio/db/shop/index?name=%00"),
    ("GET", "/studio/db/shop/index?name=" + "a" * 5000),
    ("GET", "/studio/db/shop/index?name=Users%2FByName&start=-1"),
    ("GET", "/studio/db/shop/indexes?start=x"),
    ("GET", "/studio/db/shop/indexes?auto=1e9"),
    ("GET", "/studio/db/nope/indexes"),
]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/studio/static/nope.js", 404), ("POST", "/studio/static/studio.js", 405)],
)
def test_static_files_missing(client: TestClient, method: str, path: str, status: int) -> None:
    answer = client.request(method, path)
    assert answer.status_code == status
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("method", "path"), BAD_INPUT)
def test_bad_input_is_a_4xx_in_words(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, path)
    assert 400 <= answer.status_code < 500, answer.text
    assert 'class="error"' in answer.text
    assert "Traceback" not in answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_quotes_in_a_collection_name_are_data(client: TestClient) -> None:
    answer = client.get("/studio/db/shop/docs?collection=%27%5C&prefix=%27")
    assert answer.status_code == 200 and "No documents" in answer.text


def test_bad_forms_are_4xx(client: TestClient) -> None:
    token = _token(client)
    cases = [
        ("/studio/db/shop/doc", {"id": "users/2", "document": "{"}),
        ("/studio/db/shop/doc", {"id": "users/2", "document": "[1]"}),
        ("/studio/db/shop/doc", {"id": "", "document": "{}"}),
        ("/studio/db/shop/doc", {"id": "users/1", "document": "{}", "change_vector": "A:9-x"}),
        ("/studio/db/shop/doc/delete", {"id": "users/1", "change_vector": "A:9-x"}),
        ("/studio/db/shop/delete", {"confirm": "not shop"}),
        ("/studio/databases", {"name": "bad/name"}),
        ("/studio/databases", {"name": "shop"}),  # it exists
    ]
    for path, form in cases:
        answer = client.post(path, data={"csrf": token, **form}, follow_redirects=False)
        assert 400 <= answer.status_code < 500, (path, form, answer.text)
    assert client.get("/studio/db/shop/doc?id=users%2F1").status_code == 200  # still there
    raw = client.post(
        "/studio/databases",
        content=b"csrf=\xff\xfe&name=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert raw.status_code == 400


def test_writes_need_the_token_and_this_site(client: TestClient) -> None:
    token = _token(client)
    cases: list[tuple[dict[str, str], dict[str, str]]] = [
        ({"name": "evil"}, {}),
        ({"name": "evil", "csrf": "forged"}, {}),
        ({"name": "evil", "csrf": token}, {"origin": "https://evil.example"}),
        ({"name": "evil", "csrf": token}, {"sec-fetch-site": "cross-site"}),
    ]
    for form, headers in cases:
        answer = client.post("/studio/databases", data=form, headers=headers)
        assert answer.status_code == 403
    assert "evil" not in client.get("/databases").json()["Databases"]


def test_document_page_lists_counters_and_attachments(tmp_path: Path) -> None:
    from rookdb import DocumentStore

    with DocumentStore(urls=f"sqlite:///{tmp_path}", database="shop") as store:
        with store.open_session() as session:
            session.store({"title": "Dune"}, "books/1")
            session.save_changes()
        with store.open_session() as session:
            session.counters_for("books/1").increment("<b>likes</b>", 3)
            session.advanced.attachments.store("books/1", "cover<i>.png", b"png", "image/png")
            session.save_changes()
    with _client(tmp_path) as client:
        page = client.get("/studio/db/shop/doc?id=books%2F1")
        assert page.status_code == 200
        assert '&lt;b&gt;likes&lt;/b&gt;</td><td class="number">3<' in page.text
        assert "cover&lt;i&gt;.png" in page.text and "image/png" in page.text


def test_index_pages_show_definitions_statistics_and_errors(tmp_path: Path) -> None:
    from rookdb import DocumentStore
    from rookdb.indexes import IndexDefinition
    from rookdb.operations import PutIndexesOperation

    with DocumentStore(urls=f"sqlite:///{tmp_path}", database="shop") as store:
        with store.open_session() as session:
            for i, city in enumerate(["Oslo", "Oslo", "<b>Rome</b>"]):
                session.store({"City": city, "@metadata": {"@collection": "Users"}}, f"users/{i}")
            session.save_changes()
        by_city = IndexDefinition(
            name="Users/<i>ByCity</i>",
            maps={"from u in docs.Users select new { u.City, Count = 1 }"},
            reduce=(
                "from r in results group r by r.City into g "
                "select new { City = g.Key, Count = g.Sum(x => x.Count) }"
            ),
        )
        half = IndexDefinition(
            name="Orders/Half", maps={"from o in docs.Orders select new { Half = o.Total / 2 }"}
        )
        store.maintenance.send(PutIndexesOperation(by_city, half))
        with store.open_session() as session:  # a map that fails on one document: an error
            session.store({"Total": "x", "@metadata": {"@collection": "Orders"}}, "orders/<b>")
            session.save_changes()
        with store.open_session() as session:  # an automatic index, too
            session.query(collection_name="Users").where_equals("City", "Oslo").to_list()
    with _client(tmp_path) as client:
        listed = client.get("/studio/db/shop/indexes")
        assert listed.status_code == 200, listed.text
        assert "Users/&lt;i&gt;ByCity&lt;/i&gt;" in listed.text and "<i>" not in listed.text
        assert "map-reduce" in listed.text and "auto/Users/City" in listed.text
        page = client.get("/studio/db/shop/index", params={"name": "Users/<i>ByCity</i>"})
        assert page.status_code == 200, page.text
        assert 'id="index-entries">3<' in page.text and 'id="index-results">2<' in page.text
        assert "g.Sum(x =&gt; x.Count)" in page.text  # the reduce as text
        assert "No errors." in page.text
        auto = client.get("/studio/db/shop/index", params={"name": "auto/Users/City"})
        assert auto.status_code == 200 and "automatic index" in auto.text
        assert client.get("/studio/db/shop/indexes?start=50").status_code == 200
        failing = client.get("/studio/db/shop/index", params={"name": "orders/half"})
        assert failing.status_code == 200 and "Orders/Half</h1>" in failing.text
        assert "orders/&lt;b&gt;" in failing.text and "1 kept of 1" in failing.text


def test_import_needs_the_token_and_checks_the_file(client: TestClient) -> None:
    token = _token(client)
    line = b'{"n": 1, "@metadata": {"@collection": "Items", "@id": "items/1"}}\n'
    refused = client.post("/studio/db/shop/import", content=line)
    assert refused.status_code == 403
    bad = client.post(
        "/studio/db/shop/import", content=line + b"{oops\n", headers={"x-studio-token": token}
    )
    assert bad.status_code == 400 and "line 2" in bad.json()["error"]
    assert client.get("/studio/db/shop/doc?id=items%2F1").status_code == 404  # nothing written
    done = client.post("/studio/db/shop/import", content=line, headers={"x-studio-token": token})
    assert done.status_code == 200 and done.json()["documents"] == 1
    exported = client.get("/studio/db/shop/export")
    assert exported.headers["content-disposition"] == 'attachment; filename="shop.jsonl"'
    assert sorted(orjson.loads(x)["@metadata"]["@id"] for x in exported.text.splitlines()) == [
        "items/1",
        "users/1",
    ]


def test_api_keys_login_and_rights(tmp_path: Path) -> None:
    keys = ApiKeys([ApiKey(ADMIN_KEY, {"*": "admin"}), ApiKey(READ_KEY, {"shop": "read"})])
    with _client(tmp_path, keys) as client:
        first = client.get("/studio", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/studio/login"
        assert client.get("/studio/db/shop/docs", follow_redirects=False).status_code == 303
        token = _token(client, "/studio/login")
        wrong = client.post("/studio/login", data={"csrf": token, "key": "x" * 20})
        assert wrong.status_code == 401 and "unknown API key" in wrong.text
        old_session = client.cookies.get("rookdb_studio")
        client.post("/studio/login", data={"csrf": token, "key": ADMIN_KEY})
        assert client.cookies.get("rookdb_studio") != old_session  # a new session id
        token = _token(client)
        client.post("/studio/databases", data={"csrf": token, "name": "shop"})
        client.post("/studio/logout", data={"csrf": token})
        assert client.get("/studio", follow_redirects=False).status_code == 303
        token = _token(client, "/studio/login")
        client.post("/studio/login", data={"csrf": token, "key": READ_KEY})
        token = _token(client)
        page = client.get("/studio/db/shop")
        assert page.status_code == 200 and "New document" not in page.text
        denied = client.post(
            "/studio/db/shop/doc", data={"csrf": token, "id": "users/9", "document": "{}"}
        )
        assert denied.status_code == 403
        dropped = client.post("/studio/db/shop/delete", data={"csrf": token, "confirm": "shop"})
        assert dropped.status_code == 403


def test_root_redirects_browsers_only(client: TestClient) -> None:
    browser = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert browser.status_code == 303 and browser.headers["location"] == "/studio"
    assert client.get("/").status_code == 501


# -- a small fuzzer over every Studio route -------------------------------------------------------

TEXTS = ["", "shop", "users/1", "%00", "\x00", "'", '"><script>', "a" * 5000, "é", "-1", "1e99"]


def _form(rng: random.Random, token: str) -> dict[str, str]:
    fields = [
        "name",
        "confirm",
        "id",
        "document",
        "change_vector",
        "key",
        "csrf",
        rng.choice(TEXTS),
    ]
    form = {rng.choice(fields): rng.choice(TEXTS) for _ in range(rng.randrange(4))}
    if rng.random() < 0.7:
        form["csrf"] = token
    if rng.random() < 0.5:
        form["document"] = rng.choice(["{}", "[]", "{", '{"@metadata": 5}', "1" * 400])
    return form


MAKERS: dict[str, Callable[[random.Random], dict[str, str]]] = {
    name: (lambda rng: {}) for _, name, _ in STUDIO_ROUTES
}


def test_fuzz_never_5xx(client: TestClient) -> None:
    assert set(MAKERS) == {name for _, name, _ in STUDIO_ROUTES}
    rng = random.Random(19)
    token = _token(client)
    for _ in range(400):
        path, _name, methods = rng.choice(STUDIO_ROUTES)
        path = path.replace("{database}", rng.choice(["shop", "nope", "%2F", "a" * 200, "'"]))
        method = rng.choice([*methods, "GET", "POST"])
        query = {
            rng.choice(
                ["id", "q", "params", "start", "collection", "prefix", "name", "auto"]
            ): rng.choice(TEXTS)
        }
        answer = client.request(
            method,
            path,
            params=query,
            data=_form(rng, token) if method == "POST" else None,
            follow_redirects=False,
        )
        assert answer.status_code < 500, (method, path, query, answer.text[:300])


def test_anonymous_sessions_never_push_out_a_logged_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rookdb.server.studio import guard

    monkeypatch.setattr(guard, "MAX_SESSIONS", 5)
    keys = ApiKeys([ApiKey(ADMIN_KEY, {"*": "admin"})])
    app = create_app(open_backend(f"sqlite:///{tmp_path}"), access=keys)
    with TestClient(app) as client:
        token = _token(client, "/studio/login")
        client.post("/studio/login", data={"csrf": token, "key": ADMIN_KEY})
        for _ in range(20):  # strangers, each a new anonymous session
            with TestClient(app) as stranger:
                assert stranger.get("/studio/login").status_code == 200
        assert client.get("/studio", follow_redirects=False).status_code == 200


def test_a_documents_numbers_are_edited_and_saved_as_written(client: TestClient) -> None:
    # The editor shows the stored text of each number (9.50, not a float's 9.5) and a save
    # stores what was typed: opening and saving a document changes none of its numbers.
    token = _token(client)
    document = '{"price": 9.50, "big": 1E+3, "@metadata": {"@collection": "Items"}}'
    saved = client.post(
        "/studio/db/shop/doc", data={"csrf": token, "id": "items/1", "document": document}
    )
    assert saved.status_code == 200  # the redirect to the document's page, followed
    page = client.get("/studio/db/shop/doc?id=items%2F1").text
    # Both the fields' view and the editor: each fails if the save or the page reads a float.
    assert page.count("&#34;price&#34;: 9.50") == 2 and page.count("&#34;big&#34;: 1E+3") == 2


def test_a_querys_projections_show_their_numbers_as_stored(client: TestClient) -> None:
    token = _token(client)
    document = '{"price": 9.50, "big": 1E+3, "@metadata": {"@collection": "Items"}}'
    client.post("/studio/db/shop/doc", data={"csrf": token, "id": "items/1", "document": document})
    page = client.get("/studio/db/shop/query", params={"q": "from Items select price, big"}).text
    assert "9.50" in page and "1E+3" in page and "9.5<" not in page
