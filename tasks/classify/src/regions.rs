//! The regions the pipeline may act in: `ALLOWED_REGIONS`, comma-separated, unset or empty
//! for every region.
//!
//! The deployment denies its task roles and the member role every regional action outside the
//! same list (an `aws:RequestedRegion` condition, `infra/template.yaml` and
//! `infra/member-role.yaml`), so a finding from another region could only fail halfway with
//! `Remediation.AccessDenied`. `classify` refuses it first, with `Finding.RegionNotAllowed`,
//! before any task has looked at the resource; the state machine notifies the team.

use responder_core::{names, Finding, TaskError};

/// The environment variable holding the list.
pub const VARIABLE: &str = "ALLOWED_REGIONS";

/// The allowed regions, or every region.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllowedRegions {
    /// `None` allows every region; otherwise the list, in the order given, without duplicates.
    regions: Option<Vec<String>>,
}

impl AllowedRegions {
    /// Every region: what an unset or empty `ALLOWED_REGIONS` means.
    pub const fn all() -> Self {
        AllowedRegions { regions: None }
    }

    /// Reads `ALLOWED_REGIONS` from the environment.
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`AllowedRegions::from_env`], reading variables through `get` (for tests), as
    /// `Policy::from_lookup` does.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, TaskError> {
        match get("ALLOWED_REGIONS") {
            Some(text) => Self::parse(&text),
            None => Ok(Self::all()),
        }
    }

    /// Parses a comma-separated list. Blanks around names and empty entries are ignored (the
    /// template joins a list that may be empty); a list with no name at all allows every
    /// region. A name that is not a region code is a configuration error, naming it: IAM
    /// compares `aws:RequestedRegion` exactly, so `EU-WEST-1` or `eu-west1` would deny
    /// everything there while looking right.
    pub fn parse(text: &str) -> Result<Self, TaskError> {
        let mut regions: Vec<String> = Vec::new();
        let mut bad = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !is_region_code(name) {
                bad.push(format!("{name:?}"));
            } else if !regions.iter().any(|r| r == name) {
                regions.push(name.to_string());
            }
        }
        if !bad.is_empty() {
            return Err(TaskError::config(format!(
                "{VARIABLE} has {}; expected region codes such as eu-west-1, separated by commas",
                bad.join(", ")
            )));
        }
        Ok(AllowedRegions {
            regions: (!regions.is_empty()).then_some(regions),
        })
    }

    /// Whether the pipeline may act in `region`.
    pub fn allows(&self, region: &str) -> bool {
        match &self.regions {
            None => true,
            Some(list) => list.iter().any(|r| r == region),
        }
    }

    /// The list, or `None` for every region (for the start-up log line).
    pub fn list(&self) -> Option<&[String]> {
        self.regions.as_deref()
    }

    /// Refuses a finding from a region outside the list with `Finding.RegionNotAllowed`.
    pub fn check(&self, finding: &Finding) -> Result<(), TaskError> {
        if self.allows(&finding.region) {
            return Ok(());
        }
        let list = self.regions.as_deref().unwrap_or_default().join(", ");
        Err(TaskError::new(
            names::FINDING_REGION_NOT_ALLOWED,
            format!(
                "finding {} ({}, account {}) is in region {}, which is not in {VARIABLE} ({list}): \
                 the pipeline does not act there; contain it by hand or add the region to the \
                 deployment's AllowedRegions",
                finding.id, finding.finding_type, finding.account_id, finding.region
            ),
        ))
    }
}

/// Whether `name` has the shape of an AWS region code: a two-letter prefix, one or more
/// lowercase words, and a number (`eu-west-1`, `us-gov-west-1`, `ap-southeast-5`).
fn is_region_code(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let Some((number, rest)) = parts.split_last() else {
        return false;
    };
    let Some((prefix, words)) = rest.split_first() else {
        return false;
    };
    prefix.len() == 2
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && !words.is_empty()
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(value: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
        move |k| {
            (k == VARIABLE)
                .then_some(value)
                .flatten()
                .map(str::to_string)
        }
    }

    #[test]
    fn unset_or_empty_allows_every_region() {
        for value in [None, Some(""), Some(" , ,")] {
            let r = AllowedRegions::from_lookup(lookup(value)).expect("valid");
            assert_eq!(r, AllowedRegions::all(), "{value:?}");
            assert!(r.allows("ap-east-1"), "{value:?}");
            assert_eq!(r.list(), None);
        }
    }

    #[test]
    fn a_list_allows_exactly_its_regions() {
        let r = AllowedRegions::from_lookup(lookup(Some(" eu-west-1,us-east-1 ,eu-west-1,")))
            .expect("valid");
        assert_eq!(
            r.list(),
            Some(&["eu-west-1".to_string(), "us-east-1".to_string()][..])
        );
        assert!(r.allows("eu-west-1") && r.allows("us-east-1"));
        assert!(!r.allows("eu-west-2"));
        // Exact comparison, as IAM's StringNotEquals on aws:RequestedRegion.
        assert!(!r.allows("EU-WEST-1") && !r.allows("eu-west-1 "));
    }

    #[test]
    fn names_that_are_not_region_codes_are_a_configuration_error() {
        let e = AllowedRegions::parse("eu-west-1,EU-WEST-2,eu-west3,global,us-gov-west-1")
            .expect_err("invalid");
        assert_eq!(e.name, names::CONFIG_INVALID);
        assert_eq!(
            e.message,
            "ALLOWED_REGIONS has \"EU-WEST-2\", \"eu-west3\", \"global\"; expected region codes \
             such as eu-west-1, separated by commas"
        );
        for good in [
            "eu-west-1",
            "us-gov-west-1",
            "ap-southeast-5",
            "cn-north-1",
            "il-central-1",
        ] {
            assert!(is_region_code(good), "{good}");
        }
        for bad in [
            "",
            "eu",
            "eu-1",
            "-west-1",
            "eu--1",
            "eu-west-",
            "e-west-1",
            "eu-west-1a",
        ] {
            assert!(!is_region_code(bad), "{bad}");
        }
    }
}
