"""deploy/compose.yaml against the compose-spec JSON schema, and what each profile runs.

No Docker engine here, so this stands in for `docker compose config`: schema validation
(the compose-spec schema as shipped by docker-compose 1.29.2, Apache-2.0) plus profile
resolution the way Compose does it (services without `profiles` are always on).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
SCHEMA = Path(__file__).with_name("compose_spec.json")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def active(compose: dict[str, Any], profile: str) -> dict[str, Any]:
    return {
        name: svc
        for name, svc in compose["services"].items()
        if not svc.get("profiles") or profile in svc["profiles"]
    }


def gpus(service: dict[str, Any]) -> list[str]:
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    (device,) = devices
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    return device["device_ids"]


def test_matches_compose_spec_schema(compose) -> None:
    # The vendored file's "$schema" URL is malformed; its keywords are draft-07 compatible.
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("nim", {"voxline", "nim-cache-init", "llm", "asr", "tts"}),
        ("cpu", {"voxline-cpu"}),
    ],
)
def test_profiles_resolve_to_expected_services(compose, profile, expected) -> None:
    services = active(compose, profile)
    assert set(services) == expected
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on {dep}, absent from profile {profile}"


def test_gpu_reservations_follow_the_design(compose) -> None:
    services = compose["services"]
    assert gpus(services["llm"]) == ["0", "1", "2", "3"]
    assert gpus(services["asr"]) == ["6"]
    assert gpus(services["tts"]) == ["7"]
    assert "deploy" not in services["voxline"] and "deploy" not in services["voxline-cpu"]


def test_ngc_key_comes_from_the_environment(compose) -> None:
    for name in ("llm", "asr", "tts"):
        env = compose["services"][name]["environment"]
        assert "NGC_API_KEY" in env and env["NGC_API_KEY"] is None, name
    assert not re.search(r"nvapi-[A-Za-z0-9_-]{8,}", COMPOSE.read_text())
    assert "NGC_API_KEY" not in compose["services"]["voxline"]["environment"]


def test_nims_share_the_model_cache_volume(compose) -> None:
    assert "nim-cache" in compose["volumes"]
    for name in ("llm", "asr", "tts", "nim-cache-init"):
        assert "nim-cache:/opt/nim/.cache" in compose["services"][name]["volumes"], name


def test_nim_ports_and_images(compose) -> None:
    services = compose["services"]
    asr, tts = services["asr"]["environment"], services["tts"]["environment"]
    assert (asr["NIM_HTTP_API_PORT"], asr["NIM_GRPC_API_PORT"]) == ("9000", "50051")
    assert (tts["NIM_HTTP_API_PORT"], tts["NIM_GRPC_API_PORT"]) == ("9001", "50052")
    assert "parakeet-ctc-1.1b-asr:1.0.0" in services["asr"]["image"]
    assert "fastpitch-hifigan-tts:1.0.0" in services["tts"]["image"]
    assert services["llm"]["image"] == "${LLM_IMAGE:-nvcr.io/nim/meta/llama-3.1-8b-instruct:1.1.2}"
    assert "${LLM_MODEL:-meta/llama-3.1-8b-instruct}" in str(services["voxline"]["environment"])


def test_voxline_wiring_per_profile(compose) -> None:
    nim = compose["services"]["voxline"]["environment"]
    assert nim["VOXLINE_ASR"] == nim["VOXLINE_TTS"] == "riva"
    assert nim["VOXLINE_RIVA_ASR_SERVER"] == "asr:50051"
    assert nim["VOXLINE_RIVA_TTS_SERVER"] == "tts:50052"
    assert nim["OPENAI_BASE_URL"] == "http://llm:8000/v1"
    cpu = compose["services"]["voxline-cpu"]
    assert cpu["environment"]["VOXLINE_ASR"] == cpu["environment"]["VOXLINE_TTS"] == "embedded"
    assert "embedded" in cpu["build"]["args"]["EXTRAS"]
    assert "embedded" not in compose["services"]["voxline"]["build"]["args"]["EXTRAS"]
    for svc in (compose["services"]["voxline"], cpu):
        assert svc["build"] == svc["build"] | {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert "/health" in " ".join(svc["healthcheck"]["test"])


def test_interpolations_are_well_formed_and_avoid_generic_names() -> None:
    text = COMPOSE.read_text()
    refs = re.findall(r"\$\{([^}]*)\}", text)
    assert refs, "compose.yaml takes its settings from .env"
    for ref in refs:
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*(:?[-?].*)?", ref), ref
        # Shell variables beat .env in Compose; runtimes set CONTAINER_NAME, HOSTNAME, ...
        assert ref.split(":")[0] not in {"CONTAINER_NAME", "HOSTNAME", "NAME", "IMAGE"}, ref


def test_schema_rejects_a_misspelt_key(compose) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["llm"]["deploy"]["resources"]["reservation"] = {}
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert list(validator.iter_errors(broken))
