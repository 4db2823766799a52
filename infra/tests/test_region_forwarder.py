"""The region forwarder (region-forwarder.yaml) delivers every finding the pipeline's rules can
match to the home region's default bus, with the role and dead-letter queue EventBridge needs,
and does nothing in the home region itself (a rule there would target its own bus).
"""

from __future__ import annotations

from test_least_privilege import as_list, load_template, ref_target, resources

HOME_BUS = {"Fn::Sub": "arn:${AWS::Partition}:events:${HomeRegion}:${AWS::AccountId}:event-bus/default"}


def test_forwards_every_finding_the_pipeline_rules_can_match():
    forwarder = load_template("region-forwarder.yaml")
    pipeline = load_template("template.yaml")
    (rule,) = resources(forwarder, "AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern == {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}
    # Every GuardDuty rule of the pipeline matches a subset of what is forwarded: the same
    # source and detail-type, narrowed by detail only.
    for name, home in resources(pipeline, "AWS::Events::Rule").items():
        home_pattern = home["Properties"]["EventPattern"]
        if home_pattern["source"] != ["aws.guardduty"]:
            continue
        assert home_pattern["detail-type"] == pattern["detail-type"], name
        assert set(home_pattern) - {"detail"} == set(pattern), name


def test_targets_the_home_bus_with_its_role_and_dead_letter_queue():
    forwarder = load_template("region-forwarder.yaml")
    res = forwarder["Resources"]
    (name,) = resources(forwarder, "AWS::Events::Rule")
    (target,) = res[name]["Properties"]["Targets"]
    assert target["Arn"] == HOME_BUS
    role = ref_target(target["RoleArn"])
    assert ref_target(target["DeadLetterConfig"]["Arn"]) == "DeadLetterQueue"
    # The role may put events on the home bus and nothing else.
    (policy,) = res[role]["Properties"]["Policies"]
    (statement,) = as_list(policy["PolicyDocument"]["Statement"])
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
        "Allow",
        "events:PutEvents",
        HOME_BUS,
    )
    (trust,) = as_list(res[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"])
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # The queue accepts dead letters from this rule only.
    queue_policy = res["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    (allow,) = [s for s in queue_policy["Statement"] if s["Effect"] == "Allow"]
    assert ref_target(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == name


def test_creates_no_rule_in_the_home_region():
    forwarder = load_template("region-forwarder.yaml")
    assert forwarder["Conditions"]["ForwardsFromHere"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "HomeRegion"}, {"Ref": "AWS::Region"}]}]
    }
    for name, res in forwarder["Resources"].items():
        if res["Type"] in {"AWS::Events::Rule", "AWS::IAM::Role", "AWS::SQS::QueuePolicy"}:
            assert res.get("Condition") == "ForwardsFromHere", name
        # IAM names are global and this template runs once per region in one account.
        if res["Type"] == "AWS::IAM::Role":
            assert "RoleName" not in res["Properties"], name
