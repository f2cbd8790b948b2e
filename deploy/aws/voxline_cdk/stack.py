"""The Voxline stack: wires network, DNS/TLS, secrets, NIM host and call service together."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from .config import DeployConfig
from .dns import PublicDns
from .network import Network
from .nims import NimHost
from .secrets import Secrets
from .service import CallService


class VoxlineStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, config: DeployConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        network = Network(self, "Network", config)
        dns = PublicDns(self, "Dns", config)
        secrets = Secrets(self, "Secrets", config)
        self.nims = NimHost(self, "Nims", config, network, secrets)
        self.calls = CallService(
            self, "Calls", config, network, dns, secrets, nim_host=self.nims.host_name
        )
        CfnOutput(self, "TwilioWebhookUrl", value=f"https://{config.twilio_fqdn}/answer")
        CfnOutput(self, "NimHostName", value=config.nim_fqdn)
        CfnOutput(self, "GpuGroupName", value=self.nims.group.auto_scaling_group_name)
