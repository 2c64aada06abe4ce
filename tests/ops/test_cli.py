from typer.testing import CliRunner

from ops.cli import app


def test_config_table_lists_every_setting():
    result = CliRunner().invoke(app, ["config", "--markdown"])
    assert result.exit_code == 0
    assert "`DATABASE_URL`" in result.output and "`RASA_PORT`" in result.output


def test_env_output_has_derived_urls_once():
    result = CliRunner().invoke(app, ["config", "--env"])
    keys = [line.split("=", 1)[0] for line in result.output.splitlines()]
    assert keys.count("DATABASE_URL") == 1
    assert "ACTION_ENDPOINT_URL" in keys


def test_bot_fingerprint_changes_with_training_data(tmp_path, monkeypatch):
    from ops import bot_cli

    (tmp_path / "config.yml").write_text("a")
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "x.yml").write_text("one")
    monkeypatch.setattr(bot_cli, "ROOT", tmp_path)
    monkeypatch.setattr(bot_cli, "DOMAIN", tmp_path / "domain")
    monkeypatch.setattr(bot_cli, "TRAINING_DATA", [nlu])
    (tmp_path / "domain").mkdir()
    before = bot_cli.fingerprint()
    assert bot_cli.fingerprint() == before
    (nlu / "x.yml").write_text("two")
    assert bot_cli.fingerprint() != before
