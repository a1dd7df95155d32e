//! TS008 log-readers (medium)
//!
//! What it checks
//!   Who may `kms:Decrypt` the trail's log files. The key policy is evaluated, Denies included,
//!   with the log files' encryption context, for every kind of principal it can tell apart:
//!   each principal it names (in Principal or NotPrincipal, or as an aws:PrincipalArn value),
//!   the IAM principals of each account it mentions (`arn:aws:iam::ACCOUNT:root` delegates to
//!   that account's IAM policies; `"*"` with `kms:CallerAccount` names every principal of it),
//!   and the principals of every other AWS account. Conditions on who calls
//!   (kms:CallerAccount, aws:PrincipalAccount, aws:PrincipalArn) are decided exactly, so
//!   `StringNotEquals kms:CallerAccount X` is read as "every account but X", a Deny for one
//!   account next to a `"*"` grant still leaves every other account open, and contradictory
//!   conditions name nobody. The result is one of: nobody, exactly the listed principals,
//!   open to every account (but the listed exceptions), or undecidable (with the reason).
//!   The key's grants (ListGrants) count too: a grant of `Decrypt` whose constraints every log
//!   file meets (none, or a subset naming this trail; no SourceArn) makes its grantee (an IAM
//!   account, user, role or session; not a service, nor a service-linked role) a reader,
//!   unless a Deny of the key policy applies to it.
//!   Where the key policy delegates to the trail's own account and its IAM users and roles were
//!   read (`iam:GetAccountAuthorizationDetails`), the message names those whose IAM policies
//!   (and boundaries) really allow it (`trailseal readers` has the whole table, S3 included).
//!   Fails when nobody other than CloudTrail can decrypt, or when principals of any account
//!   can (including under conditions any account can meet, such as a role name or a tag), or
//!   may give themselves decryption (`kms:PutKeyPolicy` or `kms:CreateGrant` open to them);
//!   indeterminate when it depends on values trailseal cannot know; error when no statement
//!   names a reader and the grants could not be read.
//!
//! Why it matters
//!   Encrypted logs nobody can decrypt are useless in an investigation; logs anybody can
//!   decrypt are only as protected as the bucket. KMS access is the second lock on the logs.
//!
//! Example
//!   A key policy whose only Allow for kms:Decrypt is `"Principal": "*"` with no condition
//!   (open to everyone), or limited by `StringNotEquals kms:CallerAccount` (open to every other
//!   account), or a policy that grants CloudTrail encrypt and nothing else (nobody, not even
//!   the account's administrators, can read the logs).
//!
//! How to fix
//!   Grant decryption to your account's principals, limited to CloudTrail log files:
//!     {"Sid": "TrailsealAllowLogDecryptionInAccount", "Effect": "Allow",
//!      "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": "*",
//!      "Condition": {"StringEquals": {"kms:CallerAccount": "<account>"},
//!                    "Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}}}
//!   and limit any `*` grant of kms:Decrypt to your accounts (StringEquals kms:CallerAccount)
//!   or organization (aws:PrincipalOrgID).

use serde_json::json;
use trailseal_model::{Fact, Finding, NotKnown, Severity, Status, TrailEvidence};
use trailseal_policy::{who_may_decrypt, Audience, Decision, Reader, ReaderKind, RequestPrincipal};

use crate::grants::{grant_readers, GrantReader};
use crate::support::{finding, labels, load, Loaded};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS008",
        name: "log-readers",
        severity: Severity::Medium,
        title: "nobody but CloudTrail can decrypt the logs, or anyone can",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: false,
        source: include_str!("ts008_log_readers.rs"),
    },
    runner: Runner::Trail(run),
};

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
    let mut summary = who_may_decrypt(&policy, &ctx);
    // Infrastructure as code: the same kind of audience wherever the stack is deployed?
    let kind = |a: &Audience| std::mem::discriminant(a);
    if let Some(why) = alternatives.differ(&kind(&summary.audience), |p, c| {
        kind(&who_may_decrypt(p, c).audience)
    }) {
        summary.audience = Audience::Undecided {
            unknown_keys: vec![why],
        };
    }
    // The account's own IAM users and roles (when read): who the delegation really lets in.
    let iam_decrypters = iam_decrypters(ev, &policy, &ctx, &alternatives);
    let describe = |r: &Reader| {
        let base = match r.kind {
            ReaderKind::DelegatedToIam => {
                let mut text = format!("{} whose IAM policies allow kms:Decrypt", r.principal);
                let own = matches!(&r.request_principal,
                    RequestPrincipal::AccountMember { account } if *account == ev.trail.account);
                if let (true, Some(list)) = (own, &iam_decrypters) {
                    text += &format!(" ({list})");
                }
                text
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
    let via_other = |kind: ReaderKind| -> String {
        let statements: Vec<String> = summary
            .readers
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| labels(&policy, &r.statements))
            .collect();
        if statements.is_empty() {
            String::new()
        } else {
            format!(" (via {})", statements.join("; "))
        }
    };
    let grants = grant_readers(ev, &policy, &ctx);
    let definite_grant = matches!(&grants, Fact::Known(g) if g.iter().any(GrantReader::certain));
    let mut readers: Vec<String> = summary.readers.iter().map(describe).collect();
    if let Fact::Known(g) = &grants {
        readers.extend(g.iter().filter(|r| r.certain()).map(GrantReader::describe));
    }
    let statement = serde_json::to_string_pretty(&ctx.decrypt_statement()).unwrap_or_default();
    let (status, message, remediation) = match &summary.audience {
        Audience::Open { except, conditions } => {
            let mut who = "any principal in any AWS account".to_owned();
            if !except.is_empty() {
                who += &format!(" except account {}", except.join(", "));
            }
            if !conditions.is_empty() {
                who += &format!(
                    " that meets its conditions on {} (which any account can meet)",
                    conditions.join(", ")
                );
            }
            (
                Status::Fail,
                format!(
                    "{who} may decrypt the logs{}",
                    via_other(ReaderKind::OpenToEveryone)
                ),
                format!(
                    "Limit that statement to your accounts (StringEquals kms:CallerAccount) or \
                     organization (aws:PrincipalOrgID), or replace it with:\n{statement}"
                ),
            )
        }
        Audience::Undecided { unknown_keys } => (
            Status::Indeterminate,
            format!(
                "whether principals of any AWS account may decrypt the logs depends on {}, which \
                 trailseal cannot know{}",
                unknown_keys.join(", "),
                via_other(ReaderKind::LimitedWildcard)
            ),
            format!(
                "Limit kms:Decrypt to your accounts (StringEquals kms:CallerAccount) or organization \
                 (aws:PrincipalOrgID), for example:\n{statement}"
            ),
        ),
        // No key policy statement lets anyone but CloudTrail decrypt; a grant may.
        Audience::Nobody if definite_grant => (
            Status::Pass,
            format!("may decrypt the logs (through KMS grants): {}", readers.join("; ")),
            "Nothing to do.".to_owned(),
        ),
        Audience::Nobody if matches!(&grants, Fact::Known(g) if !g.is_empty()) => (
            Status::Indeterminate,
            format!(
                "no key policy statement lets anyone but CloudTrail decrypt the logs, and whether \
                 the key's grants do depends on the key policy's Deny statements or on which log \
                 files they cover: {}",
                grants
                    .known()
                    .map(|g| g.iter().map(GrantReader::describe).collect::<Vec<_>>().join("; "))
                    .unwrap_or_default()
            ),
            format!("Add this statement to the key policy (merge):\n{statement}"),
        ),
        Audience::Nobody if grants.not_known().is_some() => (
            Status::Error,
            format!(
                "no key policy statement lets anyone but CloudTrail decrypt the logs, and the key's \
                 grants could not be read: {}",
                match grants.not_known() {
                    Some(NotKnown::Unknown(why) | NotKnown::Unreadable(why)) => why,
                    None => "",
                }
            ),
            "Grant the auditing principal kms:ListGrants on the key (see the README's minimal audit policy).".to_owned(),
        ),
        Audience::Nobody => {
            let blocked: Vec<String> = summary
                .blocked
                .iter()
                .map(|r| match r.decision {
                    Decision::ExplicitDeny => format!(
                        "{}: denied by {}",
                        r.principal,
                        labels(&policy, &r.statements)
                    ),
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
        }
        Audience::Limited if !summary.has_definite_reader() && !definite_grant => (
            Status::Indeterminate,
            format!(
                "the logs can be decrypted only under conditions trailseal cannot decide: {}",
                readers.join("; ")
            ),
            format!(
                "Make sure these conditions can be met by your log readers, or add:\n{statement}"
            ),
        ),
        Audience::Limited => (
            Status::Pass,
            format!("may decrypt the logs: {}", readers.join("; ")),
            "Nothing to do.".to_owned(),
        ),
    };
    let evidence = json!({
        "iam_decrypters": iam_decrypters,
        "audience": summary.audience,
        "readers": summary.readers,
        "blocked": summary.blocked,
        "grant_readers": grants
            .known()
            .map(|g| g.iter().map(GrantReader::to_json).collect::<Vec<_>>()),
    });
    // Principals of any account that may rewrite the key policy, or grant themselves Decrypt,
    // can decrypt whatever the statements above say.
    let (status, message, remediation) = match (status, open_escalation(&policy, &ctx)) {
        (Status::Fail, _) | (_, None) => (status, message, remediation),
        (_, Some((Decision::Allow, how))) => (
            Status::Fail,
            format!("any principal in any AWS account may give itself kms:Decrypt: {how}"),
            "Limit kms:PutKeyPolicy and kms:CreateGrant to your key administrators (name them, \
             or StringEquals kms:CallerAccount)."
                .to_owned(),
        ),
        (Status::Pass, Some((_, how))) => (
            Status::Indeterminate,
            format!("{message}; and principals of any AWS account may give themselves kms:Decrypt, depending on {how}"),
            remediation,
        ),
        (status, Some(_)) => (status, message, remediation),
    };
    finding(info, ev, status, message, remediation, evidence)
}

/// Whether principals of every account the policy does not name may call kms:PutKeyPolicy
/// (replace the policy) or kms:CreateGrant for Decrypt (the grant's constraints are their
/// choice, so the encryption context keys are unknown): the worse decision (Allow, else
/// Indeterminate) and how, or None when neither may.
fn open_escalation(
    policy: &trailseal_policy::Policy,
    ctx: &trailseal_policy::TrailContext,
) -> Option<(Decision, String)> {
    use trailseal_policy::{evaluate, KeyState};
    let mut undecided = None;
    for action in ["kms:PutKeyPolicy", "kms:CreateGrant"] {
        let mut request = ctx.administer_request(RequestPrincipal::OtherAccount);
        request.action = action.to_owned();
        if action == "kms:CreateGrant" {
            request.context.set(
                "kms:GrantOperations",
                KeyState::Known(vec!["Decrypt".into()]),
            );
            for key in [
                "kms:EncryptionContext:aws:cloudtrail:arn",
                "kms:EncryptionContext:aws:s3:arn",
                "kms:EncryptionContextKeys",
                "kms:GrantConstraintType",
                "kms:GranteePrincipal",
            ] {
                request.context.set(key, KeyState::Unknown);
            }
        }
        let e = evaluate(policy, &request);
        match e.decision {
            Decision::Allow => {
                return Some((
                    Decision::Allow,
                    format!("{action} allowed by {}", labels(policy, &e.deciding)),
                ))
            }
            Decision::Indeterminate if undecided.is_none() => {
                undecided = Some((
                    Decision::Indeterminate,
                    format!("{action}: {}", e.unknown_keys.join(", ")),
                ))
            }
            _ => {}
        }
    }
    undecided
}

/// The trail account's IAM users and roles that can decrypt the log files, by the key policy
/// and their own IAM policies and boundaries (`iam:GetAccountAuthorizationDetails`): `None`
/// when they were not read or the analysis cannot run (then the reader stays "IAM principals
/// whose IAM policies allow kms:Decrypt").
fn iam_decrypters(
    ev: &TrailEvidence,
    policy: &std::rc::Rc<trailseal_policy::Policy>,
    ctx: &trailseal_policy::TrailContext,
    alternatives: &std::rc::Rc<crate::deployment::Alternatives>,
) -> Option<String> {
    if !ev.iam.is_known() {
        return None;
    }
    let loaded = Loaded {
        policy: policy.clone(),
        ctx: ctx.clone(),
        alternatives: alternatives.clone(),
    };
    let table = crate::log_readers::decrypters(ev, &loaded).ok()?;
    let iam = |r: &&crate::log_readers::Row| {
        matches!(
            r.kind,
            crate::log_readers::RowKind::User | crate::log_readers::RowKind::Role
        )
    };
    let can: Vec<String> = table
        .rows
        .iter()
        .filter(iam)
        .filter(|r| r.decrypt.decision == Decision::Allow)
        .map(|r| crate::log_readers::shown(&r.principal))
        .collect();
    let maybe = table
        .rows
        .iter()
        .filter(iam)
        .filter(|r| r.decrypt.decision == Decision::Indeterminate)
        .count();
    const SHOWN: usize = 8;
    let mut text = match can.len() {
        0 => "by their IAM policies: none of the account's users and roles".to_owned(),
        n => {
            let mut t = format!(
                "by their IAM policies: {}",
                can.iter()
                    .take(SHOWN)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if n > SHOWN {
                t += &format!(" and {} more", n - SHOWN);
            }
            t
        }
    };
    if maybe > 0 {
        text += &format!("; {maybe} more under conditions trailseal cannot decide");
    }
    Some(text)
}
