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
}

/// What the per-trail checks look at: the trail and, if resolved, its key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrailEvidence {
    pub trail: Trail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
}
