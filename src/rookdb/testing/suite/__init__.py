"""rookdb's behaviour tests, shipped so that any backend can be held to them.

They use only the public API, through the plugin's store fixtures, so they run on any URL::

    pytest -p rookdb.testing --pyargs rookdb.testing.suite --rookdb-url mydb://...

each test on a database of its own on that URL, deleted afterwards (without ``--rookdb-url``,
on rookdb's own backends, as ``--rookdb-backend`` picks). A test that needs what a backend
cannot do (``Capabilities``) is skipped with the reason. Needs rookdb's ``testing`` extra
(pytest, hypothesis, pydantic, attrs, jsonpatch). ``docs/extend.md`` says more.
"""
