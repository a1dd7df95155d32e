//! TS008 log-readers (medium)
//!
//! What it checks
//!   Who may `kms:Decrypt` the trail's log files: every principal that an Allow statement
//!   covering kms:Decrypt names is evaluated against the whole key policy (Denies included),
//!   with the log files' encryption context. Principals are reported as: IAM principals of an
//!   account (`arn:aws:iam::ACCOUNT:root` delegates to that account's IAM policies), named
//!   roles/users, `*` limited by conditions (e.g. kms:CallerAccount), and `*` open to everyone.
//!   Fails when nobody other than CloudTrail can decrypt, or when anyone in any account can.
//!
//! Why it matters
//!   Encrypted logs nobody can decrypt are useless in an investigation; logs anybody can
//!   decrypt are only as protected as the bucket. KMS access is the second lock on the logs.
//!
//! Example
//!   A key policy whose only Allow for kms:Decrypt is `"Principal": "*"` with no condition
//!   (open to everyone), or a policy that grants CloudTrail encrypt and nothing else (nobody,
//!   not even the account's administrators, can read the logs).
//!
//! How to fix
//!   Grant decryption to your account's principals, limited to CloudTrail log files:
//!     {"Sid": "TrailsealAllowLogDecryptionInAccount", "Effect": "Allow",
//!      "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": "*",
//!      "Condition": {"StringEquals": {"kms:CallerAccount": "<account>"},
//!                    "Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}}}
//!   and add a condition (kms:CallerAccount, aws:PrincipalOrgID) to any `*` grant of kms:Decrypt.

use serde_json::json;
use trailseal_model::{Finding, Severity, Status, TrailEvidence};
use trailseal_policy::{who_may_decrypt, ReaderKind};

use crate::support::{finding, labels, load};
use crate::{Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS008",
        name: "log-readers",
        severity: Severity::Medium,
        title: "nobody but CloudTrail can decrypt the logs, or anyone can",
        compliance: CONTROL_COMPLIANCE,
        source: include_str!("ts008_log_readers.rs"),
    },
    runner: Runner::Trail(run),
};

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    let (policy, ctx) = match load(info, ev) {
        Ok(loaded) => loaded,
        Err(finding) => return *finding,
    };
    let summary = who_may_decrypt(&policy, &ctx);
    let describe = |r: &trailseal_policy::Reader| {
        let base = match r.kind {
            ReaderKind::DelegatedToIam => {
                format!("{} whose IAM policies allow kms:Decrypt", r.principal)
            }
            ReaderKind::LimitedWildcard => format!("{}, limited by conditions", r.principal),
            _ => r.principal.clone(),
        };
        let depends = if r.conditions.is_empty() {
            String::new()
        } else {
            format!(" (depends on {})", r.conditions.join(", "))
        };
        format!("{base}{depends} via {}", labels(&policy, &r.statements))
    };
    let readers: Vec<String> = summary.readers.iter().map(describe).collect();
    let statement = serde_json::to_string_pretty(&ctx.decrypt_statement()).unwrap_or_default();
    let (status, message, remediation) = if summary.open_to_everyone() {
        let open: Vec<String> = summary
            .readers
            .iter()
            .filter(|r| r.kind == ReaderKind::OpenToEveryone)
            .map(|r| labels(&policy, &r.statements))
            .collect();
        (
            Status::Fail,
            format!("any principal in any AWS account may decrypt the logs (via {})", open.join("; ")),
            format!(
                "Add a condition such as kms:CallerAccount or aws:PrincipalOrgID to that statement, \
                 or replace it with:\n{statement}"
            ),
        )
    } else if summary.readers.is_empty() {
        let blocked: Vec<String> = summary
            .blocked
            .iter()
            .map(|r| match r.decision {
                trailseal_policy::Decision::ExplicitDeny => {
                    format!(
                        "{}: denied by {}",
                        r.principal,
                        labels(&policy, &r.statements)
                    )
                }
                _ => format!("{}: not allowed for these log files", r.principal),
            })
            .collect();
        let mut message =
            "no principal other than CloudTrail may decrypt the logs: nobody can read them"
                .to_owned();
        if !blocked.is_empty() {
            message += &format!(" ({})", blocked.join("; "));
        }
        (
            Status::Fail,
            message,
            format!("Add this statement to the key policy (merge):\n{statement}"),
        )
    } else if !summary.has_definite_reader() {
        (
            Status::Indeterminate,
            format!(
                "the logs can be decrypted only under conditions trailseal cannot decide: {}",
                readers.join("; ")
            ),
            format!(
                "Make sure these conditions can be met by your log readers, or add:\n{statement}"
            ),
        )
    } else {
        (
            Status::Pass,
            format!("may decrypt the logs: {}", readers.join("; ")),
            "Nothing to do.".to_owned(),
        )
    };
    let evidence = json!({
        "readers": summary.readers,
        "blocked": summary.blocked,
    });
    finding(info, ev, status, message, remediation, evidence)
}
