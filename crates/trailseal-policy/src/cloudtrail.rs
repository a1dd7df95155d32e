//! The requests CloudTrail (and log readers) present to KMS for a trail.
//!
//! From the CloudTrail User Guide ("Configure AWS KMS key policies for CloudTrail"): CloudTrail
//! calls `kms:GenerateDataKey` as the service principal `cloudtrail.amazonaws.com` with
//! `aws:SourceArn` = the trail ARN, `aws:SourceAccount` = the trail owner (the management account
//! for organization trails), and an encryption context holding `aws:cloudtrail:arn` (the trail
//! ARN) and `aws:s3:arn` (the log object ARN). Every key not listed here is Unknown, so a policy
//! that depends on anything else is reported `Indeterminate`, never `Allow`.

use crate::request::{Context, KeyState, Request, RequestPrincipal};

pub const CLOUDTRAIL_SERVICE: &str = "cloudtrail.amazonaws.com";
pub const EC_TRAIL_ARN: &str = "kms:EncryptionContext:aws:cloudtrail:arn";
pub const EC_S3_ARN: &str = "kms:EncryptionContext:aws:s3:arn";
pub const EC_KEYS: &str = "kms:EncryptionContextKeys";

/// What we know about a trail for building requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrailContext {
    /// `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`
    pub trail_arn: String,
    /// The S3 bucket receiving the logs, when known.
    pub bucket: Option<String>,
    /// The S3 key prefix, when the trail has one.
    pub prefix: Option<String>,
    /// The key ARN (the request's resource), when known.
    pub key_arn: Option<String>,
    /// Organization trail: logs of every member account go under `AWSLogs/ORG_ID/ACCOUNT/`,
    /// so the object ARN depends on the member account and is Unknown here.
    pub is_organization_trail: bool,
}

/// The parts of an ARN: partition, service, region, account, resource.
pub fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    if it.next()? != "arn" {
        return None;
    }
    Some((it.next()?, it.next()?, it.next()?, it.next()?, it.next()?))
}

impl TrailContext {
    pub fn new(trail_arn: &str) -> Self {
        TrailContext {
            trail_arn: trail_arn.to_owned(),
            ..Default::default()
        }
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

    /// `arn:aws:s3:::BUCKET/[PREFIX/]AWSLogs/ACCOUNT/*`, or Unknown when the bucket is not known
    /// or the trail is an organization trail.
    pub fn s3_object_arn(&self) -> KeyState {
        let Some(bucket) = &self.bucket else {
            return KeyState::Unknown;
        };
        let prefix = match self.prefix.as_deref() {
            Some(p) if !p.is_empty() => format!("{}/", p.trim_end_matches('/')),
            _ => String::new(),
        };
        if self.is_organization_trail {
            return KeyState::Unknown;
        }
        let owner = self.account();
        KeyState::Known(vec![format!(
            "arn:{}:s3:::{bucket}/{prefix}AWSLogs/{owner}/*",
            self.partition()
        )])
    }

    fn encryption_context(&self, ctx: Context) -> Context {
        ctx.known(EC_TRAIL_ARN, self.trail_arn.clone())
            .with(EC_S3_ARN, self.s3_object_arn())
            .with(
                EC_KEYS,
                KeyState::Known(vec!["aws:cloudtrail:arn".into(), "aws:s3:arn".into()]),
            )
    }

    fn service_context(&self) -> Context {
        Context::unknown_by_default()
            .known("aws:SourceArn", self.trail_arn.clone())
            .known("aws:SourceAccount", self.account().to_owned())
    }

    /// CloudTrail asking KMS for a data key to encrypt a log file (TS006).
    pub fn generate_data_key_request(&self) -> Request {
        Request {
            principal: RequestPrincipal::service(CLOUDTRAIL_SERVICE),
            action: "kms:GenerateDataKey".into(),
            resource: self.key_arn.clone(),
            context: self.encryption_context(self.service_context()),
        }
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
            context,
        }
    }

    /// A principal reading a log file: `kms:Decrypt` with the log file's encryption context,
    /// called directly (no `aws:SourceArn`/`aws:SourceAccount`).
    pub fn decrypt_request(&self, principal: RequestPrincipal) -> Request {
        let mut context = self
            .encryption_context(Context::unknown_by_default())
            .with("aws:SourceArn", KeyState::Absent)
            .with("aws:SourceAccount", KeyState::Absent);
        match &principal {
            RequestPrincipal::Aws { arn, account, .. } => {
                context.set("kms:CallerAccount", KeyState::Known(vec![account.clone()]));
                context.set(
                    "aws:PrincipalAccount",
                    KeyState::Known(vec![account.clone()]),
                );
                context.set("aws:PrincipalArn", KeyState::Known(vec![arn.clone()]));
            }
            RequestPrincipal::AccountMember { account } => {
                context.set("kms:CallerAccount", KeyState::Known(vec![account.clone()]));
                context.set(
                    "aws:PrincipalAccount",
                    KeyState::Known(vec![account.clone()]),
                );
            }
            RequestPrincipal::Service { .. } | RequestPrincipal::Anyone => {}
        }
        Request {
            principal,
            action: "kms:Decrypt".into(),
            resource: self.key_arn.clone(),
            context,
        }
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
        serde_json::json!({
            "Sid": SID_ENCRYPT,
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": self.trail_arn},
                "StringLike": {EC_TRAIL_ARN: format!("arn:{}:cloudtrail:*:{}:trail/*", self.partition(), self.account())}
            }
        })
    }

    /// The documented statement letting CloudTrail describe the key.
    pub fn describe_statement(&self) -> serde_json::Value {
        serde_json::json!({
            "Sid": SID_DESCRIBE,
            "Effect": "Allow",
            "Principal": {"Service": CLOUDTRAIL_SERVICE},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": self.trail_arn}}
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
