"""The conformance kit: run rookdb's behaviour tests, or your application's, on any backend.

This package is a pytest plugin, off unless a project asks for it: ``pytest_plugins =
["rookdb.testing"]`` in a ``conftest.py`` (or ``pytest -p rookdb.testing``) adds the
``rookdb_store`` / ``rookdb_new_store`` / ``rookdb_store_url`` / ``rookdb_backend`` fixtures,
the ``--rookdb-backend`` option and the ``rookdb_backends`` marker (``rookdb.testing.plugin``
says what each does). ``BACKENDS`` lists how each backend gets a fresh URL.
"""

from rookdb.testing.backends import BACKENDS, BackendSpec
from rookdb.testing.plugin import (
    pytest_addoption,
    pytest_configure,
    pytest_generate_tests,
    pytest_runtest_logreport,
    pytest_terminal_summary,
    rookdb_backend,
    rookdb_new_store,
    rookdb_store,
    rookdb_store_url,
)

__all__ = [
    "BACKENDS",
    "BackendSpec",
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_logreport",
    "pytest_terminal_summary",
    "rookdb_backend",
    "rookdb_new_store",
    "rookdb_store",
    "rookdb_store_url",
]
