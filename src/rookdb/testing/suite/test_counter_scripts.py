"""Counters in patch scripts, as RavenDB's JavaScript patch API has them: ``incrementCounter``,
``deleteCounter``, ``counter`` and ``counterRaw``, in the batch's transaction, on every
backend: in a session's deferred ``PatchCommand``, ``PatchOperation`` and
``PatchByQueryOperation``; nothing of a batch written when the script or its counters fail."""

from __future__ import annotations

import pytest

from rookdb import DocumentStore, PatchRequest, PatchScriptError, RookError
from rookdb.document_operations import PatchByQueryOperation, PatchOperation
from rookdb.storage.commands import PatchCommand
from rookdb.testing.suite.models import Product

pytestmark = pytest.mark.rookdb_requires("counters")


def _seed(store: DocumentStore, n: int = 2) -> None:
    with store.open_session() as session:
        for i in range(n):
            session.store(Product(f"p{i}", i), f"products/{i}")
        session.counters_for("products/0").increment("likes", 10)
        session.save_changes()


def _counters(store: DocumentStore, document_id: str) -> dict[str, int | None]:
    with store.open_session() as session:
        return session.counters_for(document_id).get_all()


def _patch(store: DocumentStore, document_id: str, script: str, **values: object) -> object:
    return store.operations.send(PatchOperation(document_id, None, PatchRequest(script, values)))


def test_increment_delete_and_read_in_a_patch_operation(store: DocumentStore) -> None:
    _seed(store)
    result = _patch(
        store,
        "products/0",
        "incrementCounter(this, 'likes', args.n);"
        "incrementCounter(id(this), 'views');"
        "this.likes = counter(this, 'likes');"
        "this.views = counter('products/0', 'views');"
        "this.none = counter(this, 'nothing');"
        "this.raw = counterRaw(this, 'likes');",
        n=5,
    )
    assert result.status == "Patched"  # type: ignore[attr-defined]
    assert _counters(store, "products/0") == {"likes": 15, "views": 1}
    with store.open_session() as session:
        document = session.load("products/0", dict)
        assert (document["likes"], document["views"], document["none"]) == (15, 1, None)
        assert list(document["raw"].values()) == [15]
        metadata = session.advanced.get_metadata_for(document)
        assert sorted(metadata["@counters"]) == ["likes", "views"]
    _patch(
        store, "products/0", "deleteCounter(this, 'likes'); this.after = counter(this, 'likes');"
    )
    assert _counters(store, "products/0") == {"views": 1}
    with store.open_session() as session:
        assert session.load("products/0", dict)["after"] is None


def test_counters_of_another_document_and_delete_then_increment(store: DocumentStore) -> None:
    _seed(store)
    _patch(
        store,
        "products/1",
        "deleteCounter('products/0', 'likes');"
        "incrementCounter('products/0', 'likes', 2);"
        "incrementCounter('products/0', 'LIKES', 3);"
        "this.seen = counter('products/0', 'Likes');",
    )
    assert _counters(store, "products/0") == {"likes": 5}
    with store.open_session() as session:
        assert session.load("products/1", dict)["seen"] == 5


def test_deferred_patch_sees_the_batch_and_the_session_reply_is_its_own(
    store: DocumentStore,
) -> None:
    _seed(store)
    with store.open_session() as session:
        session.advanced.defer(
            PatchCommand("products/0", PatchRequest("incrementCounter(this, 'likes', 1);")),
            PatchCommand(
                "products/0",
                PatchRequest("incrementCounter(this, 'likes', 1); this.n = counter(this,'likes');"),
            ),
        )
        session.counters_for("products/1").increment("likes", 7)
        session.save_changes()
        assert session.counters_for("products/1").get("likes") == 7
    assert _counters(store, "products/0") == {"likes": 12}
    assert _counters(store, "products/1") == {"likes": 7}
    with store.open_session() as session:
        assert session.load("products/0", dict)["n"] == 12


def test_patch_by_query_increments_every_match(store: DocumentStore) -> None:
    _seed(store, 4)
    operation = store.operations.send(
        PatchByQueryOperation(
            "from Products where units_in_stock >= 1 update {\n"
            " incrementCounter(this, 'restocked', this.units_in_stock); }"
        )
    )
    assert operation.wait_for_completion().total == 3
    assert [_counters(store, f"products/{i}").get("restocked") for i in range(4)] == [
        None,
        1,
        2,
        3,
    ]


def test_a_failed_counter_write_writes_nothing_of_the_batch(store: DocumentStore) -> None:
    _seed(store)
    with store.open_session() as session:
        session.store(Product("Brush"), "products/9")
        session.advanced.defer(
            PatchCommand(
                "products/0",
                PatchRequest("incrementCounter(this, 'likes'); incrementCounter('nope/1', 'x');"),
            )
        )
        with pytest.raises(RookError):
            session.save_changes()
    with store.open_session() as session:
        assert session.load("products/9", Product) is None
    assert _counters(store, "products/0") == {"likes": 10}


@pytest.mark.parametrize(
    "script",
    [
        "incrementCounter(this, 'likes', 1.5);",
        "incrementCounter(this, '', 1);",
        "incrementCounter(42, 'likes');",
        "counter(this);",
    ],
)
def test_bad_counter_calls_are_script_errors(store: DocumentStore, script: str) -> None:
    _seed(store)
    with pytest.raises(PatchScriptError):
        _patch(store, "products/0", script)
    assert _counters(store, "products/0") == {"likes": 10}


def test_a_session_holding_the_patched_document_saves_it_again(store: DocumentStore) -> None:
    # The script's counters of its own document are written before it: the patch's reply
    # has the document's last change vector, even when only a counter changed.
    _seed(store)
    with store.open_session() as session:
        session.advanced.use_optimistic_concurrency = True
        product = session.load("products/1", Product)
        session.advanced.defer(
            PatchCommand("products/1", PatchRequest("incrementCounter(this, 'new');"))
        )
        session.save_changes()
        product.units_in_stock = 42
        session.save_changes()
    with store.open_session() as session:
        product = session.load("products/1", Product)
        assert product.units_in_stock == 42
        assert session.advanced.get_metadata_for(product)["@counters"] == ["new"]
    assert _counters(store, "products/1") == {"new": 1}
