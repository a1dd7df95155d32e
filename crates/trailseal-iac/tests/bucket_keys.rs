//! S3 Bucket Keys in a scan (TS006): the bucket's encryption rules say whether they are on
//! (`aws_s3_bucket_server_side_encryption_configuration.rule.bucket_key_enabled`, the legacy
//! inline block, CloudFormation `BucketEncryption...BucketKeyEnabled`); with them on, a key
//! policy that does not let CloudTrail kms:Decrypt is undecided, never a pass.

use std::collections::HashMap;

use trailseal_iac::cfn;
use trailseal_model::Status;

mod support;
use support::{hcl, status};

fn tf(encryption: &str, actions: &str) -> String {
    format!(
        r#"
data "aws_caller_identity" "current" {{}}

resource "aws_s3_bucket" "logs" {{
  bucket = "logs-${{data.aws_caller_identity.current.account_id}}"
}}
{encryption}
resource "aws_kms_key" "k" {{
  enable_key_rotation = true
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{ Sid = "Root", Effect = "Allow", Action = "kms:*", Resource = "*",
         Principal = {{ AWS = "arn:aws:iam::${{data.aws_caller_identity.current.account_id}}:root" }} }},
      {{ Sid = "CT", Effect = "Allow", Action = {actions}, Resource = "*",
         Principal = {{ Service = "cloudtrail.amazonaws.com" }} }}
    ]
  }})
}}

resource "aws_cloudtrail" "t" {{
  name           = "main"
  s3_bucket_name = aws_s3_bucket.logs.id
  kms_key_id     = aws_kms_key.k.arn
}}
"#
    )
}

const BUCKET_KEY_ON: &str = r#"
resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}
"#;

#[test]
fn terraform_bucket_keys_ask_for_cloudtrails_decrypt() {
    let encrypt = r#""kms:GenerateDataKey*""#;
    let both = r#"["kms:GenerateDataKey*", "kms:Decrypt"]"#;
    assert_eq!(
        status(&hcl(&tf("", encrypt)), "aws_cloudtrail.t", "TS006"),
        Status::Pass
    );
    assert_eq!(
        status(
            &hcl(&tf(BUCKET_KEY_ON, encrypt)),
            "aws_cloudtrail.t",
            "TS006"
        ),
        Status::Indeterminate
    );
    assert_eq!(
        status(&hcl(&tf(BUCKET_KEY_ON, both)), "aws_cloudtrail.t", "TS006"),
        Status::Pass
    );
    let off = BUCKET_KEY_ON.replace("bucket_key_enabled = true", "bucket_key_enabled = false");
    assert_eq!(
        status(&hcl(&tf(&off, encrypt)), "aws_cloudtrail.t", "TS006"),
        Status::Pass
    );
    // A value known only at apply: not a pass.
    let unknown = BUCKET_KEY_ON.replace(
        "bucket_key_enabled = true",
        "bucket_key_enabled = var.bucket_keys",
    ) + "\nvariable \"bucket_keys\" { type = bool }\n";
    assert_ne!(
        status(&hcl(&tf(&unknown, encrypt)), "aws_cloudtrail.t", "TS006"),
        Status::Fail
    );
}

#[test]
fn cloudformation_bucket_keys_ask_for_cloudtrails_decrypt() {
    let template = |encryption: &str, actions: &str| {
        let text = format!(
            r#"Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "logs-${{AWS::AccountId}}"
{encryption}
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{AWS: !Sub "arn:aws:iam::${{AWS::AccountId}}:root"}}
            Action: "kms:*"
            Resource: "*"
          - Effect: Allow
            Principal: {{Service: cloudtrail.amazonaws.com}}
            Action: {actions}
            Resource: "*"
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      TrailName: t
      IsLogging: true
      S3BucketName: !Ref Bucket
      KMSKeyId: !GetAtt Key.Arn
"#
        );
        cfn::scan("t.yaml", &text, &HashMap::new())
    };
    let on = r#"      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault: {SSEAlgorithm: "aws:kms"}
            BucketKeyEnabled: true"#;
    let encrypt = r#""kms:GenerateDataKey*""#;
    assert_eq!(
        status(&template("", encrypt), "Trail", "TS006"),
        Status::Pass
    );
    assert_eq!(
        status(&template(on, encrypt), "Trail", "TS006"),
        Status::Indeterminate
    );
    assert_eq!(
        status(
            &template(on, r#"["kms:GenerateDataKey*", "kms:Decrypt"]"#),
            "Trail",
            "TS006"
        ),
        Status::Pass
    );
}

#[test]
fn the_legacy_inline_block_and_dynamic_rules_count() {
    let encrypt = r#""kms:GenerateDataKey*""#;
    // The bucket's own (deprecated) server_side_encryption_configuration block.
    let inline = tf("", encrypt).replace(
        "bucket = \"logs-${data.aws_caller_identity.current.account_id}\"\n}",
        "bucket = \"logs-${data.aws_caller_identity.current.account_id}\"\n  server_side_encryption_configuration {\n    rule {\n      bucket_key_enabled = true\n      apply_server_side_encryption_by_default {\n        sse_algorithm = \"aws:kms\"\n      }\n    }\n  }\n}",
    );
    assert!(inline.contains("server_side_encryption_configuration {"));
    assert_eq!(
        status(&hcl(&inline), "aws_cloudtrail.t", "TS006"),
        Status::Indeterminate
    );
    // Dynamic rules: the setting is not known. TS006 acts on a Bucket Key known to be on (as
    // for a bucket the scan does not define), so this is not a fail.
    let dynamic = r#"
variable "rules" { default = [true] }
resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  dynamic "rule" {
    for_each = var.rules
    content {
      bucket_key_enabled = rule.value
    }
  }
}
"#;
    let scan = hcl(&tf(dynamic, encrypt));
    assert_ne!(status(&scan, "aws_cloudtrail.t", "TS006"), Status::Fail);
}

#[test]
fn a_known_bucket_key_is_not_hidden_by_other_unknowns() {
    let encrypt = r#""kms:GenerateDataKey*""#;
    // Another configuration for a bucket defined elsewhere.
    let other = format!(
        "{BUCKET_KEY_ON}\nresource \"aws_s3_bucket_server_side_encryption_configuration\" \"elsewhere\" {{\n  bucket = \"some-existing-bucket\"\n  rule {{\n    bucket_key_enabled = false\n  }}\n}}\n"
    );
    assert_eq!(
        status(&hcl(&tf(&other, encrypt)), "aws_cloudtrail.t", "TS006"),
        Status::Indeterminate
    );
    // An attribute of the rule known only after apply (the S3 key from a variable).
    let kms_var = BUCKET_KEY_ON.replace(
        "sse_algorithm = \"aws:kms\"",
        "sse_algorithm = \"aws:kms\"\n      kms_master_key_id = var.s3_key",
    ) + "\nvariable \"s3_key\" { type = string }\n";
    assert_eq!(
        status(&hcl(&tf(&kms_var, encrypt)), "aws_cloudtrail.t", "TS006"),
        Status::Indeterminate
    );
}

#[test]
fn cloudformation_conditions_on_the_encryption_are_not_read_as_off() {
    let text = r#"Parameters:
  UseBK: {Type: String}
Conditions:
  BK: !Equals [!Ref UseBK, "yes"]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "logs-${AWS::AccountId}"
      BucketEncryption: !If
        - BK
        - ServerSideEncryptionConfiguration:
            - ServerSideEncryptionByDefault: {SSEAlgorithm: "aws:kms"}
              BucketKeyEnabled: true
        - !Ref AWS::NoValue
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
            Action: "kms:*"
            Resource: "*"
          - Effect: Allow
            Principal: {Service: cloudtrail.amazonaws.com}
            Action: "kms:GenerateDataKey*"
            Resource: "*"
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      TrailName: t
      IsLogging: true
      S3BucketName: !Ref Bucket
      KMSKeyId: !GetAtt Key.Arn
"#;
    let scan = cfn::scan("t.yaml", text, &HashMap::new());
    // Unknown setting: TS006 as without it (the design: an unknown setting adds nothing)...
    let unknown = status(&scan, "Trail", "TS006");
    // ...and known on with the parameter: undecided.
    let on = cfn::scan(
        "t.yaml",
        text,
        &HashMap::from([("UseBK".to_owned(), "yes".to_owned())]),
    );
    assert_eq!(status(&on, "Trail", "TS006"), Status::Indeterminate);
    assert_eq!(unknown, Status::Pass);
}
