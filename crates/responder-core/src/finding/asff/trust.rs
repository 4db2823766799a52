//! Whether an ASFF finding sent by a custom action is GuardDuty's own, checked before anything
//! else of it is read.
//!
//! Security Hub takes findings from every custom integration of the account, and a custom
//! integration writes `ProductName` and `CompanyName` itself: the ASFF reference says of
//! `ProductName` "You cannot update this attribute with BatchImportFindings or
//! BatchUpdateFindings. The exception to this is a custom integration."
//! (<https://docs.aws.amazon.com/securityhub/latest/userguide/asff-top-level-attributes.html>).
//! A finding named "GuardDuty" by a custom integration would otherwise choose the instance the
//! pipeline isolates. Only `ProductArn` names the writer: GuardDuty's is
//! `arn:<partition>:securityhub:<region>::product/aws/guardduty`, with the account field empty
//! as for every AWS service, while a custom integration's names its own account
//! (`product/<account>/default`). The finding ARN in `Id`, `AwsAccountId` and `Region` must then
//! agree with each other and with that product ARN.

use serde_json::Value;

use super::super::{account_id, invalid, text};
use super::FindingArn;
use crate::error::{names, TaskError};

/// The resource part of GuardDuty's product ARN.
const GUARDDUTY_PRODUCT: &str = "product/aws/guardduty";

/// GuardDuty's product ARN, split.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Product {
    arn: String,
    partition: String,
    region: String,
}

/// Reads `ProductArn` and accepts it only when it is GuardDuty's product ARN, whatever
/// `ProductName` and `CompanyName` say. Anything else is `Finding.Unsupported`.
pub(super) fn guardduty_product(f: &Value, action_name: &str) -> Result<Product, TaskError> {
    let arn = text(f.get("ProductArn"));
    if let Some(product) = arn.as_deref().and_then(parse_product) {
        return Ok(product);
    }
    // The name is only repeated so an analyst recognises the finding; it decides nothing.
    let name = text(f.get("ProductName")).unwrap_or_else(|| "no ProductName".into());
    Err(TaskError::new(
        names::FINDING_UNSUPPORTED,
        format!(
            "the custom action {action_name:?} sent a finding whose `ProductArn` is {} ({name}); only GuardDuty findings can be contained, and only GuardDuty's product ARN (arn:<partition>:securityhub:<region>::{GUARDDUTY_PRODUCT}) identifies one: `ProductName` and `CompanyName` can be set by any custom integration",
            arn.as_deref().map_or_else(|| "missing".to_string(), |a| format!("{a:?}"))
        ),
    ))
}

fn parse_product(arn: &str) -> Option<Product> {
    let a = crate::arn::Arn::parse(arn)?;
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
    };
    let ok = a.partition.starts_with("aws")
        && word(a.partition)
        && a.service == "securityhub"
        && word(a.region)
        && a.account.is_empty()
        && a.resource == GUARDDUTY_PRODUCT;
    ok.then(|| Product {
        arn: arn.to_string(),
        partition: a.partition.to_string(),
        region: a.region.to_string(),
    })
}

/// Checks that the product ARN, the finding ARN in `Id`, `AwsAccountId` and `Region` name one
/// partition, region and account, and returns that account and region. A value that
/// contradicts another is `Finding.Unsupported` naming both fields; an unreadable one is
/// `Finding.Invalid`.
pub(super) fn same_origin(
    f: &Value,
    product: &Product,
    finding: &FindingArn,
) -> Result<(String, String), TaskError> {
    let unsupported = |message: String| TaskError::new(names::FINDING_UNSUPPORTED, message);
    if product.partition != finding.partition || product.region != finding.region {
        return Err(unsupported(format!(
            "`findings[0].ProductArn` {:?} is GuardDuty's product in {} ({}), but the finding ARN in `Id` is in {} ({}); GuardDuty sends its findings to Security Hub in their own region",
            product.arn, product.region, product.partition, finding.region, finding.partition
        )));
    }
    // The resource's account decides where the pipeline acts: it is required, never taken from
    // the envelope (the security account's), and must be the finding ARN's.
    let account = f
        .get("AwsAccountId")
        .filter(|v| !v.is_null())
        .ok_or_else(|| invalid("`findings[0].AwsAccountId` is missing"))?;
    let account = account_id(account).ok_or_else(|| {
        invalid(format!(
            "`findings[0].AwsAccountId` is {account}; expected an account id"
        ))
    })?;
    if account != finding.account {
        return Err(unsupported(format!(
            "`findings[0].AwsAccountId` {account} differs from the account {} of the finding ARN in `Id`",
            finding.account
        )));
    }
    // Security Hub fills `Region` itself; when present it must be the finding's.
    if let Some(region) = text(f.get("Region")) {
        if region != finding.region {
            return Err(unsupported(format!(
                "`findings[0].Region` {region} differs from the region {} of the finding ARN in `Id`",
                finding.region
            )));
        }
    }
    Ok((account, finding.region.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_guardduty_s_product_arn_is_guardduty() {
        let accepted = [
            (
                "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
                "aws",
                "eu-west-1",
            ),
            (
                "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty",
                "aws-us-gov",
                "us-gov-west-1",
            ),
            (
                "arn:aws-cn:securityhub:cn-north-1::product/aws/guardduty",
                "aws-cn",
                "cn-north-1",
            ),
        ];
        for (arn, partition, region) in accepted {
            let p = parse_product(arn).unwrap_or_else(|| panic!("{arn} is GuardDuty's"));
            assert_eq!(
                (p.partition.as_str(), p.region.as_str()),
                (partition, region)
            );
        }
        for arn in [
            // A custom integration's default product: it names the importing account.
            "arn:aws:securityhub:eu-west-1:222222222222:product/222222222222/default",
            // Ends in /guardduty, which the old suffix check accepted.
            "arn:aws:securityhub:eu-west-1:222222222222:product/222222222222/guardduty",
            "arn:aws:securityhub:eu-west-1::product/aws/inspector",
            "arn:aws:securityhub:eu-west-1::product/aws/guardduty/extra",
            "arn:aws:securityhub:eu-west-1::product/aws/GuardDuty",
            "arn:aws:guardduty:eu-west-1::product/aws/guardduty",
            "arn:aws:securityhub:::product/aws/guardduty",
            "arn:xyz:securityhub:eu-west-1::product/aws/guardduty",
            " arn:aws:securityhub:eu-west-1::product/aws/guardduty",
            "product/aws/guardduty",
            "",
        ] {
            assert_eq!(parse_product(arn), None, "{arn:?}");
        }
    }

    #[test]
    fn the_refusal_names_the_product_arn_not_the_product_name() {
        let f = json!({"ProductArn": "arn:aws:securityhub:eu-west-1:222222222222:product/222222222222/default",
                       "ProductName": "GuardDuty", "CompanyName": "Amazon"});
        let e = guardduty_product(&f, "Contain (responder)").expect_err("custom product");
        assert_eq!(e.name, names::FINDING_UNSUPPORTED);
        assert_eq!(
            e.message,
            "the custom action \"Contain (responder)\" sent a finding whose `ProductArn` is \"arn:aws:securityhub:eu-west-1:222222222222:product/222222222222/default\" (GuardDuty); only GuardDuty findings can be contained, and only GuardDuty's product ARN (arn:<partition>:securityhub:<region>::product/aws/guardduty) identifies one: `ProductName` and `CompanyName` can be set by any custom integration"
        );
        let e = guardduty_product(&json!({"ProductName": "GuardDuty"}), "x").expect_err("none");
        assert!(
            e.message.contains("`ProductArn` is missing"),
            "{}",
            e.message
        );
    }

    #[test]
    fn account_and_region_must_agree_with_the_finding_arn() {
        let product =
            parse_product("arn:aws:securityhub:eu-west-1::product/aws/guardduty").expect("product");
        let finding =
            FindingArn::parse("arn:aws:guardduty:eu-west-1:222222222222:detector/d1/finding/f1")
                .expect("finding arn");
        let check = |f: Value| same_origin(&f, &product, &finding);
        assert_eq!(
            check(json!({"AwsAccountId": "222222222222", "Region": "eu-west-1"})).expect("same"),
            ("222222222222".to_string(), "eu-west-1".to_string())
        );
        assert_eq!(
            check(json!({"AwsAccountId": "222222222222"}))
                .expect("no Region")
                .1,
            "eu-west-1"
        );
        let refused = |f: Value, name: crate::ErrorName, words: &str| {
            let e = check(f).expect_err("refused");
            assert_eq!(e.name, name, "{}", e.message);
            assert!(e.message.contains(words), "{}", e.message);
        };
        refused(
            json!({"AwsAccountId": "333333333333", "Region": "eu-west-1"}),
            names::FINDING_UNSUPPORTED,
            "`findings[0].AwsAccountId` 333333333333 differs from the account 222222222222",
        );
        refused(
            json!({"AwsAccountId": "222222222222", "Region": "us-east-1"}),
            names::FINDING_UNSUPPORTED,
            "`findings[0].Region` us-east-1 differs from the region eu-west-1",
        );
        refused(
            json!({}),
            names::FINDING_INVALID,
            "AwsAccountId` is missing",
        );
        refused(
            json!({"AwsAccountId": "Generated"}),
            names::FINDING_INVALID,
            "expected an account id",
        );
        let elsewhere =
            parse_product("arn:aws:securityhub:us-east-1::product/aws/guardduty").expect("product");
        let e = same_origin(
            &json!({"AwsAccountId": "222222222222"}),
            &elsewhere,
            &finding,
        )
        .expect_err("product region");
        assert_eq!(e.name, names::FINDING_UNSUPPORTED);
        assert!(
            e.message.contains("`findings[0].ProductArn`"),
            "{}",
            e.message
        );
    }
}
