#!/usr/bin/env python3
"""Upload TWILIO_AUTH_TOKEN and NGC_API_KEY from `.env` to Secrets Manager (run before deploy).

Uses boto3 when installed, else the AWS CLI with the value in a 0600 temp file (never on a
command line, where `ps` would show it). Prints secret names only, never values.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from voxline_cdk.config import SECRET_KEYS, load_env, secret_name

Upsert = Callable[[str, str], str]  # (name, value) -> "created" | "updated"


def boto3_upsert(region: str) -> Upsert:
    import boto3  # optional: only the uploader needs it

    client = boto3.client("secretsmanager", region_name=region)

    def upsert(name: str, value: str) -> str:
        try:
            client.put_secret_value(SecretId=name, SecretString=value)
            return "updated"
        except client.exceptions.ResourceNotFoundException:
            client.create_secret(Name=name, SecretString=value, Description="Voxline deploy")
            return "created"

    return upsert


def cli_upsert(region: str) -> Upsert:
    def aws(*args: str, value_file: str) -> subprocess.CompletedProcess[str]:
        cmd = ["aws", "secretsmanager", *args, "--region", region]
        cmd += ["--secret-string", f"file://{value_file}", "--output", "json"]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    def upsert(name: str, value: str) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".secret", delete=False) as handle:
            os.chmod(handle.name, 0o600)
            handle.write(value)
        try:
            done = aws("put-secret-value", "--secret-id", name, value_file=handle.name)
            if done.returncode == 0:
                return "updated"
            if "ResourceNotFoundException" not in done.stderr:
                raise RuntimeError(f"aws put-secret-value {name} failed: {done.stderr.strip()}")
            made = aws("create-secret", "--name", name, value_file=handle.name)
            if made.returncode != 0:
                raise RuntimeError(f"aws create-secret {name} failed: {made.stderr.strip()}")
            return "created"
        finally:
            os.unlink(handle.name)

    return upsert


def upload(values: Mapping[str, str], upsert: Upsert, prefix: str) -> dict[str, str]:
    """Store every secret key present; fail before uploading anything if one is missing."""
    missing = [k for k in SECRET_KEYS if not values.get(k, "").strip()]
    if missing:
        raise SystemExit(f"missing in .env: {', '.join(missing)}")
    return {
        secret_name(prefix, k): upsert(secret_name(prefix, k), values[k].strip())
        for k in SECRET_KEYS
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", default=os.environ.get("VOXLINE_ENV_FILE"))
    args = parser.parse_args(argv)
    values = load_env(args.env_file)  # secrets may also come from the shell environment
    region = values.get("AWS_REGION", "").strip()
    if not region:
        raise SystemExit("missing in .env: AWS_REGION")
    try:
        upsert = boto3_upsert(region)
    except ImportError:
        upsert = cli_upsert(region)
    result = upload(values, upsert, values.get("SECRET_PREFIX", "").strip() or "voxline/")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
