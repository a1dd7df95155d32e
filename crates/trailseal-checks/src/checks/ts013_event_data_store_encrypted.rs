//! TS013 event-data-store-encrypted (medium)
//!
//! What it checks
//!   Every CloudTrail Lake event data store is encrypted with a customer-managed KMS key
//!   (`KmsKeyId` set, and the key neither AWS-managed nor missing). One finding per event data
//!   store (resource: its ARN); a Region whose stores could not be listed gives an `error`
//!   finding with resource `arn:aws:cloudtrail:REGION:ACCOUNT:`; an account with no event data
//!   store gives one `pass` with resource `arn:aws:cloudtrail::ACCOUNT:`.
//!
//! Why it matters
//!   Lake stores hold the same events as trails, queryable for years. Without a
//!   customer-managed key they are encrypted with an AWS owned key you cannot audit or revoke.
//!
//! Example
//!   An event data store created in the console with the default encryption.
//!
//! How to fix
//!   The key of an event data store cannot be removed once set, but can be set on a store that
//!   has none: `aws cloudtrail update-event-data-store --event-data-store <ARN> --kms-key-id
//!   <key ARN>`, with a key policy that allows cloudtrail.amazonaws.com to use it.

use serde_json::json;
use trailseal_model::{
    key_region, names_aws_managed_alias, AccountEvidence, Fact, Finding, LookupError, Severity,
    Status,
};

use crate::support::{account_finding, no_region_scanned};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS013",
        name: "event-data-store-encrypted",
        severity: Severity::Medium,
        title: "a CloudTrail Lake event data store is not encrypted with a customer-managed key",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: false,
        source: include_str!("ts013_event_data_store_encrypted.rs"),
    },
    runner: Runner::Account(run),
};

fn run(account: &AccountEvidence) -> Vec<Finding> {
    let info = &CHECK.info;
    let mut out = Vec::new();
    if let Some(f) = no_region_scanned(
        info,
        account,
        "which CloudTrail Lake event data stores exist",
    ) {
        return vec![f];
    }
    for r in &account.regions {
        if let Some(err) = &r.event_data_stores_error {
            out.push(account_finding(
                info,
                account,
                &r.region,
                None,
                Status::Error,
                format!("could not list the CloudTrail Lake event data stores of {}: {err}", r.region),
                "Grant the auditing principal cloudtrail:ListEventDataStores and cloudtrail:GetEventDataStore.".into(),
                json!({}),
            ));
        }
    }
    for store in &account.event_data_stores {
        let fix = format!(
            "aws cloudtrail update-event-data-store --region {} --event-data-store {} --kms-key-id <customer-managed key ARN>",
            store.region, store.arn
        );
        let undecided = |status: Status, message: String| {
            account_finding(
                info,
                account,
                &store.region,
                Some(&store.arn),
                status,
                message,
                fix.clone(),
                json!({"kms_key_id": store.kms_key_id}),
            )
        };
        let reference = match &store.kms_key_id {
            Fact::Known(Some(r)) if !r.is_empty() => r.as_str(),
            Fact::Known(_) => {
                out.push(account_finding(
                    info,
                    account,
                    &store.region,
                    Some(&store.arn),
                    Status::Fail,
                    format!("event data store {} is encrypted with an AWS owned key, not a customer-managed one", store.name),
                    fix,
                    json!({"kms_key_id": null}),
                ));
                continue;
            }
            Fact::Unknown(why) => {
                out.push(undecided(
                    Status::Indeterminate,
                    format!(
                        "the key of event data store {} cannot be known before deployment: {why}",
                        store.name
                    ),
                ));
                continue;
            }
            Fact::Unreadable(why) => {
                out.push(undecided(
                    Status::Error,
                    format!(
                        "could not read the key of event data store {}: {why}",
                        store.name
                    ),
                ));
                continue;
            }
        };
        let region = key_region(reference, &store.region);
        let key_ref = account.key_ref(&region, reference);
        let key = key_ref
            .and_then(|r| r.key_arn.as_deref())
            .and_then(|a| account.key(a));
        // An `alias/aws/...` name is AWS-managed whether or not the alias resolves.
        let managed = if names_aws_managed_alias(reference) {
            Fact::Known(true)
        } else {
            match (key, key_ref.and_then(|r| r.error.as_ref())) {
                (Some(k), _) => k.is_aws_managed(),
                (None, Some(LookupError::Unknown(why))) => Fact::Unknown(why.clone()),
                (None, Some(LookupError::NotFound(why))) => {
                    Fact::Unreadable(format!("the key does not exist: {why}"))
                }
                (None, Some(LookupError::Failed(why))) => Fact::Unreadable(why.clone()),
                (None, None) => Fact::not_collected(),
            }
        };
        let (status, message) = match managed {
            Fact::Known(false) => (
                Status::Pass,
                format!(
                    "event data store {} is encrypted with customer-managed key {reference}",
                    store.name
                ),
            ),
            Fact::Known(true) => (
                Status::Fail,
                format!(
                    "event data store {} uses AWS-managed key {reference}",
                    store.name
                ),
            ),
            Fact::Unknown(why) => (
                Status::Indeterminate,
                format!(
                    "key {reference} of event data store {} cannot be known before deployment: {why}",
                    store.name
                ),
            ),
            Fact::Unreadable(why) => (
                Status::Error,
                format!(
                    "could not read key {reference} of event data store {}: {why}",
                    store.name
                ),
            ),
        };
        out.push(account_finding(
            info,
            account,
            &store.region,
            Some(&store.arn),
            status,
            message,
            fix,
            json!({"kms_key_id": reference}),
        ));
    }
    let read_everywhere = account
        .regions
        .iter()
        .all(|r| r.event_data_stores_error.is_none());
    if account.event_data_stores.is_empty() && read_everywhere {
        let partition = if account.partition.is_empty() {
            "aws"
        } else {
            account.partition.as_str()
        };
        let resource = format!("arn:{partition}:cloudtrail::{}:", account.account);
        out.push(account_finding(
            info,
            account,
            "",
            Some(&resource),
            Status::Pass,
            "no CloudTrail Lake event data store in the scanned Regions".into(),
            "Nothing to do.".into(),
            json!({}),
        ));
    }
    out
}
