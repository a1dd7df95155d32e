//! Rolling back an applied plan from its journal ([`crate::journal`]).
//!
//! Every announced step not yet rolled back, newest first. Before each undo the state is read
//! again and compared with what the apply set:
//! - as the apply set it: restored to the state before (a trail's previous `KmsKeyId`, or
//!   `""`, the documented backout; log file validation; key policy; rotation; key state);
//!   an alias the apply created is deleted; a key it created disabled and, only when asked,
//!   scheduled for deletion (found by its tags when the crash came before its ARN was
//!   journaled);
//! - already as before (the call never happened, or was undone): nothing to do;
//! - anything else (changed since the apply by someone else): left as it is and reported
//!   unless `force`: a rollback never silently overwrites a later change.
//!
//! The first failure or conflict stops the rollback (a key must not be disabled while a trail
//! whose undo failed still uses it); the next rollback resumes there. Each undo is journaled,
//! so a second rollback does nothing.

use std::collections::BTreeMap;

use trailseal_plan::{KeyTarget, Step};

use crate::apply::{key_id, now, same_policy, Applier, ApplyError, Report, RollbackOptions};
use crate::error::{code, describe};
use crate::journal::{Entry, Journal, JournalError, JournalWriter, Prior};
use crate::{TAG_JOURNAL, TAG_STEP};

/// What an undo found.
enum Undo {
    /// Restored (or deleted, disabled).
    Done,
    /// Already as before: nothing to do.
    AsBefore,
    /// Changed since the apply: left as it is.
    Conflict(String),
}

impl Applier {
    /// Undoes every step of `journal` not yet rolled back, newest first (see the module
    /// documentation).
    pub async fn rollback(
        &self,
        journal: &Journal,
        mut writer: JournalWriter,
        options: RollbackOptions,
    ) -> Result<Report, ApplyError> {
        let Some((account, partition, journal_id)) = journal.begin() else {
            return Err(ApplyError::Journal(JournalError::Invalid {
                path: writer.path().display().to_string(),
                line: 1,
                why: "no begin".into(),
            }));
        };
        if account != self.account || partition != self.partition {
            return Err(ApplyError::WrongAccount {
                what: "journal",
                plan: format!("{account} ({partition})"),
                caller: format!("{} ({})", self.account, self.partition),
            });
        }
        let journal_id = journal_id.to_owned();
        let mut created: BTreeMap<usize, String> = BTreeMap::new();
        let mut undone: Vec<usize> = Vec::new();
        let mut intents: Vec<(usize, &Step, &Prior)> = Vec::new();
        for e in &journal.entries {
            match e {
                Entry::Intent {
                    seq, step, prior, ..
                } => intents.push((*seq, step, prior)),
                Entry::Done {
                    seq,
                    created_key_arn: Some(arn),
                    ..
                } => {
                    created.insert(*seq, arn.clone());
                }
                Entry::RolledBack { seq, .. } => undone.push(*seq),
                _ => {}
            }
        }
        let mut report = Report::default();
        // The keys the apply created, by new-key id (aliases, rotation and trails name them).
        let mut by_id: BTreeMap<String, String> = BTreeMap::new();
        for (seq, step, _) in &intents {
            if let Step::CreateKey { id, region, .. } = step {
                let arn = match created.get(seq) {
                    Some(a) => Some(a.clone()),
                    None => match self.find_created(region, &journal_id, *seq).await {
                        Ok(found) => found,
                        Err(e) => {
                            report.failed.push(format!("{seq}. {}: {e}", step.target()));
                            return Ok(report);
                        }
                    },
                };
                if let Some(a) = arn {
                    created.insert(*seq, a.clone());
                    by_id.insert(id.clone(), a);
                }
            }
        }
        let pending: Vec<&(usize, &Step, &Prior)> = intents
            .iter()
            .rev()
            .filter(|(seq, ..)| !undone.contains(seq))
            .collect();
        for (i, (seq, step, prior)) in pending.iter().enumerate() {
            let result = self
                .undo(step, prior, created.get(seq), &by_id, options)
                .await;
            let line = format!("{seq}. {}", step.target());
            let entry = match result {
                Ok(Undo::Done) | Ok(Undo::AsBefore) => {
                    report.done.push(line);
                    Entry::RolledBack {
                        seq: *seq,
                        at: now(),
                    }
                }
                Ok(Undo::Conflict(why)) => {
                    report.failed.push(format!(
                        "{line}: changed since the apply ({why}): left as it is (--force restores it anyway)"
                    ));
                    Entry::RollbackFailed {
                        seq: *seq,
                        error: format!("conflict: {why}"),
                        at: now(),
                    }
                }
                Err(e) => {
                    report.failed.push(format!("{line}: {e}"));
                    Entry::RollbackFailed {
                        seq: *seq,
                        error: e,
                        at: now(),
                    }
                }
            };
            let stop = matches!(entry, Entry::RollbackFailed { .. });
            writer.write(&entry)?;
            if stop {
                report.skipped.extend(
                    pending[i + 1..]
                        .iter()
                        .map(|(seq, step, _)| format!("{seq}. {}", step.target())),
                );
                break;
            }
        }
        Ok(report)
    }

    /// A key created with this journal's tags (found after a crash before `done`). Err when
    /// the keys cannot be listed: "not found" must not be guessed.
    async fn find_created(
        &self,
        region: &str,
        journal_id: &str,
        seq: usize,
    ) -> Result<Option<String>, String> {
        let kms = self.kms(region);
        let mut marker: Option<String> = None;
        loop {
            let out = kms
                .list_keys()
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| describe("kms:ListKeys", &e))?;
            for k in out.keys() {
                let Some(arn) = k.key_arn() else { continue };
                let tags = kms
                    .list_resource_tags()
                    .key_id(arn)
                    .send()
                    .await
                    .map_err(|e| describe("kms:ListResourceTags", &e))?;
                let has = |key: &str, value: &str| {
                    tags.tags()
                        .iter()
                        .any(|t| t.tag_key() == key && t.tag_value() == value)
                };
                if has(TAG_JOURNAL, journal_id) && has(TAG_STEP, &seq.to_string()) {
                    return Ok(Some(arn.to_owned()));
                }
            }
            match out.next_marker() {
                Some(m) if out.truncated() => marker = Some(m.to_owned()),
                _ => return Ok(None),
            }
        }
    }

    async fn undo(
        &self,
        step: &Step,
        prior: &Prior,
        created: Option<&String>,
        by_id: &BTreeMap<String, String>,
        options: RollbackOptions,
    ) -> Result<Undo, String> {
        let region = step.region();
        let kms = || self.kms(region);
        let key = |k: &KeyTarget| match k {
            KeyTarget::Existing { arn } => Some(arn.clone()),
            KeyTarget::New { id } => by_id.get(id).cloned(),
        };
        let conflict = |what: String| Ok(Undo::Conflict(what));
        match (step, prior) {
            (Step::CreateKey { .. }, _) => {
                // Never created (the call failed before AWS made it): nothing to undo.
                let Some(arn) = created else {
                    return Ok(Undo::AsBefore);
                };
                let state = self.key_state(region, arn).await?;
                if state == "Enabled" {
                    kms()
                        .disable_key()
                        .key_id(key_id(arn))
                        .send()
                        .await
                        .map_err(|e| describe("kms:DisableKey", &e))?;
                }
                if options.delete_keys && state != "PendingDeletion" {
                    kms()
                        .schedule_key_deletion()
                        .key_id(key_id(arn))
                        .pending_window_in_days(options.pending_days)
                        .send()
                        .await
                        .map_err(|e| describe("kms:ScheduleKeyDeletion", &e))?;
                }
                Ok(Undo::Done)
            }
            (Step::EnableKeyRotation { key: k, .. }, Prior::Rotation { enabled: false }) => {
                let Some(arn) = key(k) else {
                    return Ok(Undo::AsBefore);
                };
                if !self.rotation(region, &arn).await? {
                    return Ok(Undo::AsBefore);
                }
                kms()
                    .disable_key_rotation()
                    .key_id(arn)
                    .send()
                    .await
                    .map_err(|e| describe("kms:DisableKeyRotation", &e))?;
                Ok(Undo::Done)
            }
            (Step::CreateAlias { alias, key: k, .. }, _) => {
                let target = match kms().describe_key().key_id(alias).send().await {
                    Ok(out) => out.key_metadata().and_then(|m| m.arn()).map(str::to_owned),
                    Err(e) if code(&e) == Some("NotFoundException") => return Ok(Undo::AsBefore),
                    Err(e) => return Err(describe("kms:DescribeKey", &e)),
                };
                // Only an alias that names the key this apply created is this apply's.
                if (target.is_none() || target != key(k)) && !options.force {
                    return conflict(format!(
                        "{alias} names {}, not the key this apply created",
                        target.as_deref().unwrap_or("another key")
                    ));
                }
                kms()
                    .delete_alias()
                    .alias_name(alias)
                    .send()
                    .await
                    .map_err(|e| describe("kms:DeleteAlias", &e))?;
                Ok(Undo::Done)
            }
            (Step::EnableKey { key_arn, .. }, Prior::KeyState { .. }) => {
                match self.key_state(region, key_arn).await?.as_str() {
                    "Disabled" => Ok(Undo::AsBefore),
                    "Enabled" => {
                        kms()
                            .disable_key()
                            .key_id(key_id(key_arn))
                            .send()
                            .await
                            .map_err(|e| describe("kms:DisableKey", &e))?;
                        Ok(Undo::Done)
                    }
                    other => conflict(format!("the key is {other}")),
                }
            }
            (Step::PutKeyPolicy { key_arn, after, .. }, Prior::KeyPolicy { policy }) => {
                let now = self.key_policy(region, key_arn).await?;
                if same_policy(&now, policy) {
                    return Ok(Undo::AsBefore);
                }
                if !same_policy(&now, after) && !options.force {
                    return conflict("the key policy was edited after the apply".into());
                }
                kms()
                    .put_key_policy()
                    .key_id(key_arn)
                    .policy_name("default")
                    .policy(policy)
                    .send()
                    .await
                    .map_err(|e| describe("kms:PutKeyPolicy", &e))?;
                Ok(Undo::Done)
            }
            (
                Step::UpdateTrailKey {
                    trail_arn, after, ..
                },
                Prior::TrailKey { kms_key_id },
            ) => {
                let (now, _) = self.trail(region, trail_arn).await?;
                let now = now.filter(|k| !k.is_empty());
                let before = kms_key_id.clone().filter(|k| !k.is_empty());
                if now == before {
                    return Ok(Undo::AsBefore);
                }
                if now != key(after) && !options.force {
                    return conflict(format!(
                        "the trail now uses {}",
                        now.as_deref().unwrap_or("no key")
                    ));
                }
                // "" turns encryption off: the documented backout.
                self.cloudtrail(region)
                    .update_trail()
                    .name(trail_arn)
                    .kms_key_id(before.unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| describe("cloudtrail:UpdateTrail", &e))?;
                Ok(Undo::Done)
            }
            (
                Step::EnableLogFileValidation { trail_arn, .. },
                Prior::LogFileValidation { enabled },
            ) => {
                let (_, now) = self.trail(region, trail_arn).await?;
                if now == *enabled {
                    return Ok(Undo::AsBefore);
                }
                self.cloudtrail(region)
                    .update_trail()
                    .name(trail_arn)
                    .enable_log_file_validation(*enabled)
                    .send()
                    .await
                    .map_err(|e| describe("cloudtrail:UpdateTrail", &e))?;
                Ok(Undo::Done)
            }
            // Rotation that was already on: nothing to undo.
            _ => Ok(Undo::AsBefore),
        }
    }
}
