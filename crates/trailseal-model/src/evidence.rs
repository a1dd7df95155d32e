//! Evidence types. Every field that AWS may not return, or that a caller may not have been
//! allowed to read, is an `Option`: a check that needs a missing field reports `error` or
//! `indeterminate`, never `pass`.

use serde::{Deserialize, Serialize};

/// A CloudTrail trail, as read in its home Region.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Trail {
    /// `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`: the trail's identity.
    pub arn: String,
    pub name: String,
    pub home_region: String,
    /// The owning account (for organization trails, the management account).
    pub account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
    /// `KmsKeyId` as returned by AWS (key ARN, key id, alias name or alias ARN). `Some("")`
    /// means no key (UpdateTrail `--kms-key-id ""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub is_multi_region: bool,
    #[serde(default)]
    pub is_organization_trail: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file_validation_enabled: Option<bool>,
    /// GetTrailStatus, read in the home Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TrailStatus>,
    /// Why the status could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_error: Option<String>,
    /// Infrastructure as code: why `kms_key_id` cannot be known before deployment (e.g. it
    /// depends on a variable without a value). TS001 is then `indeterminate`, never `pass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id_unknown: Option<String>,
}

/// What GetTrailStatus says about delivery.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrailStatus {
    pub is_logging: bool,
    /// `LatestDeliveryError`: the S3 or KMS error of the latest failed log delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivery_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_digest_delivery_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivery_time: Option<String>,
}

impl Trail {
    /// Builds a trail from its ARN alone (name, Region and account are read from it).
    pub fn from_arn(arn: &str) -> Trail {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let region = parts.get(3).copied().unwrap_or_default();
        let account = parts.get(4).copied().unwrap_or_default();
        let name = parts
            .get(5)
            .and_then(|r| r.strip_prefix("trail/"))
            .unwrap_or_default();
        Trail {
            arn: arn.to_owned(),
            name: name.to_owned(),
            home_region: region.to_owned(),
            account: account.to_owned(),
            ..Trail::default()
        }
    }

    /// The configured key id, treating an empty string as "no key".
    pub fn key_id(&self) -> Option<&str> {
        self.kms_key_id.as_deref().filter(|k| !k.trim().is_empty())
    }
}

/// A KMS key as resolved from a trail's `KmsKeyId`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Key {
    /// The key ARN, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `KeyState`: Enabled, Disabled, PendingDeletion, PendingImport, Unavailable, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `KeyManager`: CUSTOMER or AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_spec: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_region: Option<bool>,
    /// For a multi-Region key: the Regions of the primary and every replica.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multi_region_regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The key policy document (policy name `default`), as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_enabled: Option<bool>,
    /// Why the key (or part of it) could not be read, e.g. `AccessDenied on kms:GetKeyPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
    /// Why some properties left `None` cannot be known before deployment (infrastructure as
    /// code, e.g. "KeyPolicy uses !ImportValue"): checks that need them are `indeterminate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

impl Key {
    /// AWS-managed: `KeyManager` is AWS, or an `alias/aws/...` alias targets it (AWS reserves
    /// that prefix, so only AWS can create such aliases).
    pub fn is_aws_managed(&self) -> Option<bool> {
        let by_alias = self.aliases.iter().any(|a| a.starts_with("alias/aws/"));
        match self.manager.as_deref() {
            Some("AWS") => Some(true),
            Some(_) => Some(by_alias),
            None if by_alias => Some(true),
            None => None,
        }
    }
}

/// Why a key reference could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "message")]
pub enum LookupError {
    /// The key (or alias) does not exist.
    NotFound(String),
    /// It could not be read (AccessDenied, throttling, network...).
    Failed(String),
    /// It cannot be known before deployment (infrastructure as code: a key outside the
    /// template, a reference through a parameter without a value). Checks that need the key
    /// are `indeterminate`, never `pass`.
    Unknown(String),
}

/// How a trail's `KmsKeyId` resolved, in the key's Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef {
    /// The Region the reference was resolved in.
    pub region: String,
    /// The reference as the trail holds it.
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<LookupError>,
}

/// An S3 bucket's Region, from GetBucketLocation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the Region cannot be known before deployment (a bucket outside the template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

/// A CloudTrail Lake event data store.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventDataStore {
    pub arn: String,
    pub name: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// What was read in one Region; `error` is set for each part that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RegionEvidence {
    pub region: String,
    /// DescribeTrails failed: the Region's trails (and coverage) are unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trails_error: Option<String>,
    /// ListEventDataStores / GetEventDataStore failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_data_stores_error: Option<String>,
}

/// Everything collected for one account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountEvidence {
    pub account: String,
    #[serde(default)]
    pub partition: String,
    /// The Regions that were scanned.
    pub regions: Vec<RegionEvidence>,
    /// Every trail once, by ARN (shadow copies merged), as read in its home Region.
    pub trails: Vec<Trail>,
    pub key_refs: Vec<KeyRef>,
    /// Every distinct key once, by ARN.
    pub keys: Vec<Key>,
    pub buckets: Vec<Bucket>,
    #[serde(default)]
    pub event_data_stores: Vec<EventDataStore>,
}

impl AccountEvidence {
    /// Looks up how `reference` resolved in `region`.
    pub fn key_ref(&self, region: &str, reference: &str) -> Option<&KeyRef> {
        self.key_refs
            .iter()
            .find(|r| r.region == region && r.reference == reference)
    }

    pub fn key(&self, arn: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.arn.as_deref() == Some(arn))
    }

    pub fn bucket(&self, name: &str) -> Option<&Bucket> {
        self.buckets.iter().find(|b| b.name == name)
    }

    /// The per-trail evidence the trail checks take.
    pub fn trail_evidence(&self, trail: &Trail) -> TrailEvidence {
        let mut ev = TrailEvidence {
            trail: trail.clone(),
            ..TrailEvidence::default()
        };
        if let Some(reference) = trail.key_id() {
            let region = key_region(reference, &trail.home_region);
            match self.key_ref(&region, reference) {
                Some(r) => {
                    ev.key_error = r.error.clone();
                    ev.key = r.key_arn.as_deref().and_then(|a| self.key(a)).cloned();
                    if ev.key.is_none() && ev.key_error.is_none() {
                        ev.key_error = Some(LookupError::Failed(
                            "the key was resolved but not read".into(),
                        ));
                    }
                }
                None => {
                    ev.key_error = Some(LookupError::Failed("the key was not collected".into()))
                }
            }
        }
        ev.bucket = trail
            .s3_bucket_name
            .as_deref()
            .and_then(|b| self.bucket(b))
            .cloned();
        ev
    }
}

/// The Region a `KmsKeyId` refers to: the Region inside an ARN, else the trail's home Region.
pub fn key_region(reference: &str, home_region: &str) -> String {
    let parts: Vec<&str> = reference.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "kms", region, _, _] if !region.is_empty() => (*region).to_owned(),
        _ => home_region.to_owned(),
    }
}

/// A whole collection: what `trailseal collect` writes and `audit --evidence` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `trailseal.evidence/v1`
    pub schema: String,
    pub tool: ToolInfo,
    /// RFC 3339 UTC time the collection finished.
    pub collected_at: String,
    pub accounts: Vec<AccountEvidence>,
}

pub const EVIDENCE_SCHEMA: &str = "trailseal.evidence/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

/// What the per-trail checks look at: the trail, its key (if resolved) and its bucket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrailEvidence {
    pub trail: Trail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    /// Why the key could not be resolved (None when resolved, or when the trail has no key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_error: Option<LookupError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Bucket>,
}
