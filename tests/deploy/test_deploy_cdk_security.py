"""Who may reach what, and that secrets are wired by reference, never by value."""

from __future__ import annotations

from deploy_env import ENV, FAKE_NGC_KEY, FAKE_TWILIO_TOKEN


def _sg_ids(resources) -> dict[str, str]:
    """Description prefix -> logical id of each security group."""
    return {
        r["Properties"]["GroupDescription"].split(":")[0]: logical
        for logical, r in resources.items()
        if r["Type"] == "AWS::EC2::SecurityGroup"
    }


def _ingress_into(resources, group: str) -> list[dict]:
    rules = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    ]
    inline = resources[group]["Properties"].get("SecurityGroupIngress", [])
    return rules + inline


def test_only_voxline_reaches_the_nims(resources) -> None:
    ids = _sg_ids(resources)
    gpu, nlb = ids["GPU instance running the NIMs"], ids["Internal NIM load balancer"]
    service = ids["Voxline Fargate tasks"]

    gpu_rules = _ingress_into(resources, gpu)
    assert gpu_rules, "GPU instance must accept the NLB"
    assert all(
        r.get("SourceSecurityGroupId") == {"Fn::GetAtt": [nlb, "GroupId"]} for r in gpu_rules
    )
    assert not any("CidrIp" in r for r in gpu_rules)
    assert {r["FromPort"] for r in gpu_rules} == {8000, 50051, 50052, 9000, 9001}

    nlb_rules = _ingress_into(resources, nlb)
    assert all(
        r.get("SourceSecurityGroupId") == {"Fn::GetAtt": [service, "GroupId"]} for r in nlb_rules
    )
    assert {r["FromPort"] for r in nlb_rules} == {8000, 50051, 50052}


def test_voxline_tasks_only_accept_the_alb(resources) -> None:
    ids = _sg_ids(resources)
    rules = _ingress_into(resources, ids["Voxline Fargate tasks"])
    assert [(r["FromPort"], r["SourceSecurityGroupId"]) for r in rules] == [
        (8000, {"Fn::GetAtt": [ids["Voxline ALB"], "GroupId"]})
    ]


def test_nim_target_groups_do_not_preserve_client_ip(of_type) -> None:
    groups = of_type("AWS::ElasticLoadBalancingV2::TargetGroup")
    tcp = [tg for tg in groups if tg.get("Protocol") == "TCP"]
    assert tcp, "the NIM load balancer forwards TCP"
    for tg in tcp:
        attrs = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
        assert attrs["preserve_client_ip.enabled"] == "false"


def test_twilio_token_is_an_ecs_secret(of_type) -> None:
    (task,) = of_type("AWS::ECS::TaskDefinition")
    voxline = next(c for c in task["ContainerDefinitions"] if c["Name"] == "voxline")
    (secret,) = voxline["Secrets"]
    assert secret["Name"] == "TWILIO_AUTH_TOKEN"
    assert ":secret:voxline/TWILIO_AUTH_TOKEN" in str(secret["ValueFrom"])
    assert "TWILIO_AUTH_TOKEN" not in {e["Name"] for e in voxline["Environment"]}


def test_roles_may_read_only_their_secret(of_type) -> None:
    grants: list[str] = []
    for policy in of_type("AWS::IAM::Policy"):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = actions if isinstance(actions, list) else [actions]
            if "secretsmanager:GetSecretValue" in actions:
                grants.append(str(statement["Resource"]))
    assert any("voxline/TWILIO_AUTH_TOKEN-??????" in g for g in grants)
    assert any("voxline/NGC_API_KEY-??????" in g for g in grants)
    assert not any(g == "*" for g in grants)


def test_no_secret_values_in_template(template_text: str) -> None:
    for value in (FAKE_TWILIO_TOKEN, FAKE_NGC_KEY, ENV["TWILIO_AUTH_TOKEN"], ENV["NGC_API_KEY"]):
        assert value not in template_text
    assert "nvapi-" not in template_text
