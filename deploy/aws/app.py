#!/usr/bin/env python3
"""CDK entry point (`cdk synth` / `cdk deploy` run it): `.env` -> one VoxlineStack."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aws_cdk as cdk
from voxline_cdk.config import ConfigError, from_env, load_env
from voxline_cdk.stack import VoxlineStack


def build(values: Mapping[str, str], outdir: str | None = None) -> tuple[cdk.App, VoxlineStack]:
    """Build the app from `.env` values (tests call this with fake values)."""
    config = from_env(values)
    app = cdk.App(outdir=outdir) if outdir else cdk.App()
    stack = VoxlineStack(
        app,
        values.get("STACK_NAME") or "Voxline",
        config,
        # Region only: an account-agnostic stack synthesizes without any AWS lookups.
        env=cdk.Environment(region=config.region),
        description="Voxline voice agent: Twilio -> ALB -> Fargate -> private NIMs on GPU",
    )
    cdk.Tags.of(app).add("project", "voxline")
    return app, stack


def main() -> int:
    try:
        app, _ = build(load_env(os.environ.get("VOXLINE_ENV_FILE")))
    except ConfigError as exc:
        print(f"voxline deploy: {exc}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
