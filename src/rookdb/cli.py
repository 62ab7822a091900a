"""The ``rookdb`` command: a thin shell over the library (SPEC §8).

This issue ships ``demo``; ``serve``, ``import``/``export``, ``query``, ``get`` and ``stats``
come with the server issue, on the same ``click`` group.
"""

from __future__ import annotations

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
