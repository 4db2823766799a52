//! Amazon Resource Names, split once: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (IAM User
//! Guide, "IAM identifiers": the resource part may itself hold `:` and `/`).

/// An ARN's parts, borrowed from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`...
    pub partition: &'a str,
    /// The service namespace (`iam`, `s3`, `lambda`...).
    pub service: &'a str,
    /// The region; empty for global resources (IAM, S3 buckets).
    pub region: &'a str,
    /// The account; empty where the ARN names none (S3 buckets).
    pub account: &'a str,
    /// Everything after the account: `role/PATH/NAME`, `function:NAME[:QUALIFIER]`, `db:ID`...
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits `text`; `None` unless it starts with `arn:` and has a partition, a service and a
    /// resource.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut fields = text.splitn(6, ':');
        if fields.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: fields.next()?,
            service: fields.next()?,
            region: fields.next()?,
            account: fields.next()?,
            resource: fields.next()?,
        };
        (!arn.partition.is_empty() && !arn.service.is_empty() && !arn.resource.is_empty())
            .then_some(arn)
    }

    /// The resource part split at `:` (`function`, `NAME`, `QUALIFIER`).
    pub fn resource_fields(&self) -> Vec<&'a str> {
        self.resource.split(':').collect()
    }

    /// Whether the account is one: twelve digits.
    pub fn has_account(&self) -> bool {
        self.account.len() == 12 && self.account.bytes().all(|b| b.is_ascii_digit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every part lands in its place, the resource keeps its own `:` and `/`, and what is not
    /// an ARN is refused.
    #[test]
    fn parts_are_split_once() {
        let a =
            Arn::parse("arn:aws:lambda:eu-west-1:111111111111:function:orders:live").expect("arn");
        assert_eq!(
            (a.partition, a.service, a.region, a.account, a.resource),
            (
                "aws",
                "lambda",
                "eu-west-1",
                "111111111111",
                "function:orders:live"
            )
        );
        assert_eq!(a.resource_fields(), ["function", "orders", "live"]);
        assert!(a.has_account());
        let b = Arn::parse("arn:aws-cn:s3:::orders-exports/uploads/a b").expect("s3");
        assert_eq!(
            (b.region, b.account, b.resource),
            ("", "", "orders-exports/uploads/a b")
        );
        assert!(!b.has_account());
        for bad in [
            "",
            "arn",
            "arn:aws:iam::111111111111",
            "arn::iam::111111111111:role/x",
            "arn:aws::::x",
            "urn:aws:iam::111111111111:role/x",
            "arn:aws:iam::111111111111:",
        ] {
            assert_eq!(Arn::parse(bad), None, "{bad:?}");
        }
    }
}
