"""Process settings, from the environment (12-factor) over the bot folder over defaults.

Every setting has an environment variable; the bot folder's ``bot.yaml`` (and an ACE-style
``speech_config.yaml``) can set the speech and agent backends for that bot. Secrets are kept in
``Secret`` so they never appear in a repr or a log line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


class Secret(str):
    """A string that does not print itself."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


@dataclass(frozen=True)
class Settings:
    bot: Path = Path("bots/pizza")
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite in data_dir; postgresql://... for a shared store
    database_pool_size: int = 5  # PostgreSQL connections per process, shared by its calls
    otel: bool = False  # OpenTelemetry spans per turn (extra "otel")

    asr: str = "embedded"  # embedded | riva
    tts: str = "embedded"  # embedded | riva
    agent: str = "auto"  # auto (llm if configured, else the bot's default) | form | llm | ...

    riva_server: str = ""  # host:port for both ASR and TTS
    riva_asr_server: str = ""  # overrides riva_server for ASR
    riva_tts_server: str = ""  # overrides riva_server for TTS
    riva_ssl: bool = False
    riva_api_key: Secret = Secret("")  # NGC / nvapi key for NVIDIA-hosted endpoints
    riva_asr_function_id: str = ""
    riva_tts_function_id: str = ""
    riva_asr_model: str = ""

    llm_model: str = ""
    llm_base_url: str = ""  # OPENAI_BASE_URL
    llm_api_key: Secret = Secret("")  # OPENAI_API_KEY

    # Backend faults (the LLM's own timeouts are VOXLINE_LLM_FIRST_TOKEN_TIMEOUT and friends).
    tts_first_chunk_s: float = 1.5  # remote TTS silent this long: the embedded voice speaks
    tts_backup: str = "embedded"  # embedded | none: who speaks while the remote TTS fails
    asr_stall_s: float = 1.0  # no transcript this long past the endpointing delay: a stall
    breaker_failures: int = 3  # consecutive failures that open a backend's breaker
    breaker_cooldown_s: float = 2.0  # then one probe; each failed probe doubles it (max 60 s)

    twilio_auth_token: Secret = Secret("")
    twilio_account_sid: str = ""
    twilio_api_key: Secret = Secret("")  # an API key (SK...) for the REST hang-up, with its secret
    twilio_api_secret: Secret = Secret("")
    twilio_api_url: str = ""  # the REST API's base URL (tests); default https://api.twilio.com
    public_url: str = ""  # https://HOST where Twilio reaches this server (outbound calls)
    twilio_from: str = ""  # the Twilio number outbound calls come from
    amd_timeout_s: int = 30  # answering-machine detection's limit; the greeting waits that long
    max_calls: int = 100
    api_key: Secret = Secret("")  # required for pages, /kb and plugin endpoints when set
    cors_origins: str = ""  # comma list; empty: no CORS headers at all
    drain_s: float = 30.0  # on SIGTERM, how long live calls may go on before they are ended
    ws_max_bytes: int = 2**20  # a bigger WebSocket frame closes that connection
    max_body_bytes: int = 2**20  # request bodies (the KB upload has its own limit)
    threads: int = 2  # worker threads for CPU-heavy model calls
    recordings: bool = True  # each call's two sides as a stereo WAV in data_dir/recordings
    retention_days: float = 30.0  # calls and recordings older than this are deleted; 0: never

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_model or self.llm_base_url)


_ENV: dict[str, tuple[str, ...]] = {
    "bot": ("VOXLINE_BOT",),
    "host": ("VOXLINE_HOST",),
    "port": ("VOXLINE_PORT", "PORT"),
    "data_dir": ("VOXLINE_DATA_DIR",),
    "database_url": ("VOXLINE_DATABASE_URL",),
    "database_pool_size": ("VOXLINE_DATABASE_POOL_SIZE",),
    "otel": ("VOXLINE_OTEL",),
    "asr": ("VOXLINE_ASR",),
    "tts": ("VOXLINE_TTS",),
    "agent": ("VOXLINE_AGENT",),
    "riva_server": ("VOXLINE_RIVA_SERVER",),
    "riva_asr_server": ("VOXLINE_RIVA_ASR_SERVER",),
    "riva_tts_server": ("VOXLINE_RIVA_TTS_SERVER",),
    "riva_ssl": ("VOXLINE_RIVA_SSL",),
    "riva_api_key": ("VOXLINE_RIVA_API_KEY", "NVIDIA_API_KEY", "NGC_API_KEY"),
    "riva_asr_function_id": ("VOXLINE_RIVA_ASR_FUNCTION_ID",),
    "riva_tts_function_id": ("VOXLINE_RIVA_TTS_FUNCTION_ID",),
    "riva_asr_model": ("VOXLINE_RIVA_ASR_MODEL",),
    "llm_model": ("VOXLINE_LLM_MODEL",),
    "llm_base_url": ("VOXLINE_LLM_BASE_URL", "OPENAI_BASE_URL"),
    "llm_api_key": ("VOXLINE_LLM_API_KEY", "OPENAI_API_KEY"),
    "tts_first_chunk_s": ("VOXLINE_TTS_FIRST_CHUNK_S",),
    "tts_backup": ("VOXLINE_TTS_BACKUP",),
    "asr_stall_s": ("VOXLINE_ASR_STALL_S",),
    "breaker_failures": ("VOXLINE_BREAKER_FAILURES",),
    "breaker_cooldown_s": ("VOXLINE_BREAKER_COOLDOWN_S",),
    "twilio_auth_token": ("TWILIO_AUTH_TOKEN",),
    "twilio_account_sid": ("TWILIO_ACCOUNT_SID",),
    "twilio_api_key": ("TWILIO_API_KEY",),
    "twilio_api_secret": ("TWILIO_API_SECRET",),
    "twilio_api_url": ("VOXLINE_TWILIO_API_URL",),
    "public_url": ("VOXLINE_PUBLIC_URL",),
    "twilio_from": ("VOXLINE_TWILIO_FROM", "TWILIO_FROM_NUMBER"),
    "amd_timeout_s": ("VOXLINE_AMD_TIMEOUT_S",),
    "max_calls": ("VOXLINE_MAX_CALLS",),
    "api_key": ("VOXLINE_API_KEY",),
    "cors_origins": ("VOXLINE_CORS_ORIGINS",),
    "drain_s": ("VOXLINE_DRAIN_S",),
    "ws_max_bytes": ("VOXLINE_WS_MAX_BYTES",),
    "max_body_bytes": ("VOXLINE_MAX_BODY_BYTES",),
    "threads": ("VOXLINE_THREADS",),
    "recordings": ("VOXLINE_RECORDINGS",),
    "retention_days": ("VOXLINE_RETENTION_DAYS",),
}


def _coerce(name: str, raw: Any) -> Any:
    default = getattr(Settings, name)
    if isinstance(default, bool):
        return str(raw).strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, Secret):
        return Secret(raw)
    return str(raw)


def load_settings(
    env: Mapping[str, str] | None = None, bot_backends: Mapping[str, Any] | None = None, **over: Any
) -> Settings:
    """Settings from defaults, then the bot's backend choices, then the environment, then
    explicit overrides (command-line flags)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name, raw in (bot_backends or {}).items():
        if raw not in (None, ""):
            values[name] = _coerce(name, raw)
    for name, keys in _ENV.items():
        for key in keys:
            if env.get(key):
                values[name] = _coerce(name, env[key])
                break
    for name, raw in over.items():
        if raw is not None:
            values[name] = _coerce(name, raw)
    settings = replace(Settings(), **values)
    if settings.asr not in {"embedded", "riva"}:
        raise ValueError(f"VOXLINE_ASR must be embedded or riva, got {settings.asr!r}")
    if settings.tts not in {"embedded", "riva"}:
        raise ValueError(f"VOXLINE_TTS must be embedded or riva, got {settings.tts!r}")
    if settings.tts_backup not in {"embedded", "none"}:
        raise ValueError(f"VOXLINE_TTS_BACKUP: embedded or none, not {settings.tts_backup!r}")
    return settings
