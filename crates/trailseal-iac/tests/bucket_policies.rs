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

/// A policy whose bucket is chosen by a value not known before apply may land on another
/// bucket: the trail's bucket's policy is not known.
#[test]
fn terraform_a_policy_that_picks_its_bucket_is_undecided() {
    let text = format!(
        r#"{TF}
variable "use_b" {{ type = bool }}
resource "aws_s3_bucket" "b" {{ bucket = "other-bucket" }}
resource "aws_s3_bucket_policy" "logs" {{
  bucket = var.use_b ? aws_s3_bucket.b.id : aws_s3_bucket.logs.id
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{DOCUMENTED}] }})
}}
"#
    );
    assert_eq!(
        status(&hcl(&text), "aws_cloudtrail.t", "TS014"),
        Status::Indeterminate
    );
}

/// `override_json` / `source_json` (AWS provider before 5.0) are not rendered: the document is
/// not known, never the document without them.
#[test]
fn terraform_deprecated_document_merges_are_undecided() {
    let text = format!(
        r#"{TF}
data "aws_iam_policy_document" "p" {{
  override_json = "{{}}"
  statement {{
    actions   = ["s3:PutObject"]
    resources = ["${{aws_s3_bucket.logs.arn}}/*"]
    principals {{
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }}
  }}
}}
resource "aws_s3_bucket_policy" "logs" {{
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.p.json
}}
"#
    );
    assert_eq!(
        status(&hcl(&text), "aws_cloudtrail.t", "TS014"),
        Status::Indeterminate
    );
}

/// CloudFormation: a BucketPolicy created only under a condition that cannot be decided, or a
/// nested stack or macro that may set the bucket's policy too, leaves the policy unknown.
#[test]
fn cloudformation_hidden_or_conditional_setters_are_undecided() {
    let base = r#"  Bucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Sub "logs-${AWS::AccountId}"}
  Key:
    Type: AWS::KMS::Key
    Properties: {}
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      TrailName: t
      IsLogging: true
      S3BucketName: !Ref Bucket
      KMSKeyId: !GetAtt Key.Arn
  Policy:
    Type: AWS::S3::BucketPolicy
    CONDITION
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: cloudtrail.amazonaws.com}
            Action: ["s3:GetBucketAcl", "s3:PutObject"]
            Resource: [!GetAtt Bucket.Arn, !Sub "${Bucket.Arn}/*"]
"#;
    let scan = |head: &str, resources: &str| {
        let text = format!("{head}Resources:\n{resources}");
        cfn::scan("t.yaml", &text, &HashMap::new())
    };
    let conditional = base.replace("CONDITION", "Condition: Attach");
    let head = "Parameters:\n  AttachPolicy: {Type: String, AllowedValues: [\"yes\", \"no\"]}\nConditions:\n  Attach: !Equals [!Ref AttachPolicy, \"yes\"]\n";
    assert_eq!(
        status(&scan(head, &conditional), "Trail", "TS014"),
        Status::Indeterminate
    );
    let plain = base.replace("    CONDITION\n", "");
    assert_eq!(status(&scan("", &plain), "Trail", "TS014"), Status::Pass);
    let nested = format!(
        "{plain}  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties: {{TemplateURL: https://example.com/t.yaml}}\n"
    );
    assert_eq!(
        status(&scan("", &nested), "Trail", "TS014"),
        Status::Indeterminate
    );
    assert_eq!(
        status(
            &scan("Transform: AWS::LanguageExtensions\n", &plain),
            "Trail",
            "TS014"
        ),
        Status::Indeterminate
    );
}

/// A remote module is not evaluated: it may set the bucket's policy (each PutBucketPolicy
/// replaces the last), so the policy is not known.
#[test]
fn terraform_a_remote_module_may_set_the_policy() {
    let text = format!(
        r#"{}
module "x" {{
  source = "terraform-aws-modules/s3-bucket/aws"
  bucket = aws_s3_bucket.logs.id
}}
"#,
        with_policy(DOCUMENTED)
    );
    assert_eq!(
        status(&hcl(&text), "aws_cloudtrail.t", "TS014"),
        Status::Indeterminate
    );
}
