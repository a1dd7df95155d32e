//! TS015 log-readers-end-to-end (high)
//!
//! What it checks
//!   Who can read a log file end to end: `s3:GetObject` (or `s3:GetObjectVersion`) of the
//!   trail's log files, through the bucket policy and, in the bucket's account, the principal's
//!   IAM policies, **and** `kms:Decrypt` of them through S3, by the key policy, the principal's
//!   IAM policies where the key policy delegates to the account, and the key's grants. Every IAM
//!   user and role of the trail's account is evaluated with its inline, attached and group
//!   policies and its permissions boundary (`iam:GetAccountAuthorizationDetails`), together
//!   with the account's root user, each principal and account of another account that a policy
//!   or grant names, AWS service principals the policies name, principals of every other
//!   account, and anonymous callers. Explicit Denies win everywhere. Outside the account, a
//!   principal that may call `kms:PutKeyPolicy`, `kms:CreateGrant` or `s3:PutBucketPolicy` can
//!   give itself access and counts as a reader; a reader role that another account (or any
//!   account, or an outside identity provider) may assume makes them readers through it. Every
//!   log file counts: a statement that covers some Regions, dates or member accounts only makes
//!   its principal a reader of those.
//!   Fails when principals of any account, anonymous callers, services, or principals of an
//!   account other than the trail's and those given with `--trusted-accounts` can read the logs;
//!   and when no IAM user or role can read them all, or at least the home Region's (nobody, or
//!   only the root user). Indeterminate when it depends on values trailseal cannot know (a
//!   condition on the source IP or VPC endpoint, an external id, IAM policies that were not
//!   read, a bucket policy that could not be read, a bucket owned by an account not known,
//!   CloudTrail Insights files an outsider may read, whose encryption is not documented).
//!   `trailseal readers TRAIL` prints the whole table. Not read: service control and resource
//!   control policies, session policies and VPC endpoint policies (they can only take access
//!   away: a listed reader may be refused, and a pass may hide that nobody can read), object
//!   ACLs (CloudTrail writes each file with `bucket-owner-full-control`; with ACLs enabled a
//!   later `PutObjectAcl` could grant more), other copies of the logs (S3 replication,
//!   CloudWatch Logs), and files written under an earlier key.
//!
//! Why it matters
//!   "Who can read our audit logs" is the question an auditor asks, and the answer needs all
//!   four locks at once: a bucket open to everyone is harmless if nobody else can decrypt, and a
//!   key policy that delegates to the account means every role whose IAM policy says
//!   `kms:Decrypt` on `*` can decrypt. Logs readable by another account leak the whole account's
//!   activity; logs nobody can read are useless in an investigation.
//!
//! Example
//!   A bucket policy granting `s3:GetObject` on `AWSLogs/*` to a partner account's role, with a
//!   key policy that grants `kms:Decrypt` to `"*"` limited by `kms:CallerAccount` to both
//!   accounts; or a role of the account with `s3:GetObject` and `kms:Decrypt` on `*` in its IAM
//!   policy (a reader, through the default key policy's delegation to the account), next to a
//!   public bucket policy (not a reader: nobody outside can decrypt).
//!
//! How to fix
//!   Remove the grant to the other account from the bucket policy or the key policy (or list the
//!   account with `--trusted-accounts` if it is meant to read the logs, such as a security
//!   tooling account). When nobody can read: give your investigators' role `s3:GetObject` on
//!   the log prefix and `kms:Decrypt` on the key (the key policy must allow it: `trailseal
//!   explain TS008`). Run `trailseal readers TRAIL` to see who can read and through which
//!   statements.

use serde_json::json;
use trailseal_model::{Finding, Severity, Status, TrailEvidence};
use trailseal_policy::Tri;

use crate::log_readers::{analyse, shown, LogReaders, NoAnalysis, Row, RowKind};
use crate::support::{early, finding, load};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS015",
        name: "log-readers-end-to-end",
        severity: Severity::High,
        title: "the logs can be read by another account or by anyone, or by no IAM principal",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::ACCOUNT,
        compliant: false,
        source: include_str!("ts015_log_readers_end_to_end.rs"),
    },
    runner: Runner::Trail(run),
};

/// Rows of each list in a finding's evidence, at most.
const LISTED: usize = 50;

/// Readers named in a message, at most.
const NAMED: usize = 8;

fn names<'a>(rows: impl Iterator<Item = &'a Row>) -> String {
    let all: Vec<String> = rows.map(|r| shown(&r.principal)).collect();
    let more = all.len().saturating_sub(NAMED);
    let mut text = all.into_iter().take(NAMED).collect::<Vec<_>>().join(", ");
    if more > 0 {
        text += &format!(" and {more} more");
    }
    text
}

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    let loaded = match load(info, ev) {
        Ok(l) => l,
        Err(f) => return *f,
    };
    let table = match analyse(ev, &loaded) {
        Ok(t) => t,
        Err(NoAnalysis::Nobody(why)) => {
            return *early(
                info,
                ev,
                Status::Fail,
                format!("nobody can read the logs: {why}"),
                "Fix the bucket or the key first (trailseal explain TS014, TS003).",
            )
        }
        Err(NoAnalysis::Unknown(why)) => {
            return *early(
                info,
                ev,
                Status::Indeterminate,
                format!("who can read the logs cannot be told: {why}"),
                "Collect the evidence again with this version of trailseal.",
            )
        }
    };
    let (status, message, remediation) = verdict(ev, &table);
    let row_json = |r: &Row| {
        json!({
            "principal": shown(&r.principal),
            "account": r.account,
            "kind": r.kind,
            "via": r.via(),
            "depends_on": r.depends_on(),
        })
    };
    // The first rows of each list (outside the trusted accounts first), with the totals: a
    // finding per trail stays small in an account with thousands of roles; `trailseal
    // readers` prints the whole table.
    let listed = |rows: Vec<&Row>| -> Vec<serde_json::Value> {
        let (outside, inside): (Vec<&Row>, Vec<&Row>) =
            rows.into_iter().partition(|r| r.outside(&table.account));
        outside
            .into_iter()
            .chain(inside)
            .take(LISTED)
            .map(row_json)
            .collect()
    };
    let evidence = json!({
        "readers": listed(table.readers().collect()),
        "readers_total": table.readers().count(),
        "conditional": listed(table.conditional().collect()),
        "conditional_total": table.conditional().count(),
        "partial": table.partial().count(),
        "trusted_accounts": ev.trusted_accounts,
        "not_read": table.notes,
    });
    finding(info, ev, status, message, remediation, evidence)
}

/// Appends `k` unless it is there already (keys in the order first met).
fn push_new(mut acc: Vec<String>, k: String) -> Vec<String> {
    if !acc.contains(&k) {
        acc.push(k);
    }
    acc
}

fn verdict(ev: &TrailEvidence, t: &LogReaders) -> (Status, String, String) {
    let trusted = |r: &Row| t.trusted(r, &ev.trusted_accounts);
    // Insights files: readable, and decryptable if they are under the trail's key (how they
    // are encrypted is not documented): a reader either way.
    let insights_of = |r: &Row| r.insights.as_ref().map(|s| s.allowed());
    let untrusted_readers: Vec<&Row> = t
        .rows
        .iter()
        .filter(|r| !trusted(r))
        .filter(|r| {
            r.reader() == Tri::True
                || (insights_of(r) == Some(Tri::True) && r.decrypt.allowed() == Tri::True)
        })
        .collect();
    if !untrusted_readers.is_empty() {
        return (
            Status::Fail,
            format!(
                "the logs can be read (decrypted and downloaded) outside the trusted accounts by: {} ({})",
                names(untrusted_readers.iter().copied()),
                untrusted_readers
                    .iter()
                    .take(3)
                    .map(|r| format!("{}: {}", shown(&r.principal), r.via()))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            "Remove those grants from the bucket policy or the key policy, or list the account \
             with --trusted-accounts if it is meant to read the logs. `trailseal readers` shows \
             every reader and the deciding statements."
                .to_owned(),
        );
    }
    let untrusted_maybe: Vec<&Row> = t
        .rows
        .iter()
        .filter(|r| !trusted(r))
        .filter(|r| r.reader() == Tri::Unknown || insights_of(r).is_some())
        .collect();
    // A trusted IAM reader must read all the logs, or the home Region's (where the global
    // events are): one other Region's folder is not enough to investigate.
    let iam_readers: Vec<&Row> = t
        .readers()
        .filter(|r| r.kind != RowKind::Root && trusted(r) && t.reads_main_logs(r))
        .collect();
    if !untrusted_maybe.is_empty() {
        let keys: Vec<String> = untrusted_maybe
            .iter()
            .flat_map(|r| {
                let mut keys = r.depends_on();
                if r.insights.is_some() && r.reader() != Tri::Unknown {
                    keys.push(
                        "how the Insights files (CloudTrail-Insight/), which it may read, are \
                             encrypted (not documented)"
                            .to_owned(),
                    );
                }
                keys
            })
            .fold(Vec::new(), push_new);
        return (
            Status::Indeterminate,
            format!(
                "whether {} can read the logs depends on {}",
                names(untrusted_maybe.iter().copied()),
                keys.join(", ")
            ),
            "Make sure those conditions keep other accounts out, or remove the grants. \
             `trailseal readers` shows the deciding statements."
                .to_owned(),
        );
    }
    if !iam_readers.is_empty() {
        let mut message = format!(
            "only principals of trusted accounts can read the logs: {}",
            names(iam_readers.iter().copied())
        );
        if !t.notes.is_empty() {
            message += &format!(" (not read: {})", t.notes.join("; "));
        }
        return (Status::Pass, message, "Nothing to do.".to_owned());
    }
    let trusted_maybe: Vec<&Row> = t
        .rows
        .iter()
        .filter(|r| r.kind != RowKind::Root)
        .filter(|r| {
            r.reader() == Tri::Unknown || (r.reader() == Tri::True && !t.reads_main_logs(r))
        })
        .collect();
    if !trusted_maybe.is_empty() {
        let keys: Vec<String> = trusted_maybe
            .iter()
            .flat_map(|r| {
                let mut keys = r.depends_on();
                if let Some(folder) = r.read.only.as_ref().filter(|_| r.reader() == Tri::True) {
                    keys.push(format!(
                        "whether reading {folder} alone (not the home Region's logs) is enough"
                    ));
                }
                keys
            })
            .fold(Vec::new(), push_new);
        return (
            Status::Indeterminate,
            format!(
                "no IAM user or role is known to be able to read the logs; {} may, depending on {}",
                names(trusted_maybe.iter().copied()),
                keys.join(", ")
            ),
            "Give your investigators' role s3:GetObject on the log prefix and kms:Decrypt on the key."
                .to_owned(),
        );
    }
    let root = if t.readers().any(|r| r.kind == RowKind::Root) {
        " but the account's root user"
    } else {
        ""
    };
    let partial: Vec<String> = t
        .partial()
        .take(NAMED)
        .map(|r| {
            let can = if r.decrypt.allowed() == Tri::True {
                "decrypt only"
            } else {
                "read the objects only"
            };
            format!("{} ({can})", shown(&r.principal))
        })
        .collect();
    let mut message = format!("nobody{root} can read the logs end to end");
    if !partial.is_empty() {
        message += &format!("; {}", partial.join(", "));
    }
    (
        Status::Fail,
        message,
        "Give your investigators' role s3:GetObject on the log prefix and kms:Decrypt on the \
         key (the key policy must allow it: trailseal explain TS008)."
            .to_owned(),
    )
}
