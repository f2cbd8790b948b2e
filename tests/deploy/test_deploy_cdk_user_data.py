"""The GPU instance boot script: drivers, toolkit, NGC login from Secrets Manager, 3 NIMs."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest


@pytest.fixture(scope="module")
def script(of_type) -> str:
    (lt,) = of_type("AWS::EC2::LaunchTemplate")
    user_data = lt["LaunchTemplateData"]["UserData"]["Fn::Base64"]
    assert isinstance(user_data, str), "user data should be plain text, no tokens"
    return user_data


def _docker_runs(script: str) -> dict[str, str]:
    """container name -> its whole (line-continued) docker run command."""
    joined = script.replace("\\\n", " ")
    runs = [line for line in joined.splitlines() if line.startswith("docker run")]
    return {re.search(r"--name=(\S+)", run).group(1): run for run in runs}  # type: ignore[union-attr]


def test_installs_drivers_docker_and_container_toolkit(script: str) -> None:
    assert script.startswith("#!/bin/bash")
    assert "set -euo pipefail" in script
    assert "nvidia-open-560" in script and "cuda-drivers-fabricmanager-560" in script
    assert "docker-ce" in script
    assert "nvidia-container-toolkit" in script
    assert "nvidia-ctk runtime configure --runtime=docker" in script


def test_ngc_key_fetched_at_boot_not_baked(script: str) -> None:
    assert "aws secretsmanager get-secret-value --secret-id voxline/NGC_API_KEY" in script
    assert "--region us-east-2" in script
    assert "docker login nvcr.io -u '$oauthtoken' --password-stdin" in script
    assert "nvapi-" not in script
    # Containers inherit the exported key instead of getting it on their command line.
    for run in _docker_runs(script).values():
        assert re.search(r"-e NGC_API_KEY(\s|$)", run)
        assert "NGC_API_KEY=" not in run


def test_runs_the_three_nims_with_design_images_ports_gpus(script: str) -> None:
    runs = _docker_runs(script)
    assert set(runs) == {"llama-3.1-8b-instruct", "parakeet-ctc-1.1b-asr", "fastpitch-hifigan-tts"}

    llm = runs["llama-3.1-8b-instruct"]
    assert "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.1.2" in llm
    assert '"device=0,1,2,3"' in llm and "-p 8000:8000" in llm
    assert "NIM_MODEL_PROFILE=tensorrt_llm-h100-fp8-tp2-latency" in llm
    assert '-v "/home/ubuntu/.cache/nim:/opt/nim/.cache"' in llm

    asr = runs["parakeet-ctc-1.1b-asr"]
    assert "nvcr.io/nim/nvidia/parakeet-ctc-1.1b-asr:1.0.0" in asr
    assert '"device=6"' in asr and "-p 9000:9000" in asr and "-p 50051:50051" in asr
    assert "NIM_GRPC_API_PORT=50051" in asr

    tts = runs["fastpitch-hifigan-tts"]
    assert "nvcr.io/nim/nvidia/fastpitch-hifigan-tts:1.0.0" in tts
    assert '"device=7"' in tts and "-p 9001:9001" in tts and "-p 50052:50052" in tts
    assert "--shm-size=8GB" in tts

    for run in runs.values():
        assert "--restart unless-stopped" in run and "--runtime=nvidia" in run


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not available")
def test_script_is_valid_bash(script: str, tmp_path) -> None:
    path = tmp_path / "user-data.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
