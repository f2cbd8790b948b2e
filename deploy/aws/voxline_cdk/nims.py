"""The GPU auto scaling group that runs the three NIMs, reached through an internal NLB.

Design choice: the reference design put the NIMs behind the public ALB. Here they stay
private: an internal NLB (TCP, so gRPC needs no ALB special-casing) with its own security
group that only the Voxline tasks may reach, and a private DNS zone `NIM_HOST_NAME.DOMAIN_NAME`
visible only inside the VPC. The NLB also gives a stable name when the ASG replaces the host.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

from . import user_data
from .config import DeployConfig
from .network import Network
from .secrets import Secrets

# Canonical's public SSM parameter: resolved by CloudFormation at deploy time, not at synth.
UBUNTU_2204_AMI = (
    "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id"
)

# listener port -> HTTP health port of the NIM serving it (all answer /v1/health/ready).
_LISTENERS = {
    user_data.LLM_PORT: user_data.LLM_PORT,
    user_data.ASR_GRPC_PORT: user_data.ASR_HTTP_PORT,
    user_data.TTS_GRPC_PORT: user_data.TTS_HTTP_PORT,
}


class NimHost(Construct):
    """GPU instance group + internal NLB + private DNS name for the NIM endpoints."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: DeployConfig,
        network: Network,
        secrets: Secrets,
    ) -> None:
        super().__init__(scope, construct_id)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[
                # Session Manager shell for debugging; no SSH key, no open port 22.
                iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")
            ],
        )
        secrets.ngc_api_key.grant_read(role)

        script = user_data.render(config, secrets.ngc_name, Stack.of(self).region)
        boot = ec2.UserData.for_linux(shebang="#!/bin/bash")
        boot.add_commands(script.removeprefix("#!/bin/bash\n"))

        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            instance_type=ec2.InstanceType(config.gpu_instance_type),
            machine_image=ec2.MachineImage.from_ssm_parameter(UBUNTU_2204_AMI),
            user_data=boot,
            role=role,
            security_group=network.gpu_sg,
            require_imdsv2=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/sda1",
                    volume=ec2.BlockDeviceVolume.ebs(
                        config.gpu_volume_gb,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        encrypted=True,
                    ),
                )
            ],
        )
        if config.capacity_reservation_id:
            # The L2 LaunchTemplate has no capacity reservation prop; set it on the L1.
            target = {"CapacityReservationId": config.capacity_reservation_id}
            cfn = self.launch_template.node.default_child
            cfn.add_property_override(  # type: ignore[union-attr]
                "LaunchTemplateData.CapacityReservationSpecification",
                {"CapacityReservationTarget": target},
            )

        self.group = autoscaling.AutoScalingGroup(
            self,
            "Group",
            vpc=network.vpc,
            vpc_subnets=network.gpu_subnets(config),
            launch_template=self.launch_template,
            min_capacity=1,
            max_capacity=1,
            # EC2 status checks only: the NIMs take many minutes to download and build
            # engines on first boot, and an ELB check would recycle the host meanwhile.
            health_checks=autoscaling.HealthChecks.ec2(grace_period=Duration.minutes(30)),
        )

        self.load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "Nlb",
            vpc=network.vpc,
            internet_facing=False,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[network.nim_lb_sg],
            cross_zone_enabled=True,
        )
        for port, health_port in _LISTENERS.items():
            listener = self.load_balancer.add_listener(
                f"Port{port}", port=port, protocol=elbv2.Protocol.TCP
            )
            listener.add_targets(
                f"Nim{port}",
                port=port,
                protocol=elbv2.Protocol.TCP,
                targets=[self.group],
                # With client IPs preserved the instance would see task IPs, not the NLB SG.
                preserve_client_ip=False,
                deregistration_delay=Duration.seconds(30),
                health_check=elbv2.HealthCheck(
                    protocol=elbv2.Protocol.HTTP,
                    port=str(health_port),
                    path="/v1/health/ready",
                    interval=Duration.seconds(30),
                    healthy_threshold_count=2,
                    unhealthy_threshold_count=3,
                ),
            )

        self.zone = route53.PrivateHostedZone(
            self, "PrivateZone", zone_name=config.nim_fqdn, vpc=network.vpc
        )
        route53.ARecord(
            self,
            "NimRecord",
            zone=self.zone,
            target=route53.RecordTarget.from_alias(targets.LoadBalancerTarget(self.load_balancer)),
        )
        self.host_name = config.nim_fqdn
