"""`.env` parsing and validation for the CDK app (pure Python, no jsii)."""

from __future__ import annotations

import pytest
from deploy_env import ENV, FAKE_NGC_KEY, FAKE_TWILIO_TOKEN
from voxline_cdk.config import ConfigError, from_env, load_env, parse_dotenv
from voxline_cdk.user_data import render


def test_parse_dotenv_handles_comments_quotes_and_export() -> None:
    text = (
        "# comment\n\nexport DOMAIN_NAME=example.com\n"
        "NIM_HOST_NAME='nim'\nTWILIO_HOST_NAME=\"voice\"  \nAWS_REGION=us-east-2 # trailing\n"
        "garbage line\n"
    )
    assert parse_dotenv(text) == {
        "DOMAIN_NAME": "example.com",
        "NIM_HOST_NAME": "nim",
        "TWILIO_HOST_NAME": "voice",
        "AWS_REGION": "us-east-2",
    }


def test_design_example_keys_build_a_config() -> None:
    config = from_env(ENV)
    assert config.twilio_fqdn == "voice.example.com"
    assert config.nim_fqdn == "nim.example.com"
    assert config.llm_image == "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.1.2"
    assert config.secret_name("NGC_API_KEY") == "voxline/NGC_API_KEY"


def test_config_carries_no_secret_values() -> None:
    text = repr(from_env(ENV))
    assert FAKE_TWILIO_TOKEN not in text and FAKE_NGC_KEY not in text


def test_missing_keys_are_all_named() -> None:
    values = {k: v for k, v in ENV.items() if k not in {"DOMAIN_NAME", "HOSTED_ZONE_ID"}}
    with pytest.raises(ConfigError, match="DOMAIN_NAME, HOSTED_ZONE_ID"):
        from_env(values)


@pytest.mark.parametrize(
    ("key", "value"),
    [("MIN_TASKS", "zero"), ("DRAIN_SECONDS", "7200"), ("CAPACITY_RESERVATION_ID", "abc")],
)
def test_bad_values_are_rejected(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        from_env(ENV | {key: value})


def test_capacity_reservation_is_optional_and_overrides_apply() -> None:
    config = from_env(
        ENV | {"CAPACITY_RESERVATION_ID": "", "GPU_INSTANCE_TYPE": "g6e.12xlarge", "MAX_TASKS": "9"}
    )
    assert config.capacity_reservation_id == ""
    assert (config.gpu_instance_type, config.max_tasks) == ("g6e.12xlarge", 9)


def test_user_data_quotes_the_secret_name() -> None:
    config = from_env(ENV | {"SECRET_PREFIX": "team a/"})
    script = render(config, config.secret_name("NGC_API_KEY"), "us-east-2")
    assert "--secret-id 'team a/NGC_API_KEY'" in script


def test_env_file_wins_and_shell_fills_gaps(tmp_path, monkeypatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CONTAINER_NAME=llama-3.1-8b-instruct\nDOMAIN_NAME=\n")
    monkeypatch.setenv("CONTAINER_NAME", "some-runtime-container-id")
    monkeypatch.setenv("DOMAIN_NAME", "example.org")
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")
    values = load_env(env_file)
    assert values["CONTAINER_NAME"] == "llama-3.1-8b-instruct"
    assert values["DOMAIN_NAME"] == "example.org"
    assert "UNRELATED_VARIABLE" not in values
