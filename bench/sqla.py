"""SQLAlchemy 2 ORM on a SQLite file (the same journal and synchronous settings) or on PostgreSQL
(psycopg 3, a schema of its own): scalar fields as columns, the nested object and the list as
JSON columns (its natural mapping)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bench.data import changed_title, ids
from bench.places import POSTGRES_URL, Place


class Base(DeclarativeBase):
    pass


class EmployeeRow(Base):
    __tablename__ = "employees"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    first_name: Mapped[str] = mapped_column(String)
    last_name: Mapped[str] = mapped_column(String)
    title: Mapped[str] = mapped_column(String)
    email: Mapped[str] = mapped_column(String)
    age: Mapped[int] = mapped_column(Integer)
    salary: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean)
    hired: Mapped[str] = mapped_column(String)
    level: Mapped[int] = mapped_column(Integer, index=True)
    tags: Mapped[Any] = mapped_column(JSON)
    address: Mapped[Any] = mapped_column(JSON)


class Sqla:
    name = "SQLAlchemy ORM"

    def __init__(self, place: Place) -> None:
        self.place = place
        if place.backend == "postgres":
            schema = f"{place.schema}sqla"
            url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
            self.engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        else:
            self.engine = create_engine(f"sqlite:///{place.directory / 'sqla.db'}")

            @event.listens_for(self.engine, "connect")
            def _pragmas(conn: Any, _record: Any) -> None:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")

        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        self.place.drop_schemas()

    def prepare(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Mapped instances are built inside W1: SQLAlchemy's instrumentation (part of its
        # unit of work) runs in their constructor.
        return docs

    def w1_store(self, docs: list[dict[str, Any]]) -> None:
        with Session(self.engine) as session:
            session.add_all(
                EmployeeRow(id=i, **d) for i, d in zip(ids(len(docs)), docs, strict=True)
            )
            session.commit()

    def w2_one_by_one(self, n: int) -> list[EmployeeRow | None]:
        # Held to the end, as every contender holds what it loaded (the session's identity
        # map holds its objects weakly: without the list they would be freed one by one).
        with Session(self.engine) as session:
            return [session.get(EmployeeRow, document_id) for document_id in ids(n)]

    def load_batches(self, session: Session, n: int, size: int) -> list[EmployeeRow]:
        all_ids = ids(n)
        out: list[EmployeeRow] = []
        for start in range(0, n, size):
            chunk = all_ids[start : start + size]
            out.extend(session.scalars(select(EmployeeRow).where(EmployeeRow.id.in_(chunk))))
        return out

    def w2_batches(self, n: int) -> None:
        with Session(self.engine) as session:
            self.load_batches(session, n, 100)

    def w3_change_ten(self, n: int) -> None:
        title = changed_title()
        with Session(self.engine) as session:
            rows = self.load_batches(session, n, 1000)
            for i in range(0, n, n // 10):
                rows[i].title = title
            session.commit()

    def w5_query(self, n: int) -> int:
        with Session(self.engine) as session:
            return len(session.scalars(select(EmployeeRow).where(EmployeeRow.level == 1000)).all())

    def w4_nothing_changed(self, n: int) -> None:
        with Session(self.engine) as session:
            self.load_batches(session, n, 1000)
            assert not session.dirty
            session.commit()
