//! The requests CloudTrail (and log readers) present to KMS for a trail.
//!
//! From the CloudTrail User Guide ("Configure AWS KMS key policies for CloudTrail", "How AWS
//! CloudTrail uses AWS KMS"): CloudTrail calls `kms:GenerateDataKey` as the service principal
//! `cloudtrail.amazonaws.com` with `aws:SourceArn` = the trail ARN, `aws:SourceAccount` = the
//! trail owner (the management account for organization trails), and an encryption context
//! holding `aws:cloudtrail:arn` (the trail ARN) and `aws:s3:arn` (the log object ARN, or the
//! bucket ARN when the bucket uses S3 Bucket Keys: Amazon S3 User Guide, "Using server-side
//! encryption with AWS KMS keys (SSE-KMS)", Encryption context). Every KMS call is made over
//! TLS (KMS API Reference: "All AWS KMS API calls must be ... transmitted using TLS"), so
//! `aws:SecureTransport` is `true`. Every key not listed here is Unknown, so a policy that
//! depends on anything else is reported `Indeterminate`, never `Allow`.
//!
//! What is not known about the trail (infrastructure as code) is [`Given::Unknown`]; the
//! request keys that depend on it are then Unknown or known only by a pattern
//! ([`KeyState::Pattern`]).

use crate::request::{pattern_literal, Context, KeyState, Request, RequestPrincipal, FRESH};

pub const CLOUDTRAIL_SERVICE: &str = "cloudtrail.amazonaws.com";
pub const EC_TRAIL_ARN: &str = "kms:EncryptionContext:aws:cloudtrail:arn";
pub const EC_S3_ARN: &str = "kms:EncryptionContext:aws:s3:arn";
pub const EC_KEYS: &str = "kms:EncryptionContextKeys";

/// A fact about the trail that is either known or not (e.g. a Terraform variable without a
/// value).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Given<T> {
    Known(T),
    #[default]
    Unknown,
}

impl<T> Given<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Given::Known(v) => Some(v),
            Given::Unknown => None,
        }
    }
}

/// What we know about a trail for building requests. [`TrailContext::new`] knows everything
/// but the bucket and its S3 Bucket Keys setting; `Default` knows nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrailContext {
    /// `arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME`. Partition, Region and account are
    /// always taken from it; the name only when [`TrailContext::name_known`].
    pub trail_arn: String,
    /// Whether the trail's name (the end of `trail_arn`) is known. A CloudFormation trail
    /// without `TrailName` gets a generated name: then `aws:SourceArn` and
    /// `kms:EncryptionContext:aws:cloudtrail:arn` are only known to match
    /// `arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/*`.
    pub name_known: bool,
    /// The S3 bucket receiving the logs. Unknown: the log object ARN is `arn:PARTITION:s3:::*`.
    pub bucket: Given<String>,
    /// The S3 key prefix: `Known(None)` (or an empty prefix) for no prefix, `Known(Some(p))`
    /// for logs under `p/AWSLogs/...`, `Unknown` when it is not known whether there is one.
    pub prefix: Given<Option<String>>,
    /// Whether the bucket uses S3 Bucket Keys (then the encryption context holds the bucket
    /// ARN instead of the object ARN). Unknown: either form.
    pub bucket_key: Given<bool>,
    /// The bucket uses an S3 Bucket Key for new objects: CloudTrail's statement also grants
    /// `kms:Decrypt` ([`TrailContext::encrypt_statement`]). Kept apart from `bucket_key`, which
    /// shapes the encryption context of every log file: files written before the setting
    /// changed keep theirs ("Existing objects are not affected", Amazon S3 User Guide).
    pub bucket_key_decrypt: bool,
    /// The key ARN (the request's resource), when known.
    pub key_arn: Option<String>,
    /// Organization trail: logs of every member account go under `AWSLogs/ORG_ID/ACCOUNT/`.
    /// Unknown: `aws:SourceAccount` is unknown and the object ARN is any `.../AWSLogs/*`.
    pub is_organization_trail: Given<bool>,
    /// An organization trail's log files of one member account: (organization id, account).
    /// They go under `AWSLogs/ORG_ID/ACCOUNT/` ("Organization trail log files", CloudTrail
    /// User Guide); without it every member's path is possible (`AWSLogs/*`).
    pub member: Option<(String, String)>,
}

/// The parts of an ARN: partition, service, region, account, resource.
/// The resource is the rest (it may hold `:`). Called for every request and statement the
/// checks build (tens per trail): a byte loop, not `splitn`.
pub fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut rest = arn.strip_prefix("arn:")?;
    let mut parts = [""; 4];
    for part in &mut parts {
        let colon = rest.bytes().position(|b| b == b':')?;
        *part = rest.get(..colon)?;
        rest = rest.get(colon + 1..)?;
    }
    let [partition, service, region, account] = parts;
    Some((partition, service, region, account, rest))
}

impl TrailContext {
    /// A trail whose ARN (name included) is known, that is not an organization trail and has no
    /// S3 key prefix; its bucket ([`TrailContext::with_bucket`]), the bucket's S3 Bucket Keys
    /// setting and the key ARN are unknown until set.
    pub fn new(trail_arn: &str) -> Self {
        TrailContext {
            trail_arn: trail_arn.to_owned(),
            name_known: true,
            bucket: Given::Unknown,
            prefix: Given::Known(None),
            bucket_key: Given::Unknown,
            bucket_key_decrypt: false,
            key_arn: None,
            is_organization_trail: Given::Known(false),
            member: None,
        }
    }

    /// The same organization trail, writing the log files of `account`, a member of the
    /// organization `org_id`.
    pub fn for_member(&self, org_id: &str, account: &str) -> Self {
        TrailContext {
            member: Some((org_id.to_owned(), account.to_owned())),
            ..self.clone()
        }
    }

    /// The same trail with its bucket known.
    pub fn with_bucket(mut self, bucket: &str) -> Self {
        self.bucket = Given::Known(bucket.to_owned());
        self
    }

    /// The account that owns the trail (for organization trails: the management account).
    pub fn account(&self) -> &str {
        arn_parts(&self.trail_arn).map(|p| p.3).unwrap_or_default()
    }

    pub fn region(&self) -> &str {
        arn_parts(&self.trail_arn).map(|p| p.2).unwrap_or_default()
    }

    pub fn partition(&self) -> &str {
        arn_parts(&self.trail_arn).map(|p| p.0).unwrap_or("aws")
    }

    /// The trail ARN (`aws:SourceArn`, `aws:cloudtrail:arn`): known, or a pattern when the
    /// name is not.
    pub fn trail_arn_state(&self) -> KeyState {
        if self.name_known {
            KeyState::Known(vec![self.trail_arn.clone()])
        } else {
            KeyState::pattern(vec![format!(
                "arn:{}:cloudtrail:{}:{}:trail/*",
                self.partition(),
                pattern_literal(self.region()),
                pattern_literal(self.account())
            )])
        }
    }

    /// `aws:s3:arn` of a log file: the object ARN
    /// `arn:PARTITION:s3:::BUCKET/[PREFIX/]AWSLogs/ACCOUNT/...` (`AWSLogs/...` for organization
    /// trails), or the bucket ARN `arn:PARTITION:s3:::BUCKET` with S3 Bucket Keys; a pattern
    /// covering every form that what is unknown allows.
    pub fn s3_object_arn(&self) -> KeyState {
        let partition = self.partition();
        let bucket = match &self.bucket {
            Given::Known(b) => pattern_literal(b),
            Given::Unknown => "*".to_owned(),
        };
        let prefix = match &self.prefix {
            Given::Known(Some(p)) if !p.trim_matches('/').is_empty() => {
                format!("{}/", pattern_literal(p.trim_end_matches('/')))
            }
            Given::Known(_) => String::new(),
            Given::Unknown => "*".to_owned(),
        };
        let logs = match self.is_organization_trail {
            Given::Known(false) => format!("AWSLogs/{}/*", pattern_literal(self.account())),
            Given::Known(true) => match &self.member {
                Some((org, account)) => format!(
                    "AWSLogs/{}/{}/*",
                    pattern_literal(org),
                    pattern_literal(account)
                ),
                None => "AWSLogs/*".to_owned(),
            },
            Given::Unknown => "AWSLogs/*".to_owned(),
        };
        let object = format!("arn:{partition}:s3:::{bucket}/{prefix}{logs}");
        let bucket_arn = format!("arn:{partition}:s3:::{bucket}");
        KeyState::pattern(match self.bucket_key {
            Given::Known(false) => vec![object],
            Given::Known(true) => vec![bucket_arn],
            Given::Unknown => vec![object, bucket_arn],
        })
    }

    fn encryption_context(&self, ctx: Context) -> Context {
        ctx.with(EC_TRAIL_ARN, self.trail_arn_state())
            .with(EC_S3_ARN, self.s3_object_arn())
            .with(
                EC_KEYS,
                KeyState::Known(vec!["aws:cloudtrail:arn".into(), "aws:s3:arn".into()]),
            )
    }

    /// Keys of every KMS request: KMS accepts only TLS.
    fn base_context() -> Context {
        Context::unknown_by_default().known("aws:SecureTransport", "true")
    }

    fn service_context(&self) -> Context {
        let source_account = match self.is_organization_trail {
            Given::Known(_) => KeyState::Known(vec![self.account().to_owned()]),
            Given::Unknown => KeyState::Unknown,
        };
        Self::base_context()
            .with("aws:SourceArn", self.trail_arn_state())
            .with("aws:SourceAccount", source_account)
    }

    /// CloudTrail asking KMS for a data key to encrypt a log file (TS006).
    pub fn generate_data_key_request(&self) -> Request {
        Request {
            principal: RequestPrincipal::service(CLOUDTRAIL_SERVICE),
            action: "kms:GenerateDataKey".into(),
            resource: self.key_arn.clone(),
            resource_pattern: false,
            context: self.encryption_context(self.service_context()),
        }
    }

    /// CloudTrail decrypting with the key (`kms:Decrypt`), with the log files' encryption
    /// context: what the CloudTrail User Guide requires "to create or update a trail with SSE-KMS
    /// encryption enabled" when the bucket uses an S3 Bucket Key (TS006).
    pub fn cloudtrail_decrypt_request(&self) -> Request {
        let mut request = self.generate_data_key_request();
        request.action = "kms:Decrypt".into();
        request
    }

    /// CloudTrail describing the key (TS007). DescribeKey carries no encryption context.
    pub fn describe_key_request(&self) -> Request {
        let context = self
            .service_context()
            .with(EC_TRAIL_ARN, KeyState::Absent)
            .with(EC_S3_ARN, KeyState::Absent)
            .with(EC_KEYS, KeyState::Absent);
        Request {
            principal: RequestPrincipal::service(CLOUDTRAIL_SERVICE),
            action: "kms:DescribeKey".into(),
            resource: self.key_arn.clone(),
            resource_pattern: false,
            context,
        }
    }

    /// A principal reading a log file: `kms:Decrypt` with the log file's encryption context,
    /// called directly (no `aws:SourceArn`/`aws:SourceAccount`). The identity keys
    /// (`kms:CallerAccount`, `aws:PrincipalAccount`, `aws:PrincipalArn`) follow from the
    /// principal; for [`RequestPrincipal::OtherAccount`] they hold a [`FRESH`] account.
    pub fn decrypt_request(&self, principal: RequestPrincipal) -> Request {
        self.principal_request(&self.decrypt_context(), "kms:Decrypt", principal)
    }

    /// The context of [`TrailContext::decrypt_request`] before the caller's own keys: the
    /// same for every caller (the readers analysis asks for many).
    pub(crate) fn decrypt_context(&self) -> Context {
        self.encryption_context(Self::base_context())
            .with("aws:SourceArn", KeyState::Absent)
            .with("aws:SourceAccount", KeyState::Absent)
    }

    /// `principal` calling `action` on the key in `context` (a [`TrailContext::decrypt_context`]
    /// or [`TrailContext::administer_context`]), with the keys that follow from who calls.
    pub(crate) fn principal_request(
        &self,
        context: &Context,
        action: &str,
        principal: RequestPrincipal,
    ) -> Request {
        let mut context = context.clone();
        self.set_principal_keys(&mut context, &principal);
        Request {
            principal,
            action: action.into(),
            resource: self.key_arn.clone(),
            resource_pattern: false,
            context,
        }
    }

    /// The keys that follow from who calls, for a principal calling directly (not a service):
    /// `kms:CallerAccount`, `aws:PrincipalAccount`, `aws:PrincipalArn` (a role's ARN for its
    /// sessions), `aws:PrincipalIsAWSService` false; for [`RequestPrincipal::OtherAccount`] a
    /// [`FRESH`] account.
    pub(crate) fn set_principal_keys(&self, context: &mut Context, principal: &RequestPrincipal) {
        let partition = self.partition();
        let members_of = |account: &str| {
            KeyState::Pattern(vec![
                format!("arn:{partition}:iam::{account}:*"),
                format!("arn:{partition}:sts::{account}:*"),
            ])
        };
        let account_state = match principal {
            RequestPrincipal::Aws { account, .. } | RequestPrincipal::AccountMember { account } => {
                Some(KeyState::Known(vec![account.clone()]))
            }
            RequestPrincipal::OtherAccount => Some(KeyState::Pattern(vec![FRESH.to_owned()])),
            RequestPrincipal::Service { .. } | RequestPrincipal::Anyone => None,
        };
        if let Some(state) = account_state {
            context.set("kms:CallerAccount", state.clone());
            context.set("aws:PrincipalAccount", state);
            context.set(
                "aws:PrincipalIsAWSService",
                KeyState::Known(vec!["false".into()]),
            );
            // Present only when an AWS service principal calls (IAM condition keys).
            context.set("aws:PrincipalServiceName", KeyState::Absent);
            context.set("aws:PrincipalServiceNamesList", KeyState::Absent);
        }
        match principal {
            RequestPrincipal::Aws { arn, role_arn, .. } => {
                // For an assumed-role session, aws:PrincipalArn is the role's ARN.
                let arn = role_arn.clone().unwrap_or_else(|| arn.clone());
                context.set("aws:PrincipalArn", KeyState::Known(vec![arn]));
            }
            RequestPrincipal::AccountMember { account } => {
                context.set("aws:PrincipalArn", members_of(account));
            }
            RequestPrincipal::OtherAccount => {
                context.set("aws:PrincipalArn", members_of(FRESH));
            }
            RequestPrincipal::Service { .. } | RequestPrincipal::Anyone => {}
        }
    }
}

impl TrailContext {
    /// A principal administering the key: `kms:PutKeyPolicy`, the permission AWS's policy
    /// lockout safety check requires ("The key policy must allow the calling principal to make
    /// a subsequent PutKeyPolicy request on the KMS key", AWS KMS API Reference, PutKeyPolicy,
    /// BypassPolicyLockoutSafetyCheck). The identity keys follow from the principal as for
    /// [`TrailContext::decrypt_request`]; no encryption context (PutKeyPolicy takes none).
    pub fn administer_request(&self, principal: RequestPrincipal) -> Request {
        self.principal_request(&Self::administer_context(), "kms:PutKeyPolicy", principal)
    }

    /// The context of [`TrailContext::administer_request`] before the caller's own keys: the
    /// keys of [`TrailContext::decrypt_context`], in the same order, all absent but TLS.
    pub(crate) fn administer_context() -> Context {
        let mut context = Self::base_context();
        for key in [
            EC_TRAIL_ARN,
            EC_S3_ARN,
            EC_KEYS,
            "aws:SourceArn",
            "aws:SourceAccount",
        ] {
            context.set(key, KeyState::Absent);
        }
        context
    }
}

/// Sids of the statements trailseal recommends (and `fix` merges by Sid).
pub const SID_ENCRYPT: &str = "TrailsealAllowCloudTrailEncrypt";
pub const SID_DESCRIBE: &str = "TrailsealAllowCloudTrailDescribeKey";
pub const SID_DECRYPT: &str = "TrailsealAllowLogDecryptionInAccount";

impl TrailContext {
    /// The documented statement letting CloudTrail encrypt this trail's logs, pinned to the
    /// trail with `aws:SourceArn` as AWS recommends.
    pub fn encrypt_statement(&self) -> serde_json::Value {
        // With S3 Bucket Keys, "kms:Decrypt permissions are required to create or update a
        // trail with SSE-KMS encryption enabled" (CloudTrail User Guide).
        let action = if self.bucket_key_decrypt {
            serde_json::json!(["kms:GenerateDataKey*", "kms:Decrypt"])
        } else {
            serde_json::json!("kms:GenerateDataKey*")
        };
        serde_json::json!({
            "Sid": SID_ENCRYPT,
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": action,
            "Resource": "*",
            "Condition": self.source_arn_condition(serde_json::json!({
                EC_TRAIL_ARN: format!("arn:{}:cloudtrail:*:{}:trail/*", self.partition(), self.account())
            }))
        })
    }

    /// `StringEquals aws:SourceArn = <trail ARN>` (AWS's recommendation), plus `like` under
    /// `StringLike`. When the trail's name is not known (CloudFormation generates it), the ARN
    /// is not either: `StringLike aws:SourceArn = arn:P:cloudtrail:REGION:ACCOUNT:trail/*`
    /// instead, never the placeholder name.
    fn source_arn_condition(&self, like: serde_json::Value) -> serde_json::Value {
        let mut like = match like {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        let mut condition = serde_json::Map::new();
        if self.name_known {
            condition.insert(
                "StringEquals".into(),
                serde_json::json!({"aws:SourceArn": self.trail_arn}),
            );
        } else {
            like.insert(
                "aws:SourceArn".into(),
                serde_json::Value::String(format!(
                    "arn:{}:cloudtrail:{}:{}:trail/*",
                    self.partition(),
                    self.region(),
                    self.account()
                )),
            );
        }
        if !like.is_empty() {
            condition.insert("StringLike".into(), serde_json::Value::Object(like));
        }
        serde_json::Value::Object(condition)
    }

    /// The documented statement letting CloudTrail describe the key.
    pub fn describe_statement(&self) -> serde_json::Value {
        serde_json::json!({
            "Sid": SID_DESCRIBE,
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": self.source_arn_condition(serde_json::json!({}))
        })
    }

    /// The documented statement letting principals of the trail's account decrypt its logs.
    pub fn decrypt_statement(&self) -> serde_json::Value {
        serde_json::json!({
            "Sid": SID_DECRYPT,
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": self.account()},
                "Null": {EC_TRAIL_ARN: "false"}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The parts are what `splitn(6, ':')` gives (what the function did before).
        #[test]
        fn arn_parts_are_splitn(pieces in prop::collection::vec("[a:*é-]{0,4}", 0..8), arn in any::<bool>()) {
            let s = format!("{}{}", if arn { "arn:" } else { "" }, pieces.join(":"));
            let mut it = s.splitn(6, ':');
            let expected = (|| {
                if it.next()? != "arn" {
                    return None;
                }
                Some((it.next()?, it.next()?, it.next()?, it.next()?, it.next()?))
            })();
            prop_assert_eq!(arn_parts(&s), expected);
        }
    }
}
