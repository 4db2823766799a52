"""GuardDuty's configuration as code (guardduty-config.yaml): everything is off until asked
for, the example suppression rule archives exactly NAT instances' port scans, and the
template never owns the detector (deleting the stack must not turn GuardDuty off).
"""

from __future__ import annotations

from test_least_privilege import load_template, resources


def test_never_creates_or_owns_a_detector():
    config = load_template("guardduty-config.yaml")
    assert not resources(config, "AWS::GuardDuty::Detector")
    for name, res in config["Resources"].items():
        assert res["Properties"]["DetectorId"] == {"Ref": "DetectorId"}, name


def test_the_nat_portscan_rule_archives_only_tagged_nat_instances_and_is_off_by_default():
    config = load_template("guardduty-config.yaml")
    rule = config["Resources"]["NatInstancePortscanSuppression"]
    assert rule["Condition"] == "SuppressNatPortscan"
    assert config["Conditions"]["SuppressNatPortscan"] == {
        "Fn::Equals": [{"Ref": "SuppressNatInstancePortscan"}, "true"]
    }
    assert config["Parameters"]["SuppressNatInstancePortscan"]["Default"] == "false"
    props = rule["Properties"]
    assert props["Action"] == "ARCHIVE"
    assert props["FindingCriteria"]["Criterion"] == {
        "type": {"Equals": ["Recon:EC2/Portscan"]},
        "resource.instanceDetails.tags.key": {"Equals": [{"Ref": "NatInstanceTagKey"}]},
        "resource.instanceDetails.tags.value": {"Equals": [{"Ref": "NatInstanceTagValue"}]},
    }
    # The default key is one the optional tag guard keeps from member accounts, since a tag
    # that hides findings must be as protected as the exemption tag.
    assert config["Parameters"]["NatInstanceTagKey"]["Default"].startswith("guardduty-responder:")


def test_the_trusted_ip_list_exists_only_with_a_location_and_starts_inactive():
    config = load_template("guardduty-config.yaml")
    (name,) = resources(config, "AWS::GuardDuty::IPSet")
    ip_set = config["Resources"][name]
    assert ip_set["Condition"] == "HasTrustedIpList"
    assert config["Parameters"]["TrustedIpListLocation"]["Default"] == ""
    assert ip_set["Properties"]["Activate"] == {"Fn::If": ["ActivateList", True, False]}
    assert config["Parameters"]["ActivateTrustedIpList"]["Default"] == "false"
