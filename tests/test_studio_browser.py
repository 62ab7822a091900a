"""The Studio (``rookdb.server.studio``) in a real browser: Playwright drives Debian's
Chromium (``/usr/bin/chromium``; no browser is downloaded) against ``rookdb serve`` on
loopback. Screenshots go to ``build/screenshots``.

Without Chromium these tests skip, saying how to enable them, except under CI (``CI=true``),
where they fail: ``.ci/run`` installs Debian's ``chromium`` package first.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb.testing.backends import start_server

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent.parent / "build" / "screenshots"
ADMIN_KEY = "admin-key-0123456789abcdef"
READ_KEY = "read-key-0123456789abcdef"


def _require_browser() -> Any:
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package is missing (pip install -e '.[dev]')"
    else:
        if not CHROMIUM.exists():
            missing = f"no Chromium at {CHROMIUM}: sudo apt-get install chromium"
    if missing is not None:
        message = f"the Studio's browser tests need Chromium: {missing}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _require_browser()
    with sync_playwright() as playwright:
        # As root (CI's container) Chromium's sandbox cannot start.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=args
        )
        yield launched
        launched.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    process, url, _ = start_server("--data", str(tmp_path / "data"), "--create-databases")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def served_with_keys(tmp_path: Path) -> Iterator[str]:
    keys = tmp_path / "keys.json"
    keys.write_text(
        json.dumps(
            {
                "keys": [
                    {"key": ADMIN_KEY, "databases": {"*": "admin"}},
                    {"key": READ_KEY, "databases": {"shop": "read"}},
                ]
            }
        )
    )
    process, url, _ = start_server("--data", str(tmp_path / "data"), "--api-keys", str(keys))
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


class Watched:
    """A page, with every dialog, console error and page error it had."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1100, "height": 800})
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def shot(self, name: str, *, full_page: bool = True) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    watched = Watched(browser)
    yield watched
    watched.context.close()


def _put(url: str, database: str, document_id: str, body: dict[str, Any], key: str = "") -> str:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    answer = httpx.put(
        f"{url}/databases/{database}/docs", params={"id": document_id}, json=body, headers=headers
    )
    assert answer.status_code == 201, answer.text
    change_vector: str = answer.json()["ChangeVector"]
    return change_vector


def expect(actual: Any) -> Any:
    """Playwright's ``expect``, imported as ``sync_playwright`` is (without Playwright these
    tests skip). Its assertions retry until they hold; a read (``count()``, ``text_content()``,
    ``page.url``) takes the page as it is at that instant, maybe the one a click is leaving."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(actual)


def _editor_text(page: Any) -> Any:
    return json.loads(page.input_value("#doc-json"))


def test_database_and_document_lifecycle(served: str, watched: Watched) -> None:
    page = watched.page
    page.goto(served + "/")  # a browser asking for / is sent to the Studio
    assert page.url == served + "/studio"
    page.fill("#new-database", "shop")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r"/studio/db/shop$"))
    page.click("text=New document")
    page.fill("#doc-id", "users/1")
    page.fill("#doc-json", '{"name": "Ann", "@metadata": {"@collection": "Users"}}')
    page.click("button:has-text('Save')")
    # Loaded whole, studio.js with it: its check of the JSON is what the invalid save meets.
    page.wait_for_url(re.compile(r"/doc\?id=users%2F1$"))
    assert json.loads(page.text_content("#content") or "") == {"name": "Ann"}
    assert "Users" in (page.text_content("#metadata") or "")

    # Invalid JSON is refused in the browser, in words, before anything is sent.
    page.fill("#doc-json", '{"name": ')
    page.click("button:has-text('Save')")
    expect(page.locator("[data-json-error]")).to_contain_text("not valid JSON")
    assert page.url.endswith("doc?id=users%2F1")

    document = {"name": "Ann Smith", "@metadata": {"@collection": "Users"}}
    page.fill("#doc-json", json.dumps(document))
    page.click("button:has-text('Save')")
    page.wait_for_selector("#content:has-text('Ann Smith')")
    page.click("a:has-text('shop')")
    page.click("a:has-text('Users')")
    page.wait_for_url(re.compile(r"/docs\?collection=Users$"))
    assert page.text_content("#documents") is not None
    assert "Ann Smith" in (page.text_content("#documents") or "")
    watched.shot("collection")
    page.click("#documents a:has-text('users/1')")
    page.wait_for_url(re.compile(r"/doc\?id=users(/|%2F)1$"))  # the screenshot's page
    watched.shot("document")
    page.click("text=Delete document")  # confirmed in a dialog
    page.wait_for_url(re.compile(r"/studio/db/shop/docs$"))
    assert "No documents" in page.content()
    assert watched.dialogs == ["Delete this document?"]

    page.goto(served + "/studio/db/shop")
    button = page.locator("button:has-text('Delete database')")
    assert button.is_disabled()  # until the name is typed
    page.fill("#confirm", "shop")
    button.click()
    page.wait_for_url(re.compile(r"/studio$"))
    assert page.locator("#databases a:has-text('shop')").count() == 0
    assert watched.errors == []


def test_concurrent_edit_is_reported(served: str, watched: Watched) -> None:
    _put(served, "shop", "users/1", {"name": "Ann", "@metadata": {"@collection": "Users"}})
    page = watched.page
    page.goto(served + "/studio/db/shop/doc?id=users%2F1")
    # Someone else saves the document meanwhile.
    _put(served, "shop", "users/1", {"name": "Bob", "@metadata": {"@collection": "Users"}})
    page.fill("#doc-json", '{"name": "Carol", "@metadata": {"@collection": "Users"}}')
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/studio/db/shop/doc$"))  # the form's answer, a 409
    error = page.text_content("#save-error") or ""
    assert "someone else changed this document" in error and "409" in error
    assert _editor_text(page)["name"] == "Carol"  # the user's text is kept
    watched.shot("concurrent-edit")
    stored = httpx.get(f"{served}/databases/shop/docs", params={"id": "users/1"}).json()
    assert stored["Results"][0]["name"] == "Bob"  # not overwritten


def test_query_with_parameters(served: str, watched: Watched) -> None:
    for n, (name, age) in enumerate([("Ann", 31), ("Bob", 25), ("Cid", 40)]):
        body = {"name": name, "age": age, "@metadata": {"@collection": "Users"}}
        _put(served, "shop", f"users/{n}", body)
    page = watched.page
    page.goto(served + "/studio/db/shop/query")
    page.fill("#rql", "from Users where age > $min order by name")
    page.fill("#params", '{"min": 30}')
    page.click("button:has-text('Run')")
    page.wait_for_url(re.compile(r"/query\?q=from\+Users"))  # whole, before rows are counted
    assert page.locator("#results tbody tr").count() == 2
    assert [h.strip() for h in page.locator("#results th").all_text_contents()][:2] == [
        "name",
        "age",
    ]
    statistics = page.text_content("#statistics") or ""
    assert statistics.startswith("2 in all") and "ms" in statistics and "index" in statistics
    assert "Cid" in (page.text_content("#results-json") or "")
    watched.shot("query")
    # Remembered in the browser: a button that puts the query back.
    page.goto(served + "/studio/db/shop/query")
    page.click(".recent-query")
    assert page.input_value("#rql") == "from Users where age > $min order by name"
    assert page.input_value("#params") == '{"min": 30}'
    # Parameters that are not JSON are refused in words.
    page.fill("#params", "{min: 30")
    page.click("button:has-text('Run')")
    assert "not valid JSON" in (page.text_content("[data-json-error]") or "")
    assert watched.errors == []


HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


def test_hostile_document_runs_nothing(served: str, watched: Watched) -> None:
    document = {
        "name": HOSTILE,
        HOSTILE: [HOSTILE],
        "@metadata": {"@collection": "<script>alert(3)</script>", "note": HOSTILE},
    }
    _put(served, "shop", "x/" + HOSTILE, document)
    page = watched.page
    page.goto(served + "/studio/db/shop")
    page.click("a:has-text('<script>alert(3)</script>')")  # the collection's name, as text
    # Each page a click opens loaded whole (images and scripts too) before the next step:
    # the dialogs and errors found none of at the end are those its markup could have made.
    page.wait_for_url(re.compile(r"/docs\?collection=%3Cscript%3E"))
    page.click("#documents tbody a")
    page.wait_for_url(re.compile(r"/studio/db/shop/doc\?id=x"))
    assert page.text_content("#document-id") == "x/" + HOSTILE
    assert HOSTILE in (page.text_content("#content") or "")
    page.goto(served + "/studio/db/shop/query?q=from+%40all_docs")
    page.wait_for_selector("#results")
    # An index named and mapped with the same text: shown as text on its list and page.
    index = {
        "Name": "x" + HOSTILE,
        "Maps": ['from d in docs select new { Note = "' + HOSTILE.replace('"', "'") + '" }'],
    }
    put = httpx.put(f"{served}/databases/shop/admin/indexes", json={"Indexes": [index]})
    assert put.status_code == 200, put.text
    page.goto(served + "/studio/db/shop/indexes")
    page.click("#indexes tbody a")
    page.wait_for_url(re.compile(r"/studio/db/shop/index\?name=x"))
    assert page.text_content("#index-name") == "x" + HOSTILE
    assert HOSTILE.replace('"', "'") in (page.text_content(".index-map") or "")
    for path in ("/studio/db/shop", "/studio/db/shop/docs", "/studio/db/shop/indexes"):
        page.goto(served + path)
    watched.shot("hostile")
    assert watched.dialogs == []
    assert page.locator("img").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 1  # ours only
    assert watched.errors == []


def test_map_reduce_index_shows_entries_and_definition(served: str, watched: Watched) -> None:
    """An index put with the official client's operation: listed with its kind and counts,
    its page shows the maps and reduce as text; a query on it from its page."""
    ravendb = pytest.importorskip("ravendb")
    from ravendb.documents.operations.indexes import PutIndexesOperation

    for i, city in enumerate(["Oslo", "Oslo", "Rome"]):
        _put(served, "shop", f"users/{i}", {"City": city, "@metadata": {"@collection": "Users"}})
    definition = ravendb.IndexDefinition(
        name="Users/ByCity",
        maps={"from u in docs.Users select new { u.City, Count = 1 }"},
        reduce=(
            "from r in results group r by r.City into g "
            "select new { City = g.Key, Count = g.Sum(x => x.Count) }"
        ),
    )
    with ravendb.DocumentStore(served, "shop") as store:
        store.initialize()
        store.maintenance.send(PutIndexesOperation(definition))
        # rookdb serve builds a new index in the background, and the index's page shows its
        # counts as of when it is served: the page is opened once the build is done.
        with store.open_session() as session:
            built = session.query_index("Users/ByCity", dict).wait_for_non_stale_results()
            assert len(list(built)) == 2
    page = watched.page
    page.goto(served + "/studio/db/shop")
    page.click(".actions a:has-text('Indexes')")
    page.wait_for_selector("#indexes")
    row = page.locator("#indexes tbody tr", has_text="Users/ByCity")
    assert "map-reduce" in (row.text_content() or "")
    watched.shot("indexes")
    row.locator("a").click()
    page.wait_for_selector("#index-stats")
    assert page.text_content("#index-entries") == "3"
    assert page.text_content("#index-results") == "2"
    assert "g.Sum(x => x.Count)" in (page.text_content("#index-reduce") or "")
    assert "docs.Users" in (page.text_content(".index-map") or "")
    watched.shot("index")
    page.click("a:has-text('Query this index')")
    page.wait_for_url(re.compile(r"/query\?q=from\+index"))  # whole, scripts run: no errors
    assert "Oslo" in (page.text_content("#results") or "")
    assert watched.errors == []


def _login(page: Any, url: str, key: str) -> None:
    page.goto(url + "/studio")
    page.wait_for_url(re.compile(r"/studio/login$"))
    page.fill("#key", key)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r"/studio$"))


def test_read_key_cannot_write(served_with_keys: str, watched: Watched) -> None:
    url = served_with_keys
    created = httpx.put(
        f"{url}/admin/databases",
        params={"name": "shop"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert created.status_code == 200, created.text
    _put(url, "shop", "users/1", {"name": "Ann", "@metadata": {"@collection": "Users"}}, ADMIN_KEY)
    page = watched.page
    page.goto(url + "/studio/login")
    page.fill("#key", "not-a-key-of-this-server")
    page.click("button:has-text('Log in')")
    assert "unknown API key" in (page.text_content("[role=alert]") or "")
    _login(page, url, READ_KEY)
    assert page.locator("#new-database").count() == 0  # no admin
    page.click("a:has-text('shop')")
    page.wait_for_url(re.compile(r"/studio/db/shop$"))  # on the page, before looking at it
    assert page.locator("text=New document").count() == 0
    page.goto(url + "/studio/db/shop/doc?id=users%2F1")
    assert "Ann" in (page.text_content("#content") or "")
    assert page.locator("button:has-text('Save')").count() == 0
    assert page.locator("button:has-text('Delete document')").count() == 0
    watched.shot("read-only")
    # A forged save, with this session's own token, is refused by the server anyway.
    token = page.input_value("header input[name=csrf]")
    forged = page.request.post(
        url + "/studio/db/shop/doc",
        form={"csrf": token, "id": "users/1", "document": '{"name": "Eve"}'},
        headers={"Origin": url},
    )
    assert forged.status == 403
    stored = httpx.get(
        f"{url}/databases/shop/docs",
        params={"id": "users/1"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert stored.json()["Results"][0]["name"] == "Ann"


def test_csrf_refused(served: str, watched: Watched) -> None:
    page = watched.page
    page.goto(served + "/studio")
    token = page.input_value("input[name=csrf]")
    no_token = page.request.post(served + "/studio/databases", form={"name": "evil"})
    assert no_token.status == 403
    assert "security token" in no_token.text()
    wrong = page.request.post(served + "/studio/databases", form={"name": "evil", "csrf": "x" * 43})
    assert wrong.status == 403
    other_site = page.request.post(
        served + "/studio/databases",
        form={"name": "evil", "csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status == 403
    names = httpx.get(f"{served}/databases").json()["Databases"]
    assert "evil" not in names
    ok = page.request.post(
        served + "/studio/databases", form={"name": "good", "csrf": token}, max_redirects=0
    )
    assert ok.status == 303


def test_security_headers(served: str) -> None:
    answer = httpx.get(served + "/studio")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert httpx.get(served + "/").status_code == 501  # API clients: today's answer


def test_paging_filter_and_narrow_screen(served: str, watched: Watched) -> None:
    cities = ["Oslo", "Lima", "Pune", "Kyiv"]
    commands = [
        {
            "Type": "PUT",
            "Id": f"orders/{n:03}",
            "Document": {
                "customer": f"customers/{n % 7}",
                "city": cities[n % 4],
                "total": n * 3.5,
                "@metadata": {"@collection": "Orders"},
            },
        }
        for n in range(120)
    ]
    done = httpx.post(f"{served}/databases/shop/bulk_docs", json={"Commands": commands})
    assert done.status_code == 201, done.text
    page = watched.page
    page.goto(served + "/studio/db/shop")
    assert "120" in (page.text_content("table") or "")  # the collection's count
    page.click("a:has-text('Orders')")
    # The list's page loaded whole before its rows are counted (a count does not wait).
    page.wait_for_url(re.compile(r"/docs\?collection=Orders$"))
    rows = page.locator("#documents tbody tr")
    assert rows.count() == 50  # a page, not the collection
    assert [h.strip() for h in page.locator("#documents th").all_text_contents()] == [
        "Id",
        "customer",
        "city",
        "total",
        "Last modified",
    ]
    watched.shot("studio", full_page=False)  # docs/studio.png is this one
    # Each page loaded before the next click: else the second click could follow the first
    # page's link again, and the counts read a page still loading.
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"&start=50$"))
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"&start=100$"))
    assert rows.count() == 20
    assert page.locator("a[rel=next]").count() == 0
    page.fill("#prefix", "orders/11")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r"&prefix=orders%2F11$"))
    assert rows.count() == 10
    # Readable at a phone's width: nothing wider than the screen but the scrolling table.
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(served + "/studio/db/shop/doc?id=orders%2F001")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    watched.shot("narrow")
    # The keyboard reaches the links and buttons, in order.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")  # to #main: focused once the fragment is scrolled to
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")  # the first control of the page: the editor
    assert page.evaluate("document.activeElement.id") == "doc-json"
    assert watched.errors == []


def test_export_and_import_with_progress(served: str, watched: Watched, tmp_path: Path) -> None:
    for n in range(3):
        body = {"n": n, "@metadata": {"@collection": "Items"}}
        _put(served, "source", f"items/{n}", body)
    page = watched.page
    page.goto(served + "/studio/db/source")
    page.click("text=Import and export")
    with page.expect_download() as download:
        page.click("#export")
    exported = tmp_path / "source.jsonl"
    download.value.save_as(exported)
    assert len(exported.read_text().splitlines()) == 3
    # Into another database, from the browser.
    httpx.put(f"{served}/admin/databases", params={"name": "target"})
    page.goto(served + "/studio/db/target/transfer")
    page.set_input_files("#import-file", str(exported))
    page.click("button:has-text('Import')")
    page.wait_for_selector("#import-result:has-text('Imported')")
    assert page.text_content("#import-result") == (
        "Imported 3 documents, 0 revisions and 0 attachments."
    )
    assert page.evaluate("document.getElementById('import-progress').value") == 100
    watched.shot("import")
    # A bad file writes nothing, and says which line.
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"n": 1, "@metadata": {"@collection": "X", "@id": "x/1"}}\n{oops\n')
    page.set_input_files("#import-file", str(bad))
    page.click("button:has-text('Import')")
    page.wait_for_selector("#import-result:has-text('Not imported')")
    assert "line 2" in (page.text_content("#import-result") or "")
    stats = httpx.get(f"{served}/databases/target/stats").json()
    assert stats["CountOfDocuments"] == 3
    assert watched.errors == [] or all("400" in e for e in watched.errors)


def test_without_chromium_skips_or_under_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        _require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        _require_browser()


def test_readme_screenshot_exists() -> None:
    """docs/studio.png is test_paging_filter_and_narrow_screen's ``studio`` screenshot,
    copied by hand from build/screenshots when the Studio's looks change."""
    assert (Path(__file__).parent.parent / "docs" / "studio.png").exists()
