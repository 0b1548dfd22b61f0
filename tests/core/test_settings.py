import re

import pytest

from wamkt_nb.settings import Secret, SettingsError, load_settings
from wamkt_nb.workspace import database_path


def test_secrets_never_show_in_repr(tmp_path):
    s = load_settings(config_file=None, environ={"WAMKT_ACCESS_TOKEN": "EAAGsecret123", "WAMKT_APP_SECRET": "appsec"})
    text = repr(s) + str(s) + repr(s.access_token) + f"{s.app_secret}"
    assert "EAAGsecret123" not in text and "appsec" not in text
    assert s.access_token.reveal() == "EAAGsecret123"


def test_sandbox_is_default_without_token():
    assert load_settings(environ={}).sandbox is True
    assert load_settings(environ={"WAMKT_ACCESS_TOKEN": "x"}).sandbox is False
    assert load_settings(environ={"WAMKT_ACCESS_TOKEN": "x", "WAMKT_SANDBOX": "true"}).sandbox is True


def test_toml_then_environment_then_overrides(tmp_path):
    cfg = tmp_path / "wamkt.toml"
    cfg.write_text('[wamkt]\nphone_number_ids = ["111", "222"]\napi_version = "v20.0"\npace = "standard"\n')
    s = load_settings(config_file=cfg, environ={"WAMKT_API_VERSION": "v22.0"}, db_path=tmp_path / "x.db")
    assert s.phone_number_ids == ("111", "222")
    assert s.api_version == "v22.0"
    assert s.rate_per_second == 80.0
    assert s.db_path == tmp_path / "x.db"


def test_config_file_found_through_environment(tmp_path):
    cfg = tmp_path / "other.toml"
    cfg.write_text('waba_id = "42"\n')
    assert load_settings(environ={"WAMKT_CONFIG": str(cfg)}).waba_id == "42"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"WAMKT_PACE": "ludicrous"}, "pace must be one of"),
        ({"WAMKT_SANDBOX": "maybe"}, "sandbox must be true or false"),
        ({"WAMKT_WEBHOOK_PORT": "eighty"}, "webhook_port must be a whole number"),
    ],
)
def test_bad_values_are_named(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=env)


def test_missing_explicit_config_and_bad_toml(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(config_file=bad, environ={})


def test_unknown_setting_is_refused(tmp_path):
    cfg = tmp_path / "wamkt.toml"
    cfg.write_text('acess_token = "typo"\n')
    with pytest.raises(SettingsError, match="unknown setting 'acess_token'"):
        load_settings(config_file=cfg, environ={})


def test_secret_equality_and_truth():
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")
    assert not Secret("") and Secret("x")


def test_database_path_follows_the_settings_else_the_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("WAMKT_DB_PATH", "WAMKT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WAMKT_WORKSPACE", str(tmp_path / "ws"))
    assert database_path() == tmp_path / "ws" / "wamkt.db"
    assert database_path(tmp_path / "other") == tmp_path / "other" / "wamkt.db"
    (tmp_path / "wamkt.toml").write_text(f'[wamkt]\ndb_path = "{tmp_path / "from-toml.db"}"\n')
    assert database_path() == tmp_path / "from-toml.db"
    monkeypatch.setenv("WAMKT_DB_PATH", str(tmp_path / "from-env.db"))
    assert database_path() == tmp_path / "from-env.db"


@pytest.mark.parametrize(
    "toml, expected",
    [
        ("phone_number_ids = 5\n", "phone_number_ids must be a list"),  # was: TypeError traceback
        ("db_path = [1, 2]\n", "db_path must be a file path"),  # was: TypeError traceback
        ("rate_card = 3\n", "rate_card must be a file path"),
        ("webhook_port = 99999\n", "webhook_port must be a port number"),  # was: accepted, uvicorn failed later
        ("max_rate = nan\n", "max_rate must be a positive number"),
        ("max_rate = -1\n", "max_rate must be a positive number"),
        ("wamkt = 5\n", "[wamkt] must be a table"),
    ],
)
def test_impossible_values_in_the_settings_file_are_a_settings_error(tmp_path, toml, expected):
    cfg = tmp_path / "wamkt.toml"
    cfg.write_text(toml)
    with pytest.raises(SettingsError, match=re.escape(expected)):
        load_settings(config_file=cfg, environ={})


def test_settings_file_that_is_not_utf8_names_the_file(tmp_path):
    cfg = tmp_path / "wamkt.toml"
    cfg.write_bytes(b"\xff\xfe pace = 'safe'")
    with pytest.raises(SettingsError, match="wamkt.toml: not valid TOML"):
        load_settings(config_file=cfg, environ={})


@pytest.mark.parametrize("where", ["missing.toml", "."])
def test_wamkt_config_naming_a_missing_file_or_a_folder_is_an_error_not_ignored(tmp_path, where):
    with pytest.raises(SettingsError, match="does not exist or is not a file"):
        load_settings(environ={"WAMKT_CONFIG": str(tmp_path / where)})
