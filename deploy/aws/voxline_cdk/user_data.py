"""The GPU instance boot script: drivers, Docker, NVIDIA Container Toolkit, then the 3 NIMs.

Rendered as plain text (no CDK types) so it can be read and tested on its own. The NGC key
is fetched from Secrets Manager at boot; only the secret's *name* is in the script.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .config import DeployConfig

NIM_CACHE = "/home/ubuntu/.cache/nim"

# Ports and GPUs of the reference design (one p5.48xlarge: 8 x H100).
LLM_PORT = 8000
ASR_HTTP_PORT, ASR_GRPC_PORT = 9000, 50051
TTS_HTTP_PORT, TTS_GRPC_PORT = 9001, 50052
LLM_GPUS, ASR_GPUS, TTS_GPUS = "0,1,2,3", "6", "7"


@dataclass(frozen=True)
class NimContainer:
    """One `docker run` of a NIM: what the instance serves and where."""

    name: str
    image: str
    gpus: str
    ports: tuple[int, ...]
    env: tuple[tuple[str, str], ...]
    shm_size: str = ""
    as_ubuntu: bool = False

    def command(self) -> str:
        args = [
            "docker run -d --restart unless-stopped",
            f"--name={self.name}",
            "--runtime=nvidia",
            f"--gpus '\"device={self.gpus}\"'",
        ]
        if self.shm_size:
            args.append(f"--shm-size={self.shm_size}")
        # `-e NAME` without a value passes the exported variable: the key stays out of `ps`.
        args.append("-e NGC_API_KEY")
        args += [f"-e {k}={shlex.quote(v)}" for k, v in self.env]
        args.append(f'-v "{NIM_CACHE}:/opt/nim/.cache"')
        if self.as_ubuntu:
            args.append('-u "$(id -u ubuntu)"')
        args += [f"-p {p}:{p}" for p in self.ports]
        args.append(self.image)
        return " \\\n  ".join(args)


def nim_containers(config: DeployConfig) -> list[NimContainer]:
    """The LLM, ASR and TTS containers with the images, ports and GPUs of the design."""
    return [
        NimContainer(
            name=config.container_name,
            image=config.llm_image,
            gpus=LLM_GPUS,
            ports=(LLM_PORT,),
            env=(("NIM_CACHE_PATH", "/opt/nim/.cache"), ("NIM_MODEL_PROFILE", config.llm_profile)),
            shm_size="16GB",
            as_ubuntu=True,
        ),
        NimContainer(
            name="parakeet-ctc-1.1b-asr",
            image=config.asr_image,
            gpus=ASR_GPUS,
            ports=(ASR_HTTP_PORT, ASR_GRPC_PORT),
            env=(
                ("NIM_MANIFEST_PROFILE", config.asr_profile),
                ("NIM_HTTP_API_PORT", str(ASR_HTTP_PORT)),
                ("NIM_GRPC_API_PORT", str(ASR_GRPC_PORT)),
            ),
        ),
        NimContainer(
            name="fastpitch-hifigan-tts",
            image=config.tts_image,
            gpus=TTS_GPUS,
            ports=(TTS_HTTP_PORT, TTS_GRPC_PORT),
            env=(
                ("NIM_MANIFEST_PROFILE", config.tts_profile),
                ("NIM_HTTP_API_PORT", str(TTS_HTTP_PORT)),
                ("NIM_GRPC_API_PORT", str(TTS_GRPC_PORT)),
            ),
            shm_size="8GB",
        ),
    ]


_PRELUDE = """\
#!/bin/bash
set -euo pipefail
exec > >(tee -a /var/log/voxline-nim-setup.log) 2>&1
log_message() { echo "$(date -u +%FT%TZ) $*"; }
export DEBIAN_FRONTEND=noninteractive
APT="apt-get -o DPkg::Lock::Timeout=600 -y -q"
cd /root
"""

_DRIVERS = """\
log_message "Installing base packages and the AWS CLI"
$APT update
$APT install gcc make unzip curl ca-certificates gnupg "linux-headers-$(uname -r)"
curl -fsSL "https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip" -o awscliv2.zip
unzip -q -o awscliv2.zip && ./aws/install --update

log_message "Installing NVIDIA driver {branch} (open modules) and Fabric Manager"
curl -fsSLO https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2204/x86_64/cuda-keyring_1.1-1_all.deb
dpkg -i cuda-keyring_1.1-1_all.deb
$APT update
$APT install nvidia-open-{branch} cuda-drivers-fabricmanager-{branch}
systemctl enable --now nvidia-fabricmanager
nvidia-smi

log_message "Installing Docker"
install -m 0755 -d /etc/apt/keyrings
curl -fsSL https://download.docker.com/linux/ubuntu/gpg -o /etc/apt/keyrings/docker.asc
echo "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] \\
https://download.docker.com/linux/ubuntu $(. /etc/os-release && echo "$VERSION_CODENAME") stable" \\
  > /etc/apt/sources.list.d/docker.list
$APT update
$APT install docker-ce docker-ce-cli containerd.io

log_message "Installing the NVIDIA Container Toolkit"
KEYRING=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | gpg --dearmor --yes -o "$KEYRING"
curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list \\
  | sed "s#deb https://#deb [signed-by=$KEYRING] https://#g" \\
  > /etc/apt/sources.list.d/nvidia-container-toolkit.list
$APT update
$APT install nvidia-container-toolkit
nvidia-ctk runtime configure --runtime=docker
systemctl restart docker
"""

_NGC = """\
log_message "Fetching the NGC API key from Secrets Manager ({secret})"
NGC_API_KEY="$(aws secretsmanager get-secret-value --secret-id {secret} \\
  --query SecretString --output text --region {region})"
export NGC_API_KEY

mkdir -p {cache}
chown ubuntu:ubuntu {cache}

log_message "Logging in to nvcr.io"
printf '%s' "$NGC_API_KEY" | docker login nvcr.io -u '$oauthtoken' --password-stdin
"""


def render(config: DeployConfig, ngc_secret_name: str, region: str) -> str:
    """The whole boot script for one GPU instance."""
    parts = [
        _PRELUDE,
        _DRIVERS.format(branch=config.driver_branch),
        _NGC.format(
            secret=shlex.quote(ngc_secret_name), region=shlex.quote(region), cache=NIM_CACHE
        ),
    ]
    for nim in nim_containers(config):
        parts.append(
            f'log_message "Starting {nim.name}"\n'
            f"docker rm -f {nim.name} 2>/dev/null || true\n"
            f"{nim.command()}\n"
        )
    parts.append('log_message "NIM containers started; first model download takes a while"\n')
    return "\n".join(parts)
