"""Public DNS and TLS: the existing hosted zone, an ACM certificate, the Twilio host record.

The zone is imported by id (HOSTED_ZONE_ID) instead of looked up so synth stays offline.
"""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

from .config import DeployConfig


class PublicDns(Construct):
    """`TWILIO_HOST_NAME.DOMAIN_NAME` with a DNS-validated certificate."""

    def __init__(self, scope: Construct, construct_id: str, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=config.hosted_zone_id, zone_name=config.domain_name
        )
        self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=config.twilio_fqdn,
            validation=acm.CertificateValidation.from_dns(self.zone),
        )

    def point_at(self, alb: elbv2.IApplicationLoadBalancer) -> route53.ARecord:
        """The A alias Twilio's webhook and media stream resolve."""
        return route53.ARecord(
            self,
            "TwilioRecord",
            zone=self.zone,
            record_name=self.config.twilio_host_name,
            target=route53.RecordTarget.from_alias(targets.LoadBalancerTarget(alb)),
        )
