"""Shared fixtures: the CDK stack is synthesized once per session (jsii start-up is slow)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CDK_DIR = ROOT / "deploy" / "aws"
sys.path.insert(0, str(CDK_DIR))
# jsii warns loudly on an end-of-life Node; CI's Debian Node still runs it fine.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from deploy_env import ENV  # noqa: E402


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    """(assertions.Template, template dict) for the stack built from ENV."""
    pytest.importorskip("aws_cdk")
    import app
    from aws_cdk.assertions import Template

    _, stack = app.build(ENV, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    template = Template.from_stack(stack)
    return template, template.to_json()


@pytest.fixture(scope="session")
def template(synthesized: tuple[Any, dict[str, Any]]) -> Any:
    return synthesized[0]


@pytest.fixture(scope="session")
def resources(synthesized: tuple[Any, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return synthesized[1]["Resources"]


@pytest.fixture(scope="session")
def template_text(synthesized: tuple[Any, dict[str, Any]]) -> str:
    return json.dumps(synthesized[1])


@pytest.fixture(scope="session")
def of_type(resources: dict[str, dict[str, Any]]) -> Any:
    """of_type("AWS::ECS::Service") -> the Properties of every resource of that type."""

    def find(kind: str) -> list[dict[str, Any]]:
        return [r["Properties"] for r in resources.values() if r["Type"] == kind]

    return find
