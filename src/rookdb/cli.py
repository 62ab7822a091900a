"""The ``rookdb`` command: a thin shell over the library (SPEC §8).

``demo`` and ``serve`` so far; ``import``/``export``, ``query``, ``get`` and ``stats`` join
them on the same ``click`` group.
"""

from __future__ import annotations

import os

import click

import rookdb
from rookdb import demo as demo_tour


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(rookdb.__version__, prog_name="rookdb")
def main() -> None:
    """rookdb: a document database for Python with the RavenDB session model."""


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
    "--max-body-mb",
    default=256,
    show_default=True,
    type=click.IntRange(min=1),
    help="Largest request body, so the largest batch, in MB.",
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
    max_body_mb: int,
) -> None:
    """Serve databases over RavenDB's HTTP protocol, for rookdb's and RavenDB's clients."""
    try:
        from rookdb.server import ApiKeys, Limits, ServeOptions
        from rookdb.server import serve as run
    except ImportError as exc:
        raise click.ClickException(
            f"rookdb serve needs the server extra: pip install 'rookdb[server]' ({exc})"
        ) from exc
    from rookdb.errors import RookError
    from rookdb.storage.registry import open_backend

    if data is not None and postgres_url is not None:
        raise click.UsageError("give --data or --postgres, not both")
    options = ServeOptions(
        host=host,
        port=port,
        certificate=certificate,
        key=key,
        client_ca=client_ca,
        unsecured_allow_anywhere=unsecured_allow_anywhere,
        limits=Limits(max_body_bytes=max_body_mb * 1024 * 1024),
    )
    try:
        options.check()
        access = ApiKeys.from_file(api_keys) if api_keys else None
        if postgres_url is not None:
            backend, where = open_backend(postgres_url), "PostgreSQL"
        else:
            directory = os.path.abspath(data or "rookdb-data")
            backend, where = open_backend(f"sqlite:///{directory}"), directory
        run(backend, options, where=where, access=access, announce=click.echo)
    except RookError as exc:
        raise click.ClickException(str(exc)) from exc
