"""``python -m rookdb`` is the ``rookdb`` command."""

from rookdb.cli import main

main(prog_name="rookdb")
