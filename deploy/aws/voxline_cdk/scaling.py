"""Task auto scaling on CPU and on live calls per task.

Scale-in is slow on purpose: a removed task drains through the ALB deregistration delay,
so fast flapping would keep tasks in long drains.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs

from .config import DeployConfig
from .metrics import active_calls_metric


def add_scaling(service: ecs.FargateService, config: DeployConfig) -> ecs.ScalableTaskCount:
    scaling = service.auto_scale_task_count(
        min_capacity=config.min_tasks, max_capacity=config.max_tasks
    )
    scaling.scale_on_cpu_utilization(
        "Cpu",
        target_utilization_percent=60,
        scale_out_cooldown=Duration.seconds(60),
        scale_in_cooldown=Duration.minutes(10),
    )
    scaling.scale_to_track_custom_metric(
        "ActiveCalls",
        metric=active_calls_metric(),
        target_value=config.calls_per_task,
        scale_out_cooldown=Duration.seconds(60),
        scale_in_cooldown=Duration.minutes(10),
    )
    return scaling
