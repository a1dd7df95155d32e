//! TS014 bucket-allows-cloudtrail (critical)
//!
//! What it checks
//!   The trail's S3 bucket exists, and its bucket policy, evaluated as IAM would, lets
//!   CloudTrail deliver: `s3:GetBucketAcl` on the bucket and `s3:PutObject` of a log file under
//!   `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/`, of a digest file under `CloudTrail-Digest/`
//!   when log file validation is on, and of an Insights file under `CloudTrail-Insight/` when
//!   CloudTrail Insights is on, as
//!   CloudTrail sends them: principal `cloudtrail.amazonaws.com`, `aws:SourceArn` = the trail
//!   ARN, `aws:SourceAccount` = the trail owner, `s3:x-amz-acl` = `bucket-owner-full-control`;
//!   log files of an encrypted trail with `s3:x-amz-server-side-encryption` = `aws:kms` and the
//!   trail's key ARN, digest files SSE-S3 (no KMS key, as the CloudTrail User Guide says). A
//!   multi-Region trail's files are checked for every Region of its partition, an organization
//!   trail's for every member account under `AWSLogs/ORG_ID/ACCOUNT/` (`audit --org`). Keys
//!   CloudTrail's requests do not define are unknown: a policy that depends on them is
//!   `indeterminate`; so is a refused digest or Insights file when validation or Insights
//!   (`HasInsightSelectors`) is not known. In a scan, the bucket must be defined in the
//!   scanned files (`aws_s3_bucket` with `aws_s3_bucket_policy` or its `policy`;
//!   `AWS::S3::Bucket` with `AWS::S3::BucketPolicy`): a bucket defined elsewhere is skipped,
//!   and an answer that depends on the deploying account or Region is indeterminate. Not checked: Requester Pays (CloudTrail cannot deliver to such a
//!   bucket) and object ownership.
//!
//! Why it matters
//!   A bucket policy that lacks CloudTrail's grants, or a Deny that catches CloudTrail's writes,
//!   stops delivery just as surely as a bad key policy: the trail stays "encrypted" and
//!   "logging" while no log arrives. Every peer tool checks only that `KmsKeyId` is set.
//!
//! Example
//!   A Deny on `s3:PutObject` unless `s3:x-amz-server-side-encryption-aws-kms-key-id` names
//!   another key (the bucket was hardened for a different key than the trail's), or unless
//!   `s3:x-amz-server-side-encryption` is `AES256`; a bucket policy whose write grant names
//!   `AWSLogs/OTHER_ACCOUNT/*` or forgets the S3 key prefix; no bucket policy at all; a deleted
//!   bucket.
//!
//! How to fix
//!   Add (merge) the documented statements to the bucket policy, pinned to the trail:
//!     {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow",
//!      "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
//!      "Resource": "arn:aws:s3:::<bucket>",
//!      "Condition": {"StringEquals": {"aws:SourceArn": "<trail ARN>"}}},
//!     {"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
//!      "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
//!      "Resource": "arn:aws:s3:::<bucket>/[<prefix>/]AWSLogs/<account>/*",
//!      "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
//!                                     "aws:SourceArn": "<trail ARN>"}}}
//!   and make any Deny that requires a KMS key name the trail's key and exempt
//!   `.../CloudTrail-Digest/*` (digest files are SSE-S3). A missing bucket: create it, or point
//!   the trail at an existing one (`aws cloudtrail update-trail --s3-bucket-name`).

use serde_json::{json, Value};
use trailseal_model::{Fact, Finding, Severity, Status, TrailEvidence, AWS_REGIONS};
use trailseal_policy::delivery::{Encryption, LogObject};
use trailseal_policy::{evaluate, Decision, Evaluation, Policy, Request, TrailContext};

use crate::deployment::Alternatives;
use crate::support::{early, evaluation_evidence, finding, given, labels};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS014",
        name: "bucket-allows-cloudtrail",
        severity: Severity::Critical,
        title: "the trail's bucket is missing, or its policy does not let CloudTrail deliver",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: false,
        source: include_str!("ts014_bucket_allows_cloudtrail.rs"),
    },
    runner: Runner::Trail(run),
};

/// Evaluated requests whose decision is shown in the evidence, at most.
const SHOWN: usize = 4;

fn stop(ev: &TrailEvidence, status: Status, message: String, remediation: &str) -> Finding {
    *early(&CHECK.info, ev, status, message, remediation)
}

fn run(ev: &TrailEvidence) -> Finding {
    let name = match &ev.trail.s3_bucket_name {
        Fact::Known(name) if !name.is_empty() => name,
        Fact::Known(_) => return stop(
            ev,
            Status::Fail,
            "the trail names no S3 bucket: CloudTrail delivers nowhere".into(),
            "Point the trail at a bucket (aws cloudtrail update-trail --s3-bucket-name BUCKET).",
        ),
        Fact::Unknown(why) => {
            // Infrastructure as code: a bucket of the configuration whose name is generated at
            // deployment. Without a policy it refuses CloudTrail whatever its name.
            if let Some(b) = ev.bucket.as_ref().filter(|b| b.policy == Fact::Known(None)) {
                return stop(
                    ev,
                    Status::Fail,
                    format!(
                        "the trail's bucket {} has no bucket policy: CloudTrail (a service principal) may not write to it",
                        b.name
                    ),
                    "Add a bucket policy with the CloudTrail statements (`trailseal explain TS014`).",
                );
            }
            return stop(
                ev,
                Status::Indeterminate,
                format!("the trail's bucket cannot be known before deployment: {why}"),
                "Audit the deployed account (trailseal audit).",
            );
        }
        Fact::Unreadable(why) => {
            return stop(
                ev,
                Status::Error,
                format!("the trail's bucket could not be read: {why}"),
                "Grant the auditing principal cloudtrail:DescribeTrails.",
            )
        }
    };
    let Some(bucket) = &ev.bucket else {
        return stop(
            ev,
            Status::Error,
            format!("the bucket {name} was not collected"),
            "Collect again with this version of trailseal (it reads s3:GetBucketLocation and s3:GetBucketPolicy).",
        );
    };
    if let Fact::Unknown(why) = &bucket.exists {
        // Infrastructure as code: a bucket defined elsewhere (another stack, an existing
        // central bucket). Its policy is checked where it is defined, or by `trailseal audit`.
        return stop(
            ev,
            Status::Skipped,
            format!("the bucket {name}: {why}; its policy is checked where it is defined, or on the deployed account (trailseal audit)"),
            "Scan the configuration that defines the bucket too, or audit the deployed account.",
        );
    }
    if bucket.exists.is(&false) == Some(true) {
        return stop(
            ev,
            Status::Fail,
            format!("the trail's bucket {name} does not exist: CloudTrail cannot deliver any log file"),
            "Create the bucket with the CloudTrail bucket policy, or point the trail at an existing bucket (aws cloudtrail update-trail --s3-bucket-name BUCKET).",
        );
    }
    let text = match &bucket.policy {
        Fact::Known(Some(text)) => text,
        Fact::Known(None) => {
            let ctx = context(ev, name);
            return stop(
                ev,
                Status::Fail,
                format!(
                    "the bucket {name} has no bucket policy: CloudTrail (a service principal) may not write to it"
                ),
                &add_statements(ev, &ctx, name),
            );
        }
        Fact::Unknown(why) => {
            return stop(
                ev,
                Status::Indeterminate,
                format!("the policy of bucket {name} cannot be known before deployment: {why}"),
                "Audit the deployed account (trailseal audit).",
            )
        }
        Fact::Unreadable(why) => {
            return stop(
                ev,
                Status::Error,
                format!("could not read the policy of bucket {name}: {why}"),
                "Grant the auditing principal s3:GetBucketLocation and s3:GetBucketPolicy on the bucket (a bucket in another account: audit that account, or allow the reads in its bucket policy).",
            )
        }
    };
    let policy = match Policy::parse(text) {
        Ok(p) => p,
        Err(e) => {
            return stop(
                ev,
                Status::Error,
                format!("the policy of bucket {name} is not a valid policy document: {e}"),
                "Fix the bucket policy; `trailseal policy lint` lists every problem.",
            )
        }
    };
    let ctx = context(ev, name);
    let (evaluated, gaps, mut decision) = evaluate_all(&policy, ev, &ctx);
    // Infrastructure as code: the same answer wherever the stack is deployed?
    let mut deployment: Option<String> = None;
    if decision != Decision::Indeterminate {
        let alternatives = Alternatives::of(text, &policy, &ctx);
        if let Some(why) = alternatives.differ(&decision, |p, c| evaluate_all(p, ev, c).2) {
            decision = Decision::Indeterminate;
            deployment = Some(why);
        }
    }
    let failing: Vec<&(Request, Evaluation)> = evaluated
        .iter()
        .filter(|(_, e)| e.decision != Decision::Allow)
        .collect();
    let shown: Vec<Value> = if failing.is_empty() {
        evaluated.iter().take(2).collect::<Vec<_>>()
    } else {
        failing.iter().take(SHOWN).copied().collect()
    }
    .into_iter()
    .map(|(r, e)| evaluation_evidence(&policy, r, e))
    .collect();
    let evidence = json!({
        "bucket": name,
        "bucket_region": bucket.region.known(),
        "requests_evaluated": evaluated.len(),
        "not_allowed": failing.len(),
        "evaluations": shown,
        "not_checked": gaps,
    });
    let describe = |(r, _): &&(Request, Evaluation)| {
        format!(
            "{} {}",
            r.action,
            r.resource.as_deref().unwrap_or("(unknown resource)")
        )
    };
    let first = failing.first();
    let (status, message, remediation) = match decision {
        Decision::Allow if gaps.is_empty() => (
            Status::Pass,
            format!(
                "the policy of bucket {name} lets CloudTrail deliver: {} request(s) allowed ({})",
                evaluated.len(),
                deciding(&policy, &evaluated)
            ),
            "Nothing to do.".to_owned(),
        ),
        Decision::Allow => (
            Status::Indeterminate,
            format!(
                "the requests that could be built are allowed, but not every log path is known: {}",
                gaps.join("; ")
            ),
            "Audit with --org (an organization trail's member accounts), or give the trail's prefix and organization flag statically.".to_owned(),
        ),
        Decision::ExplicitDeny => {
            let denied = failing
                .iter()
                .find(|(_, e)| e.decision == Decision::ExplicitDeny);
            let by = denied
                .map(|(_, e)| labels(&policy, &e.deciding))
                .unwrap_or_default();
            (
                Status::Fail,
                format!(
                    "CloudTrail may not deliver to s3://{name}: {} is explicitly denied by {by} ({} of {} requests refused)",
                    denied.map(describe).unwrap_or_default(),
                    failing.len(),
                    evaluated.len()
                ),
                format!(
                    "Exclude CloudTrail's requests (principal cloudtrail.amazonaws.com{}) from {by}; \
                     a Deny that requires SSE-KMS or a KMS key must also exempt .../CloudTrail-Digest/* \
                     (digest files are SSE-S3). {}",
                    encryption_hint(ev),
                    add_statements(ev, &ctx, name)
                ),
            )
        }
        Decision::ImplicitDeny => (
            Status::Fail,
            format!(
                "CloudTrail may not deliver to s3://{name}: no statement allows {} ({} of {} requests refused)",
                first.map(describe).unwrap_or_default(),
                failing.len(),
                evaluated.len()
            ),
            add_statements(ev, &ctx, name),
        ),
        Decision::Indeterminate if deployment.is_some() => (
            Status::Indeterminate,
            format!(
                "whether CloudTrail may deliver to s3://{name} depends on {}",
                deployment.as_deref().unwrap_or_default()
            ),
            add_statements(ev, &ctx, name),
        ),
        Decision::Indeterminate => {
            let keys: Vec<String> = failing
                .iter()
                .flat_map(|(_, e)| e.unknown_keys.iter().cloned())
                .fold(Vec::new(), |mut acc, k| {
                    if !acc.contains(&k) {
                        acc.push(k);
                    }
                    acc
                });
            (
                Status::Indeterminate,
                format!(
                    "whether CloudTrail may deliver to s3://{name} depends on {}, which CloudTrail's requests do not define (first: {})",
                    keys.join(", "),
                    first.map(describe).unwrap_or_default()
                ),
                add_statements(ev, &ctx, name),
            )
        }
    };
    finding(&CHECK.info, ev, status, message, remediation, evidence)
}

/// The statements that decided the allowed requests, once each.
fn deciding(policy: &Policy, evaluated: &[(Request, Evaluation)]) -> String {
    let mut indices: Vec<usize> = Vec::new();
    for (_, e) in evaluated {
        for &i in &e.deciding {
            if !indices.contains(&i) {
                indices.push(i);
            }
        }
    }
    format!("allowed by {}", labels(policy, &indices))
}

/// The trail's requests to S3: its bucket, prefix and organization flag as known, and (as
/// `key_arn`) the key its log files are encrypted under, when known.
fn context(ev: &TrailEvidence, bucket: &str) -> TrailContext {
    TrailContext {
        name_known: ev.trail.name_unknown.is_none(),
        prefix: given(&ev.trail.s3_key_prefix),
        is_organization_trail: given(&ev.trail.is_organization_trail),
        key_arn: match encryption(ev) {
            Encryption::Kms(arn) => Some(arn),
            _ => None,
        },
        ..TrailContext::new(&ev.trail.arn)
    }
    .with_bucket(bucket)
}

/// Every request evaluated, the paths that could not be built, and the worst decision.
type Evaluated = (Vec<(Request, Evaluation)>, Vec<String>, Decision);

fn evaluate_all(policy: &Policy, ev: &TrailEvidence, ctx: &TrailContext) -> Evaluated {
    let (requests, gaps) = requests(ev, ctx);
    let evaluated: Vec<(Request, Evaluation)> = requests
        .into_iter()
        .map(|(request, needed)| {
            let mut e = evaluate(policy, &request);
            // Refused, but written only if a setting that was not read is on: undecided.
            if let (Some(why), false) = (needed, e.decision == Decision::Allow) {
                e.decision = Decision::Indeterminate;
                e.unknown_keys.push(why.to_owned());
            }
            (request, e)
        })
        .collect();
    let worst = |d: &Decision| match d {
        Decision::Allow => 0,
        Decision::Indeterminate => 1,
        Decision::ImplicitDeny => 2,
        Decision::ExplicitDeny => 3,
    };
    let decision = evaluated
        .iter()
        .map(|(_, e)| e.decision)
        .max_by_key(worst)
        .unwrap_or(Decision::Indeterminate);
    (evaluated, gaps, decision)
}

/// How CloudTrail asks S3 to encrypt this trail's files: SSE-KMS under the trail's key (its
/// `KmsKeyId` is a key ARN as DescribeTrails returns it, or the key it resolved to).
fn encryption(ev: &TrailEvidence) -> Encryption {
    match ev.trail.key_setting() {
        Fact::Known(Some(reference)) => {
            let is_key_arn = reference.starts_with("arn:") && reference.contains(":key/");
            if is_key_arn {
                Encryption::Kms(reference.to_owned())
            } else {
                match ev.key.as_ref().and_then(|k| k.arn.clone()) {
                    Some(arn) => Encryption::Kms(arn),
                    None => Encryption::KmsUnknownKey,
                }
            }
        }
        _ => Encryption::Unknown,
    }
}

fn encryption_hint(ev: &TrailEvidence) -> String {
    match encryption(ev) {
        Encryption::Kms(arn) => format!(", SSE-KMS with key {arn}"),
        _ => String::new(),
    }
}

/// Whether a refused request stops delivery for certain, or only if a setting that was not
/// read is on (then a refusal is undecided, never a pass).
type Needed = Option<&'static str>;

const IF_VALIDATION: Needed =
    Some("whether log file validation is on (digest files are written only then)");
const IF_INSIGHTS: Needed =
    Some("whether CloudTrail Insights is on (its files go to CloudTrail-Insight/)");

/// The Regions whose files a trail writes: every Region of its partition for a multi-Region
/// trail (None when the partition's Regions are not known here).
pub(crate) fn regions_of(partition: &str, home: &str, multi_region: bool) -> Option<Vec<String>> {
    if !multi_region {
        return Some(vec![home.to_owned()]);
    }
    let all: &[&str] = match partition {
        "aws" => AWS_REGIONS,
        "aws-cn" => &["cn-north-1", "cn-northwest-1"],
        "aws-us-gov" => &["us-gov-west-1", "us-gov-east-1"],
        _ => return None,
    };
    let mut out = vec![home.to_owned()];
    out.extend(all.iter().filter(|r| **r != home).map(|r| (*r).to_owned()));
    Some(out)
}

/// Every request CloudTrail makes to deliver this trail's files, each with whether its refusal
/// is certain to stop delivery, and the paths that could not be built (said in the finding,
/// never passed over).
fn requests(ev: &TrailEvidence, ctx: &TrailContext) -> (Vec<(Request, Needed)>, Vec<String>) {
    let mut out = Vec::new();
    let mut gaps = Vec::new();
    if let Some(r) = ctx.get_bucket_acl_request() {
        out.push((r, None));
    }
    let home = ev.trail.home_region.clone();
    // A multi-Region trail writes the files of every Region of its partition (every member's,
    // for an organization trail): a Region-limited grant must cover them all.
    let multi = match ev.trail.is_multi_region.known() {
        Some(m) => *m,
        None => {
            gaps.push("whether the trail is multi-Region (other Regions' paths)".to_owned());
            false
        }
    };
    let regions = regions_of(ctx.partition(), &home, multi).unwrap_or_else(|| {
        gaps.push(format!(
            "the Regions of partition {} (a multi-Region trail writes each one's files)",
            ctx.partition()
        ));
        vec![home.clone()]
    });
    let mut objects: Vec<(LogObject, Needed)> = vec![(LogObject::Log, None)];
    match ev.trail.log_file_validation_enabled.known() {
        Some(true) => objects.push((LogObject::Digest, None)),
        Some(false) => {}
        None => objects.push((LogObject::Digest, IF_VALIDATION)),
    }
    match ev.trail.has_insight_selectors.known() {
        Some(true) => objects.push((LogObject::Insight, None)),
        Some(false) => {}
        None => objects.push((LogObject::Insight, IF_INSIGHTS)),
    }
    let enc = match (encryption(ev), &ctx.key_arn) {
        (Encryption::Kms(_), Some(arn)) => Encryption::Kms(arn.clone()),
        (other, _) => other,
    };
    let paths: Vec<TrailContext> = match ev.trail.is_organization_trail.known() {
        Some(true) => match &ev.organization {
            Some(org) if !org.member_accounts.is_empty() => org
                .member_accounts
                .iter()
                .map(|m| ctx.for_member(&org.id, m))
                .collect(),
            Some(org) => {
                gaps.push(format!(
                    "the member accounts of organization {} (only the owner's path is checked)",
                    org.id
                ));
                vec![ctx.for_member(&org.id, ctx.account())]
            }
            None => {
                gaps.push(
                    "the organization's id and member accounts (an organization trail writes under AWSLogs/ORG_ID/ACCOUNT/; audit with --org)"
                        .to_owned(),
                );
                Vec::new()
            }
        },
        _ => vec![ctx.clone()],
    };
    for path in &paths {
        for region in &regions {
            for &(object, needed) in &objects {
                match path.put_object_request(object, region, &enc) {
                    Some(r) => out.push((r, needed)),
                    None => {
                        let gap =
                            "the S3 key prefix or the organization flag (the log path)".to_owned();
                        if !gaps.contains(&gap) {
                            gaps.push(gap);
                        }
                    }
                }
            }
        }
    }
    (out, gaps)
}

fn add_statements(ev: &TrailEvidence, ctx: &TrailContext, bucket: &str) -> String {
    let org = ev.organization.as_ref().map(|o| o.id.as_str());
    let statements = ctx
        .bucket_statements(org)
        .map(|s| s.to_pretty_json())
        .unwrap_or_default();
    format!(
        "Add these statements to the policy of bucket {bucket} (merge; keep the existing statements), then `aws s3api put-bucket-policy --bucket {bucket} --policy file://policy.json`:\n{statements}"
    )
}
