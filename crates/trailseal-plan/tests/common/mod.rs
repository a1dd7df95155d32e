//! Shared by the planner tests: the example broken account, outcomes by trail name, and the
//! plan applied to the evidence as the executor would apply it to the account.
#![allow(dead_code)] // each test binary uses its own subset

use trailseal_model::{AccountEvidence, Evidence, Fact, Key, KeyRef};
use trailseal_plan::{KeyTarget, Options, Outcome, Plan, Step};

pub fn broken() -> AccountEvidence {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/evidence/broken-account.json"
    );
    let text = std::fs::read_to_string(path).expect("example evidence");
    let evidence: Evidence = serde_json::from_str(&text).expect("evidence");
    evidence.accounts.into_iter().next().expect("one account")
}

pub fn outcome(plan: &Plan, name: &str) -> Outcome {
    plan.trails
        .iter()
        .find(|t| t.trail_arn.ends_with(&format!("trail/{name}")))
        .unwrap_or_else(|| panic!("no trail {name}"))
        .outcome
}

/// The plan for the trails named `trails`, with default options otherwise.
pub fn plan_for(account: &AccountEvidence, trails: &[&str]) -> Plan {
    let options = Options {
        trails: trails.iter().map(|t| (*t).to_owned()).collect(),
        ..Options::default()
    };
    trailseal_plan::plan(account, &options).expect("plan")
}

/// Nothing is planned for the trail `name`, and nothing at all is changed.
pub fn assert_not_planned(plan: &Plan, name: &str) {
    assert_eq!(
        outcome(plan, name),
        Outcome::CannotPlan,
        "{}",
        trailseal_plan::render::text(plan)
    );
    assert!(plan.steps.is_empty(), "{:#?}", plan.steps);
}

fn key_mut<'a>(account: &'a mut AccountEvidence, arn: &str) -> &'a mut Key {
    account
        .keys
        .iter_mut()
        .find(|k| k.arn.as_deref() == Some(arn))
        .expect("key")
}

/// The plan applied to the evidence as the executor would apply it to the account (keys get
/// ARNs such as AWS gives them).
pub fn apply(account: &AccountEvidence, plan: &Plan) -> AccountEvidence {
    let mut after = account.clone();
    let mut created: Vec<(String, String)> = Vec::new();
    let arn_of = |created: &[(String, String)], key: &KeyTarget| match key {
        KeyTarget::Existing { arn } => arn.clone(),
        KeyTarget::New { id } => created
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, a)| a.clone())
            .expect("created before use"),
    };
    for step in &plan.steps {
        match step {
            Step::CreateKey {
                id, region, policy, ..
            } => {
                let arn = format!(
                    "arn:aws:kms:{region}:{}:key/1234abcd-12ab-34cd-56ef-{:012}",
                    account.account,
                    created.len()
                );
                after.keys.push(Key {
                    arn: Some(arn.clone()),
                    key_id: arn.rsplit('/').next().map(str::to_owned),
                    region: Fact::Known(region.clone()),
                    state: Fact::Known("Enabled".into()),
                    manager: Fact::Known("CUSTOMER".into()),
                    key_spec: Fact::Known("SYMMETRIC_DEFAULT".into()),
                    key_usage: Fact::Known("ENCRYPT_DECRYPT".into()),
                    multi_region: Fact::Known(false),
                    policy: Fact::Known(policy.clone()),
                    rotation_enabled: Fact::Known(false),
                    ..Key::default()
                });
                created.push((id.clone(), arn));
            }
            Step::EnableKeyRotation { key, .. } => {
                let arn = arn_of(&created, key);
                let k = key_mut(&mut after, &arn);
                k.rotation_enabled = Fact::Known(true);
            }
            Step::CreateAlias { alias, key, .. } => {
                let arn = arn_of(&created, key);
                let k = key_mut(&mut after, &arn);
                k.aliases.push(alias.clone());
            }
            Step::EnableKey { key_arn, .. } => {
                let k = key_mut(&mut after, key_arn);
                k.state = Fact::Known("Enabled".into());
            }
            Step::PutKeyPolicy {
                key_arn,
                after: policy,
                ..
            } => {
                let k = key_mut(&mut after, key_arn);
                k.policy = Fact::Known(policy.clone());
            }
            Step::UpdateTrailKey {
                trail_arn,
                after: key,
                ..
            } => {
                let arn = arn_of(&created, key);
                let t = after
                    .trails
                    .iter_mut()
                    .find(|t| t.arn == *trail_arn)
                    .expect("trail");
                t.kms_key_id = Fact::Known(Some(arn.clone()));
                let region = trailseal_model::key_region(&arn, &t.home_region);
                after.key_refs.push(KeyRef {
                    region,
                    reference: arn.clone(),
                    key_arn: Some(arn),
                    error: None,
                });
            }
            Step::EnableLogFileValidation { trail_arn, .. } => {
                let t = after
                    .trails
                    .iter_mut()
                    .find(|t| t.arn == *trail_arn)
                    .expect("trail");
                t.log_file_validation_enabled = Fact::Known(true);
            }
        }
    }
    after
}

/// The key the default-policy trail uses, with `policy` as its policy.
pub fn with_default_key_policy(policy: &str) -> AccountEvidence {
    let mut account = broken();
    let key = account
        .keys
        .iter_mut()
        .find(|k| k.arn.as_deref() == Some("arn:aws:kms:us-east-1:111122223333:key/default"))
        .expect("key");
    key.policy = Fact::Known(policy.to_owned());
    account
}
