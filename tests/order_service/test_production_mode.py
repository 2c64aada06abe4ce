"""Production mode (issue 16, secrets): the services refuse to start with development secrets or a
staff account that still has a published demo password, and `daogou config --check` says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from daogou.config import Settings, unsafe_settings
from order_service.core.db import make_sessionmaker
from order_service.core.security import DEMO_PASSWORDS, hash_password, verify_password
from order_service.main import create_app, production_problems
from order_service.models import StaffUser
from tests.order_service.conftest import build_shop

ROOT = Path(__file__).resolve().parents[2]
STRONG = {
    "service_token": "s" * 40,
    "action_server_token": "a" * 40,
    "rest_channel_token": "r" * 40,
}


def _settings(**update) -> Settings:
    return Settings().model_copy(update=update)


def test_development_secrets_and_open_doors_are_unsafe():
    problems = unsafe_settings(_settings())
    for variable in ("SERVICE_TOKEN", "ACTION_SERVER_TOKEN", "REST_CHANNEL_TOKEN"):
        assert any(p.startswith(variable) for p in problems), (variable, problems)
    assert unsafe_settings(_settings(**STRONG)) == []
    assert any("RASA_API_TOKEN" in p for p in unsafe_settings(_settings(**STRONG, rasa_api_token="short")))


@pytest.fixture
def shop(sqlite_url):
    engine = build_shop(sqlite_url)
    yield engine
    engine.dispose()


def _demo_accounts(engine) -> list[str]:
    """Accounts whose stored hash verifies a demo password, read straight from the table."""
    with make_sessionmaker(engine)() as session:
        rows = session.execute(select(StaffUser.username, StaffUser.password_hash)).all()
    return sorted(u for u, h in rows if any(verify_password(pw, h) for pw in DEMO_PASSWORDS.values()))


def test_the_order_service_refuses_to_start_with_demo_passwords(shop):
    settings = _settings(**STRONG, production=True)
    weak = _demo_accounts(shop)
    assert weak, "the demo shop gives its staff the demo passwords"
    problems = production_problems(settings, shop)
    assert len(problems) == 1 and f"{len(weak)} staff account(s)" in problems[0]
    with pytest.raises(RuntimeError, match="refusing to start in production mode"):
        with TestClient(create_app(settings, shop, sweeper=False)):
            pass

    with make_sessionmaker(shop)() as session:  # every password changed: the service starts
        session.execute(update(StaffUser).values(password_hash=hash_password("a long new passphrase 42")))
        session.commit()
    assert _demo_accounts(shop) == [] and production_problems(settings, shop) == []
    with TestClient(create_app(settings, shop, sweeper=False)) as client:
        assert client.get("/health").status_code == 200


def test_production_mode_off_checks_nothing(shop):
    assert production_problems(_settings(), shop) == []


def _run(args: list[str], env: dict[str, str], timeout: int = 240) -> subprocess.CompletedProcess:
    full = {**os.environ, **env}
    return subprocess.run(args, cwd=ROOT, env=full, capture_output=True, text=True, timeout=timeout)


def test_config_check_says_what_is_unsafe(tmp_path, sqlite_url):
    build_shop(sqlite_url).dispose()
    daogou = str(Path(sys.executable).parent / "daogou")
    env = {"STATE_DIR": str(tmp_path), "DATABASE_URL": sqlite_url}
    unsafe = _run([daogou, "config", "--check"], env)
    assert unsafe.returncode == 1
    assert "SERVICE_TOKEN is the development default" in unsafe.stdout
    assert "staff account(s) still have a demo password" in unsafe.stdout
    fresh = {"STATE_DIR": str(tmp_path / "empty"), "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    strong = {k.upper(): v for k, v in STRONG.items()}
    safe = _run([daogou, "config", "--check"], {**fresh, **strong})
    assert safe.returncode == 0, safe.stdout + safe.stderr


@pytest.mark.slow
def test_the_action_server_refuses_to_start_with_development_secrets(tmp_path):
    result = _run([sys.executable, "-m", "actions"], {"PRODUCTION": "1", "STATE_DIR": str(tmp_path)}, 600)
    assert result.returncode != 0
    assert "action server: refusing to start in production mode" in result.stderr
    assert "ACTION_SERVER_TOKEN is the development default" in result.stderr
