"""``rookdb serve`` answers group-by RQL as RavenDB does: the groups from an automatic
map-reduce index (its name in ``IndexName``), and a 400 in RavenDB's error shape, never a
5xx, for a group-by query rookdb cannot answer; on SQLite files and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from rookdb.testing.backends import serve_on


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with serve_on(request.param, tmp_path_factory.mktemp(request.param)) as base:
        orders = [
            {"Id": f"orders/{n}", "Type": "PUT", "Document": document}
            for n, document in enumerate(
                {"company": c, "freight": f, "@metadata": {"@collection": "Orders"}}
                for c, f in [("a", 1), ("a", 2), ("b", 3)]
            )
        ]
        answer = httpx.post(
            f"{base}/databases/groups/bulk_docs", content=orjson.dumps({"Commands": orders})
        )
        assert answer.status_code in (200, 201), answer.text[:300]
        yield base


def _query(server: str, text: str, **parameters: Any) -> httpx.Response:
    body = {"Query": text, "QueryParameters": parameters}
    return httpx.post(f"{server}/databases/groups/queries", content=orjson.dumps(body))


def test_a_group_by_query_is_answered_from_an_automatic_index(server: str) -> None:
    answer = _query(
        server,
        "from Orders group by company where count() > $min order by company "
        "select key() as company, count() as count, sum(freight) as total",
        min=1,
    )
    assert answer.status_code == 200, answer.text[:300]
    body = answer.json()
    assert body["IndexName"] == "Auto/Orders/ByCountAndfreightReducedBycompany"
    rows = [{k: v for k, v in r.items() if k != "@metadata"} for r in body["Results"]]
    assert rows == [{"company": "a", "count": 2, "total": 3}]


@pytest.mark.parametrize(
    "text",
    [
        "from Orders group by company select freight",
        "from Orders group by company where freight = 1 select count()",
        "from Orders group by company select max(freight)",
        "from Orders group by company, freight select key()",
        "from Orders group by company select sum()",
        "from Orders group by",
    ],
)
def test_a_group_by_rookdb_cannot_answer_is_400(server: str, text: str) -> None:
    answer = _query(server, text)
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert answer.json()["Type"].startswith("Raven.Client.Exceptions.")
