"""The ``rookdb`` command: a thin shell over the library (SPEC §8).

``serve`` and ``demo``; ``get``, ``query``, ``stats``, ``import`` and ``export`` work on the
documents of one database as stored (JSON, no Python classes), through the storage interface
of whatever backend ``--url`` names: a directory of SQLite files, PostgreSQL or a server.
The reference in ``docs/cli.md`` is generated from the ``--help`` texts here (``make docs``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

import click
import orjson

import rookdb
from rookdb import demo as demo_tour
from rookdb import protocol, rql, transfer
from rookdb.errors import ConfigurationError, DatabaseDoesNotExistError, RookError, shown
from rookdb.ids import validate_database_name
from rookdb.serialization.exact_numbers import written_back
from rookdb.storage.base import Backend, Storage
from rookdb.storage.records import document_key
from rookdb.storage.registry import open_backend
from rookdb.store import DEFAULT_DATABASE, DEFAULT_URL

F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(rookdb.__version__, prog_name="rookdb")
def main() -> None:
    """rookdb: a document database for Python with the RavenDB session model.

    get, query, stats, indexes and export only read: they create nothing, and a database
    that does not exist is an error that names the databases there are. import creates its
    database.
    """


def _reports_errors(command: F) -> F:
    """A rookdb error ends the command with its message and exit status 1, no traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RookError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc

    return run  # type: ignore[return-value]


def _on_database(command: F) -> F:
    """``--url`` and ``--database``, the options of every command that works on documents."""
    command = click.option(
        "--database",
        "-d",
        default=DEFAULT_DATABASE,
        show_default=True,
        help="The database in that storage.",
    )(command)
    return click.option(
        "--url",
        envvar="ROOKDB_URL",
        default=DEFAULT_URL,
        show_default=True,
        show_envvar=True,
        help="The storage: sqlite:///DIR, postgresql://..., or http(s):// of a rookdb server.",
    )(command)


@contextlib.contextmanager
def _opened(url: str) -> Iterator[Backend]:
    backend = open_backend(url)
    if not backend.capabilities.persistent:
        # memory://, sqlite:// and sqlite:///:memory: end with the command: an import into
        # one would report success and keep nothing.
        backend.close()
        raise ConfigurationError(
            f"{url} is a database in this process's memory, gone when the command ends: "
            "use sqlite:///DIR, postgresql://... or http(s):// of a rookdb server"
        )
    try:
        yield backend
    finally:
        backend.close()


@contextlib.contextmanager
def _database(url: str, database: str) -> Iterator[Storage]:
    with _opened(url) as backend:
        yield backend.database(validate_database_name(database))


def _existing(backend: Backend, url: str, database: str) -> str:
    """The name of ``database`` as stored (names are case-insensitive), for the commands that
    only read: they must not create a database, so a typo ends here, naming those there are."""
    wanted = validate_database_name(database)
    names = backend.list_databases()
    found = next((name for name in names if name.lower() == wanted.lower()), None)
    if found is None:
        there = (
            "the databases there: " + ", ".join(sorted(names, key=str.lower))
            if names
            else "there are no databases there"
        )
        raise DatabaseDoesNotExistError(
            f"no database named {shown(wanted)} at {_without_password(url)}; {there}"
        )
    return found


@contextlib.contextmanager
def _reading(url: str, database: str) -> Iterator[tuple[Backend, str]]:
    """The backend of ``url`` and the stored name of ``database``, which must exist."""
    with _opened(url) as backend:
        yield backend, _existing(backend, url, database)


def _without_password(url: str) -> str:
    """A URL fit to print: any password replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _json(value: Any, pretty: bool = False) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 if pretty else 0).decode()


@main.command()
@_on_database
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@_reports_errors
def get(url: str, database: str, ids: tuple[str, ...]) -> None:
    """Print the documents with these ids, as JSON with their @metadata.

    Exit status 1 if any of them does not exist (the others are still printed).
    """
    with _reading(url, database) as (backend, name):
        found = backend.database(name).get(list(ids)).documents
    missing = []
    for document_id in ids:
        record = found.get(document_key(document_id))
        if record is None:
            missing.append(document_id)
        else:
            click.echo(_json(protocol.encode_document(record), pretty=True))
    if missing:
        raise click.ClickException("no document " + ", ".join(map(repr, missing)))


def _parameter(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{shown(text)} is not NAME=VALUE", param_hint="--parameter")
    try:
        return name.lstrip("$"), orjson.loads(value)
    except orjson.JSONDecodeError:
        return name.lstrip("$"), value  # not JSON: the text itself


@main.command()
@_on_database
@click.argument("text", metavar="RQL")
@click.option(
    "--parameter",
    "-p",
    "parameters",
    multiple=True,
    metavar="NAME=VALUE",
    help='A value for $NAME in the query: JSON (42, true, "text") or else plain text.',
)
@_reports_errors
def query(url: str, database: str, text: str, parameters: tuple[str, ...]) -> None:
    """Run an RQL query and print its results, one JSON document per line.

    \b
    Example:
      rookdb query 'from Employees where LastName = $name' -p name=King
    """
    parsed = rql.parse(text, dict(map(_parameter, parameters)))
    with _reading(url, database) as (backend, name):
        result = backend.database(name).query(parsed)
    if result.projections is not None:  # their numbers as stored (9.50)
        rows: Iterator[Any] = (written_back(p, result.notes) for p in result.projections)
    else:
        rows = map(protocol.encode_document, result.records)
    for row in rows:
        click.echo(_json(row))


@main.command()
@_on_database
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@_reports_errors
def stats(url: str, database: str, as_json: bool) -> None:
    """Print how many documents the database holds, per collection, and its indexes.

    --json prints them as the server's /stats answers (RavenDB's shape).
    """
    with _reading(url, database) as (backend, name):
        statistics = backend.statistics(name)
    if as_json:  # the shape of the server's /stats (RavenDB's, with Collections)
        click.echo(_json(protocol.encode_statistics(statistics), pretty=True))
        return
    click.echo(f"database   {statistics.database}")
    click.echo(f"documents  {statistics.count_of_documents:,}")
    width = max(map(len, statistics.collections), default=0)
    for name, count in sorted(statistics.collections.items()):
        click.echo(f"  {name:<{width}}  {count:>12,}")
    click.echo(f"indexes    {len(statistics.indexes)}")
    for index in statistics.indexes:
        click.echo(f"  {index}")
    if statistics.count_of_attachments:
        attachments, unique = (
            statistics.count_of_attachments,
            statistics.count_of_unique_attachments,
        )
        click.echo(f"attachments {attachments:,} ({unique:,} distinct contents)")


@main.command()
@_on_database
@click.option("--json", "as_json", is_flag=True, help="Print RavenDB's IndexStats JSON.")
@_reports_errors
def indexes(url: str, database: str, as_json: bool) -> None:
    """List the database's user-defined indexes: type, state, entries, reduce results and
    errors (an index still being built after a put says Building, and is stale)."""
    with _reading(url, database) as (backend, name):
        found = backend.database(name).index_statistics()
    if as_json:
        click.echo(_json([s.to_json() for s in found], pretty=True))
        return
    if not found:
        click.echo("no indexes")
        return
    width = max(len(s.name) for s in found)
    for s in found:
        results = f"  {s.reduce_results_count:,} results" if s.type.endswith("MapReduce") else ""
        click.echo(
            f"{s.name:<{width}}  {s.type:<18} {s.state:<8}  {s.entries_count:>10,} entries"
            f"{results}  {s.errors_count:,} errors"
        )


def _progress(length: int, label: str) -> Any:
    # On stderr, so that `rookdb export -` can write the documents to stdout.
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)


@main.command(name="export")
@_on_database
@click.argument("file", type=click.File("wb", atomic=True))
@click.option("--collection", "-c", default=None, help="Only the documents of this collection.")
@_reports_errors
def export_command(url: str, database: str, file: IO[bytes], collection: str | None) -> None:
    """Write the database's documents to FILE ('-' for stdout), one JSON document per line,
    then their attachments, their counters, their revisions and the revisions configuration.

    Streams: memory stays the same for any number of documents. Each line is a document in
    RavenDB's shape, with @id and @collection in its @metadata (no change vector: storage
    assigns one on import); after them, {"@attachment": ...} lines each followed by its
    content in {"@content": base64} lines, {"@counters": {"Id": ..., "Counters": {name:
    value}}} lines, {"@revision": ...} lines (their change vectors
    kept) and a {"@revisions-configuration": ...} line.
    """
    with _reading(url, database) as (backend, name):
        statistics = backend.statistics(name)
        total = (
            statistics.count_of_documents
            if collection is None
            else next(
                (n for c, n in statistics.collections.items() if c.lower() == collection.lower()),
                0,
            )
        )
        written = revisions = attachments = counted = 0
        with _progress(total, "Exporting") as bar:
            for kind, line in transfer.export_records(backend.database(name), collection):
                file.write(line)
                if kind == transfer.DOCUMENT:
                    written += 1
                    bar.update(1)
                revisions += kind == transfer.REVISION
                attachments += kind == transfer.ATTACHMENT
                counted += kind == transfer.COUNTERS_LINE
    click.echo(
        f"exported {written:,} documents, {revisions:,} revisions"
        + (f", {attachments:,} attachments" if attachments else "")
        + (f", the counters of {counted:,} documents" if counted else ""),
        err=True,
    )


@main.command(name="import")
@_on_database
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--batch-size",
    default=transfer.DEFAULT_BATCH_SIZE,
    show_default=True,
    type=click.IntRange(min=1),
    help="Documents per atomic batch.",
)
@_reports_errors
def import_command(url: str, database: str, path: str, batch_size: int) -> None:
    """Store the documents of FILE, JSON lines as `rookdb export` writes them.

    Each line is a JSON object with "@metadata": {"@id": ..., "@collection": ...}; a document
    whose id is already stored is replaced. Attachments ({"@attachment": ...} lines, then
    their content) are stored after their documents, each checked against its size and
    hash; counters ({"@counters": ...} lines) are set to their values after their
    documents. Revisions ({"@revision": ...} lines) are kept as they are (one the database has is
    skipped), the revisions configuration applied last.
    The whole file is checked before anything is written, so a bad line writes nothing; then
    documents are written BATCH-SIZE per atomic batch, streaming, in constant memory.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as file, _progress(size, "Checking ") as bar:
        held = transfer.check_records(file, bar.update)
    with (
        _database(url, database) as storage,
        open(path, "rb") as file,
        _progress(size, "Importing") as bar,
    ):
        if (held.revisions or held.configuration) and not storage.capabilities.revisions:
            raise ConfigurationError(
                f"{path} holds revisions; the {storage.capabilities.name} backend keeps none "
                "(nothing was imported)"
            )
        if held.counters and not storage.capabilities.counters:
            raise ConfigurationError(
                f"{path} holds counters; the {storage.capabilities.name} backend keeps none "
                "(nothing was imported)"
            )
        stored = transfer.import_records(storage, file, batch_size=batch_size, progress=bar.update)
    click.echo(
        f"imported {stored.documents:,} documents, {stored.revisions:,} revisions"
        + (f", {stored.attachments:,} attachments" if stored.attachments else "")
        + (f", the counters of {stored.counters:,} documents" if stored.counters else "")
        + (", the revisions configuration" if stored.configuration else ""),
        err=True,
    )


@main.command()
@click.option(
    "--url",
    default=None,
    help="Where to run the tour (default: $ROOKDB_URL, else sqlite:///./rookdb-data).",
)
def demo(url: str | None) -> None:
    """A short tour on the embedded default: sample data, tracking, no-tracking, ignore,
    what_changed. Uses (and first empties) the database 'demo'."""
    demo_tour.run(click.echo, url)


@main.command()
@click.option(
    "--data",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory of SQLite database files to serve (default ./rookdb-data).",
)
@click.option(
    "--postgres",
    "postgres_url",
    default=None,
    help="Serve the rookdb databases in this PostgreSQL.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0: any free one).")
@click.option("--certificate", default=None, help="TLS certificate (PEM) for https.")
@click.option("--key", default=None, help="The TLS certificate's private key (PEM).")
@click.option(
    "--client-ca",
    default=None,
    help="Only clients with a certificate signed by this CA (PEM) may connect.",
)
@click.option(
    "--api-keys",
    default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="JSON file of API keys with per-database access (format: README, The server).",
)
@click.option(
    "--unsecured-allow-anywhere",
    is_flag=True,
    help="Allow a non-loopback address without TLS (only on a network you trust).",
)
@click.option(
    "--create-databases",
    is_flag=True,
    help="Create a database on first use for every client. Without it, RavenDB's clients get "
    "DatabaseDoesNotExistException for a database not created (CreateDatabaseOperation), as "
    "from RavenDB; rookdb's own client creates databases on first use either way.",
)
@click.option(
    "--max-body-mb",
    default=256,
    show_default=True,
    type=click.IntRange(min=1),
    help="Largest request body, so the largest batch, in MB.",
)
@click.option(
    "--max-concurrency",
    default=256,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests handled at once; more are answered 503 at once.",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds a client has to send a request's head (408 after).",
)
@click.option(
    "--idle-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds a kept-alive connection, or a request body, may stay silent.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error", "critical"], case_sensitive=False),
    help="Log to stderr from this level: start and stop, automatic indexes, errors.",
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log a line per request (client, request, status, bytes, milliseconds) on stderr.",
)
def serve(
    data: str | None,
    postgres_url: str | None,
    host: str,
    port: int,
    certificate: str | None,
    key: str | None,
    client_ca: str | None,
    api_keys: str | None,
    unsecured_allow_anywhere: bool,
    create_databases: bool,
    max_body_mb: int,
    max_concurrency: int,
    header_timeout: float,
    idle_timeout: float,
    log_level: str,
    access_log: bool,
) -> None:
    """Serve databases over RavenDB's HTTP protocol, for rookdb's and RavenDB's clients."""
    try:
        from rookdb.server import ApiKeys, Limits, MissingDatabases, ServeOptions
        from rookdb.server import serve as run
    except ImportError as exc:
        raise click.ClickException(
            f"rookdb serve needs the server extra: pip install 'rookdb[server]' ({exc})"
        ) from exc

    if data is not None and postgres_url is not None:
        raise click.UsageError("give --data or --postgres, not both")
    options = ServeOptions(
        host=host,
        port=port,
        certificate=certificate,
        key=key,
        client_ca=client_ca,
        unsecured_allow_anywhere=unsecured_allow_anywhere,
        limits=Limits(
            max_body_bytes=max_body_mb * 1024 * 1024,
            max_concurrency=max_concurrency,
            header_timeout_s=header_timeout,
            idle_timeout_s=idle_timeout,
        ),
        log_level=log_level,
        access_log=access_log,
        missing_databases=MissingDatabases.CREATE if create_databases else MissingDatabases.ERROR,
    )
    try:
        options.check()
        access = ApiKeys.from_file(api_keys) if api_keys else None
        if postgres_url is not None:
            backend, where = open_backend(postgres_url), _without_password(postgres_url)
        else:
            directory = os.path.abspath(data or "rookdb-data")
            backend, where = open_backend(f"sqlite:///{directory}"), directory
        run(backend, options, where=where, access=access, announce=click.echo)
    except RookError as exc:
        raise click.ClickException(str(exc)) from exc
