from daogou.config import Settings


def test_defaults_use_embedded_sqlite_under_the_state_dir(tmp_path):
    s = Settings(state_dir=tmp_path)
    assert s.db_url == f"sqlite:///{tmp_path / 'daogou.db'}"
    assert s.orders_url == "http://127.0.0.1:8000"
    assert s.action_endpoint_url == "http://127.0.0.1:5055/webhook"
    assert s.language_list == ["en", "zh"]


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("ORDERS_PORT", "9100")
    monkeypatch.setenv("LANGUAGES", "zh, en")
    s = Settings()
    assert s.db_url == "postgresql+psycopg://u@h/db"
    assert s.orders_url == "http://127.0.0.1:9100"
    assert s.language_list == ["zh", "en"]


def test_bad_values_are_refused(monkeypatch):
    import pydantic
    import pytest

    monkeypatch.setenv("RASA_PORT", "not-a-port")
    with pytest.raises(pydantic.ValidationError):
        Settings()
