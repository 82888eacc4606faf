"""The o2o pytest plugin (``-p core.testing``, set in pyproject.toml) gives the fixtures:
``make_app``, ``session``, ``client_as``, ``api_client``, ``temp_plugin``, ``fresh_database``.

Its per-run database has the built-in addons migrated, not third-party ones; ``make_app``
enables giftwrap (its branch and base data) in the test's outer transaction, so a rollback
inside a test keeps the tables, and the end of the test undoes everything.
"""
import pytest


@pytest.fixture
def app(make_app):
    return make_app(addons=["giftwrap"], third_party=True)
