"""``session.counters_for`` on every backend: increments and deletes sent in the session's one
batch (after its puts), the session's cache of values (filled by reads and by the save's
replies, gone with evict, refresh and clear), no request where the session knows the answer."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb import ConcurrencyError, DocumentStore, InvalidOperationError
from rookdb.errors import DocumentNotFoundError

pytestmark = pytest.mark.rookdb_requires("counters")


class Page:
    def __init__(self, title: str = "") -> None:
        self.title = title


def _requests(session: Any) -> int:
    return int(session.advanced.number_of_requests)


def test_a_save_sends_the_document_and_its_counters_in_one_batch(store: DocumentStore) -> None:
    with store.open_session() as session:
        page = Page("home")
        session.store(page, "pages/1")
        counters = session.counters_for(page)
        counters.increment("views")
        counters.increment("views", 4)
        session.counters_for("PAGES/1").increment("Likes", 2)
        session.save_changes()
        assert _requests(session) == 1
        # The save's reply filled the cache: no request.
        assert counters.get("views") == 5
        assert counters.get_many(["likes", "nope"]) == {"likes": 2, "nope": None}
        assert _requests(session) == 1
        page.title = "home page"  # the document's new version is known: this save passes
        session.save_changes()
    with store.open_session() as session:
        page = session.load("pages/1", Page)
        metadata = session.advanced.get_metadata_for(page)
        assert metadata["@counters"] == ["Likes", "views"]
        assert page.title == "home page"
        assert session.counters_for(page).get_all() == {"Likes": 2, "views": 5}
        assert session.counters_for(page).get("views") == 5
        assert _requests(session) == 2  # the load, then get_all
        # Not in the document's @counters: None without asking storage.
        assert session.counters_for(page).get("downloads") is None
        assert _requests(session) == 2


def test_increments_of_two_sessions_add_up(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Page(), "pages/1")
        session.save_changes()
    first, second = store.open_session(), store.open_session()
    first.counters_for("pages/1").increment("views", 1)
    second.counters_for("pages/1").increment("views", 10)
    first.save_changes()
    second.save_changes()
    with store.open_session() as session:
        assert session.counters_for("pages/1").get("views") == 11


def test_delete_and_the_queue_rules(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Page(), "pages/1")
        session.counters_for("pages/1").increment("a")
        session.counters_for("pages/1").increment("b")
        session.save_changes()
    with store.open_session() as session:
        counters = session.counters_for("pages/1")
        counters.delete("a")
        with pytest.raises(InvalidOperationError):
            counters.increment("A")  # a delete of it is queued
        session.save_changes()
        assert counters.get_all() == {"b": 1}
    with store.open_session() as session:
        page = session.load("pages/1", Page)
        session.delete(page)
        with pytest.raises(InvalidOperationError):
            session.counters_for("pages/1").increment("b")


def test_a_failed_save_writes_no_increment_and_keeps_them_queued(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.counters_for("pages/404").increment("views")
        with pytest.raises(DocumentNotFoundError):
            session.save_changes()
        session.store(Page(), "pages/404")
        session.save_changes()  # the document first, then the increment queued before
    with store.open_session() as session:
        assert session.counters_for("pages/404").get("views") == 1


def test_evict_refresh_and_clear_drop_the_cache(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Page(), "pages/1")
        session.counters_for("pages/1").increment("views")
        session.save_changes()
    with store.open_session() as session, store.open_session() as other:
        page = session.load("pages/1", Page)
        counters = session.counters_for(page)
        assert counters.get("views") == 1
        other.counters_for("pages/1").increment("views", 5)
        other.save_changes()
        assert counters.get("views") == 1  # cached
        session.advanced.refresh(page)
        assert counters.get("views") == 6
        other.counters_for("pages/1").increment("views")
        other.save_changes()
        session.advanced.clear()
        assert session.counters_for("pages/1").get("views") == 7


def test_counters_change_a_documents_version_as_storage_says(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Page("a"), "pages/1")
        session.save_changes()
    with store.open_session() as session, store.open_session() as other:
        session.advanced.use_optimistic_concurrency = True
        page = session.load("pages/1", Page)
        other.counters_for("pages/1").increment("new")  # a new name: a new version
        other.save_changes()
        page.title = "b"
        with pytest.raises(ConcurrencyError):
            session.save_changes()


def test_loads_include_counters_in_their_one_request(store: DocumentStore) -> None:
    with store.open_session() as session:
        for i in (1, 2):
            session.store(Page(f"p{i}"), f"pages/{i}")
            session.counters_for(f"pages/{i}").increment("views", i)
            session.counters_for(f"pages/{i}").increment("likes", 10 * i)
        session.save_changes()
    with store.open_session() as session:
        page = session.load("pages/1", Page, lambda i: i.include_counter("views"))
        assert page.title == "p1"
        counters = session.counters_for(page)
        assert counters.get("views") == 1
        assert counters.get("missing") is None  # not in @counters
        assert _requests(session) == 1
        assert counters.get("likes") == 10  # not included: asked for
        assert _requests(session) == 2
    with store.open_session() as session:
        pages = session.load(["pages/1", "pages/2"], Page, lambda i: i.include_all_counters())
        assert pages["pages/2"].title == "p2"
        assert session.counters_for("pages/2").get_all() == {"likes": 20, "views": 2}
        assert session.counters_for("pages/1").get_many(["likes", "views"]) == {
            "likes": 10,
            "views": 1,
        }
        assert _requests(session) == 1
    with store.open_session() as session, pytest.raises(InvalidOperationError):
        session.load("pages/1", Page, lambda i: i.include_all_counters().include_counter("x"))


class Pager:
    def __init__(self, title: str = "", page_id: str = "") -> None:
        self.title = title
        self.page_id = page_id


def _seed_pages(store: DocumentStore) -> None:
    with store.open_session() as session:
        for i in (1, 2):
            session.store(Page(f"p{i}"), f"pages/{i}")
            session.counters_for(f"pages/{i}").increment("views", i)
            session.counters_for(f"pages/{i}").increment("likes", 10 * i)
        session.store(Pager("index", "pages/1"), "pagers/1")
        session.save_changes()


def test_queries_include_counters_in_their_one_request(store: DocumentStore) -> None:
    _seed_pages(store)
    with store.open_session() as session:
        query = session.query(object_type=Page).include(lambda b: b.include_counter("views"))
        assert query.to_query().counters == ("views",)
        pages = query.to_list()
        assert sorted(p.title for p in pages) == ["p1", "p2"]
        assert session.counters_for("pages/2").get("views") == 2
        assert session.counters_for("pages/1").get("nope") is None
        assert _requests(session) == 1
        assert session.counters_for("pages/1").get("likes") == 10  # not included: asked for
        assert _requests(session) == 2
    with store.open_session() as session:
        query = session.query(object_type=Page).include(lambda b: b.include_all_counters())
        assert len(query.to_list()) == 2
        assert session.counters_for("pages/1").get_all() == {"likes": 10, "views": 1}
        assert _requests(session) == 1
    with store.open_session() as session:
        query = session.query(object_type=Page).include(
            lambda b: b.include_counters("views", "likes")
        )
        query = query.where_equals("title", "p2")
        assert [p.title for p in query.to_list()] == ["p2"]
        assert session.counters_for("pages/2").get_many(["views", "likes"]) == {
            "views": 2,
            "likes": 20,
        }
        assert _requests(session) == 1


def test_a_query_includes_documents_and_counters_together(store: DocumentStore) -> None:
    _seed_pages(store)
    with store.open_session() as session:
        pagers = (
            session.query(object_type=Pager)
            .include(lambda b: b.include_documents("page_id").include_counters(["views"]))
            .to_list()
        )
        assert [p.title for p in pagers] == ["index"]
        assert session.load("pages/1", Page).title == "p1"
        assert session.counters_for("pagers/1").get("views") is None
        assert _requests(session) == 1
    with store.open_session() as session, pytest.raises(InvalidOperationError):
        session.query(object_type=Page).include(lambda b: b.include_counter("x")).include(
            lambda b: b.include_all_counters()
        )


def test_lazy_loads_and_queries_include_counters(store: DocumentStore) -> None:
    _seed_pages(store)
    with store.open_session() as session:
        lazy_page = session.advanced.lazily.load(
            "pages/1", Page, includes=lambda b: b.include_counter("views")
        )
        lazy_pages = (
            session.query(object_type=Page).include(lambda b: b.include_all_counters()).lazily()
        )
        assert lazy_page.value.title == "p1"
        assert len(lazy_pages.value) == 2
        assert _requests(session) == 1
        assert session.counters_for("pages/1").get("views") == 1
        assert session.counters_for("pages/2").get_all() == {"likes": 20, "views": 2}
        assert _requests(session) == 1
    with store.open_session() as session:
        loaded = session.advanced.lazily.include_counters(["likes"]).load(["pages/1", "pages/2"])
        assert sorted(loaded.value) == ["pages/1", "pages/2"]
        assert session.counters_for("pages/2").get("likes") == 20
        assert _requests(session) == 1
