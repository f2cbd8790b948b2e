"""Ship the `voxline_active_calls` Prometheus gauge to CloudWatch so scaling can follow calls.

A CloudWatch agent sidecar scrapes the server's /metrics on localhost and writes it as
embedded-metric-format logs; CPU alone under-counts load for a mostly idle, I/O-bound server.
"""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

NAMESPACE = "Voxline"
ACTIVE_CALLS = "voxline_active_calls"
SERVICE_LABEL = "voxline"
AGENT_IMAGE = "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:latest"


def prometheus_config(port: int) -> str:
    """Scrape config: the server in the same task, labelled with the metric's dimension."""
    return (
        "global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\n"
        "scrape_configs:\n"
        "  - job_name: voxline\n"
        "    metrics_path: /metrics\n"
        "    static_configs:\n"
        f"      - targets: ['localhost:{port}']\n"
        f"        labels: {{ServiceName: {SERVICE_LABEL}}}\n"
    )


def agent_config(log_group_name: str) -> str:
    """CloudWatch agent config turning the scraped gauge into a CloudWatch metric."""
    return json.dumps(
        {
            "logs": {
                "metrics_collected": {
                    "prometheus": {
                        "log_group_name": log_group_name,
                        "prometheus_config_path": "env:PROMETHEUS_CONFIG_CONTENT",
                        "emf_processor": {
                            "metric_namespace": NAMESPACE,
                            "metric_declaration": [
                                {
                                    "source_labels": ["job"],
                                    "label_matcher": "^voxline$",
                                    "dimensions": [["ServiceName"]],
                                    "metric_selectors": [f"^{ACTIVE_CALLS}$"],
                                }
                            ],
                        },
                    }
                },
                "force_flush_interval": 5,
            }
        },
        separators=(",", ":"),
    )


def add_metrics_sidecar(scope: Construct, task: ecs.FargateTaskDefinition, port: int) -> None:
    """Non-essential sidecar: if it dies, calls go on and only call-based scaling pauses."""
    group = logs.LogGroup(scope, "MetricsLogGroup", retention=logs.RetentionDays.ONE_WEEK)
    task.add_container(
        "cloudwatch-agent",
        image=ecs.ContainerImage.from_registry(AGENT_IMAGE),
        essential=False,
        memory_reservation_mib=128,
        environment={
            "CW_CONFIG_CONTENT": agent_config(group.log_group_name),
            "PROMETHEUS_CONFIG_CONTENT": prometheus_config(port),
        },
        logging=ecs.LogDrivers.aws_logs(stream_prefix="cwagent", log_group=group),
    )
    task.task_role.add_managed_policy(
        iam.ManagedPolicy.from_aws_managed_policy_name("CloudWatchAgentServerPolicy")
    )


def active_calls_metric() -> cloudwatch.Metric:
    """Average live calls per task, the quantity the call-based scaling policy tracks."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=ACTIVE_CALLS,
        dimensions_map={"ServiceName": SERVICE_LABEL},
        statistic="Average",
        period=Duration.minutes(1),
    )
