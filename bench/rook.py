"""rookdb on its embedded SQLite file backend, or on PostgreSQL."""

from __future__ import annotations

from typing import Any

from bench.data import KINDS, changed_title, ids
from bench.places import POSTGRES_URL, Place
from rookdb import DocumentSession, DocumentStore, SessionOptions


class Rook:
    """rookdb with entities of one kind (``bench.data.KINDS``: plain, dataclass, pydantic)."""

    name = "rookdb"

    def __init__(
        self,
        place: Place,
        url: str | None = None,
        database: str = "bench",
        kind: str = "plain",
    ) -> None:
        """On ``place``; or, given ``url`` (a server), in ``database`` there."""
        self.place = place
        self.kind = kind
        self.cls, self.make = KINDS[kind]
        if url is None and place.backend == "postgres":
            url = f"{POSTGRES_URL}?schema_prefix={place.schema}"
        elif url is None:
            url = f"sqlite:///{place.directory}"
        self.database = database
        self.store = DocumentStore(urls=url, database=database).initialize()

    def close(self) -> None:
        if self.store.urls[0].startswith("http"):
            self.store.maintenance.delete_database(self.database)
        self.store.close()
        self.place.drop_schemas()

    def _session(self, no_tracking: bool = False) -> DocumentSession:
        session = self.store.open_session(session_options=SessionOptions(no_tracking=no_tracking))
        # Loading N documents one by one is N requests: the benchmark lifts the budget (S18).
        session.advanced.max_number_of_requests_per_session = 10**9
        return session

    def prepare(self, docs: list[dict[str, Any]]) -> list[Any]:
        """The user's objects, built before the clock starts (the floor gets ready dicts)."""
        return [self.make(doc) for doc in docs]

    def w1_store(self, employees: list[Any]) -> None:
        with self._session() as session:
            for document_id, employee in zip(ids(len(employees)), employees, strict=True):
                session.store(employee, document_id)
            session.save_changes()

    def w2_one_by_one(self, n: int) -> list[Any]:
        # Held to the end, as every contender holds what it loaded (the session holds them too).
        with self._session() as session:
            return [session.load(document_id, self.cls) for document_id in ids(n)]

    def load_batches(self, session: DocumentSession, n: int, size: int) -> list[Any]:
        all_ids = ids(n)
        out: list[Any] = []
        for start in range(0, n, size):
            out.extend(session.load(all_ids[start : start + size], self.cls).values())
        return out

    def w2_batches(self, n: int) -> None:
        with self._session() as session:
            self.load_batches(session, n, 100)

    def w3_change_ten(self, n: int) -> None:
        title = changed_title()
        with self._session() as session:
            employees = self.load_batches(session, n, 1000)
            for i in range(0, n, n // 10):
                employees[i].title = title
            session.save_changes()

    def w4_nothing_changed(self, n: int) -> None:
        with self._session() as session:
            self.load_batches(session, n, 1000)
            assert not session.advanced.has_changes
            session.save_changes()

    def w5_query(self, n: int) -> int:
        with self._session() as session:
            return len(session.query(object_type=self.cls).where_equals("level", 1000).to_list())

    def w5_scan(self, n: int) -> int:
        """W5 with automatic indexes capped at 0: rookdb's un-indexed scan (run before the
        index exists)."""
        storage: Any = self.store._storage(self.database)
        storage.max_auto_indexes = 0
        try:
            return self.w5_query(n)
        finally:
            del storage.max_auto_indexes  # back to the class's cap

    def w6_load(self, n: int, tracking: bool) -> None:
        with self._session(no_tracking=not tracking) as session:
            self.load_batches(session, n, 1000)
