"""The Voxline call server on ECS Fargate behind a public, TLS-terminating ALB.

Phone calls are long WebSockets, so the ALB idle timeout is raised from its 60 s default
and the target group's deregistration delay is as long as a call may need to finish:
ECS waits for that drain before it sends SIGTERM to a task being replaced or scaled in.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from .config import DeployConfig
from .dns import PublicDns
from .metrics import add_metrics_sidecar
from .network import VOXLINE_PORT, Network
from .scaling import add_scaling
from .secrets import Secrets
from .user_data import ASR_GRPC_PORT, LLM_PORT, TTS_GRPC_PORT

# Only what Twilio (and an uptime probe) needs is routed; /metrics etc. stay private.
PUBLIC_PATHS = ("/answer", "/ws", "/health")
IDLE_TIMEOUT_S = 600
STOP_TIMEOUT_S = 120  # Fargate's maximum; the in-process drain after SIGTERM must fit in it.


def container_image(scope: Construct, config: DeployConfig) -> ecs.ContainerImage:
    """An explicit registry image, or the tag in an ECR repository you pushed to."""
    if config.voxline_image:
        return ecs.ContainerImage.from_registry(config.voxline_image)
    repo = ecr.Repository.from_repository_name(scope, "Repository", config.ecr_repository)
    return ecs.ContainerImage.from_ecr_repository(repo, config.image_tag)


def server_environment(config: DeployConfig, nim_host: str) -> dict[str, str]:
    """Plain settings for `voxline serve`: Riva ASR/TTS and the LLM NIM, all private."""
    env = {
        "VOXLINE_ASR": "riva",
        "VOXLINE_TTS": "riva",
        "VOXLINE_AGENT": "llm",
        "VOXLINE_RIVA_ASR_SERVER": f"{nim_host}:{ASR_GRPC_PORT}",
        "VOXLINE_RIVA_TTS_SERVER": f"{nim_host}:{TTS_GRPC_PORT}",
        "VOXLINE_RIVA_SSL": "false",
        "VOXLINE_LLM_MODEL": config.llm_model,
        "OPENAI_BASE_URL": f"http://{nim_host}:{LLM_PORT}/v1",
        # A self-hosted NIM checks no key, but the OpenAI SDK insists on one being set.
        "OPENAI_API_KEY": "unused-self-hosted-nim",
        "VOXLINE_PORT": str(VOXLINE_PORT),
        "VOXLINE_MAX_CALLS": str(config.max_calls_per_task),
        "VOXLINE_DRAIN_S": str(STOP_TIMEOUT_S - 10),
    }
    env.update(config.extra_env)
    return env


class CallService(Construct):
    """ECS cluster, Fargate service, ALB with HTTPS listener and path rules."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: DeployConfig,
        network: Network,
        dns: PublicDns,
        secrets: Secrets,
        nim_host: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=network.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.task_cpu,
            memory_limit_mib=config.task_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH)
        task.add_container(
            "voxline",
            image=container_image(self, config),
            command=[
                "serve",
                "--host",
                "0.0.0.0",
                "--port",
                str(VOXLINE_PORT),
                "--bot",
                config.bot,
            ],
            environment=server_environment(config, nim_host),
            secrets={
                "TWILIO_AUTH_TOKEN": ecs.Secret.from_secrets_manager(secrets.twilio_auth_token)
            },
            port_mappings=[ecs.PortMapping(container_port=VOXLINE_PORT)],
            stop_timeout=Duration.seconds(STOP_TIMEOUT_S),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="voxline", log_group=log_group),
        )
        add_metrics_sidecar(self, task, VOXLINE_PORT)

        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=task,
            desired_count=config.min_tasks,
            security_groups=[network.service_sg],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            health_check_grace_period=Duration.seconds(120),
        )
        self.scaling = add_scaling(self.service, config)

        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=network.vpc,
            internet_facing=True,
            security_group=network.alb_sg,
            idle_timeout=Duration.seconds(IDLE_TIMEOUT_S),
        )
        self.alb.add_redirect(source_port=80, target_port=443)
        https = self.alb.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[dns.certificate],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="text/plain", message_body="not found"
            ),
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=network.vpc,
            port=VOXLINE_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            targets=[self.service],
            deregistration_delay=Duration.seconds(config.drain_seconds),
            # /health is liveness (models loaded). /ready turns 503 at drain or capacity,
            # and an unhealthy target would make ECS kill a task full of live calls.
            health_check=elbv2.HealthCheck(
                path="/health",
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=4,
            ),
        )
        https.add_action(
            "Voxline",
            priority=10,
            conditions=[elbv2.ListenerCondition.path_patterns(list(PUBLIC_PATHS))],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )
        dns.point_at(self.alb)
