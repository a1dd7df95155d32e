//! TS012 region-covered (high)
//!
//! What it checks
//!   Every scanned Region of the account is covered by a trail that is logging: a multi-Region
//!   trail (organization trails included) from any home Region, or a single-Region trail in
//!   that Region. One finding per account and Region; its resource is
//!   `arn:aws:cloudtrail:REGION:ACCOUNT:` (the Region as a CloudTrail ARN without a resource).
//!   A Region whose trails could not be read is `error`; a Region covered only by trails whose
//!   status could not be read is `indeterminate`. An account with no trail at all fails in
//!   every Region: never silently empty. In an organization audit (`audit --org`) a member
//!   account is covered by the organization trails of its management account, with the
//!   logging status read there; the finding names them.
//!
//! Why it matters
//!   Encryption of the logs is moot where nothing is logged. Attackers use Regions nobody
//!   watches. CIS AWS 2.1 / 3.1, Security Hub CloudTrail.1.
//!
//! Example
//!   A single-Region trail in us-east-1 and nothing else: API calls in eu-west-1 are not
//!   recorded.
//!
//! How to fix
//!   Make a trail multi-Region: `aws cloudtrail update-trail --name <trail> --is-multi-region-trail`
//!   (and `start-logging` if it is stopped), or create one with the encryption settings of TS001.

use serde_json::json;
use trailseal_model::{AccountEvidence, Finding, Severity, Status, Trail};

use crate::support::{account_finding, no_region_scanned};
use crate::{Applies, Check, CheckInfo, Runner, COVERAGE_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS012",
        name: "region-covered",
        severity: Severity::High,
        title: "an account/Region is not covered by any logging trail",
        compliance: COVERAGE_COMPLIANCE,
        applies: Applies::ACCOUNT,
        compliant: false,
        source: include_str!("ts012_region_covered.rs"),
    },
    runner: Runner::Account(run),
};

/// Whether the trail covers `region`; `None` when its multi-Region flag is not known and its
/// home Region is another one. An organization trail is multi-Region only when
/// `IsMultiRegionTrail` says so: one created with the API can log its home Region alone
/// (CloudTrail User Guide, "Creating a trail for an organization").
fn covers(t: &Trail, region: &str) -> Option<bool> {
    if t.home_region == region || t.is_multi_region.is(&true) == Some(true) {
        return Some(true);
    }
    t.is_multi_region.known().map(|_| false)
}

fn run(account: &AccountEvidence) -> Vec<Finding> {
    let info = &CHECK.info;
    let mut out = Vec::new();
    if let Some(f) = no_region_scanned(
        info,
        account,
        "which Regions are covered by a logging trail",
    ) {
        return vec![f];
    }
    for r in &account.regions {
        let region = r.region.as_str();
        if let Some(err) = &r.trails_error {
            out.push(account_finding(
                info,
                account,
                region,
                None,
                Status::Error,
                format!("could not list the trails of {region}: {err}"),
                "Grant the auditing principal cloudtrail:DescribeTrails in this Region, or check that the Region is enabled.".into(),
                json!({}),
            ));
            continue;
        }
        // The account's own trails, and organization trails of its management account (read
        // and evaluated there; they log every member account, in the Regions they cover).
        let trails = || account.trails.iter().chain(&account.organization_trails);
        let candidates: Vec<&Trail> = trails()
            .filter(|t| covers(t, region) == Some(true))
            .collect();
        // Trails that may cover the Region (a flag could not be read) count as undecided.
        let maybe = trails().filter(|t| covers(t, region).is_none());
        let logging: Vec<&str> = candidates
            .iter()
            .filter(|t| t.status.as_ref().is_some_and(|s| s.is_logging))
            .map(|t| t.arn.as_str())
            .collect();
        let unknown: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|t| t.status.is_none())
            .chain(maybe)
            .map(|t| t.arn.as_str())
            .collect();
        let evidence = json!({"logging_trails": logging, "status_unknown": unknown,
            "covering_trails": candidates.iter().map(|t| t.arn.as_str()).collect::<Vec<_>>()});
        let fix = format!(
            "Make a trail multi-Region (aws cloudtrail update-trail --name <trail> --is-multi-region-trail) and make sure it \
             is logging (aws cloudtrail start-logging --name <trail>), or create a trail in {region}."
        );
        let (status, message) = if !logging.is_empty() {
            (
                Status::Pass,
                format!("{region} is covered by {}", logging.join(", ")),
            )
        } else if !unknown.is_empty() {
            (
                Status::Indeterminate,
                format!(
                    "{region} is covered only by trails whose status could not be read: {}",
                    unknown.join(", ")
                ),
            )
        } else if candidates.is_empty() {
            (
                Status::Fail,
                format!("no trail covers {region}: API activity there is not recorded"),
            )
        } else {
            let names: Vec<&str> = candidates.iter().map(|t| t.arn.as_str()).collect();
            (
                Status::Fail,
                format!(
                    "{region} is covered only by trails that are not logging: {}",
                    names.join(", ")
                ),
            )
        };
        out.push(account_finding(
            info, account, region, None, status, message, fix, evidence,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailseal_model::{Fact, RegionEvidence, TrailStatus};

    /// An organization trail created with the API can be single-Region: it covers its home
    /// Region only (CloudTrail User Guide, "Creating a trail for an organization"), in the
    /// management account and in every member.
    #[test]
    fn a_single_region_organization_trail_covers_its_home_region_only() {
        let mut trail = Trail::from_arn("arn:aws:cloudtrail:us-east-1:111111111111:trail/org");
        trail.is_organization_trail = Fact::Known(true);
        trail.is_multi_region = Fact::Known(false);
        trail.status = Some(TrailStatus {
            is_logging: true,
            ..TrailStatus::default()
        });
        let member = AccountEvidence {
            account: "222222222222".into(),
            partition: "aws".into(),
            regions: ["us-east-1", "eu-west-1"]
                .iter()
                .map(|r| RegionEvidence {
                    region: (*r).into(),
                    ..RegionEvidence::default()
                })
                .collect(),
            organization_trails: vec![trail.clone()],
            ..AccountEvidence::default()
        };
        let statuses: Vec<(String, Status)> = run(&member)
            .into_iter()
            .map(|f| (f.region, f.status))
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("us-east-1".to_owned(), Status::Pass),
                ("eu-west-1".to_owned(), Status::Fail)
            ]
        );
        // Its multi-Region flag unknown: undecided, never a pass.
        let mut unknown = member;
        unknown.organization_trails[0].is_multi_region = Fact::Unreadable("not read".into());
        assert_eq!(run(&unknown)[1].status, Status::Indeterminate);
    }
}
