//! TS014 in a scan: the bucket policy a configuration sets (`aws_s3_bucket_policy`, the bucket's
//! own `policy`, `AWS::S3::BucketPolicy`) evaluated for CloudTrail's requests (CloudTrail User
//! Guide, "Amazon S3 bucket policy for CloudTrail"). A bucket defined elsewhere is skipped; an
//! answer that depends on where the stack is deployed is indeterminate.

use std::collections::HashMap;

use trailseal_iac::cfn;
use trailseal_model::Status;

mod support;
use support::{hcl, status};

const TF: &str = r#"
data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "logs" {
  bucket = "logs-${data.aws_caller_identity.current.account_id}"
}

resource "aws_kms_key" "k" {
  enable_key_rotation = true
}

resource "aws_cloudtrail" "t" {
  name           = "main"
  s3_bucket_name = aws_s3_bucket.logs.id
  kms_key_id     = aws_kms_key.k.arn
}
"#;

fn with_policy(statements: &str) -> String {
    format!(
        r#"{TF}
resource "aws_s3_bucket_policy" "logs" {{
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{statements}]
  }})
}}
"#
    )
}

const DOCUMENTED: &str = r#"
      {
        Sid       = "AWSCloudTrailAclCheck"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "s3:GetBucketAcl"
        Resource  = aws_s3_bucket.logs.arn
      },
      {
        Sid       = "AWSCloudTrailWrite"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/AWSLogs/${data.aws_caller_identity.current.account_id}/*"
        Condition = { StringEquals = { "s3:x-amz-acl" = "bucket-owner-full-control" } }
      }"#;

#[test]
fn terraform_a_bucket_without_a_policy_fails_and_the_documented_one_passes() {
    assert_eq!(status(&hcl(TF), "aws_cloudtrail.t", "TS014"), Status::Fail);
    let scan = hcl(&with_policy(DOCUMENTED));
    assert_eq!(status(&scan, "aws_cloudtrail.t", "TS014"), Status::Pass);
}

#[test]
fn terraform_a_deny_requiring_another_key_fails() {
    let deny = format!(
        r#"{DOCUMENTED},
      {{
        Sid       = "RequireOtherKey"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${{aws_s3_bucket.logs.arn}}/*"
        Condition = {{ StringNotEquals = {{ "s3:x-amz-server-side-encryption-aws-kms-key-id" = aws_kms_key.other.arn }} }}
      }}"#
    );
    let text = format!(
        "{}\nresource \"aws_kms_key\" \"other\" {{}}\n",
        with_policy(&deny)
    );
    assert_eq!(
        status(&hcl(&text), "aws_cloudtrail.t", "TS014"),
        Status::Fail
    );
}

#[test]
fn terraform_a_bucket_defined_elsewhere_is_skipped() {
    let text = r#"
resource "aws_kms_key" "k" {}
resource "aws_cloudtrail" "t" {
  name           = "main"
  s3_bucket_name = "central-logs"
  kms_key_id     = aws_kms_key.k.arn
}
"#;
    assert_eq!(
        status(&hcl(text), "aws_cloudtrail.t", "TS014"),
        Status::Skipped
    );
}

/// A literal account in the bucket policy while the configuration does not say where it
/// deploys: the answer depends on the deploying account.
#[test]
fn terraform_a_literal_account_depends_on_the_deployment() {
    let literal = DOCUMENTED.replace(
        "AWSLogs/${data.aws_caller_identity.current.account_id}/*",
        "AWSLogs/111122223333/*",
    );
    let scan = hcl(&with_policy(&literal));
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS014"),
        Status::Indeterminate
    );
}

#[test]
fn cloudformation_bucket_policies() {
    let template = |policy: &str| {
        let text = format!(
            r#"Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {{BucketName: !Sub "logs-${{AWS::AccountId}}"}}
  Key:
    Type: AWS::KMS::Key
    Properties: {{}}
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      TrailName: t
      IsLogging: true
      S3BucketName: !Ref Bucket
      KMSKeyId: !GetAtt Key.Arn
{policy}"#
        );
        cfn::scan("t.yaml", &text, &HashMap::new())
    };
    assert_eq!(status(&template(""), "Trail", "TS014"), Status::Fail);
    let documented = r#"  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: cloudtrail.amazonaws.com}
            Action: s3:GetBucketAcl
            Resource: !GetAtt Bucket.Arn
          - Effect: Allow
            Principal: {Service: cloudtrail.amazonaws.com}
            Action: s3:PutObject
            Resource: !Sub "${Bucket.Arn}/AWSLogs/${AWS::AccountId}/*"
"#;
    assert_eq!(
        status(&template(documented), "Trail", "TS014"),
        Status::Pass
    );
    // Two policies for one bucket: which applies is not known.
    let twice = format!(
        "{documented}{}",
        documented.replace("  Policy:", "  Policy2:")
    );
    assert_eq!(
        status(&template(&twice), "Trail", "TS014"),
        Status::Indeterminate
    );
}
