//! Evidence types. Every property a check decides on is a [`Fact`]: known, unknown before
//! deployment (infrastructure as code) or unreadable (a live read failed). A check that needs
//! a property that is not known reports `indeterminate` or `error`, never `pass`.

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::fact::Fact;
use crate::iam::IamAuthorization;

fn known_none<T>() -> Fact<Option<T>> {
    Fact::Known(None)
}

fn known_false() -> Fact<bool> {
    Fact::Known(false)
}

/// A CloudTrail trail, as read in its home Region.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Trail {
    /// `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`: the trail's identity.
    pub arn: String,
    pub name: String,
    pub home_region: String,
    /// The owning account (for organization trails, the management account).
    pub account: String,
    /// The bucket receiving the logs.
    #[serde(default)]
    pub s3_bucket_name: Fact<String>,
    /// `None`: no prefix (the field is absent from old evidence files when there is none).
    #[serde(default = "known_none")]
    pub s3_key_prefix: Fact<Option<String>>,
    /// `KmsKeyId` as returned by AWS (key ARN, key id, alias name or alias ARN). `None` or
    /// `Some("")` means no key (UpdateTrail `--kms-key-id ""`).
    #[serde(default = "known_none")]
    pub kms_key_id: Fact<Option<String>>,
    #[serde(default = "known_false")]
    pub is_multi_region: Fact<bool>,
    #[serde(default = "known_false")]
    pub is_organization_trail: Fact<bool>,
    #[serde(default)]
    pub log_file_validation_enabled: Fact<bool>,
    /// `HasInsightSelectors`: CloudTrail Insights is on (its files go to `CloudTrail-Insight/`).
    #[serde(default)]
    pub has_insight_selectors: Fact<bool>,
    /// GetTrailStatus, read in the home Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TrailStatus>,
    /// Why the status could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_error: Option<String>,
    /// The most recent log file found under the trail's log path in the window (the last two
    /// hours: ListObjectsV2, then HeadObject, metadata only); `Known(None)` when none was found
    /// there.
    #[serde(default)]
    pub latest_log_file: Fact<Option<DeliveredObject>>,
    /// Where it was searched (the folders of the window, and where each listing started).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_file_search: Vec<String>,
    /// When it was searched (RFC 3339): the end of the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file_searched_at: Option<String>,
    /// Infrastructure as code: the bucket resource the trail refers to when the bucket's name is
    /// generated at deploy time (logical id or address). It identifies the bucket's evidence
    /// (its Region is known) while `s3_bucket_name` stays unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket_resource: Option<String>,
    /// Infrastructure as code: why the trail's name is not known before deployment (a
    /// CloudFormation trail without `TrailName` gets a generated name). `arn` then only
    /// identifies the resource in reports; the ARN CloudTrail's requests carry is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_unknown: Option<String>,
}

/// How many hours back from the collection a delivered log file is searched for (TS016): the
/// collector's window and the check's reading of it.
pub const LOG_FILE_WINDOW_HOURS: u64 = 2;

/// A log file CloudTrail delivered, as HeadObject describes it (never its contents).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveredObject {
    /// The object key.
    pub key: String,
    /// `LastModified`, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// `ServerSideEncryption`: `aws:kms`, `aws:kms:dsse`, `AES256`, or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_encryption: Option<String>,
    /// `SSEKMSKeyId`: the KMS key that encrypted it (a key ARN on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_key_enabled: Option<bool>,
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
            s3_key_prefix: Fact::Known(None),
            kms_key_id: Fact::Known(None),
            is_multi_region: Fact::Known(false),
            is_organization_trail: Fact::Known(false),
            ..Trail::default()
        }
    }

    /// The configured key id when it is known and set (an empty string is "no key").
    pub fn key_id(&self) -> Option<&str> {
        self.key_setting().known().copied().flatten()
    }

    /// Whether the trail has a key: `Known(Some(id))`, `Known(None)` (no key, or `""`), or
    /// why that is not known.
    pub fn key_setting(&self) -> Fact<Option<&str>> {
        self.kms_key_id
            .as_ref()
            .map(|k| k.as_deref().filter(|k| !k.trim().is_empty()))
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
    /// The Region the key lives in.
    #[serde(default)]
    pub region: Fact<String>,
    /// `KeyState`: Enabled, Disabled, PendingDeletion, PendingImport, Unavailable, ...
    #[serde(default)]
    pub state: Fact<String>,
    /// `KeyManager`: CUSTOMER or AWS.
    #[serde(default)]
    pub manager: Fact<String>,
    #[serde(default)]
    pub key_spec: Fact<String>,
    /// `KeyUsage`. See [`Key::usage`] for the value AWS's rules imply when it is missing.
    #[serde(default)]
    pub key_usage: Fact<String>,
    #[serde(default)]
    pub multi_region: Fact<bool>,
    /// For a multi-Region key: the Regions of the primary and every replica.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multi_region_regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The key policy document (policy name `default`), as text.
    #[serde(default)]
    pub policy: Fact<String>,
    #[serde(default)]
    pub rotation_enabled: Fact<bool>,
    /// The key's grants (ListGrants): who else may use it, outside the key policy.
    #[serde(default)]
    pub grants: Fact<Vec<Grant>>,
}

/// A KMS grant, as ListGrants returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Grant {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub grant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The principal the grant gives the operations to (an ARN or a service principal; may be
    /// empty when the grantee is a service, see `grantee_service_principal`).
    #[serde(default)]
    pub grantee_principal: String,
    /// `GranteeServicePrincipal`: the grantee is this AWS service (acting for a resource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee_service_principal: Option<String>,
    /// `Constraints.SourceArn`: the operations are allowed only on behalf of this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    /// `Decrypt`, `Encrypt`, `GenerateDataKey`, ...
    pub operations: Vec<String>,
    /// `Constraints.EncryptionContextEquals`: the operations are allowed only when the request's
    /// encryption context is exactly this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<std::collections::BTreeMap<String, String>>,
    /// `Constraints.EncryptionContextSubset`: allowed only when the request's context includes
    /// these pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<std::collections::BTreeMap<String, String>>,
}

/// The `KeyUsage` AWS's rules imply for a key spec: a `SYMMETRIC_DEFAULT` key can only be
/// `ENCRYPT_DECRYPT` (KMS Developer Guide, "Key spec reference"). Other specs allow several.
pub fn usage_implied_by_spec(spec: &str) -> Option<&'static str> {
    (spec == "SYMMETRIC_DEFAULT").then_some("ENCRYPT_DECRYPT")
}

impl Key {
    /// AWS-managed: `KeyManager` is AWS, or an `alias/aws/...` alias targets it (AWS reserves
    /// that prefix, so only AWS can create such aliases).
    pub fn is_aws_managed(&self) -> Fact<bool> {
        let by_alias = self.aliases.iter().any(|a| a.starts_with("alias/aws/"));
        if by_alias {
            return Fact::Known(true);
        }
        // KeyManager is AWS or CUSTOMER; anything else (a value a newer API adds, a typo in an
        // evidence file) decides nothing.
        match self.manager.as_deref() {
            Fact::Known("AWS") => Fact::Known(true),
            Fact::Known("CUSTOMER") => Fact::Known(false),
            Fact::Known(other) => {
                Fact::Unreadable(format!("KeyManager {other:?} is neither AWS nor CUSTOMER"))
            }
            Fact::Unknown(why) => Fact::Unknown(why.to_owned()),
            Fact::Unreadable(why) => Fact::Unreadable(why.to_owned()),
        }
    }

    /// `KeyUsage`, or the usage the known key spec implies when it was not returned.
    pub fn usage(&self) -> Fact<String> {
        if self.key_usage.is_known() {
            return self.key_usage.clone();
        }
        match self.key_spec.known().and_then(|s| usage_implied_by_spec(s)) {
            Some(usage) => Fact::Known(usage.to_owned()),
            None => self.key_usage.clone(),
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

/// An S3 bucket receiving a trail's logs: its Region (GetBucketLocation) and its bucket
/// policy (GetBucketPolicy, read in the bucket's Region). A property an older evidence file
/// lacks is "not collected" (unreadable), never a value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    #[serde(default)]
    pub region: Fact<String>,
    /// `Known(false)`: S3 answered `NoSuchBucket` (the trail delivers nowhere).
    #[serde(default)]
    pub exists: Fact<bool>,
    /// The bucket policy document as text; `Known(None)` when the bucket has none
    /// (`NoSuchBucketPolicy`), which lets no service principal write to it.
    #[serde(default)]
    pub policy: Fact<Option<String>>,
    /// S3 Bucket Keys are on for SSE-KMS objects (`BucketKeyEnabled` in the bucket's default
    /// encryption, GetBucketEncryption): objects' encryption context is then the bucket ARN, and
    /// the CloudTrail User Guide requires `kms:Decrypt` to create or update an encrypted trail.
    #[serde(default)]
    pub bucket_key: Fact<bool>,
    /// Object Ownership (GetBucketOwnershipControls): `BucketOwnerEnforced` (ACLs disabled),
    /// `BucketOwnerPreferred` or `ObjectWriter`; `ObjectWriter` when the bucket has no ownership
    /// controls (ACLs enabled, S3's behaviour before controls existed).
    #[serde(default)]
    pub object_ownership: Fact<String>,
}

/// A CloudTrail Lake event data store.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventDataStore {
    pub arn: String,
    pub name: String,
    pub region: String,
    /// `KmsKeyId`; `None`: encrypted with an AWS-owned key.
    #[serde(default = "known_none")]
    pub kms_key_id: Fact<Option<String>>,
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
    /// The account could not be read at all (its role could not be assumed, its credentials
    /// were refused): every account-level check is `error` with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The AWS Organization the account belongs to, when the collection knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationInfo>,
    /// Organization trails owned by another account of the same collection (the management
    /// account) that log this account. They are evaluated once, in their owner account; here
    /// they count for Region coverage (TS012), with the status read in the owner account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organization_trails: Vec<Trail>,
    /// The account's IAM users, roles, groups and managed policies
    /// (`iam:GetAccountAuthorizationDetails`): who the key policy's delegation to the account
    /// and the bucket's owner really let read the logs.
    #[serde(default)]
    pub iam: Fact<Arc<IamAuthorization>>,
    /// The buckets the account owns (`s3:ListBuckets`): whether a trail's bucket is in the
    /// account (its IAM policies can then grant reading the log objects) or in another one.
    #[serde(default)]
    pub owned_buckets: Fact<Vec<String>>,
    /// Accounts whose principals may read the logs (`--trusted-accounts`), besides the
    /// account itself: set by the auditor at evaluation time, never collected (TS015).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_accounts: Vec<String>,
}

/// An AWS Organization, as far as a collection knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrganizationInfo {
    /// `o-...`
    pub id: String,
    pub management_account: String,
    /// Every ACTIVE account of the organization (the management account included). Set on the
    /// account that owns the organization trails, so that their key policy is evaluated for
    /// every member account's log delivery (TS006); empty elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_accounts: Vec<String>,
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
        if trail.is_organization_trail.is(&true) == Some(true) && trail.account == self.account {
            ev.organization = self.organization.clone();
        }
        ev.bucket = trail
            .s3_bucket_name
            .known()
            .or(trail.s3_bucket_resource.as_ref())
            .and_then(|b| self.bucket(b))
            .cloned();
        ev.iam = self.iam.clone();
        ev.trusted_accounts = self.trusted_accounts.clone();
        ev.bucket_in_account = match (&self.owned_buckets, trail.s3_bucket_name.known()) {
            (Fact::Known(owned), Some(name)) => Fact::Known(owned.iter().any(|b| b == name)),
            (Fact::Known(_), None) => Fact::Unknown("the trail's bucket is not known".into()),
            (Fact::Unknown(why), _) => Fact::Unknown(why.clone()),
            (Fact::Unreadable(why), _) => Fact::Unreadable(why.clone()),
        };
        ev.log_folder_shared_with = self.log_folder_sharers(trail);
        // Only trails listed in their home Region can be seen: a single-Region trail of an
        // unscanned (or unreadable) Region could write into the same folder.
        ev.log_folder_sharers_unknown =
            match self.regions.iter().find(|r| r.region == trail.home_region) {
                None => Some(format!(
                    "{} was not scanned: its single-Region trails are not known",
                    trail.home_region
                )),
                Some(r) => r.trails_error.as_ref().map(|e| {
                    format!(
                        "the trails of {} could not be listed: {e}",
                        trail.home_region
                    )
                }),
            };
        ev
    }

    /// The other trails of the account that write, or may write (a fact not known), log files
    /// into the folder where `trail`'s files for its home Region go: same bucket, same S3 key
    /// prefix, same kind (organization or not), and logging that Region (their home Region, or
    /// multi-Region). A file found there cannot be told apart by trail (log file names carry
    /// the account, Region and time, not the trail).
    pub fn log_folder_sharers(&self, trail: &Trail) -> Vec<String> {
        fn maybe_same<T: PartialEq>(a: Fact<T>, b: Fact<T>) -> bool {
            match (a.known(), b.known()) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            }
        }
        let prefix = |t: &Trail| {
            t.s3_key_prefix.as_ref().map(|p| {
                p.as_deref()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_owned()
            })
        };
        self.trails
            .iter()
            .filter(|u| u.arn != trail.arn && u.account == trail.account)
            .filter(|u| maybe_same(u.s3_bucket_name.as_ref(), trail.s3_bucket_name.as_ref()))
            .filter(|u| maybe_same(prefix(u), prefix(trail)))
            .filter(|u| {
                maybe_same(
                    u.is_organization_trail.as_ref(),
                    trail.is_organization_trail.as_ref(),
                )
            })
            .filter(|u| {
                u.home_region == trail.home_region || u.is_multi_region.is(&false) != Some(true)
            })
            .map(|u| u.arn.clone())
            .collect()
    }
}

/// Infrastructure as code: the deploying account, when the configuration does not say which
/// it is. It stands for one fixed but unknown account in every ARN the scan builds (so that
/// `${AWS::AccountId}` in a key policy matches the trail's own ARN), never for a real account;
/// reports show it as `${AWS::AccountId}`.
pub const SYMBOLIC_ACCOUNT: &str = "000000000000";
/// Infrastructure as code: the deploying Region, when the configuration does not set it (see
/// [`SYMBOLIC_ACCOUNT`]); reports show it as `${AWS::Region}`.
pub const SYMBOLIC_REGION: &str = "deploying-region-1";

/// The Regions of the `aws` partition (what the symbolic deploying Region may stand for), as
/// of 2026. A Region that is not listed is still represented by the symbol itself, which
/// matches no Region name a policy mentions.
pub const AWS_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
];

/// Whether a `KmsKeyId` names an AWS-managed key by its alias (`alias/aws/...`, or an alias
/// ARN ending in it). AWS reserves the prefix, so this holds whether or not the alias resolves.
pub fn names_aws_managed_alias(reference: &str) -> bool {
    let resource = match reference.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "kms", _, _, resource] => resource,
        _ => reference,
    };
    resource.starts_with("alias/aws/")
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

impl Evidence {
    /// An evidence document of one account, written by trailseal `tool_version`.
    pub fn of_account(
        tool_version: &str,
        collected_at: String,
        account: AccountEvidence,
    ) -> Evidence {
        Evidence {
            schema: EVIDENCE_SCHEMA.to_owned(),
            tool: ToolInfo {
                name: "trailseal".to_owned(),
                version: tool_version.to_owned(),
            },
            collected_at,
            accounts: vec![account],
        }
    }
}

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
    /// An organization trail in its owner account: the organization, with its member accounts
    /// when known (TS006 evaluates CloudTrail's request for each member's log files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationInfo>,
    /// Other trails writing into the same log folder (see
    /// [`AccountEvidence::log_folder_sharers`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_folder_shared_with: Vec<String>,
    /// Why other trails writing into that folder may exist unseen (the trail's home Region was
    /// not scanned, or its trails could not be listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_folder_sharers_unknown: Option<String>,
    /// The IAM identities of the trail's account (shared, not copied, between trails).
    #[serde(default)]
    pub iam: Fact<Arc<IamAuthorization>>,
    /// The bucket belongs to the trail's account.
    #[serde(default)]
    pub bucket_in_account: Fact<bool>,
    /// See [`AccountEvidence::trusted_accounts`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_accounts: Vec<String>,
}
