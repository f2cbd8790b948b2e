"""Deployment settings read from a `.env` file, with the keys of the reference design.

Secrets (TWILIO_AUTH_TOKEN, NGC_API_KEY) may sit in the same `.env`, but they are never
copied into `DeployConfig`: only `upload_secrets.py` reads them, so nothing that builds the
CloudFormation template can leak them into it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SECRET_KEYS = ("TWILIO_AUTH_TOKEN", "NGC_API_KEY")
REQUIRED_KEYS = (
    "TWILIO_HOST_NAME",
    "NIM_HOST_NAME",
    "DOMAIN_NAME",
    "HOSTED_ZONE_ID",
    "AWS_REGION",
    "VENDOR_NAME",
    "CONTAINER_NAME",
    "CONTAINER_TAG",
)
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


class ConfigError(ValueError):
    """The `.env` file is missing keys or holds a value that cannot work."""


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse KEY=VALUE lines (comments, blank lines, `export`, single/double quotes)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        match = _LINE.match(raw)
        if not match:
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def load_env(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The `.env` values, with the process environment filling only keys the file lacks.

    The file wins because some design keys are generic (CONTAINER_NAME is often set by
    container runtimes) and a stray shell variable must not silently change the deployment.
    """
    here = Path(__file__).resolve()
    defaults = [Path(".env"), here.parents[1] / ".env", here.parents[3] / ".env"]
    candidates = [Path(path)] if path else defaults
    values: dict[str, str] = {}
    for candidate in candidates:
        if candidate.is_file():
            values = parse_dotenv(candidate.read_text(encoding="utf-8"))
            break
    known = (*REQUIRED_KEYS, *_OPTIONAL, *SECRET_KEYS, "AVAILABILITY_ZONES", *PASSTHROUGH_ENV)
    for key in known:
        if key in os.environ and not values.get(key, "").strip():
            values[key] = os.environ[key]
    return values


@dataclass(frozen=True)
class DeployConfig:
    """Everything the stack needs, none of it secret."""

    twilio_host_name: str
    nim_host_name: str
    domain_name: str
    hosted_zone_id: str
    region: str
    vendor_name: str
    container_name: str
    container_tag: str
    capacity_reservation_id: str = ""
    availability_zones: tuple[str, ...] = ()
    secret_prefix: str = "voxline/"
    voxline_image: str = ""
    ecr_repository: str = "voxline"
    image_tag: str = "latest"
    bot: str = "bots/pizza"
    gpu_instance_type: str = "p5.48xlarge"
    gpu_volume_gb: int = 500
    driver_branch: str = "560"
    llm_profile: str = "tensorrt_llm-h100-fp8-tp2-latency"
    asr_image: str = "nvcr.io/nim/nvidia/parakeet-ctc-1.1b-asr:1.0.0"
    asr_profile: str = "7f0287aa-35d0-11ef-9bba-57fc54315ba3"
    tts_image: str = "nvcr.io/nim/nvidia/fastpitch-hifigan-tts:1.0.0"
    tts_profile: str = "bbce2a3a-4337-11ef-84fe-e7f5af9cc9af"
    task_cpu: int = 1024
    task_memory_mib: int = 2048
    min_tasks: int = 1
    max_tasks: int = 4
    calls_per_task: int = 20
    max_calls_per_task: int = 25
    drain_seconds: int = 900
    nat_gateways: int = 1
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def twilio_fqdn(self) -> str:
        return f"{self.twilio_host_name}.{self.domain_name}"

    @property
    def nim_fqdn(self) -> str:
        return f"{self.nim_host_name}.{self.domain_name}"

    @property
    def llm_image(self) -> str:
        return f"nvcr.io/nim/{self.vendor_name}/{self.container_name}:{self.container_tag}"

    @property
    def llm_model(self) -> str:
        """The model id the NIM serves on /v1/models, e.g. meta/llama-3.1-8b-instruct."""
        return f"{self.vendor_name}/{self.container_name}"

    def secret_name(self, key: str) -> str:
        """Secrets Manager name for one of SECRET_KEYS (shared by the stack and the uploader)."""
        return secret_name(self.secret_prefix, key)


def secret_name(prefix: str, key: str) -> str:
    if key not in SECRET_KEYS:
        raise KeyError(key)
    return f"{prefix}{key}"


# .env key -> (DeployConfig field, converter)
_OPTIONAL: dict[str, tuple[str, type]] = {
    "CAPACITY_RESERVATION_ID": ("capacity_reservation_id", str),
    "SECRET_PREFIX": ("secret_prefix", str),
    "VOXLINE_IMAGE": ("voxline_image", str),
    "VOXLINE_ECR_REPOSITORY": ("ecr_repository", str),
    "VOXLINE_IMAGE_TAG": ("image_tag", str),
    "VOXLINE_BOT": ("bot", str),
    "GPU_INSTANCE_TYPE": ("gpu_instance_type", str),
    "GPU_VOLUME_GB": ("gpu_volume_gb", int),
    "NVIDIA_DRIVER_BRANCH": ("driver_branch", str),
    "LLM_PROFILE": ("llm_profile", str),
    "ASR_IMAGE": ("asr_image", str),
    "ASR_PROFILE": ("asr_profile", str),
    "TTS_IMAGE": ("tts_image", str),
    "TTS_PROFILE": ("tts_profile", str),
    "TASK_CPU": ("task_cpu", int),
    "TASK_MEMORY_MIB": ("task_memory_mib", int),
    "MIN_TASKS": ("min_tasks", int),
    "MAX_TASKS": ("max_tasks", int),
    "CALLS_PER_TASK": ("calls_per_task", int),
    "MAX_CALLS_PER_TASK": ("max_calls_per_task", int),
    "DRAIN_SECONDS": ("drain_seconds", int),
    "NAT_GATEWAYS": ("nat_gateways", int),
}
# Plain (non-secret) server settings passed through to the Voxline container when present.
PASSTHROUGH_ENV = ("TWILIO_ACCOUNT_SID", "VOXLINE_AGENT")


def from_env(values: Mapping[str, str]) -> DeployConfig:
    """Validate `.env` values and build the config; raises ConfigError naming every problem."""
    missing = [k for k in REQUIRED_KEYS if not values.get(k, "").strip()]
    if missing:
        hint = ""
        if "HOSTED_ZONE_ID" in missing:
            hint = (
                " (HOSTED_ZONE_ID: `aws route53 list-hosted-zones-by-name --dns-name "
                "<DOMAIN_NAME>`; it keeps synth offline, without a zone lookup)"
            )
        raise ConfigError(f"missing in .env: {', '.join(missing)}{hint}")
    kwargs: dict[str, object] = {
        "twilio_host_name": values["TWILIO_HOST_NAME"].strip(),
        "nim_host_name": values["NIM_HOST_NAME"].strip(),
        "domain_name": values["DOMAIN_NAME"].strip().rstrip("."),
        "hosted_zone_id": values["HOSTED_ZONE_ID"].strip().removeprefix("/hostedzone/"),
        "region": values["AWS_REGION"].strip(),
        "vendor_name": values["VENDOR_NAME"].strip(),
        "container_name": values["CONTAINER_NAME"].strip(),
        "container_tag": values["CONTAINER_TAG"].strip(),
    }
    errors: list[str] = []
    for key, (attr, convert) in _OPTIONAL.items():
        raw = values.get(key, "").strip()
        if not raw:
            continue
        try:
            kwargs[attr] = convert(raw)
        except ValueError:
            errors.append(f"{key}={raw!r} is not a {convert.__name__}")
    azs = values.get("AVAILABILITY_ZONES", "").strip()
    if azs:
        kwargs["availability_zones"] = tuple(z.strip() for z in azs.split(",") if z.strip())
    kwargs["extra_env"] = {k: values[k] for k in PASSTHROUGH_ENV if values.get(k, "").strip()}
    if errors:
        raise ConfigError("; ".join(errors))
    config = DeployConfig(**kwargs)  # type: ignore[arg-type]
    _check(config)
    return config


def _check(config: DeployConfig) -> None:
    problems = []
    if config.min_tasks < 1 or config.max_tasks < config.min_tasks:
        problems.append("need 1 <= MIN_TASKS <= MAX_TASKS")
    if not 0 <= config.drain_seconds <= 3600:
        problems.append("DRAIN_SECONDS must be 0..3600 (the ALB deregistration delay limit)")
    if config.capacity_reservation_id and not config.capacity_reservation_id.startswith("cr-"):
        problems.append("CAPACITY_RESERVATION_ID must look like cr-…")
    if problems:
        raise ConfigError("; ".join(problems))
