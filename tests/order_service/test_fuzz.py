"""Property-based fuzzing of the whole API from its OpenAPI schema (schemathesis + hypothesis):
for valid and for invalid input, the service answers without a 5xx, and 2xx bodies match the
documented schemas. Requests carry valid credentials (a customer via the service token on shopper
endpoints, a manager on staff endpoints), so the fuzzer reaches the handlers instead of stopping at 401.

The schemathesis pytest plugin does not run under pytest 9 here, so each operation's hypothesis
strategy is driven directly."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from order_service.main import create_app
from tests.order_service.conftest import SERVICE_TOKEN, build_shop, customer, module_postgres, set_stock

pytestmark = pytest.mark.slow


def _cases() -> list:
    """(operation, mode) pairs; invalid input only where the operation takes any."""
    app = create_app(sweeper=False)  # only to read the schema; no database is touched
    out = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            label = f"{method.upper()} {path}"
            out.append(pytest.param(label, GenerationMode.POSITIVE, id=f"{label}-valid"))
            if op.get("parameters") or op.get("requestBody"):
                out.append(pytest.param(label, GenerationMode.NEGATIVE, id=f"{label}-invalid"))
    return out


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzz_app(request, tmp_path_factory):
    """One test shop per database for the whole module (SQLite, then PostgreSQL, which refuses NUL
    bytes and overflowing integers), with stock everywhere so orders and transitions can succeed."""
    if request.param == "sqlite":
        yield from _fuzz_app(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    else:
        with module_postgres() as url:
            yield from _fuzz_app(url)


def _fuzz_app(url: str):
    from order_service.core.config import get_settings

    engine = build_shop(url)
    for location in (0, 7, 281, 1000):
        for sku in ("SKU-CPU", "SKU-RAM", "SKU-HP", "SKU-GPU"):
            set_stock(engine, location, sku, 100_000)
    app = create_app(
        get_settings().model_copy(update={"service_token": SERVICE_TOKEN}), engine, sweeper=False
    )
    with TestClient(app) as c:
        token = c.post("/auth/staff/token", json={"username": "manager", "password": "manager-demo"}).json()
    app.state.manager_token = token["access_token"]
    yield app
    engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


@pytest.mark.parametrize("label,mode", _cases())
def test_no_server_errors(api_schema, fuzz_app, label, mode):
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None
    staff = operation.path.startswith("/staff") or operation.path == "/auth/staff/me"
    headers = {"Authorization": f"Bearer {fuzz_app.state.manager_token}"} if staff else customer("cust-alice")

    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        checks = [not_a_server_error] + (
            [response_schema_conformance] if mode is GenerationMode.POSITIVE else []
        )
        statuses.append(case.call_and_validate(headers=headers, checks=checks).status_code)

    run()
    if mode is GenerationMode.POSITIVE and label != "POST /auth/staff/token":
        # the credentials worked: the fuzzer reached the handler, not only the authentication
        assert any(code not in (401, 403) for code in statuses), statuses
