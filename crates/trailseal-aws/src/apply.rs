//! Applying a remediation plan ([`trailseal_plan::Plan`]) and rolling it back, with a journal
//! ([`crate::journal`]).
//!
//! Apply: for each step, the state it changes is read fresh and checked against what the plan
//! expects (a key policy or trail key that changed since the plan was computed stops the
//! apply); the intent and that prior state are journaled (fsync) before the call; then the
//! outcome. Key steps run first, in order (a new key is needed by the trails); then each
//! trail's steps, in order within a trail and concurrently across trails. The first failure
//! stops the steps after it (of its trail, or everything when a key step fails).
//!
//! Rollback: see [`crate::rollback`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, Tag};
use futures::future::join_all;
use trailseal_plan::{KeyTarget, Plan, Step};

use crate::error::describe;
use crate::journal::{Entry, JournalError, JournalWriter, Prior, JOURNAL_SCHEMA};

/// Tag keys on the keys trailseal creates.
pub const TAG_JOURNAL: &str = "trailseal:journal";
pub const TAG_STEP: &str = "trailseal:step";

/// What stops an apply or rollback before it starts.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("could not use the AWS credentials: {0}")]
    Credentials(String),
    #[error("the {what} is for account {plan} but the credentials are for account {caller}: nothing was changed")]
    WrongAccount {
        what: &'static str,
        plan: String,
        caller: String,
    },
    /// The account is not as the plan expects, found before anything was changed.
    #[error("{0}; nothing was changed")]
    Conflict(String),
    #[error("{0}")]
    Journal(#[from] JournalError),
    /// The configuration could not be loaded (a profile that does not exist).
    #[error("{0}")]
    Config(#[from] crate::CollectError),
}

/// The outcome of each step: (step number, description, error if it failed).
#[derive(Debug, Default)]
pub struct Report {
    pub done: Vec<String>,
    pub failed: Vec<String>,
    /// Steps not attempted because an earlier one failed.
    pub skipped: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// Options of a rollback.
#[derive(Debug, Clone, Copy)]
pub struct RollbackOptions {
    /// Schedule the deletion of the keys the apply created (else they are only disabled).
    pub delete_keys: bool,
    /// Waiting period of that deletion, 7 to 30 days.
    pub pending_days: i32,
    /// Restore the state before the apply even where it was changed since the apply.
    pub force: bool,
}

/// Applies plans and rolls them back in one account.
pub struct Applier {
    config: SdkConfig,
    pub account: String,
    pub partition: String,
    /// The caller's ARN (recorded in the journal).
    pub caller: String,
}

pub(crate) fn now() -> String {
    crate::now_rfc3339()
}

/// The key id of a key ARN (`arn:aws:kms:R:A:key/ID` -> `ID`). KMS takes either in `KeyId`
/// for a key of the caller's account in the client's Region; moto's EnableKey, DisableKey and
/// ScheduleKeyDeletion take only the id.
/// Two policy texts with the same JSON (formatting aside).
pub(crate) fn same_policy(a: &str, b: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(a).ok()
        == serde_json::from_str::<serde_json::Value>(b).ok()
}

pub(crate) fn key_id(arn: &str) -> &str {
    arn.rsplit_once(":key/").map_or(arn, |(_, id)| id)
}

impl Applier {
    /// Reads the caller's identity (sts:GetCallerIdentity).
    pub async fn new(config: SdkConfig) -> Result<Applier, ApplyError> {
        let out = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| ApplyError::Credentials(describe("sts:GetCallerIdentity", &e)))?;
        let caller = out.arn().unwrap_or_default().to_owned();
        Ok(Applier {
            account: out.account().unwrap_or_default().to_owned(),
            partition: caller.split(':').nth(1).unwrap_or("aws").to_owned(),
            caller,
            config,
        })
    }

    fn region(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .build()
    }

    pub(crate) fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.region(region))
    }

    pub(crate) fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(&self.region(region))
    }

    /// Applies `plan`, journaling to `journal`.
    pub async fn apply(&self, plan: &Plan, journal: JournalWriter) -> Result<Report, ApplyError> {
        if plan.account != self.account {
            return Err(ApplyError::WrongAccount {
                what: "plan",
                plan: plan.account.clone(),
                caller: self.account.clone(),
            });
        }
        self.preflight(plan).await?;
        let journal_id = format!("{}-{}", now().replace([':', '-'], ""), std::process::id());
        let journal = Mutex::new(journal);
        let write = |entry: Entry| -> Result<(), JournalError> {
            journal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .write(&entry)
        };
        write(Entry::Begin {
            schema: JOURNAL_SCHEMA.to_owned(),
            journal_id: journal_id.clone(),
            account: self.account.clone(),
            partition: self.partition.clone(),
            caller: self.caller.clone(),
            plan_sha256: crate::journal::plan_digest(plan),
            started_at: now(),
            steps: plan.steps.len(),
        })?;
        let mut report = Report::default();
        let mut created: BTreeMap<String, String> = BTreeMap::new();
        let numbered: Vec<(usize, &Step)> = plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (i + 1, s))
            .collect();
        let (key_steps, trail_steps): (Vec<_>, Vec<_>) =
            numbered.into_iter().partition(|(_, s)| {
                !matches!(
                    s,
                    Step::UpdateTrailKey { .. } | Step::EnableLogFileValidation { .. }
                )
            });
        let mut stopped = false;
        for (seq, step) in key_steps {
            if stopped {
                report.skipped.push(format!("{seq}. {}", step.target()));
                continue;
            }
            match self.run(seq, step, &created, &journal_id, &write).await {
                Ok(new_key) => {
                    if let (Some(arn), Step::CreateKey { id, .. }) = (new_key, step) {
                        created.insert(id.clone(), arn);
                    }
                    report.done.push(format!("{seq}. {}", step.target()));
                }
                Err(e) => {
                    report.failed.push(format!("{seq}. {}: {e}", step.target()));
                    stopped = true;
                }
            }
        }
        // Trails: in order within a trail, concurrently across trails.
        let mut by_trail: BTreeMap<String, Vec<(usize, &Step)>> = BTreeMap::new();
        for (seq, step) in trail_steps {
            by_trail.entry(step.target()).or_default().push((seq, step));
        }
        let created = &created;
        let write = &write;
        let journal_id = &journal_id;
        let groups = join_all(by_trail.into_values().map(|steps| async move {
            let mut out = Report::default();
            let mut failed = stopped;
            for (seq, step) in steps {
                if failed {
                    out.skipped.push(format!("{seq}. {}", step.target()));
                    continue;
                }
                match self.run(seq, step, created, journal_id, write).await {
                    Ok(_) => out.done.push(format!("{seq}. {}", step.target())),
                    Err(e) => {
                        out.failed.push(format!("{seq}. {}: {e}", step.target()));
                        failed = true;
                    }
                }
            }
            out
        }))
        .await;
        for g in groups {
            report.done.extend(g.done);
            report.failed.extend(g.failed);
            report.skipped.extend(g.skipped);
        }
        if let Err(e) = write(Entry::End {
            ok: report.ok(),
            at: now(),
        }) {
            report.failed.push(format!("the journal's end line: {e}"));
        }
        Ok(report)
    }

    /// What can be checked before anything is changed: an alias the plan creates must not
    /// exist yet (an alias names one key per Region; the evidence holds only the keys trails
    /// use, so a trailseal key no trail uses was not seen when the plan was made).
    async fn preflight(&self, plan: &Plan) -> Result<(), ApplyError> {
        for step in &plan.steps {
            let Step::CreateAlias { alias, region, .. } = step else {
                continue;
            };
            match self.kms(region).describe_key().key_id(alias).send().await {
                Ok(out) => {
                    let target = out
                        .key_metadata()
                        .and_then(|m| m.arn())
                        .unwrap_or("a key")
                        .to_owned();
                    return Err(ApplyError::Conflict(format!(
                        "{alias} already exists in {region} and names {target}: point a trail at that key and run fix again (it reuses the key when CloudTrail can use it), or give another --alias"
                    )));
                }
                Err(e) if crate::error::code(&e) == Some("NotFoundException") => {}
                Err(e) => {
                    return Err(ApplyError::Conflict(format!(
                        "could not check whether {alias} exists in {region}: {}",
                        describe("kms:DescribeKey", &e)
                    )))
                }
            }
        }
        Ok(())
    }

    /// One step: prior state (checked against the plan), intent, call, outcome. Returns the
    /// ARN of a key it created.
    async fn run(
        &self,
        seq: usize,
        step: &Step,
        created: &BTreeMap<String, String>,
        journal_id: &str,
        write: &(dyn Fn(Entry) -> Result<(), JournalError> + Sync),
    ) -> Result<Option<String>, String> {
        let key = |k: &KeyTarget| -> Result<String, String> {
            match k {
                KeyTarget::Existing { arn } => Ok(arn.clone()),
                KeyTarget::New { id } => created
                    .get(id)
                    .cloned()
                    .ok_or_else(|| format!("the key {id} was not created")),
            }
        };
        let prior = self.prior(step, created).await?;
        write(Entry::Intent {
            seq,
            step: step.clone(),
            prior,
            at: now(),
        })
        .map_err(|e| e.to_string())?;
        let result = self.call(seq, step, &key, journal_id).await;
        match &result {
            Ok(arn) => write(Entry::Done {
                seq,
                created_key_arn: arn.clone(),
                at: now(),
            }),
            Err(e) => write(Entry::Failed {
                seq,
                error: e.clone(),
                at: now(),
            }),
        }
        .map_err(|e| e.to_string())?;
        result
    }

    /// The state `step` changes, read now; Err when it is not what the plan was made from.
    async fn prior(
        &self,
        step: &Step,
        created: &BTreeMap<String, String>,
    ) -> Result<Prior, String> {
        let region = step.region();
        match step {
            Step::CreateKey { .. } | Step::CreateAlias { .. } => Ok(Prior::Nothing),
            Step::EnableKeyRotation { key, .. } => {
                let arn = match key {
                    KeyTarget::Existing { arn } => arn.clone(),
                    KeyTarget::New { id } => match created.get(id) {
                        Some(a) => a.clone(),
                        None => return Ok(Prior::Rotation { enabled: false }),
                    },
                };
                Ok(Prior::Rotation {
                    enabled: self.rotation(region, &arn).await?,
                })
            }
            Step::EnableKey { key_arn, .. } => {
                let state = self.key_state(region, key_arn).await?;
                if state != "Disabled" {
                    return Err(format!("the key is {state} now, not Disabled as when the plan was made: run fix again"));
                }
                Ok(Prior::KeyState { state })
            }
            Step::PutKeyPolicy {
                key_arn, before, ..
            } => {
                let policy = self.key_policy(region, key_arn).await?;
                if !same_policy(&policy, before) {
                    return Err("the key policy changed since the plan was made: nothing was written; run fix again".into());
                }
                Ok(Prior::KeyPolicy { policy })
            }
            Step::UpdateTrailKey {
                trail_arn, before, ..
            } => {
                let (kms_key_id, _) = self.trail(region, trail_arn).await?;
                if kms_key_id.as_deref().filter(|k| !k.is_empty()) != before.as_deref() {
                    return Err(format!(
                        "the trail's KmsKeyId is {} now, not {} as when the plan was made: run fix again",
                        kms_key_id.as_deref().unwrap_or("unset"),
                        before.as_deref().unwrap_or("unset")
                    ));
                }
                Ok(Prior::TrailKey { kms_key_id })
            }
            Step::EnableLogFileValidation { trail_arn, .. } => {
                let (_, enabled) = self.trail(region, trail_arn).await?;
                Ok(Prior::LogFileValidation { enabled })
            }
        }
    }

    /// A key's state (`Enabled`, `Disabled`, ...), read now.
    pub(crate) async fn key_state(&self, region: &str, arn: &str) -> Result<String, String> {
        let out = self
            .kms(region)
            .describe_key()
            .key_id(arn)
            .send()
            .await
            .map_err(|e| describe("kms:DescribeKey", &e))?;
        Ok(out
            .key_metadata()
            .and_then(|m| m.key_state())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default())
    }

    /// Whether a key's rotation is on, read now.
    pub(crate) async fn rotation(&self, region: &str, arn: &str) -> Result<bool, String> {
        let out = self
            .kms(region)
            .get_key_rotation_status()
            .key_id(arn)
            .send()
            .await
            .map_err(|e| describe("kms:GetKeyRotationStatus", &e))?;
        Ok(out.key_rotation_enabled())
    }

    /// A key's policy (`default`), read now.
    pub(crate) async fn key_policy(&self, region: &str, arn: &str) -> Result<String, String> {
        let out = self
            .kms(region)
            .get_key_policy()
            .key_id(arn)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| describe("kms:GetKeyPolicy", &e))?;
        Ok(out.policy().unwrap_or_default().to_owned())
    }

    pub(crate) async fn trail(
        &self,
        region: &str,
        arn: &str,
    ) -> Result<(Option<String>, bool), String> {
        let out = self
            .cloudtrail(region)
            .get_trail()
            .name(arn)
            .send()
            .await
            .map_err(|e| describe("cloudtrail:GetTrail", &e))?;
        let t = out.trail().ok_or("cloudtrail:GetTrail returned no trail")?;
        Ok((
            t.kms_key_id().map(str::to_owned),
            t.log_file_validation_enabled().unwrap_or(false),
        ))
    }

    async fn call(
        &self,
        seq: usize,
        step: &Step,
        key: &dyn Fn(&KeyTarget) -> Result<String, String>,
        journal_id: &str,
    ) -> Result<Option<String>, String> {
        let region = step.region();
        let kms = || self.kms(region);
        let tag = |k: &str, v: &str| Tag::builder().tag_key(k).tag_value(v).build().ok();
        match step {
            Step::CreateKey {
                description,
                policy,
                ..
            } => {
                let out = kms()
                    .create_key()
                    .key_spec(KeySpec::SymmetricDefault)
                    .key_usage(KeyUsageType::EncryptDecrypt)
                    .description(description)
                    .policy(policy)
                    .set_tags(
                        [
                            tag(TAG_JOURNAL, journal_id),
                            tag(TAG_STEP, &seq.to_string()),
                        ]
                        .into_iter()
                        .collect(),
                    )
                    .send()
                    .await
                    .map_err(|e| describe("kms:CreateKey", &e))?;
                let arn = out
                    .key_metadata()
                    .and_then(|m| m.arn())
                    .ok_or("kms:CreateKey returned no key ARN")?;
                Ok(Some(arn.to_owned()))
            }
            Step::EnableKeyRotation { key: k, .. } => {
                kms()
                    .enable_key_rotation()
                    .key_id(key(k)?)
                    .send()
                    .await
                    .map_err(|e| describe("kms:EnableKeyRotation", &e))?;
                Ok(None)
            }
            Step::CreateAlias { alias, key: k, .. } => {
                kms()
                    .create_alias()
                    .alias_name(alias)
                    .target_key_id(key(k)?)
                    .send()
                    .await
                    .map_err(|e| describe("kms:CreateAlias", &e))?;
                Ok(None)
            }
            Step::EnableKey { key_arn, .. } => {
                kms()
                    .enable_key()
                    .key_id(key_id(key_arn))
                    .send()
                    .await
                    .map_err(|e| describe("kms:EnableKey", &e))?;
                Ok(None)
            }
            Step::PutKeyPolicy { key_arn, after, .. } => {
                kms()
                    .put_key_policy()
                    .key_id(key_arn)
                    .policy_name("default")
                    .policy(after)
                    .send()
                    .await
                    .map_err(|e| describe("kms:PutKeyPolicy", &e))?;
                Ok(None)
            }
            Step::UpdateTrailKey {
                trail_arn, after, ..
            } => {
                self.cloudtrail(region)
                    .update_trail()
                    .name(trail_arn)
                    .kms_key_id(key(after)?)
                    .send()
                    .await
                    .map_err(|e| describe("cloudtrail:UpdateTrail", &e))?;
                Ok(None)
            }
            Step::EnableLogFileValidation { trail_arn, .. } => {
                self.cloudtrail(region)
                    .update_trail()
                    .name(trail_arn)
                    .enable_log_file_validation(true)
                    .send()
                    .await
                    .map_err(|e| describe("cloudtrail:UpdateTrail", &e))?;
                Ok(None)
            }
        }
    }
}
