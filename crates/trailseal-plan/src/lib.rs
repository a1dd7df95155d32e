//! # trailseal-plan
//!
//! Remediation planning: the evidence of an account in, a [`Plan`] out. Pure (no AWS, no
//! async, no I/O): what `trailseal fix` prints, saves and (later) applies.
//!
//! For every trail that is not compliant (TS001-TS006) the planner decides, from the same
//! findings `audit` reports:
//! - the key policy only lacks CloudTrail's statements (TS006/TS007 fail, no explicit Deny):
//!   **merge** them into the existing policy under trailseal's own Sids ([`statements`]);
//!   nothing existing is removed or rewritten;
//! - the key is unusable (no key, not found, pending deletion, disabled, AWS-managed, not
//!   symmetric, not in the bucket's Region): point the trail at a trailseal key in the
//!   bucket's Region, one per account and Region (reused when it exists, found by its alias),
//!   whose policy gives key administration to the account, CloudTrail's statements, and
//!   decrypt to the readers the old key's policy allowed plus `--reader`s;
//! - an explicit Deny blocks CloudTrail: nothing by default ("needs a decision");
//!   `replace_key` points the trail at the trailseal key instead; `edit_deny` (unsafe)
//!   adds CloudTrail to the NotPrincipal of a Deny that has one, proven to change nothing
//!   else (who may decrypt and who may administer are the same before and after);
//! - anything the evidence does not decide (`indeterminate`, `error`): nothing (unknown is
//!   never a reason to change a key policy).
//!
//! Extras (unless `no_extras`): log file validation (TS010) on the trails it fixes, rotation
//! (TS011) on the keys it touches.
//!
//! Every key policy the plan sets is **proven** before the plan is offered ([`proof`]): the
//! checks TS001-TS008 run on the evidence as it will be after the plan and must pass, some
//! principal must still be able to administer the key (`kms:PutKeyPolicy`), and somebody
//! other than CloudTrail must be able to decrypt. A plan that fails its proof is refused
//! unless `force`.

use serde::{Deserialize, Serialize};

mod assemble;
pub mod cloudformation;
mod described;
pub mod monitor_stack;
mod planner;
pub mod proof;
mod readers;
pub mod render;
pub mod statements;
pub mod terraform;

pub use planner::{plan, PlanError};

/// The plan format's schema id.
pub const PLAN_SCHEMA: &str = "trailseal.plan/v1";

/// The alias of the key trailseal creates (one per account and Region).
pub const DEFAULT_ALIAS: &str = "alias/trailseal-cloudtrail";

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// Only these trails (ARN or name); empty: every trail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trails: Vec<String>,
    /// Leave out log file validation (TS010) and rotation (TS011).
    #[serde(default)]
    pub no_extras: bool,
    /// The alias of the trailseal key.
    pub alias: String,
    /// A key (ARN) to point the trails that need a new key at, instead of the trailseal key;
    /// it must be in their bucket's Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Principals (ARNs or account ids) that must be able to decrypt the logs under a new key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<String>,
    /// Re-enable a disabled key instead of replacing it.
    #[serde(default)]
    pub enable_disabled_keys: bool,
    /// Point a trail whose key policy explicitly denies CloudTrail at the trailseal key.
    #[serde(default)]
    pub replace_key: bool,
    /// Unsafe: exempt CloudTrail from the Deny statements (with NotPrincipal) that block it,
    /// when that changes nothing else (who may decrypt or administer stays the same).
    #[serde(default)]
    pub edit_deny: bool,
    /// Keep a plan that fails its proof (flagged in the plan).
    #[serde(default)]
    pub force: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            trails: Vec::new(),
            no_extras: false,
            alias: DEFAULT_ALIAS.to_owned(),
            key: None,
            readers: Vec::new(),
            enable_disabled_keys: false,
            replace_key: false,
            edit_deny: false,
            force: false,
        }
    }
}

/// A remediation plan (`trailseal.plan/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub schema: String,
    pub account: String,
    pub partition: String,
    pub options: Options,
    /// Every trail considered, with what the plan does about it.
    pub trails: Vec<TrailPlan>,
    /// The changes, in the order they are made.
    pub steps: Vec<Step>,
    /// The proof of every key policy the plan sets.
    pub proofs: Vec<Proof>,
}

impl Plan {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Every trail considered is compliant, or will be after the plan.
    pub fn fixes_everything(&self) -> bool {
        self.trails
            .iter()
            .all(|t| matches!(t.outcome, Outcome::Compliant | Outcome::Fixed))
    }

    /// A proof failed and `force` kept the plan anyway.
    pub fn is_forced(&self) -> bool {
        self.proofs.iter().any(|p| !p.holds())
    }
}

/// What the plan does about one trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailPlan {
    pub trail_arn: String,
    pub region: String,
    pub outcome: Outcome,
    /// Why: the failing checks (`TS006: ...`), or why nothing is planned.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Compliant now (TS001-TS006 pass); extras may still be planned.
    Compliant,
    /// Compliant after the plan.
    Fixed,
    /// An explicit Deny blocks CloudTrail: `--replace-key` (or editing the Deny) is a decision
    /// for a person.
    NeedsDecision,
    /// The evidence does not decide what is wrong (indeterminate or unreadable), or the
    /// bucket's Region is not known: nothing is planned.
    CannotPlan,
    /// The planned key policy failed its proof (and `force` was not given).
    Refused,
}

/// A key the plan uses: one that exists, or the one a [`Step::CreateKey`] creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum KeyTarget {
    Existing {
        arn: String,
    },
    /// Created by the `create_key` step with this `id`.
    New {
        id: String,
    },
}

/// One change. Each names the state it expects before (`before`) so that applying a saved
/// plan can refuse when the account has changed, and rollback can restore it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Step {
    /// `kms:CreateKey` (symmetric, ENCRYPT_DECRYPT) with this policy.
    CreateKey {
        id: String,
        region: String,
        description: String,
        policy: String,
    },
    /// `kms:EnableKeyRotation`.
    EnableKeyRotation { key: KeyTarget, region: String },
    /// `kms:CreateAlias`.
    CreateAlias {
        region: String,
        alias: String,
        key: KeyTarget,
    },
    /// `kms:EnableKey` of a disabled key.
    EnableKey { key_arn: String, region: String },
    /// `kms:PutKeyPolicy` (policy name `default`): `after` is `before` with statements added.
    PutKeyPolicy {
        key_arn: String,
        region: String,
        before: String,
        after: String,
        /// The Sids added.
        added: Vec<String>,
        /// Deny statements changed (`--edit-deny`): CloudTrail added to their NotPrincipal.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        narrowed: Vec<String>,
    },
    /// `cloudtrail:UpdateTrail --kms-key-id`, in the trail's home Region.
    UpdateTrailKey {
        trail_arn: String,
        region: String,
        /// The trail's `KmsKeyId` before (None: not encrypted).
        before: Option<String>,
        after: KeyTarget,
    },
    /// `cloudtrail:UpdateTrail --enable-log-file-validation`.
    EnableLogFileValidation { trail_arn: String, region: String },
}

impl Step {
    /// The Region the step's call is made in.
    pub fn region(&self) -> &str {
        match self {
            Step::CreateKey { region, .. }
            | Step::EnableKeyRotation { region, .. }
            | Step::CreateAlias { region, .. }
            | Step::EnableKey { region, .. }
            | Step::PutKeyPolicy { region, .. }
            | Step::UpdateTrailKey { region, .. }
            | Step::EnableLogFileValidation { region, .. } => region,
        }
    }

    /// The trail or key the step changes, for display.
    pub fn target(&self) -> String {
        match self {
            Step::CreateKey { id, region, .. } => format!("new key {id} in {region}"),
            Step::EnableKeyRotation { key, .. } | Step::CreateAlias { key, .. } => key.to_string(),
            Step::EnableKey { key_arn, .. } | Step::PutKeyPolicy { key_arn, .. } => key_arn.clone(),
            Step::UpdateTrailKey { trail_arn, .. }
            | Step::EnableLogFileValidation { trail_arn, .. } => trail_arn.clone(),
        }
    }
}

impl std::fmt::Display for KeyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyTarget::Existing { arn } => f.write_str(arn),
            KeyTarget::New { id } => write!(f, "new key {id}"),
        }
    }
}

/// The proof of one key policy the plan sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The key (existing ARN, or the new key's id).
    pub key: KeyTarget,
    /// The trails that will use the key, and the status of TS001-TS008 for each after the
    /// plan (`TS006: pass`).
    pub trails: Vec<ProvenTrail>,
    /// Who may administer the key (`kms:PutKeyPolicy`) after the change.
    pub administrators: Vec<String>,
    /// Who may decrypt the logs after the change (CloudTrail aside).
    pub readers: Vec<String>,
    /// What fails (empty: the proof holds).
    pub failures: Vec<String>,
}

impl Proof {
    pub fn holds(&self) -> bool {
        self.failures.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenTrail {
    pub trail_arn: String,
    /// `TS00N: status` for TS001-TS008.
    pub checks: Vec<String>,
}
