"""The secrets uploader: both keys or nothing, names on stdout, values never printed."""

from __future__ import annotations

import json

import pytest
import upload_secrets
from deploy_env import ENV, FAKE_NGC_KEY, FAKE_TWILIO_TOKEN


def test_uploads_both_secrets_under_the_stack_names() -> None:
    stored: dict[str, str] = {}

    def upsert(name: str, value: str) -> str:
        stored[name] = value
        return "created"

    result = upload_secrets.upload(ENV, upsert, "voxline/")
    assert stored == {
        "voxline/TWILIO_AUTH_TOKEN": FAKE_TWILIO_TOKEN,
        "voxline/NGC_API_KEY": FAKE_NGC_KEY,
    }
    assert result == dict.fromkeys(stored, "created")


def test_missing_secret_uploads_nothing() -> None:
    calls: list[str] = []
    with pytest.raises(SystemExit, match="NGC_API_KEY"):
        upload_secrets.upload(
            {"TWILIO_AUTH_TOKEN": "x"}, lambda n, v: calls.append(n) or "created", "voxline/"
        )
    assert calls == []


def test_main_prints_names_not_values(tmp_path, monkeypatch, capsys) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in ENV.items()))
    for key in ENV:
        monkeypatch.delenv(key, raising=False)
    stored: dict[str, str] = {}

    def fake_backend(region: str):
        assert region == "us-east-2"
        return lambda name, value: stored.setdefault(name, value) and "updated"

    monkeypatch.setattr(upload_secrets, "boto3_upsert", fake_backend)
    assert upload_secrets.main(["--env-file", str(env_file)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == {
        "voxline/TWILIO_AUTH_TOKEN": "updated",
        "voxline/NGC_API_KEY": "updated",
    }
    for secret in (FAKE_TWILIO_TOKEN, FAKE_NGC_KEY):
        assert secret not in out.out + out.err
    assert stored["voxline/NGC_API_KEY"] == FAKE_NGC_KEY


def test_cli_backend_never_puts_the_value_on_the_command_line(monkeypatch) -> None:
    seen: list[list[str]] = []

    class Done:
        returncode, stderr = 0, ""

    def fake_run(cmd, **kwargs):
        seen.append(cmd)
        path = cmd[cmd.index("--secret-string") + 1].removeprefix("file://")
        with open(path) as handle:
            assert handle.read() == FAKE_NGC_KEY
        return Done()

    monkeypatch.setattr(upload_secrets.subprocess, "run", fake_run)
    assert upload_secrets.cli_upsert("us-east-2")("voxline/NGC_API_KEY", FAKE_NGC_KEY) == "updated"
    assert FAKE_NGC_KEY not in " ".join(seen[0])
