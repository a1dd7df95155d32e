//! Plans that would be unsafe, from an adversarial review of the planner: readers widened on
//! a new key, keys and trails of other accounts, policies that a JSON round trip would
//! change, alias collisions, partitions, and values that must never reach a shell command.

use serde_json::json;
use trailseal_model::{AccountEvidence, Fact};
use trailseal_plan::{plan, render, Options, Outcome, Step};

mod common;
use common::{assert_not_planned, broken, outcome, plan_for, with_default_key_policy};

const WEST_KEY: &str = "arn:aws:kms:us-west-2:111122223333:key/west";

/// The wrong-region trail's old key (replaced by the plan) with `policy`.
fn with_old_key_policy(policy: serde_json::Value) -> AccountEvidence {
    let mut account = broken();
    let key = account
        .keys
        .iter_mut()
        .find(|k| k.arn.as_deref() == Some(WEST_KEY))
        .expect("key");
    key.policy = Fact::Known(policy.to_string());
    account
}

fn new_key_policy(account: &AccountEvidence, options: Options) -> (String, Vec<String>) {
    let p = plan(account, &options).expect("plan");
    let policy = p
        .steps
        .iter()
        .find_map(|s| match s {
            Step::CreateKey { policy, .. } => Some(policy.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a new key: {}", render::text(&p)));
    (policy, p.trails[0].reasons.clone())
}

fn wrong_region() -> Options {
    Options {
        trails: vec!["wrong-region".into()],
        ..Options::default()
    }
}

/// A principal of the key's account named in a key policy needs no IAM permission ("Key
/// policies in AWS KMS", AWS KMS Developer Guide): a grant carried over without its condition,
/// or for a principal that could decrypt only through the account's IAM delegation, would
/// widen who can read the logs.
#[test]
fn only_direct_unconditional_decrypt_grants_are_carried_over() {
    let root = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"});
    let account = with_old_key_policy(json!({"Version": "2012-10-17", "Statement": [
        root,
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/IpReader"}, "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/EncryptOnly"}, "Action": "kms:Encrypt", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Denied"}, "Action": "kms:PutKeyPolicy", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Direct"}, "Action": ["kms:Decrypt"], "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Blocked"}, "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Blocked"}, "Action": "kms:Decrypt", "Resource": "*"}
    ]}));
    let (policy, notes) = new_key_policy(&account, wrong_region());
    assert!(policy.contains("role/Direct"), "{policy}");
    for widened in ["IpReader", "EncryptOnly", "Denied", "Blocked"] {
        assert!(
            !policy.contains(widened),
            "{widened} must not be granted decrypt:\n{policy}"
        );
    }
    assert!(
        notes
            .iter()
            .any(|n| n.contains("IpReader") && n.contains("not carried over")),
        "{notes:#?}"
    );
}

#[test]
fn an_unreadable_old_policy_is_said_not_silently_dropped() {
    let mut account = broken();
    let key = account
        .keys
        .iter_mut()
        .find(|k| k.arn.as_deref() == Some(WEST_KEY))
        .expect("key");
    key.policy = Fact::Unreadable("AccessDeniedException".into());
    let (_, notes) = new_key_policy(&account, wrong_region());
    assert!(
        notes
            .iter()
            .any(|n| n.contains("could not be read") && n.contains("--reader")),
        "{notes:#?}"
    );
}

/// PutKeyPolicy and EnableKey have no cross-account use (AWS KMS API Reference).
#[test]
fn a_key_of_another_account_is_not_changed() {
    let mut account = with_default_key_policy(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "kms:*", "Resource": "*"}]}"#,
    );
    let other = "arn:aws:kms:us-east-1:444455556666:key/default";
    for k in account
        .keys
        .iter_mut()
        .filter(|k| k.arn.as_deref() == Some("arn:aws:kms:us-east-1:111122223333:key/default"))
    {
        k.arn = Some(other.into());
    }
    for t in account
        .trails
        .iter_mut()
        .filter(|t| t.name == "default-policy")
    {
        t.kms_key_id = Fact::Known(Some(other.into()));
    }
    for r in account
        .key_refs
        .iter_mut()
        .filter(|r| r.key_arn.as_deref() == Some("arn:aws:kms:us-east-1:111122223333:key/default"))
    {
        r.reference = other.into();
        r.key_arn = Some(other.into());
    }
    let p = plan_for(&account, &["default-policy"]);
    assert_not_planned(&p, "default-policy");
}

/// Ownership comes from the trail's ARN, never from a field that may be empty or disagree.
#[test]
fn a_trail_of_another_account_or_without_a_known_name_is_not_changed() {
    for edit in [0, 1, 2] {
        let mut account = broken();
        let t = account
            .trails
            .iter_mut()
            .find(|t| t.name == "unencrypted")
            .expect("trail");
        match edit {
            0 => t.account = String::new(),
            1 => t.name_unknown = Some("CloudFormation generates it".into()),
            _ => {}
        }
        if edit != 1 {
            t.arn = t.arn.replace("111122223333", "999988887777");
        }
        let name = t.arn.clone();
        let p = plan_for(&account, &[name.as_str()]);
        assert_eq!(p.trails[0].outcome, Outcome::CannotPlan, "case {edit}");
        assert!(p.steps.is_empty(), "case {edit}");
    }
}

/// What JSON cannot carry through unchanged is never rewritten: a number IAM compares as text,
/// a key given twice; and nothing over the 32 KB key policy quota is planned.
#[test]
fn a_policy_the_merge_would_change_is_not_rewritten() {
    let root = r#"{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}"#;
    let cases = [
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [{root}, {{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::111122223333:role/R"}}, "Action": "kms:Decrypt", "Resource": "*", "Condition": {{"NumericLessThan": {{"kms:GrantConstraintType": 10.50}}}}}}]}}"#
        ),
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}}], "Statement": [{root}]}}"#
        ),
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [{root}, {{"Sid": "Big", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::111122223333:role/R"}}, "Action": "kms:Decrypt", "Resource": "*", "Condition": {{"StringLike": {{"aws:PrincipalTag/x": "{}"}}}}}}]}}"#,
            "y".repeat(32_000)
        ),
    ];
    for policy in &cases {
        let account = with_default_key_policy(policy);
        let p = plan_for(&account, &["default-policy"]);
        assert_not_planned(&p, "default-policy");
    }
}

/// An alias names one key per Region ("CreateAlias", AWS KMS API Reference): when it names a
/// key CloudTrail cannot use, a new key could not get it.
#[test]
fn an_alias_taken_by_an_unusable_key_is_not_created_again() {
    let mut account = broken();
    for k in account
        .keys
        .iter_mut()
        .filter(|k| k.arn.as_deref() == Some("arn:aws:kms:us-east-1:111122223333:key/pending"))
    {
        k.aliases.push("alias/trailseal-cloudtrail".into());
    }
    let p = plan_for(&account, &["unencrypted"]);
    assert_not_planned(&p, "unencrypted");
}

/// A reused trailseal key gets the readers too (the old key's and --reader).
#[test]
fn readers_are_added_to_a_reused_key() {
    let account = broken();
    let first = plan(
        &account,
        &Options {
            trails: vec!["unencrypted".into()],
            ..Options::default()
        },
    )
    .expect("plan");
    let after = common::apply(&account, &first);
    let p = plan(
        &after,
        &Options {
            trails: vec!["missing-key".into()],
            readers: vec!["arn:aws:iam::111122223333:role/SecAudit".into()],
            ..Options::default()
        },
    )
    .expect("plan");
    assert!(
        !p.steps.iter().any(|s| matches!(s, Step::CreateKey { .. })),
        "reused: {}",
        render::text(&p)
    );
    let merged = p.steps.iter().find_map(|s| match s {
        Step::PutKeyPolicy { after, .. } => Some(after.clone()),
        _ => None,
    });
    assert!(
        merged.is_some_and(|m| m.contains("role/SecAudit")),
        "{}",
        render::text(&p)
    );
}

/// The partition comes from the ARNs when the evidence does not say: an aws-cn account's
/// administrator is arn:aws-cn:iam::ACCOUNT:root.
#[test]
fn a_new_key_in_another_partition_names_that_partition() {
    let mut account = broken();
    account.partition = String::new();
    for t in &mut account.trails {
        t.arn = t
            .arn
            .replace("arn:aws:", "arn:aws-cn:")
            .replace("us-east-1", "cn-north-1")
            .replace("eu-west-1", "cn-northwest-1");
        t.home_region = t
            .home_region
            .replace("us-east-1", "cn-north-1")
            .replace("eu-west-1", "cn-northwest-1");
    }
    for b in &mut account.buckets {
        if b.region.known().map(String::as_str) == Some("us-east-1") {
            b.region = Fact::Known("cn-north-1".into());
        }
    }
    let name = account
        .trails
        .iter()
        .find(|t| t.name == "unencrypted")
        .map(|t| t.arn.clone())
        .expect("trail");
    let (policy, _) = new_key_policy(
        &account,
        Options {
            trails: vec![name],
            ..Options::default()
        },
    );
    assert!(
        policy.contains("arn:aws-cn:iam::111122223333:root"),
        "{policy}"
    );
    assert!(!policy.contains("arn:aws:"), "{policy}");
}

/// Values from the evidence reach shell commands only when they are what AWS allows.
#[test]
fn a_region_that_is_not_a_region_never_reaches_a_command() {
    let mut account = broken();
    for b in &mut account.buckets {
        b.region = Fact::Known("us-east-1 $(touch /tmp/pwned)".into());
    }
    let p = plan(
        &account,
        &Options {
            trails: vec!["unencrypted".into()],
            ..Options::default()
        },
    )
    .expect("plan");
    assert_eq!(outcome(&p, "unencrypted"), Outcome::CannotPlan);
    assert!(!render::cli_script(&p).contains("pwned"));
    let script = render::cli_script(&plan(&broken(), &Options::default()).expect("plan"));
    assert!(
        script.contains("aws sts get-caller-identity"),
        "the script checks the account first"
    );
}

/// A key shared by many trails stays under the 32 KB key policy quota: beyond
/// MAX_PINNED_TRAILS trails, aws:SourceArn is the account's trails by pattern, and the proof
/// (TS006 for each trail) still holds.
#[test]
fn a_key_for_many_trails_stays_under_the_quota() {
    let mut account = broken();
    let template = account
        .trails
        .iter()
        .find(|t| t.name == "unencrypted")
        .cloned()
        .expect("trail");
    for i in 0..150 {
        let mut t = template.clone();
        t.name = format!("many-{i:03}");
        t.arn = template
            .arn
            .replace("trail/unencrypted", &format!("trail/{}", t.name));
        account.trails.push(t);
    }
    let p = plan(&account, &Options::default()).expect("plan");
    assert!(!p.proofs.is_empty(), "every touched key has a proof");
    assert!(
        p.proofs.iter().all(|proof| proof.holds()),
        "{:#?}",
        p.proofs.iter().map(|x| &x.failures).collect::<Vec<_>>()
    );
    let policy = p
        .steps
        .iter()
        .find_map(|s| match s {
            Step::CreateKey { policy, .. } => Some(policy.clone()),
            _ => None,
        })
        .expect("a new key");
    assert!(policy.len() < 8 * 1024, "{} bytes", policy.len());
    assert!(
        policy.contains("arn:aws:cloudtrail:*:111122223333:trail/*"),
        "{policy}"
    );
}

/// --edit-deny (unsafe): a Deny with NotPrincipal that forgets CloudTrail gets CloudTrail in
/// its NotPrincipal, and only when who may decrypt and who may administer stay the same; a
/// Deny that names CloudTrail with Principal is a decision for a person.
#[test]
fn edit_deny_exempts_cloudtrail_from_a_not_principal_deny_and_changes_nothing_else() {
    // "Only the account may generate data keys": a Deny with NotPrincipal that forgets
    // CloudTrail.
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudTrail", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
         "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}},
        {"Sid": "OnlyTheAccountEncrypts", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "kms:GenerateDataKey*", "Resource": "*"}
    ]});
    let account = with_default_key_policy(&policy.to_string());
    let options = Options {
        trails: vec!["default-policy".into()],
        edit_deny: true,
        ..Options::default()
    };
    let p = plan(&account, &options).expect("plan");
    assert_eq!(
        outcome(&p, "default-policy"),
        Outcome::Fixed,
        "{}",
        render::text(&p)
    );
    assert!(!p.proofs.is_empty(), "every touched key has a proof");
    assert!(
        p.proofs.iter().all(|proof| proof.holds()),
        "{:#?}",
        p.proofs
    );
    let Some(Step::PutKeyPolicy {
        after, narrowed, ..
    }) = p
        .steps
        .iter()
        .find(|s| matches!(s, Step::PutKeyPolicy { .. }))
    else {
        panic!("a policy change: {}", render::text(&p));
    };
    assert_eq!(narrowed.len(), 1, "{narrowed:?}");
    let doc: serde_json::Value = serde_json::from_str(after).expect("json");
    let deny = doc["Statement"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["Effect"] == "Deny")
        .expect("the Deny is kept");
    assert_eq!(deny["NotPrincipal"]["Service"], "cloudtrail.amazonaws.com");
    assert!(render::text(&p).contains("UNSAFE (--edit-deny)"));
    // Applied to the evidence, the trail is compliant.
    let after = common::apply(&account, &p);
    let trail = after
        .trails
        .iter()
        .find(|t| t.name == "default-policy")
        .expect("trail");
    for f in trailseal_checks::run_trail_checks(&after.trail_evidence(trail), &["TS006"]) {
        assert_eq!(f.status, trailseal_model::Status::Pass, "{}", f.message);
    }

    // The policy of examples/policies/explicit-deny-cloudtrail.json denies everyone but the
    // account's root user everything: narrowing it for CloudTrail would still leave nobody
    // able to decrypt or administer the key, so the proof refuses it.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policies/explicit-deny-cloudtrail.json"
    );
    let account = with_default_key_policy(&std::fs::read_to_string(path).expect("policy"));
    let p = plan(&account, &options).expect("plan");
    assert_eq!(
        outcome(&p, "default-policy"),
        Outcome::Refused,
        "{}",
        render::text(&p)
    );
    assert!(p.steps.is_empty());

    // A Deny with Principal naming CloudTrail: not edited.
    let named = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*"},
        {"Sid": "Deny CloudTrail", "Effect": "Deny", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*"}
    ]});
    let account = with_default_key_policy(&named.to_string());
    let p = plan(&account, &options).expect("plan");
    assert_eq!(outcome(&p, "default-policy"), Outcome::NeedsDecision);
    assert!(p.steps.is_empty());
}

/// --key names the key to use instead of the trailseal key: it must be in the bucket's Region
/// (refused otherwise) and be an enabled customer-managed key.
#[test]
fn a_named_key_is_used_only_in_the_buckets_region() {
    let account = broken();
    let west = Options {
        trails: vec!["unencrypted".into()],
        key: Some(WEST_KEY.into()),
        ..Options::default()
    };
    let p = plan(&account, &west).expect("plan");
    assert_eq!(outcome(&p, "unencrypted"), Outcome::CannotPlan);
    assert!(
        p.trails[0]
            .reasons
            .iter()
            .any(|r| r.contains("bucket's Region")),
        "{:?}",
        p.trails[0].reasons
    );
    assert!(p.steps.is_empty());
    let good = "arn:aws:kms:us-east-1:111122223333:key/good";
    let p = plan(
        &account,
        &Options {
            key: Some(good.into()),
            ..west
        },
    )
    .expect("plan");
    assert_eq!(
        outcome(&p, "unencrypted"),
        Outcome::Fixed,
        "{}",
        render::text(&p)
    );
    assert!(!p.steps.iter().any(|s| matches!(s, Step::CreateKey { .. })));
    assert!(p.steps.iter().any(|s| matches!(s,
        Step::UpdateTrailKey { after: trailseal_plan::KeyTarget::Existing { arn }, .. } if arn == good)));
    assert!(!p.proofs.is_empty(), "every touched key has a proof");
    assert!(
        p.proofs.iter().all(|proof| proof.holds()),
        "{:#?}",
        p.proofs
    );
}
