//! The planner on the example broken account (examples/evidence/broken-account.json) and on
//! small cases: what is planned for each kind of breakage, that the plan makes the account
//! compliant (applied to the evidence here, then audited with the checks), that a second plan
//! is empty, that merged policies keep every existing statement, and that unknown evidence,
//! explicit Denies and unprovable policies change nothing.

use serde_json::{json, Value};
use trailseal_model::{AccountEvidence, Fact, Status};
use trailseal_plan::{plan, render, KeyTarget, Options, Outcome, Plan, Step};

mod common;
use common::{apply, broken, outcome, with_default_key_policy};

fn core_statuses(account: &AccountEvidence, name: &str) -> Vec<(String, Status)> {
    let trail = account
        .trails
        .iter()
        .find(|t| t.name == name)
        .expect("trail");
    trailseal_checks::run_trail_checks(
        &account.trail_evidence(trail),
        &[
            "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS008",
        ],
    )
    .into_iter()
    .map(|f| (f.code, f.status))
    .collect()
}

#[test]
fn the_broken_account_plan_decides_each_kind_of_breakage() {
    let account = broken();
    let p = plan(&account, &Options::default()).expect("plan");
    let got: Vec<String> = p
        .trails
        .iter()
        .map(|t| {
            format!(
                "{}: {:?}",
                t.trail_arn.rsplit('/').next().unwrap_or(""),
                t.outcome
            )
        })
        .collect();
    insta::assert_snapshot!("broken_account_outcomes", got.join("\n"));
    // One new key, in the bucket's Region, shared by every trail that needs a new key.
    let creates: Vec<&Step> = p
        .steps
        .iter()
        .filter(|s| matches!(s, Step::CreateKey { .. }))
        .collect();
    assert_eq!(creates.len(), 1, "{:#?}", p.steps);
    assert!(matches!(creates[0], Step::CreateKey { region, .. } if region == "us-east-1"));
    assert!(!p.proofs.is_empty(), "every touched key has a proof");
    assert!(
        p.proofs.iter().all(|proof| proof.holds()),
        "{:#?}",
        p.proofs
    );
}

#[test]
fn applying_the_plan_makes_every_fixed_trail_compliant_and_a_second_plan_is_empty() {
    let account = broken();
    let p = plan(&account, &Options::default()).expect("plan");
    let after = apply(&account, &p);
    for t in p.trails.iter().filter(|t| t.outcome == Outcome::Fixed) {
        let name = t.trail_arn.rsplit('/').next().unwrap_or_default();
        for (code, status) in core_statuses(&after, name) {
            assert_eq!(status, Status::Pass, "{name} {code} after the plan");
        }
    }
    let again = plan(&after, &Options::default()).expect("second plan");
    assert!(again.steps.is_empty(), "{}", render::text(&again));
    for t in &again.trails {
        assert!(
            matches!(
                t.outcome,
                Outcome::Compliant | Outcome::NeedsDecision | Outcome::CannotPlan
            ),
            "{t:?}"
        );
    }
}

#[test]
fn a_merged_policy_keeps_every_existing_statement_as_it_was() {
    let account = broken();
    let p = plan(&account, &Options::default()).expect("plan");
    let merges: Vec<(&String, &String, &Vec<String>)> = p
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::PutKeyPolicy {
                before,
                after,
                added,
                ..
            } => Some((before, after, added)),
            _ => None,
        })
        .collect();
    assert!(
        !merges.is_empty(),
        "the default-policy trail's key gets a merge"
    );
    for (before, after, added) in merges {
        let before: Value = serde_json::from_str(before).expect("json");
        let after: Value = serde_json::from_str(after).expect("json");
        let old = before["Statement"].as_array().expect("list");
        let new = after["Statement"].as_array().expect("list");
        assert_eq!(
            &new[..old.len()],
            &old[..],
            "existing statements unchanged, in order"
        );
        assert_eq!(new.len(), old.len() + added.len());
        assert!(
            !added.is_empty(),
            "the merge added the CloudTrail statements"
        );
        assert!(
            added.iter().all(|sid| sid.starts_with("Trailseal")),
            "{added:?}"
        );
    }
}

#[test]
fn unknown_or_unreadable_evidence_changes_nothing() {
    let account = broken();
    let p = plan(&account, &Options::default()).expect("plan");
    // The key policy could not be read; the bucket's Region could not be read.
    for name in ["policy-unreadable", "eu-single"] {
        assert_eq!(outcome(&p, name), Outcome::CannotPlan, "{name}");
        let arn = p
            .trails
            .iter()
            .find(|t| t.trail_arn.ends_with(name))
            .map(|t| t.trail_arn.clone());
        assert!(
            !p.steps.iter().any(|s| Some(s.target()) == arn),
            "{name}: no step"
        );
    }
    assert!(!p.fixes_everything());
}

#[test]
fn an_explicit_deny_needs_a_decision_and_replace_key_decides_it() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policies/explicit-deny-cloudtrail.json"
    );
    let account = with_default_key_policy(&std::fs::read_to_string(path).expect("policy"));
    let options = Options {
        trails: vec!["default-policy".into()],
        ..Options::default()
    };
    let p = plan(&account, &options).expect("plan");
    assert_eq!(outcome(&p, "default-policy"), Outcome::NeedsDecision);
    assert!(p.steps.is_empty(), "{:#?}", p.steps);
    let p = plan(
        &account,
        &Options {
            replace_key: true,
            ..options
        },
    )
    .expect("plan");
    assert_eq!(outcome(&p, "default-policy"), Outcome::Fixed);
    assert!(p.steps.iter().any(|s| matches!(
        s,
        Step::UpdateTrailKey {
            after: KeyTarget::New { .. },
            ..
        }
    )));
}

#[test]
fn a_disabled_key_is_re_enabled_only_when_asked() {
    let account = broken();
    let options = Options {
        trails: vec!["disabled-key".into()],
        ..Options::default()
    };
    let replaced = plan(&account, &options).expect("plan");
    assert!(replaced
        .steps
        .iter()
        .any(|s| matches!(s, Step::CreateKey { .. })));
    let enabled = plan(
        &account,
        &Options {
            enable_disabled_keys: true,
            ..options
        },
    )
    .expect("plan");
    assert!(enabled.steps.iter().any(
        |s| matches!(s, Step::EnableKey { key_arn, .. } if key_arn.ends_with("key/disabled"))
    ));
    assert!(!enabled
        .steps
        .iter()
        .any(|s| matches!(s, Step::CreateKey { .. })));
}

/// A key whose policy gives nobody kms:PutKeyPolicy: merging CloudTrail's statements would
/// leave it unmanageable (AWS rejects such a policy), so the plan is refused unless forced.
#[test]
fn a_plan_that_leaves_nobody_able_to_administer_the_key_is_refused() {
    let readers_only = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Readers", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/LogReaders"},
         "Action": "kms:Decrypt", "Resource": "*"}
    ]});
    let account = with_default_key_policy(&readers_only.to_string());
    let options = Options {
        trails: vec!["default-policy".into()],
        ..Options::default()
    };
    let p = plan(&account, &options).expect("plan");
    assert_eq!(outcome(&p, "default-policy"), Outcome::Refused);
    assert!(p.steps.is_empty(), "{:#?}", p.steps);
    assert!(p
        .proofs
        .iter()
        .any(|proof| proof.failures.iter().any(|f| f.contains("administer"))));
    let forced = plan(
        &account,
        &Options {
            force: true,
            ..options
        },
    )
    .expect("plan");
    assert!(forced.is_forced());
    assert!(forced
        .steps
        .iter()
        .any(|s| matches!(s, Step::PutKeyPolicy { .. })));
    assert!(render::text(&forced).contains("--force"));
}

/// The CloudTrail User Guide warns that readers lose access when the key changes: the old
/// key's unconditional decrypt grants are carried over, and --reader adds more.
#[test]
fn readers_of_the_old_key_keep_decrypt_on_the_new_key() {
    let mut account = broken();
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:role/Auditors"}, "Action": "kms:Decrypt", "Resource": "*"}
    ]});
    let key = account
        .keys
        .iter_mut()
        .find(|k| k.arn.as_deref() == Some("arn:aws:kms:us-west-2:111122223333:key/west"))
        .expect("key");
    key.policy = Fact::Known(policy.to_string());
    let options = Options {
        trails: vec!["wrong-region".into()],
        readers: vec!["arn:aws:iam::111122223333:role/SecOps".into()],
        ..Options::default()
    };
    let p = plan(&account, &options).expect("plan");
    let Some(Step::CreateKey { policy, .. }) =
        p.steps.iter().find(|s| matches!(s, Step::CreateKey { .. }))
    else {
        panic!("a new key: {:#?}", p.steps);
    };
    assert!(
        policy.contains("arn:aws:iam::444455556666:role/Auditors"),
        "{policy}"
    );
    assert!(
        policy.contains("arn:aws:iam::111122223333:role/SecOps"),
        "{policy}"
    );
    let readers = &p.proofs[0].readers;
    assert!(
        readers.iter().any(|r| r.contains("role/Auditors")),
        "{readers:?}"
    );
    assert!(!p.proofs[0].administrators.is_empty());
}

#[test]
fn bad_options_are_errors() {
    let account = broken();
    for options in [
        Options {
            trails: vec!["no-such-trail".into()],
            ..Options::default()
        },
        Options {
            readers: vec!["LogReaders".into()],
            ..Options::default()
        },
        Options {
            readers: vec!["arn:aws:iam::111122223333:role/*".into()],
            ..Options::default()
        },
    ] {
        assert!(plan(&account, &options).is_err(), "{options:?}");
    }
}

/// The backout commands users copy from guides do not exist (`--no-kms-key-id`,
/// `aws kms delete-key`): the documented ones are emitted.
#[test]
fn the_script_uses_the_documented_commands() {
    let account = broken();
    let p = plan(&account, &Options::default()).expect("plan");
    let script = render::cli_script(&p);
    assert!(script.contains("--kms-key-id ''"), "{script}");
    assert!(script.contains("aws kms schedule-key-deletion"), "{script}");
    assert!(script.contains("--policy-name default"), "{script}");
    assert!(!script.contains("--no-kms-key-id") && !script.contains("kms delete-key"));
    let text = render::text(&p);
    assert!(text.contains("Nothing was changed"), "{text}");
}

#[test]
fn the_plan_round_trips_as_json() {
    let account = broken();
    let p = plan(&account, &Options::default()).expect("plan");
    let text = serde_json::to_string(&p).expect("json");
    let back: Plan = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, p);
    assert_eq!(back.schema, "trailseal.plan/v1");
}

/// What a reviewer reads: a new key for an unencrypted trail and a merge for a key with the
/// default key policy, as text, as a script, and as data.
#[test]
fn plan_text_script_and_json_snapshots() {
    let options = Options {
        trails: vec!["unencrypted".into(), "default-policy".into()],
        ..Options::default()
    };
    let p = plan(&broken(), &options).expect("plan");
    insta::assert_snapshot!("plan_text", render::text(&p));
    insta::assert_snapshot!("plan_script", render::cli_script(&p));
    let steps: Vec<Value> = p
        .steps
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).expect("json");
            // The policies are in the text snapshot; here, the shape of each step.
            for field in ["policy", "before", "after"] {
                if let Some(text) = v.get(field).and_then(Value::as_str) {
                    v[field] = Value::String(format!("<{} bytes>", text.len()));
                }
            }
            v
        })
        .collect();
    insta::assert_json_snapshot!("plan_steps", steps);
    // The same change as code (the policies are long: the snapshots show the shape).
    let terraform = trailseal_plan::terraform::emit(&p, &broken()).expect("terraform");
    let shape = |code: &str| -> String {
        code.lines()
            .filter(|l| {
                !l.trim_start().starts_with('"')
                    && !l.trim().trim_matches(|c| "{}[],".contains(c)).is_empty()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!("plan_terraform", shape(&terraform));
    let template = trailseal_plan::cloudformation::emit(&p, &broken()).expect("template");
    let doc: Value = serde_json::from_str(&template).expect("JSON");
    let resources: Vec<String> = doc["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .map(|(id, r)| {
            format!(
                "{id}: {} {}",
                r["Type"].as_str().unwrap_or_default(),
                r["DeletionPolicy"].as_str().unwrap_or("(created)")
            )
        })
        .collect();
    insta::assert_snapshot!("plan_cloudformation", resources.join("\n"));
}

/// The plan as Terraform, scanned by trailseal's own IaC scanner: every trail the plan fixes
/// passes TS001-TS008 in the emitted configuration.
#[test]
fn the_emitted_terraform_passes_the_checks_when_scanned() {
    let account = broken();
    let p = plan(&account, &Options::default()).expect("plan");
    let code = trailseal_plan::terraform::emit(&p, &account).expect("terraform");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("main.tf");
    std::fs::write(&file, &code).expect("write");
    let scan = trailseal_iac::terraform::scan_module(
        dir.path(),
        &[file],
        &trailseal_iac::terraform::TfVars::default(),
    );
    assert!(
        scan.file_problems.is_empty(),
        "{:#?}\n{code}",
        scan.file_problems
    );
    let findings = scan.localize(trailseal_checks::evaluate_account(
        &scan.account,
        &[
            "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS008",
        ],
    ));
    let fixed: Vec<String> = p
        .trails
        .iter()
        .filter(|t| t.outcome == Outcome::Fixed)
        .map(|t| {
            t.trail_arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .replace('-', "_")
        })
        .collect();
    assert!(!fixed.is_empty());
    for name in &fixed {
        let address = format!("aws_cloudtrail.trail_{name}");
        let mine: Vec<_> = findings.iter().filter(|f| f.resource == address).collect();
        assert_eq!(mine.len(), 8, "{address}: {mine:#?}");
        for f in mine {
            assert_eq!(
                f.status,
                Status::Pass,
                "{address} {}: {}\n{code}",
                f.code,
                f.message
            );
        }
    }
}

/// The plan as a CloudFormation template, scanned by trailseal's own IaC scanner: every trail
/// the plan fixes passes TS001-TS008 in it.
#[test]
fn the_emitted_cloudformation_passes_the_checks_when_scanned() {
    let account = broken();
    let p = plan(&account, &Options::default()).expect("plan");
    let template = trailseal_plan::cloudformation::emit(&p, &account).expect("template");
    let scan = trailseal_iac::cfn::scan("plan.json", &template, &Default::default());
    assert!(scan.problems.is_empty(), "{:#?}\n{template}", scan.problems);
    let findings = scan.localize(trailseal_checks::evaluate_account(
        &scan.account,
        &[
            "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS008",
        ],
    ));
    let fixed: Vec<&str> = p
        .trails
        .iter()
        .filter(|t| t.outcome == Outcome::Fixed)
        .map(|t| t.trail_arn.rsplit('/').next().unwrap_or_default())
        .collect();
    assert!(!fixed.is_empty());
    for name in fixed {
        let id: String = name
            .split('-')
            .map(|p| {
                let mut c = p.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        let resource = format!("Trail{id}");
        let mine: Vec<_> = findings.iter().filter(|f| f.resource == resource).collect();
        assert_eq!(mine.len(), 8, "{resource}: {mine:#?}");
        for f in mine {
            assert_eq!(
                f.status,
                Status::Pass,
                "{resource} {}: {}\n{template}",
                f.code,
                f.message
            );
        }
    }
}

/// no_extras: neither rotation nor log file validation is planned.
#[test]
fn no_extras_plans_only_the_control() {
    let p = plan(
        &broken(),
        &Options {
            no_extras: true,
            ..Options::default()
        },
    )
    .expect("plan");
    assert!(
        !p.steps.iter().any(|s| matches!(
            s,
            Step::EnableKeyRotation { .. } | Step::EnableLogFileValidation { .. }
        )),
        "{:#?}",
        p.steps
    );
    assert!(p.steps.iter().any(|s| matches!(s, Step::CreateKey { .. })));
}

/// Buckets with S3 Bucket Keys: the planned CloudTrail statement also grants kms:Decrypt
/// (CloudTrail User Guide: required "to create or update a trail with SSE-KMS encryption
/// enabled"), and TS006 passes after the plan instead of staying undecided.
#[test]
fn with_s3_bucket_keys_the_plan_grants_cloudtrail_decrypt_too() {
    let mut account = broken();
    for b in &mut account.buckets {
        b.bucket_key = Fact::Known(true);
    }
    let p = plan(&account, &Options::default()).expect("plan");
    let text = render::text(&p);
    assert!(text.contains("kms:Decrypt"), "{text}");
    // A trail whose only gap is CloudTrail's kms:Decrypt is planned, not left undecided.
    assert_eq!(common::outcome(&p, "healthy"), Outcome::Fixed, "{text}");
    let after = apply(&account, &p);
    for t in p.trails.iter().filter(|t| t.outcome == Outcome::Fixed) {
        let name = t.trail_arn.rsplit('/').next().unwrap_or_default();
        for (code, status) in core_statuses(&after, name) {
            assert_eq!(status, Status::Pass, "{name} {code} after the plan");
        }
    }
}
