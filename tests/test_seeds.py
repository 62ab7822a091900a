"""A seed in its own form: ``DocumentStore()``, the embedded default in ./rookdb-data (the
other seeds are in the shipped suite, ``rookdb.testing.suite.test_seeds``)."""

from __future__ import annotations

from rookdb import DocumentStore
from rookdb.testing.suite.models import Employee
from rookdb.testing.suite.test_seeds import MyCustomShouldIgnoreEntityChanges


def test_customize_tracking_with_the_embedded_default(in_tmp_dir: None) -> None:
    """The seed's own form: ``DocumentStore()`` is the embedded default in ./rookdb-data."""
    with DocumentStore() as store:
        store.conventions.should_ignore_entity_changes = MyCustomShouldIgnoreEntityChanges
        with store.open_session() as session:
            session.store(Employee(first_name="Bob", Id="employees/2"))
            assert session.advanced.what_changed() == {}
            session.save_changes()
        assert store.urls == ["sqlite:///./rookdb-data"]
    import os

    assert os.path.exists("rookdb-data/default.rookdb")
