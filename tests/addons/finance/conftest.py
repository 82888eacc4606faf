import pytest

from tests.addons.finance.helpers import hook, stores  # noqa: F401  (fixtures)


@pytest.fixture
def app(make_app):
    """Finance alone (it depends on core only): the events come from the tests."""
    return make_app(addons=["finance"])
