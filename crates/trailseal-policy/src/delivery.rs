//! The requests CloudTrail presents to Amazon S3 when it delivers a trail's log files (TS014).
//!
//! From the CloudTrail User Guide ("Amazon S3 bucket policy for CloudTrail"): before writing,
//! CloudTrail calls `s3:GetBucketAcl` on the bucket, then `s3:PutObject` for each log file under
//! `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/` (organization trails:
//! `AWSLogs/ORG_ID/ACCOUNT/...`; digest files under `CloudTrail-Digest/` when log file
//! validation is on), as the service principal `cloudtrail.amazonaws.com`, with `aws:SourceArn`
//! = the trail ARN, `aws:SourceAccount` = the trail owner, and `s3:x-amz-acl` =
//! `bucket-owner-full-control`. A trail encrypted with SSE-KMS asks S3 for SSE-KMS under its key
//! for its log files, so `s3:x-amz-server-side-encryption` is `aws:kms` and
//! `s3:x-amz-server-side-encryption-aws-kms-key-id` the key ARN; but "Enabling server-side
//! encryption encrypts the log files but not the digest files with SSE-KMS. Digest files are
//! encrypted with Amazon S3-managed encryption keys (SSE-S3)" (CloudTrail User Guide,
//! "Encrypting CloudTrail log files with AWS KMS keys"): a digest file's request carries no KMS
//! key id, and whether it names `AES256` is not documented (unknown). Insights files go to
//! `CloudTrail-Insight/REGION/...`; how they are encrypted is not documented (unknown). The IAM
//! User Guide's example of
//! `aws:PrincipalIsAWSService` is this very call: `true`, with `aws:PrincipalServiceName` =
//! `cloudtrail.amazonaws.com`. AWS services call each other over TLS (`aws:SecureTransport`
//! `true`: AWS Control Tower's log archive bucket denies insecure transport and receives
//! CloudTrail's logs). Every other key is Unknown, so a bucket policy that depends on anything
//! else is `Indeterminate`, never `Allow`.

use crate::cloudtrail::{Given, TrailContext, CLOUDTRAIL_SERVICE};
use crate::request::{pattern_literal, Context, KeyState, Request, RequestPrincipal};

pub const S3_ACL: &str = "s3:x-amz-acl";
pub const S3_SSE: &str = "s3:x-amz-server-side-encryption";
pub const S3_SSE_KEY: &str = "s3:x-amz-server-side-encryption-aws-kms-key-id";
/// The canned ACL CloudTrail writes every log object with.
pub const BUCKET_OWNER_FULL_CONTROL: &str = "bucket-owner-full-control";

/// What CloudTrail writes into the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogObject {
    /// A log file: `.../CloudTrail/REGION/...`.
    Log,
    /// A digest file (log file validation): `.../CloudTrail-Digest/REGION/...`, SSE-S3.
    Digest,
    /// An Insights events file (CloudTrail Insights): `.../CloudTrail-Insight/REGION/...`.
    Insight,
}

impl LogObject {
    pub fn describe(self) -> &'static str {
        match self {
            LogObject::Log => "log file",
            LogObject::Digest => "digest file",
            LogObject::Insight => "Insights file",
        }
    }
}

/// How CloudTrail asks S3 to encrypt the objects it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-KMS under this key ARN.
    Kms(String),
    /// SSE-KMS, under a key whose ARN is not known.
    KmsUnknownKey,
    /// Not known (a trail without a KMS key: what it sends is not documented).
    Unknown,
}

/// The start of a trail's object keys for its S3 key prefix: `PREFIX/` (none for no prefix).
/// A prefix with a leading, trailing or doubled `/` is refused: where CloudTrail writes under
/// it is not documented, so the path is not known.
pub fn log_prefix(prefix: Option<&str>) -> Result<String, String> {
    match prefix {
        None | Some("") => Ok(String::new()),
        Some(p) if p.starts_with('/') || p.ends_with('/') || p.contains("//") => Err(format!(
            "the S3 key prefix {p:?} has a leading, trailing or doubled '/': where CloudTrail \
             writes under it is not documented"
        )),
        Some(p) => Ok(format!("{p}/")),
    }
}

impl TrailContext {
    fn s3_context(&self) -> Context {
        let source_account = match self.is_organization_trail {
            Given::Known(_) => KeyState::Known(vec![self.account().to_owned()]),
            Given::Unknown => KeyState::Unknown,
        };
        Context::unknown_by_default()
            .known("aws:SecureTransport", "true")
            .known("aws:PrincipalIsAWSService", "true")
            .known("aws:PrincipalServiceName", CLOUDTRAIL_SERVICE)
            .with("aws:SourceArn", self.trail_arn_state())
            .with("aws:SourceAccount", source_account)
    }

    /// The bucket ARN, when the bucket is known.
    pub fn bucket_arn(&self) -> Option<String> {
        let bucket = self.bucket.known()?;
        Some(format!("arn:{}:s3:::{bucket}", self.partition()))
    }

    /// CloudTrail checking the bucket's ACL before it writes (`s3:GetBucketAcl`); None when the
    /// bucket is not known.
    pub fn get_bucket_acl_request(&self) -> Option<Request> {
        Some(Request {
            principal: RequestPrincipal::service(CLOUDTRAIL_SERVICE),
            action: "s3:GetBucketAcl".into(),
            resource: Some(self.bucket_arn()?),
            resource_pattern: false,
            context: self.s3_context(),
        })
    }

    /// The object key of one file CloudTrail writes for events of `region` (a fixed date and
    /// file name: the path is what bucket policies name); None when the bucket, the prefix, the
    /// organization flag or (for an organization trail) the member account is not known.
    pub fn log_object_key(&self, object: LogObject, region: &str) -> Option<String> {
        let prefix = log_prefix(self.prefix.known()?.as_deref()).ok()?;
        let (path, account) = match self.is_organization_trail.known()? {
            false => (self.account().to_owned(), self.account()),
            true => {
                let (org, account) = self.member.as_ref()?;
                (format!("{org}/{account}"), account.as_str())
            }
        };
        let name = self.trail_arn.rsplit('/').next().unwrap_or_default();
        let file = match object {
            LogObject::Log => format!(
                "CloudTrail/{region}/2026/01/01/{account}_CloudTrail_{region}_20260101T0000Z_trailseal0example.json.gz"
            ),
            LogObject::Digest => format!(
                "CloudTrail-Digest/{region}/2026/01/01/{account}_CloudTrail-Digest_{region}_{name}_{home}_20260101T000000Z.json.gz",
                home = self.region()
            ),
            LogObject::Insight => format!(
                "CloudTrail-Insight/{region}/2026/01/01/{account}_CloudTrail-Insight_{region}_20260101T0000Z_trailseal0example.json.gz"
            ),
        };
        Some(format!("{prefix}AWSLogs/{path}/{file}"))
    }

    /// CloudTrail writing one file (`s3:PutObject`); None when its object key is not known
    /// (see [`TrailContext::log_object_key`]).
    pub fn put_object_request(
        &self,
        object: LogObject,
        region: &str,
        encryption: &Encryption,
    ) -> Option<Request> {
        let key = self.log_object_key(object, region)?;
        let mut context = self.s3_context().known(S3_ACL, BUCKET_OWNER_FULL_CONTROL);
        match (object, encryption) {
            // SSE-S3 whatever the trail's key: no KMS key id (S3 refuses one without aws:kms).
            (LogObject::Digest, _) => context = context.with(S3_SSE_KEY, KeyState::Absent),
            (LogObject::Insight, _) | (LogObject::Log, Encryption::Unknown) => {}
            (LogObject::Log, Encryption::Kms(arn)) => {
                context = context
                    .known(S3_SSE, "aws:kms")
                    .known(S3_SSE_KEY, arn.clone());
            }
            (LogObject::Log, Encryption::KmsUnknownKey) => {
                context = context.known(S3_SSE, "aws:kms")
            }
        }
        Some(Request {
            principal: RequestPrincipal::service(CLOUDTRAIL_SERVICE),
            action: "s3:PutObject".into(),
            resource: Some(format!("{}/{key}", self.bucket_arn()?)),
            resource_pattern: false,
            context,
        })
    }

    /// The object ARN pattern of every file of `object`'s kind the trail writes, in `region`
    /// or (None) every Region: `*` for the date and file name; for an organization trail,
    /// every member account unless the context names one. For log files:
    /// `arn:PARTITION:s3:::BUCKET/[PREFIX/]AWSLogs/[ORG_ID/]ACCOUNT/CloudTrail/[REGION/]*`. None
    /// when the bucket, the prefix, the organization flag or (organization trail) the
    /// organization is not known.
    pub fn files_pattern(&self, object: LogObject, region: Option<&str>) -> Option<String> {
        let prefix = log_prefix(self.prefix.known()?.as_deref()).ok()?;
        let path = match (self.is_organization_trail.known()?, &self.member) {
            (false, _) => pattern_literal(self.account()),
            // "*": every member account.
            (true, Some((org, account))) if account == "*" => format!("{}/*", pattern_literal(org)),
            (true, Some((org, account))) => {
                format!("{}/{}", pattern_literal(org), pattern_literal(account))
            }
            (true, None) => return None,
        };
        let folder = match object {
            LogObject::Log => "CloudTrail",
            LogObject::Digest => "CloudTrail-Digest",
            LogObject::Insight => "CloudTrail-Insight",
        };
        let region = region
            .map(|r| format!("{}/", pattern_literal(r)))
            .unwrap_or_default();
        Some(format!(
            "{}/{}AWSLogs/{path}/{folder}/{region}*",
            self.bucket_arn().map(|b| pattern_literal(&b))?,
            pattern_literal(&prefix)
        ))
    }

    /// A principal reading the trail's files of `object`'s kind (`s3:GetObject`) in `region`
    /// or every Region, all at once ([`Request::resource_pattern`]: a statement that covers
    /// only some of them may apply), over TLS: S3 serves SSE-KMS objects only to signed
    /// requests over TLS (Amazon S3 User Guide, "Specifying server-side encryption with AWS
    /// KMS"), so `aws:SecureTransport` is `true`. None when the path is not known (see
    /// [`TrailContext::files_pattern`]). Keys that follow from who calls are set as for KMS
    /// ([`TrailContext::decrypt_request`]); every other key (source IP, VPC endpoint, MFA...)
    /// is unknown, so a policy that depends on one gives `Indeterminate`.
    pub fn get_files_request(
        &self,
        principal: RequestPrincipal,
        object: LogObject,
        region: Option<&str>,
    ) -> Option<Request> {
        let resource = self.files_pattern(object, region)?;
        let mut context = Context::unknown_by_default()
            .known("aws:SecureTransport", "true")
            .with("aws:SourceArn", KeyState::Absent)
            .with("aws:SourceAccount", KeyState::Absent);
        self.set_principal_keys(&mut context, &principal);
        context.set("kms:CallerAccount", KeyState::Absent);
        Some(Request {
            principal,
            action: "s3:GetObject".into(),
            resource: Some(resource),
            resource_pattern: true,
            context,
        })
    }

    /// The documented bucket policy statements that let CloudTrail deliver this trail's logs
    /// (`AWSCloudTrailAclCheck`, `AWSCloudTrailWrite`), pinned to the trail with `aws:SourceArn`;
    /// None when the bucket is not known. For an organization trail the write statement covers
    /// `AWSLogs/ORG_ID/*` (`org_id`, when known) as well as the owner's own path.
    pub fn bucket_statements(&self, org_id: Option<&str>) -> Option<BucketStatements> {
        let bucket = self.bucket_arn()?;
        let prefix = match self.prefix.known() {
            Some(Some(p)) if !p.trim_matches('/').is_empty() => {
                format!("{}/", p.trim_end_matches('/'))
            }
            Some(_) => String::new(),
            None => "<prefix>/".to_owned(),
        };
        let mut resources = vec![format!("{bucket}/{prefix}AWSLogs/{}/*", self.account())];
        if self.is_organization_trail.known() != Some(&false) {
            resources.push(format!(
                "{bucket}/{prefix}AWSLogs/{}/*",
                org_id.unwrap_or("<organization id>")
            ));
        }
        let resources = match <[String; 1]>::try_from(resources) {
            Ok([one]) => Resources::One(one),
            Err(many) => Resources::Many(many),
        };
        let statement = |sid, action, resource, acl| BucketStatement {
            sid,
            effect: "Allow",
            principal: ServicePrincipal {
                service: CLOUDTRAIL_SERVICE,
            },
            action,
            resource,
            condition: StringEquals {
                string_equals: SourceCondition {
                    acl,
                    source_arn: self.trail_arn.clone(),
                },
            },
        };
        Some(BucketStatements([
            statement(
                "AWSCloudTrailAclCheck",
                "s3:GetBucketAcl",
                Resources::One(bucket),
                None,
            ),
            statement(
                "AWSCloudTrailWrite",
                "s3:PutObject",
                resources,
                Some(BUCKET_OWNER_FULL_CONTROL),
            ),
        ]))
    }
}

/// The two statements of [`TrailContext::bucket_statements`], serialized as a JSON array of
/// policy statements (typed: written straight to text, every trail of a scan gets them).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BucketStatements([BucketStatement; 2]);

impl BucketStatements {
    /// The statements as `serde_json::to_string_pretty` writes them (a test compares the two),
    /// written directly: TS014 puts them in the fix of every trail whose bucket policy lacks
    /// them, and serde's serializer, a byte at a time, was 2% of a scan's instructions.
    pub fn to_pretty_json(&self) -> String {
        fn string(out: &mut String, s: &str) {
            // Quotes around it, or serde_json's own escaping when it holds what JSON escapes.
            if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
                out.push_str(&serde_json::to_string(s).unwrap_or_default());
            } else {
                out.push('"');
                out.push_str(s);
                out.push('"');
            }
        }
        fn member(out: &mut String, indent: &str, key: &str) {
            out.push_str(indent);
            string(out, key);
            out.push_str(": ");
        }
        let mut out = String::with_capacity(1024);
        out.push('[');
        for (n, s) in self.0.iter().enumerate() {
            out.push_str(if n == 0 { "\n  {\n" } else { ",\n  {\n" });
            member(&mut out, "    ", "Sid");
            string(&mut out, s.sid);
            out.push_str(",\n");
            member(&mut out, "    ", "Effect");
            string(&mut out, s.effect);
            out.push_str(",\n");
            member(&mut out, "    ", "Principal");
            out.push_str("{\n");
            member(&mut out, "      ", "Service");
            string(&mut out, s.principal.service);
            out.push_str("\n    },\n");
            member(&mut out, "    ", "Action");
            string(&mut out, s.action);
            out.push_str(",\n");
            member(&mut out, "    ", "Resource");
            match &s.resource {
                Resources::One(r) => string(&mut out, r),
                Resources::Many(list) if list.is_empty() => out.push_str("[]"),
                Resources::Many(list) => {
                    out.push('[');
                    for (k, r) in list.iter().enumerate() {
                        out.push_str(if k == 0 { "\n      " } else { ",\n      " });
                        string(&mut out, r);
                    }
                    out.push_str("\n    ]");
                }
            }
            out.push_str(",\n");
            member(&mut out, "    ", "Condition");
            out.push_str("{\n");
            member(&mut out, "      ", "StringEquals");
            out.push_str("{\n");
            let condition = &s.condition.string_equals;
            if let Some(acl) = condition.acl {
                member(&mut out, "        ", "s3:x-amz-acl");
                string(&mut out, acl);
                out.push_str(",\n");
            }
            member(&mut out, "        ", "aws:SourceArn");
            string(&mut out, &condition.source_arn);
            out.push_str("\n      }\n    }\n  }");
        }
        out.push_str("\n]");
        out
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct BucketStatement {
    sid: &'static str,
    effect: &'static str,
    principal: ServicePrincipal,
    action: &'static str,
    resource: Resources,
    condition: StringEquals,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct ServicePrincipal {
    #[serde(rename = "Service")]
    service: &'static str,
}

/// One resource as a string, several as a list (as the User Guide writes them).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
enum Resources {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct StringEquals {
    #[serde(rename = "StringEquals")]
    string_equals: SourceCondition,
}

/// `s3:x-amz-acl` (the write statement) before `aws:SourceArn`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct SourceCondition {
    #[serde(rename = "s3:x-amz-acl", skip_serializing_if = "Option::is_none")]
    acl: Option<&'static str>,
    #[serde(rename = "aws:SourceArn")]
    source_arn: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{evaluate, Decision, Policy};

    const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";

    fn ctx() -> TrailContext {
        TrailContext::new(TRAIL).with_bucket("logs")
    }

    fn decide(policy: &str, request: &Request) -> Decision {
        evaluate(&Policy::parse(policy).expect("policy"), request).decision
    }

    /// The typed statements serialize as the `json!` document they replaced (the oracle below
    /// is that code), key order included, for every shape: a prefix or none, one resource or
    /// two (organization trail, org id known or not), prefix unknown.
    #[test]
    fn bucket_statements_serialize_as_the_documented_json() {
        fn oracle(c: &TrailContext, org_id: Option<&str>) -> serde_json::Value {
            let bucket = c.bucket_arn().expect("bucket");
            let prefix = match c.prefix.known() {
                Some(Some(p)) if !p.trim_matches('/').is_empty() => {
                    format!("{}/", p.trim_end_matches('/'))
                }
                Some(_) => String::new(),
                None => "<prefix>/".to_owned(),
            };
            let mut resources = vec![format!("{bucket}/{prefix}AWSLogs/{}/*", c.account())];
            if c.is_organization_trail.known() != Some(&false) {
                resources.push(format!(
                    "{bucket}/{prefix}AWSLogs/{}/*",
                    org_id.unwrap_or("<organization id>")
                ));
            }
            let resource = if resources.len() == 1 {
                serde_json::json!(resources[0])
            } else {
                serde_json::json!(resources)
            };
            serde_json::json!([
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL_SERVICE},
                    "Action": "s3:GetBucketAcl",
                    "Resource": bucket,
                    "Condition": {"StringEquals": {"aws:SourceArn": c.trail_arn}}
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL_SERVICE},
                    "Action": "s3:PutObject",
                    "Resource": resource,
                    "Condition": {"StringEquals": {
                        S3_ACL: BUCKET_OWNER_FULL_CONTROL,
                        "aws:SourceArn": c.trail_arn
                    }}
                }
            ])
        }
        let mut cases = vec![ctx()];
        let mut c = ctx();
        c.prefix = Given::Known(Some("team/logs/".into()));
        cases.push(c.clone());
        c.is_organization_trail = Given::Known(true);
        cases.push(c.clone());
        c.prefix = Given::Unknown;
        c.is_organization_trail = Given::Unknown;
        cases.push(c);
        for c in &cases {
            for org in [None, Some("o-abc123")] {
                let typed = c.bucket_statements(org).expect("statements");
                let expected = oracle(c, org);
                assert_eq!(
                    serde_json::to_string_pretty(&typed).expect("text"),
                    serde_json::to_string_pretty(&expected).expect("text")
                );
                // And the hand-written text is serde's.
                assert_eq!(
                    typed.to_pretty_json(),
                    serde_json::to_string_pretty(&typed).expect("text")
                );
            }
        }
    }

    proptest::proptest! {
        /// Whatever the names (quotes, backslashes, control characters, Unicode): the
        /// hand-written text is serde_json's pretty text.
        #[test]
        fn the_statements_text_is_serde_json_s(
            trail in "[a-z\"\\\\\u{0}-\u{1f}é/:*-]{0,12}",
            bucket in "[a-z\"\\\\\u{7f}é.-]{1,12}",
            prefix in proptest::option::of("[a-z/\"]{0,6}"),
            org in proptest::option::of(proptest::option::of("[a-z0-9\"-]{0,8}")),
        ) {
            let mut c = TrailContext::new(&format!("arn:aws:cloudtrail:us-east-1:111122223333:trail/{trail}"))
                .with_bucket(&bucket);
            c.prefix = Given::Known(prefix);
            // An organization trail (its id known or not), or not one.
            if org.is_some() {
                c.is_organization_trail = Given::Known(true);
            }
            let typed = c.bucket_statements(org.flatten().as_deref()).expect("statements");
            proptest::prop_assert_eq!(typed.to_pretty_json(), serde_json::to_string_pretty(&typed).expect("text"));
        }
    }

    /// The bucket policy of the CloudTrail User Guide ("Amazon S3 bucket policy for
    /// CloudTrail") allows both requests.
    #[test]
    fn the_documented_policy_allows_delivery() {
        let c = ctx();
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": c.bucket_statements(None).expect("statements")
        })
        .to_string();
        let acl = c.get_bucket_acl_request().expect("acl");
        assert_eq!(decide(&policy, &acl), Decision::Allow);
        let enc = Encryption::Kms("arn:aws:kms:us-east-1:111122223333:key/k".into());
        for object in [LogObject::Log, LogObject::Digest] {
            for region in ["us-east-1", "eu-west-1"] {
                let put = c.put_object_request(object, region, &enc).expect("put");
                assert_eq!(
                    decide(&policy, &put),
                    Decision::Allow,
                    "{object:?} {region}"
                );
            }
        }
    }

    /// The classic breakage: a Deny on PutObject unless SSE-KMS with another key.
    #[test]
    fn a_deny_requiring_another_key_blocks_delivery() {
        let policy = r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*"},
          {"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*",
           "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"arn:aws:kms:us-east-1:111122223333:key/other"}}}]}"#;
        let c = ctx();
        let ours = Encryption::Kms("arn:aws:kms:us-east-1:111122223333:key/k".into());
        let put = c
            .put_object_request(LogObject::Log, "us-east-1", &ours)
            .expect("put");
        assert_eq!(decide(policy, &put), Decision::ExplicitDeny);
        let theirs = Encryption::Kms("arn:aws:kms:us-east-1:111122223333:key/other".into());
        let put = c
            .put_object_request(LogObject::Log, "us-east-1", &theirs)
            .expect("put");
        assert_eq!(decide(policy, &put), Decision::Allow);
        // The key is not known: the Deny may or may not apply.
        let put = c
            .put_object_request(LogObject::Log, "us-east-1", &Encryption::KmsUnknownKey)
            .expect("put");
        assert_eq!(decide(policy, &put), Decision::Indeterminate);
    }

    /// "Deny insecure transport" and "deny unless an AWS service" are common and must not make
    /// delivery undecidable.
    #[test]
    fn transport_and_service_denies_are_decided() {
        let policy = r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":["s3:PutObject","s3:GetBucketAcl"],"Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/AWSLogs/111122223333/*"]},
          {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
          {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::logs/*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc"},"Bool":{"aws:PrincipalIsAWSService":"false"}}}]}"#;
        let c = ctx();
        let enc = Encryption::Unknown;
        let put = c
            .put_object_request(LogObject::Log, "us-east-1", &enc)
            .expect("put");
        assert_eq!(decide(policy, &put), Decision::Allow);
        let acl = c.get_bucket_acl_request().expect("acl");
        assert_eq!(decide(policy, &acl), Decision::Allow);
    }

    /// A write grant limited to another account's path, or to one Region's path, does not cover
    /// this trail's files.
    #[test]
    fn paths_are_exact() {
        let c = ctx();
        let only = |resource: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},"Action":"s3:PutObject","Resource":"{resource}"}}]}}"#
            )
        };
        let put = |region: &str| {
            c.put_object_request(LogObject::Log, region, &Encryption::Unknown)
                .expect("put")
        };
        assert_eq!(
            decide(
                &only("arn:aws:s3:::logs/AWSLogs/999988887777/*"),
                &put("us-east-1")
            ),
            Decision::ImplicitDeny
        );
        let regional = only("arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail/us-east-1/*");
        assert_eq!(decide(&regional, &put("us-east-1")), Decision::Allow);
        assert_eq!(decide(&regional, &put("eu-west-1")), Decision::ImplicitDeny);
        // With a prefix, the path moves.
        let prefixed = TrailContext {
            prefix: Given::Known(Some("trails".into())),
            ..ctx()
        };
        let key = prefixed
            .log_object_key(LogObject::Log, "us-east-1")
            .expect("key");
        assert!(
            key.starts_with("trails/AWSLogs/111122223333/CloudTrail/us-east-1/"),
            "{key}"
        );
    }

    #[test]
    fn organization_paths_need_the_member() {
        let org = TrailContext {
            is_organization_trail: Given::Known(true),
            ..ctx()
        };
        assert_eq!(org.log_object_key(LogObject::Log, "us-east-1"), None);
        let member = org.for_member("o-abc", "444455556666");
        let key = member
            .log_object_key(LogObject::Digest, "us-east-1")
            .expect("key");
        assert!(
            key.starts_with("AWSLogs/o-abc/444455556666/CloudTrail-Digest/us-east-1/2026/01/01/444455556666_CloudTrail-Digest_us-east-1_main_us-east-1_"),
            "{key}"
        );
        // A prefix with a trailing slash: where CloudTrail writes is not documented.
        let slashed = TrailContext {
            prefix: Given::Known(Some("trails/".into())),
            ..ctx()
        };
        assert_eq!(slashed.log_object_key(LogObject::Log, "us-east-1"), None);
        // An unknown prefix or organization flag: no object key.
        let unknown = TrailContext {
            prefix: Given::Unknown,
            ..ctx()
        };
        assert_eq!(unknown.log_object_key(LogObject::Log, "us-east-1"), None);
    }
}
