"""The synthesized stack has the pieces of the design, wired the way calls need them."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match


def test_core_resources_exist(template) -> None:
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::ECS::Service", 1)
    template.resource_count_is("AWS::AutoScaling::AutoScalingGroup", 1)
    template.resource_count_is("AWS::CertificateManager::Certificate", 1)
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"Scheme": "internet-facing", "Type": "application"},
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internal", "Type": "network"}
    )


def test_vpc_has_public_and_private_subnets(of_type) -> None:
    subnets = of_type("AWS::EC2::Subnet")
    public = [s for s in subnets if s.get("MapPublicIpOnLaunch")]
    assert len(public) == 2
    assert len(subnets) - len(public) == 2
    assert of_type("AWS::EC2::NatGateway")


def test_certificate_and_dns_records(template, of_type) -> None:
    template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {"DomainName": "voice.example.com", "ValidationMethod": "DNS"},
    )
    records = {r["Name"]: r for r in of_type("AWS::Route53::RecordSet")}
    assert records["voice.example.com."]["HostedZoneId"] == "Z0123456789ABCDEFGHIJ"
    assert records["voice.example.com."]["Type"] == "A"
    # The NIM name lives in a private zone attached to the VPC only.
    (zone,) = of_type("AWS::Route53::HostedZone")
    assert zone["Name"] == "nim.example.com."
    assert zone["VPCs"]
    assert "nim.example.com." in records


def test_https_listener_and_redirect(template) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": Match.any_value(),
            "DefaultActions": [Match.object_like({"Type": "fixed-response"})],
        },
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 80, "DefaultActions": [Match.object_like({"Type": "redirect"})]},
    )


def test_listener_rule_routes_only_twilio_paths(of_type) -> None:
    (rule,) = of_type("AWS::ElasticLoadBalancingV2::ListenerRule")
    (condition,) = rule["Conditions"]
    assert condition["Field"] == "path-pattern"
    paths = condition["PathPatternConfig"]["Values"]
    assert {"/answer", "/ws"} <= set(paths)
    assert "/metrics" not in paths
    assert rule["Actions"][0]["Type"] == "forward"


def _attrs(props: dict) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in props.get("LoadBalancerAttributes", [])} | {
        a["Key"]: a["Value"] for a in props.get("TargetGroupAttributes", [])
    }


def test_websocket_friendly_timeouts(of_type) -> None:
    (alb,) = [
        lb
        for lb in of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
        if lb["Type"] == "application"
    ]
    assert int(_attrs(alb)["idle_timeout.timeout_seconds"]) >= 300  # default 60 s drops calls
    (voxline_tg,) = [
        tg
        for tg in of_type("AWS::ElasticLoadBalancingV2::TargetGroup")
        if tg["Port"] == 8000 and tg.get("TargetType") == "ip"
    ]
    assert int(_attrs(voxline_tg)["deregistration_delay.timeout_seconds"]) == 900
    assert voxline_tg["HealthCheckPath"] == "/health"


def test_fargate_service_deploys_without_dropping_capacity(of_type) -> None:
    (service,) = of_type("AWS::ECS::Service")
    assert service["LaunchType"] == "FARGATE"
    config = service["DeploymentConfiguration"]
    assert config["MinimumHealthyPercent"] == 100
    assert config["DeploymentCircuitBreaker"]["Rollback"] is True
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"


def test_container_env_points_at_private_nims(of_type) -> None:
    (task,) = of_type("AWS::ECS::TaskDefinition")
    voxline = next(c for c in task["ContainerDefinitions"] if c["Name"] == "voxline")
    env = {e["Name"]: e["Value"] for e in voxline["Environment"]}
    assert env["VOXLINE_ASR"] == env["VOXLINE_TTS"] == "riva"
    assert env["VOXLINE_RIVA_ASR_SERVER"] == "nim.example.com:50051"
    assert env["VOXLINE_RIVA_TTS_SERVER"] == "nim.example.com:50052"
    assert env["OPENAI_BASE_URL"] == "http://nim.example.com:8000/v1"
    assert env["VOXLINE_LLM_MODEL"] == "meta/llama-3.1-8b-instruct"
    assert voxline["Command"][:1] == ["serve"] and "bots/pizza" in voxline["Command"]
    assert voxline["StopTimeout"] == 120
    assert int(env["VOXLINE_DRAIN_S"]) < voxline["StopTimeout"]


def test_scaling_on_cpu_and_active_calls(of_type) -> None:
    (target,) = of_type("AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    policies = [
        p["TargetTrackingScalingPolicyConfiguration"]
        for p in of_type("AWS::ApplicationAutoScaling::ScalingPolicy")
    ]
    predefined = [p for p in policies if "PredefinedMetricSpecification" in p]
    custom = [p for p in policies if "CustomizedMetricSpecification" in p]
    assert predefined[0]["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "ECSServiceAverageCPUUtilization"
    )
    metric = custom[0]["CustomizedMetricSpecification"]
    assert metric["MetricName"] == "voxline_active_calls"
    assert metric["Namespace"] == "Voxline"
    assert custom[0]["TargetValue"] == 20


def test_metrics_sidecar_scrapes_active_calls(of_type) -> None:
    (task,) = of_type("AWS::ECS::TaskDefinition")
    agent = next(c for c in task["ContainerDefinitions"] if c["Name"] == "cloudwatch-agent")
    assert agent["Essential"] is False
    env = {e["Name"]: e["Value"] for e in agent["Environment"]}
    assert "localhost:8000" in env["PROMETHEUS_CONFIG_CONTENT"]
    config = json.dumps(env["CW_CONFIG_CONTENT"])
    assert "voxline_active_calls" in config


def test_gpu_group_uses_capacity_reservation(of_type) -> None:
    (lt,) = of_type("AWS::EC2::LaunchTemplate")
    data = lt["LaunchTemplateData"]
    assert data["InstanceType"] == "p5.48xlarge"
    assert data["CapacityReservationSpecification"] == {
        "CapacityReservationTarget": {"CapacityReservationId": "cr-0123456789abcdef0"}
    }
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (asg,) = of_type("AWS::AutoScaling::AutoScalingGroup")
    assert (asg["MinSize"], asg["MaxSize"]) == ("1", "1")
    assert len(asg["TargetGroupARNs"]) == 3


def test_nlb_forwards_the_three_nim_ports(of_type) -> None:
    nlb_ports = sorted(
        listener["Port"]
        for listener in of_type("AWS::ElasticLoadBalancingV2::Listener")
        if listener.get("Protocol") == "TCP"
    )
    assert nlb_ports == [8000, 50051, 50052]
    health = {
        tg["Port"]: (tg["HealthCheckPort"], tg["HealthCheckPath"])
        for tg in of_type("AWS::ElasticLoadBalancingV2::TargetGroup")
        if tg.get("Protocol") == "TCP"
    }
    assert health == {
        8000: ("8000", "/v1/health/ready"),
        50051: ("9000", "/v1/health/ready"),
        50052: ("9001", "/v1/health/ready"),
    }
