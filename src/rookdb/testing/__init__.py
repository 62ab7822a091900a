"""The conformance kit: run rookdb's behaviour tests, or your application's, on any backend.

This package is a pytest plugin, off unless a project asks for it: ``pytest_plugins =
["rookdb.testing"]`` in a ``conftest.py`` (or ``pytest -p rookdb.testing``) adds the
``rookdb_store`` / ``rookdb_new_store`` / ``rookdb_store_url`` / ``rookdb_database`` /
``rookdb_backend`` fixtures, the ``--rookdb-backend`` and ``--rookdb-url`` options and the
``rookdb_requires`` and ``rookdb_backends`` markers (``rookdb.testing.plugin`` says what each
does). ``BACKENDS`` lists how each built-in backend gets a fresh URL; ``rookdb.testing.suite``
is rookdb's behaviour suite, which runs on any URL.
"""

from rookdb.testing import plugin
from rookdb.testing.backends import BACKENDS, BackendSpec

# pytest finds a plugin's hooks and fixtures among its module's attributes: this package is the
# plugin users name, so it holds every one of ``plugin``'s.
from rookdb.testing.plugin import *  # noqa: F403

__all__ = ["BACKENDS", "BackendSpec", *plugin.__all__]
