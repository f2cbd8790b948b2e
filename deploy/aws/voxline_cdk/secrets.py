"""References to the secrets `upload_secrets.py` puts in Secrets Manager before deploying.

The stack only references them by name, so `cdk synth` never sees a value and a redeploy
never overwrites a rotated token.
"""

from __future__ import annotations

from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from .config import DeployConfig


class Secrets(Construct):
    """The Twilio auth token (for the call server) and the NGC key (for the GPU instance)."""

    def __init__(self, scope: Construct, construct_id: str, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        self.twilio_name = config.secret_name("TWILIO_AUTH_TOKEN")
        self.ngc_name = config.secret_name("NGC_API_KEY")
        self.twilio_auth_token = sm.Secret.from_secret_name_v2(
            self, "TwilioAuthToken", self.twilio_name
        )
        self.ngc_api_key = sm.Secret.from_secret_name_v2(self, "NgcApiKey", self.ngc_name)
