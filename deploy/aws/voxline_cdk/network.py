"""VPC and the security groups that decide who may talk to whom.

Chain of trust: internet -> ALB (443/80) -> Voxline tasks (8000) -> internal NLB
(8000/50051/50052) -> GPU instance. Nothing else reaches the NIMs.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from .config import DeployConfig
from .user_data import ASR_GRPC_PORT, ASR_HTTP_PORT, LLM_PORT, TTS_GRPC_PORT, TTS_HTTP_PORT

VOXLINE_PORT = 8000
NIM_SERVICE_PORTS = (LLM_PORT, ASR_GRPC_PORT, TTS_GRPC_PORT)
NIM_HEALTH_PORTS = (ASR_HTTP_PORT, TTS_HTTP_PORT)


class Network(Construct):
    """Public subnets for the ALB and NAT, private subnets for tasks, NLB and GPU instance."""

    def __init__(self, scope: Construct, construct_id: str, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        subnets = [
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
            ec2.SubnetConfiguration(
                name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
            ),
        ]
        # Explicit AZs (or Fn::GetAZs when unset) keep synth free of context lookups.
        zones = (
            {"availability_zones": list(config.availability_zones)}
            if (config.availability_zones)
            else {"max_azs": 2}
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            nat_gateways=config.nat_gateways,
            subnet_configuration=subnets,
            **zones,
        )

        self.alb_sg = ec2.SecurityGroup(
            self, "AlbSg", vpc=self.vpc, description="Voxline ALB: HTTPS from Twilio/internet"
        )
        self.alb_sg.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS")
        self.alb_sg.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(80), "redirect to HTTPS")

        self.service_sg = ec2.SecurityGroup(
            self, "ServiceSg", vpc=self.vpc, description="Voxline Fargate tasks"
        )
        self.service_sg.add_ingress_rule(self.alb_sg, ec2.Port.tcp(VOXLINE_PORT), "ALB to Voxline")

        self.nim_lb_sg = ec2.SecurityGroup(
            self,
            "NimLbSg",
            vpc=self.vpc,
            description="Internal NIM load balancer: Voxline tasks only",
            allow_all_outbound=False,
        )
        self.gpu_sg = ec2.SecurityGroup(
            self, "GpuSg", vpc=self.vpc, description="GPU instance running the NIMs"
        )
        for port in NIM_SERVICE_PORTS:
            self.nim_lb_sg.add_ingress_rule(
                self.service_sg, ec2.Port.tcp(port), f"Voxline to NIM {port}"
            )
            self.nim_lb_sg.add_egress_rule(self.gpu_sg, ec2.Port.tcp(port), f"NIM {port}")
            self.gpu_sg.add_ingress_rule(self.nim_lb_sg, ec2.Port.tcp(port), f"NLB to NIM {port}")
        for port in NIM_HEALTH_PORTS:
            self.nim_lb_sg.add_egress_rule(self.gpu_sg, ec2.Port.tcp(port), f"health {port}")
            self.gpu_sg.add_ingress_rule(
                self.nim_lb_sg, ec2.Port.tcp(port), f"NLB health check {port}"
            )

    def gpu_subnets(self, config: DeployConfig) -> ec2.SubnetSelection:
        """Private subnet(s) for the GPU group: the reservation's AZ when AZs are explicit."""
        if config.availability_zones:
            return ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                availability_zones=[config.availability_zones[0]],
            )
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
