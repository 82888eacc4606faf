"""A small, bounded property-based run (schemathesis) over core's routes: whatever the
generated input, the API never answers 5xx. Skipped where schemathesis is not installed."""
import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402  (schemathesis brings hypothesis)

schemathesis.experimental.OPEN_API_3_1.enable()

# schemathesis 3 on current jsonschema warns on import and per case: not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TOKEN = {}


@pytest.fixture
def api_schema(make_app, api_client):
    app = make_app(addons=[])
    TOKEN["value"] = api_client(superuser=True).token
    return schemathesis.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_core_routes_never_answer_5xx(case):
    response = case.call(headers={"Authorization": f"Bearer {TOKEN['value']}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.get_data(as_text=True)[:300]}"
