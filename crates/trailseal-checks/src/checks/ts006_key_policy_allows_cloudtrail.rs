//! TS006 key-policy-allows-cloudtrail (critical)
//!
//! What it checks
//!   The trail's KMS key policy is evaluated, as IAM would, for the exact request CloudTrail
//!   makes when it writes a log file: principal `cloudtrail.amazonaws.com`, action
//!   `kms:GenerateDataKey`, with `aws:SourceArn` = the trail ARN, `aws:SourceAccount` = the
//!   trail owner, and the encryption context `aws:cloudtrail:arn` = the trail ARN and
//!   `aws:s3:arn` = the log object ARN. Every Allow and Deny statement, NotPrincipal/NotAction,
//!   wildcards and condition operators are taken into account. Keys CloudTrail's request does
//!   not define are unknown: a policy that depends on them is `indeterminate`, never `pass`.
//!   An organization trail, audited with its organization (`audit --org`), writes every member
//!   account's log files under `AWSLogs/ORG_ID/ACCOUNT/`: the request is evaluated for each
//!   member, and a policy that lets CloudTrail encrypt only some members' logs fails, naming
//!   the others.
//!   When the bucket uses an S3 Bucket Key for new objects (GetBucketEncryption), the CloudTrail
//!   User Guide requires `kms:Decrypt` to create or update the trail: a key policy that does
//!   not let CloudTrail decrypt then leaves the check `indeterminate` (whose permission it is,
//!   and whether delivery needs it, is not documented), and the statement to add includes
//!   `kms:Decrypt`. The encryption context stays open to both forms (the object ARN, or the
//!   bucket ARN with a Bucket Key): the setting applies to new objects only, and CloudTrail's
//!   own check on create or update names the bucket and path. Scans read the setting from
//!   `aws_s3_bucket_server_side_encryption_configuration` (or the bucket's inline block) and
//!   `BucketEncryption`; a setting that is not known (a bucket defined elsewhere, a dynamic
//!   rule, GetBucketEncryption refused) adds nothing, since whether delivery needs the
//!   permission is not documented.
//!
//! Why it matters
//!   If the key policy does not let CloudTrail encrypt, CloudTrail cannot deliver log files:
//!   the trail still says "encrypted" and every tool that only checks that `KmsKeyId` is set
//!   passes it, while no logs arrive. UpdateTrail fails with InsufficientEncryptionPolicyException.
//!
//! Example
//!   A key created with the default key policy (`arn:aws:iam::ACCOUNT:root` may `kms:*`):
//!   the account principal delegates to IAM and does not cover the CloudTrail service, so
//!   the request is implicitly denied. Or a console-created key whose `aws:SourceArn`
//!   condition names another trail, or a `Deny` with `NotPrincipal` that forgets CloudTrail.
//!
//! How to fix
//!   Add (merge, do not replace) the documented statement, pinned to the trail:
//!     {"Sid": "TrailsealAllowCloudTrailEncrypt", "Effect": "Allow",
//!      "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
//!      "Resource": "*", "Condition": {
//!        "StringEquals": {"aws:SourceArn": "<trail ARN>"},
//!        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:<account>:trail/*"}}}
//!   and make sure no Deny statement applies to cloudtrail.amazonaws.com.
//!   `trailseal fix` plans this merge, proves the result and applies it with `--apply`;
//!   `trailseal policy check` shows the deciding statement.

use trailseal_model::{Finding, Severity, Status, TrailEvidence};
use trailseal_policy::{evaluate, Decision, Effect, Policy, TrailContext};

use crate::support::{
    evaluation_evidence, finding, labels, load, near_misses, undecided_because, Loaded,
};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS006",
        name: "key-policy-allows-cloudtrail",
        severity: Severity::Critical,
        title: "the key policy does not let CloudTrail kms:GenerateDataKey* for this trail",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: true,
        source: include_str!("ts006_key_policy_allows_cloudtrail.rs"),
    },
    runner: Runner::Trail(run),
};

/// An organization trail in its owner account with the organization's member accounts known.
fn organization_members(ev: &TrailEvidence) -> Option<(&str, &[String])> {
    let org = ev.organization.as_ref()?;
    if ev.trail.is_organization_trail.is(&true) != Some(true) || org.member_accounts.is_empty() {
        return None;
    }
    Some((org.id.as_str(), org.member_accounts.as_slice()))
}

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    let Loaded {
        policy,
        ctx,
        alternatives,
    } = match load(info, ev) {
        Ok(loaded) => loaded,
        Err(finding) => return *finding,
    };
    // An organization trail writes every member account's log files, each under its own path:
    // the policy must let CloudTrail encrypt for all of them. The member whose request is
    // decided worst (denied, then undecided) stands for the organization below.
    let (ctx, members) = match organization_members(ev) {
        Some((org, members)) => {
            let mut worst: Option<(u8, TrailContext)> = None;
            let mut refused: Vec<&str> = Vec::new();
            for member in members {
                let c = ctx.for_member(org, member);
                let rank = match evaluate(&policy, &c.generate_data_key_request()).decision {
                    Decision::Allow => 0,
                    Decision::Indeterminate => 1,
                    Decision::ExplicitDeny | Decision::ImplicitDeny => 2,
                };
                if rank == 2 {
                    refused.push(member);
                }
                if worst.as_ref().is_none_or(|(r, _)| rank > *r) {
                    worst = Some((rank, c));
                }
            }
            let ctx = worst.map_or(ctx, |(_, c)| c);
            (ctx, Some((members.len(), refused)))
        }
        None => (ctx, None),
    };
    let request = ctx.generate_data_key_request();
    let mut e = evaluate(&policy, &request);
    // Infrastructure as code: the same answer wherever the stack is deployed?
    if e.decision != Decision::Indeterminate {
        if let Some(why) = alternatives.differ(&e.decision, |p, c| {
            evaluate(p, &c.generate_data_key_request()).decision
        }) {
            e.decision = Decision::Indeterminate;
            e.unknown_keys = vec![why];
        }
    }
    // The statement to add, written out only when the check does not pass (most pass, and a
    // scan evaluates thousands of trails).
    let statement = || serde_json::to_string_pretty(&ctx.encrypt_statement()).unwrap_or_default();
    // Whether the fix holds the statement (every `add()` ends up in it).
    let added = std::cell::Cell::new(false);
    let add = || {
        added.set(true);
        format!(
            "Add this statement to the key policy (merge; keep the existing statements):\n{}",
            statement()
        )
    };
    let (status, message, remediation) = match e.decision {
        Decision::Allow => (
            Status::Pass,
            format!("CloudTrail may encrypt this trail's logs: allowed by {}", labels(&policy, &e.deciding)),
            "Nothing to do.".to_owned(),
        ),
        Decision::ExplicitDeny => (
            Status::Fail,
            format!(
                "CloudTrail cannot encrypt this trail's logs: explicitly denied by {}; log delivery fails",
                labels(&policy, &e.deciding)
            ),
            {
                // Is the Deny the only problem? Then adding an Allow would change nothing.
                let kept: Vec<usize> = (0..policy.statements.len())
                    .filter(|&i| policy.statements[i].effect != Effect::Deny)
                    .collect();
                let allows = Policy {
                    statements: kept.iter().map(|&i| policy.statements[i].clone()).collect(),
                    ..(*policy).clone()
                };
                let allowed_without_deny = evaluate(&allows, &request);
                let deny = labels(&policy, &e.deciding);
                let change = format!(
                    "Change {deny} so that it does not apply to cloudtrail.amazonaws.com (for a \
                     Deny with NotPrincipal, add {{\"Service\": \"cloudtrail.amazonaws.com\"}} to \
                     NotPrincipal), or point the trail at another key (`trailseal fix \
                     --replace-key`)."
                );
                if allowed_without_deny.decision == Decision::Allow {
                    format!(
                        "{change} The Allow is already there ({}): the Deny is the only problem; \
                         adding another Allow would not help.",
                        labels(
                            &policy,
                            &allowed_without_deny
                                .deciding
                                .iter()
                                .filter_map(|&i| kept.get(i).copied())
                                .collect::<Vec<_>>()
                        )
                    )
                } else {
                    format!("{change} Then {}", add().replacen("Add", "add", 1))
                }
            },
        ),
        Decision::ImplicitDeny => {
            let mut message =
                "CloudTrail cannot encrypt this trail's logs: no statement allows cloudtrail.amazonaws.com \
                 kms:GenerateDataKey for this trail; log delivery fails"
                    .to_owned();
            for miss in near_misses(&policy, &e) {
                message += &format!("; {miss}");
            }
            (Status::Fail, message, add())
        }
        Decision::Indeterminate => (
            Status::Indeterminate,
            format!(
                "whether CloudTrail may encrypt depends on {} (decided by {}){}",
                e.unknown_keys.join(", "),
                labels(&policy, &e.deciding),
                undecided_because(ev, &e.unknown_keys)
            ),
            format!(
                "Make the statements that mention {} explicit about cloudtrail.amazonaws.com. {}",
                e.unknown_keys.join(", "),
                add()
            ),
        ),
    };
    // S3 Bucket Keys: "If you are using an existing S3 bucket with an S3 Bucket Key,
    // kms:Decrypt permissions are required to create or update a trail with SSE-KMS encryption
    // enabled" (CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail"). Whose
    // permission (CloudTrail's or the caller's) and whether delivery needs it are not
    // documented: a key policy that refuses CloudTrail kms:Decrypt leaves it undecided.
    let mut bucket_key_gap = false;
    let (status, message, remediation) = match (status, ctx.bucket_key_decrypt) {
        (Status::Pass, true) => {
            let d = evaluate(&policy, &ctx.cloudtrail_decrypt_request());
            if d.decision == Decision::Allow {
                (
                    status,
                    format!(
                        "{message}; and kms:Decrypt, which the bucket's S3 Bucket Key needs, by {}",
                        labels(&policy, &d.deciding)
                    ),
                    remediation,
                )
            } else {
                bucket_key_gap = true;
                (
                    Status::Indeterminate,
                    format!(
                        "{message}; but the bucket uses an S3 Bucket Key, for which the CloudTrail \
                         User Guide requires kms:Decrypt to create or update the trail, and the key \
                         policy does not let CloudTrail decrypt ({}): whether delivery needs it is \
                         not documented",
                        d.decision.as_str()
                    ),
                    add(),
                )
            }
        }
        _ => (status, message, remediation),
    };
    let message = match &members {
        Some((count, _)) if status == Status::Pass => {
            format!(
                "{message}; for the log files of all {count} member accounts of the organization"
            )
        }
        Some((count, refused)) if !refused.is_empty() => format!(
            "{message}; organization trail: {} of its {count} member accounts cannot deliver \
             ({}{})",
            refused.len(),
            refused
                .iter()
                .take(10)
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
            if refused.len() > 10 { ", ..." } else { "" }
        ),
        _ => message,
    };
    // The statement the fix prints, for renderers that write it in another language
    // (infrastructure as code: YAML, HCL).
    let mut evidence = evaluation_evidence(&policy, &request, &e);
    if status != Status::Pass && added.get() {
        evidence["statement_to_add"] = ctx.encrypt_statement();
    }
    // What `trailseal fix` plans from (the statement with kms:Decrypt), when nothing else is
    // undecided.
    if bucket_key_gap {
        evidence["bucket_key_decrypt"] = serde_json::json!("missing");
    }
    finding(info, ev, status, message, remediation, evidence)
}
