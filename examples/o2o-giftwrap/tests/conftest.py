"""The o2o pytest plugin (``-p core.testing``, set in pyproject.toml) gives the fixtures:
``make_app``, ``session``, ``client_as``, ``api_client``, ``temp_plugin``, ``fresh_database``.

Its per-run database has the built-in addons migrated, not third-party ones, so ``app``
here enables giftwrap inside the test's transaction: the giftwrap branch and base data run
and are rolled back with everything else when the test ends.
"""
import pytest

from core.addons import enable


@pytest.fixture
def app(make_app):
    app = make_app(addons=["giftwrap"], third_party=True)
    enable(app, ["giftwrap"])
    return app
