"""The conformance kit: run rookdb's behaviour tests against any backend.

``rookdb.testing.plugin`` is a pytest plugin (registered through the ``pytest11`` entry point)
that adds ``--backend`` and the ``store_url`` / ``new_store`` / ``store`` fixtures, each test
running once per selected backend. ``BACKENDS`` lists how each backend gets a fresh URL.
"""

from rookdb.testing.backends import BACKENDS, BackendSpec

__all__ = ["BACKENDS", "BackendSpec"]
