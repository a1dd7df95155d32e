//! The evidence mapping ("Unknown is never pass") of CloudFormation, and key policies with
//! unknown values and the symbolic deploying account/Region in CloudFormation and Terraform HCL
//! (the plan mapper's own cases are in `plan_mapping.rs`): a value known only at deployment
//! makes the checks that need it `indeterminate`, never a default or a guess; a default applies
//! only when the argument is absent; what AWS's own rules imply stays known.
//!
//! Each test runs the real checks on the evidence the front end builds, so a false pass shows
//! up as `pass` where `indeterminate` is expected.

use std::collections::HashMap;

use trailseal_iac::{cfn, IacScan};
use trailseal_model::{Fact, Status};

mod support;
use support::{hcl, status};

fn template(resources: &str, parameters: &str) -> IacScan {
    let text = format!("Parameters:\n{parameters}\nResources:\n{resources}");
    cfn::scan("t.yaml", &text, &HashMap::new())
}

const CFN_TRAIL: &str = r#"
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: logs}
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      TrailName: t
      IsLogging: true
      S3BucketName: !Ref Bucket
      KMSKeyId: !GetAtt Key.Arn
"#;

// AWS::KMS::Key properties (CloudFormation User Guide, "AWS::KMS::Key"): Enabled defaults to
// true, KeySpec to SYMMETRIC_DEFAULT; the default applies when the property is absent only.
#[test]
fn cloudformation_unknown_key_properties_are_not_defaults() {
    let params = "  On: {Type: String}\n  Spec: {Type: String}\n";
    let scan = template(
        &format!(
            "{CFN_TRAIL}  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      Enabled: !Ref On\n      KeySpec: !Ref Spec\n"
        ),
        params,
    );
    assert_eq!(status(&scan, "Trail", "TS003"), Status::Indeterminate);
    assert_eq!(status(&scan, "Trail", "TS004"), Status::Indeterminate);
    // Absent: the defaults, decided.
    let scan = template(
        &format!("{CFN_TRAIL}  Key:\n    Type: AWS::KMS::Key\n    Properties: {{}}\n"),
        params,
    );
    assert_eq!(status(&scan, "Trail", "TS003"), Status::Pass);
    assert_eq!(status(&scan, "Trail", "TS004"), Status::Pass);
}

// CloudFormation User Guide, "Parameters": AllowedValues lists the only values a parameter may
// take; with one, the value is known.
#[test]
fn cloudformation_parameter_with_one_allowed_value_is_known() {
    let scan = template(
        &format!(
            "{CFN_TRAIL}  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      Enabled: !Ref On\n"
        ),
        "  On:\n    Type: String\n    AllowedValues: [\"false\"]\n",
    );
    assert_eq!(status(&scan, "Trail", "TS003"), Status::Fail);
}

// CloudFormation User Guide, "AWS::CloudTrail::Trail": without TrailName, CloudFormation
// generates the name; the trail's ARN (aws:SourceArn) is not the logical id.
#[test]
fn cloudformation_trail_without_name_has_an_unknown_name() {
    let scan = template(
        &format!(
            "{}  Key:\n    Type: AWS::KMS::Key\n",
            CFN_TRAIL.replace("      TrailName: t\n", "")
        ),
        "  X: {Type: String, Default: x}\n",
    );
    let trail = &scan.account.trails[0];
    assert!(trail
        .name_unknown
        .as_deref()
        .is_some_and(|w| w.contains("generates")));
}

// "AWS::KMS::ReplicaKey": a key of its own (Enabled, KeyPolicy); its key material, spec and
// rotation are its primary's, which is in another Region (so another stack).
#[test]
fn cloudformation_replica_key_is_a_key_with_its_primarys_facts_unknown() {
    let scan = template(
        &format!(
            "{}  Key:\n    Type: AWS::KMS::ReplicaKey\n    Properties:\n      PrimaryKeyArn: arn:aws:kms:us-east-1:111122223333:key/mrk-1\n      Enabled: false\n      KeyPolicy: {{}}\n",
            CFN_TRAIL
        ),
        "  X: {Type: String, Default: x}\n",
    );
    assert_eq!(status(&scan, "Trail", "TS002"), Status::Pass);
    assert_eq!(status(&scan, "Trail", "TS003"), Status::Fail);
    assert_eq!(status(&scan, "Trail", "TS004"), Status::Indeterminate);
    assert_eq!(status(&scan, "Trail", "TS011"), Status::Indeterminate);
    assert_eq!(scan.account.keys[0].multi_region, Fact::Known(true));
}

// KMS Developer Guide, "Multi-Region key identifiers": multi-Region key ids start with mrk-,
// and only they. A single-Region key outside the template in another Region than the bucket
// cannot serve it, whatever else is unknown about the key.
#[test]
fn an_external_single_region_key_elsewhere_fails_ts005_and_the_rest_is_unknown() {
    let resources = CFN_TRAIL.replace(
        "!GetAtt Key.Arn",
        "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    );
    // The bucket is in the deploying Region, which is not known: the Regions may match.
    let scan = template(&resources, "  X: {Type: String, Default: x}\n");
    assert_eq!(status(&scan, "Trail", "TS002"), Status::Indeterminate);
    assert_eq!(status(&scan, "Trail", "TS003"), Status::Indeterminate);
    assert_eq!(status(&scan, "Trail", "TS005"), Status::Indeterminate);
    assert_eq!(status(&scan, "Trail", "TS006"), Status::Indeterminate);
}

// Lost precision, the other direction: an Allow can never remove CloudTrail's permission
// (IAM User Guide, "Policy evaluation logic": only an explicit Deny overrides an Allow), so an
// unknown principal in a Decrypt-only Allow leaves TS006 decidable; in a Deny it does not.
const CT_STATEMENTS: &str = r#"
          - Effect: Allow
            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
            Action: "kms:*"
            Resource: "*"
          - Effect: Allow
            Principal: {Service: cloudtrail.amazonaws.com}
            Action: ["kms:GenerateDataKey*", "kms:DescribeKey"]
            Resource: "*"
"#;

#[test]
fn cloudformation_policy_with_an_unknown_principal_keeps_what_is_known() {
    let key = |effect: &str, action: &str| {
        format!(
            "{CFN_TRAIL}  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n        Version: \"2012-10-17\"\n        Statement:{CT_STATEMENTS}          - Effect: {effect}\n            Principal: {{AWS: !Ref Reader}}\n            Action: \"{action}\"\n            Resource: \"*\"\n"
        )
    };
    let params = "  Reader: {Type: String}\n";
    let scan = template(&key("Allow", "kms:Decrypt"), params);
    assert_eq!(status(&scan, "Trail", "TS006"), Status::Pass);
    let scan = template(&key("Deny", "kms:*"), params);
    assert_eq!(status(&scan, "Trail", "TS006"), Status::Indeterminate);
}

const HCL_TRAIL: &str = r#"
variable "reader" {}
resource "aws_s3_bucket" "b" { bucket = "logs" }
resource "aws_cloudtrail" "t" {
  name           = "t"
  s3_bucket_name = aws_s3_bucket.b.id
  kms_key_id     = aws_kms_key.k.arn
}
"#;

#[test]
fn terraform_jsonencode_policy_with_an_unknown_principal_keeps_what_is_known() {
    let key = |effect: &str, action: &str| {
        format!(
            r#"{HCL_TRAIL}
data "aws_caller_identity" "me" {{}}
resource "aws_kms_key" "k" {{
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{ Effect = "Allow", Principal = {{ AWS = "arn:aws:iam::${{data.aws_caller_identity.me.account_id}}:root" }}, Action = "kms:*", Resource = "*" }},
      {{ Effect = "Allow", Principal = {{ Service = "cloudtrail.amazonaws.com" }}, Action = ["kms:GenerateDataKey*", "kms:DescribeKey"], Resource = "*" }},
      {{ Effect = "{effect}", Principal = {{ AWS = var.reader }}, Action = "{action}", Resource = "*" }},
    ]
  }})
}}
"#
        )
    };
    let scan = hcl(&key("Allow", "kms:Decrypt"));
    assert_eq!(status(&scan, "aws_cloudtrail.t", "TS006"), Status::Pass);
    let scan = hcl(&key("Deny", "kms:*"));
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS006"),
        Status::Indeterminate
    );
}

#[test]
fn terraform_policy_document_with_unknown_identifiers_keeps_what_is_known() {
    let doc = |effect: &str, action: &str| {
        format!(
            r#"{HCL_TRAIL}
data "aws_caller_identity" "me" {{}}
data "aws_iam_policy_document" "p" {{
  statement {{
    principals {{
      type        = "AWS"
      identifiers = ["arn:aws:iam::${{data.aws_caller_identity.me.account_id}}:root"]
    }}
    actions   = ["kms:*"]
    resources = ["*"]
  }}
  statement {{
    principals {{
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }}
    actions   = ["kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]
  }}
  statement {{
    effect = "{effect}"
    principals {{
      type        = "AWS"
      identifiers = [var.reader]
    }}
    actions   = ["{action}"]
    resources = ["*"]
  }}
}}
resource "aws_kms_key" "k" {{
  policy = data.aws_iam_policy_document.p.json
}}
"#
        )
    };
    let scan = hcl(&doc("Allow", "kms:Decrypt"));
    assert_eq!(status(&scan, "aws_cloudtrail.t", "TS006"), Status::Pass);
    let scan = hcl(&doc("Deny", "kms:*"));
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS006"),
        Status::Indeterminate
    );
}

// The deploying account and Region are unknown when the configuration does not set them:
// compared with a literal the key policy names, they are neither equal nor different (IAM
// User Guide, "IAM JSON policy elements: Condition operators"; CloudFormation "Pseudo
// parameters": AWS::AccountId / AWS::Region are the deploying stack's).
#[test]
fn the_deploying_account_and_region_are_not_literals() {
    let key = |extra: &str| {
        format!(
            "{CFN_TRAIL}  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n        Version: \"2012-10-17\"\n        Statement:{CT_STATEMENTS}{extra}"
        )
    };
    let params = "  X: {Type: String, Default: x}\n";
    // A Deny for trails in eu-* Regions: depends on where the stack is deployed.
    let deny_eu = "          - Effect: Deny\n            Principal: \"*\"\n            Action: \"kms:GenerateDataKey*\"\n            Resource: \"*\"\n            Condition: {ArnLike: {\"aws:SourceArn\": \"arn:aws:cloudtrail:eu-*:*:trail/*\"}}\n";
    assert_eq!(
        status(&template(&key(deny_eu), params), "Trail", "TS006"),
        Status::Indeterminate
    );
    // A Deny unless the source account is a literal one: the same.
    let deny_other = "          - Effect: Deny\n            Principal: \"*\"\n            Action: \"kms:GenerateDataKey*\"\n            Resource: \"*\"\n            Condition: {StringEquals: {\"aws:SourceAccount\": \"444455556666\"}}\n";
    assert_eq!(
        status(&template(&key(deny_other), params), "Trail", "TS006"),
        Status::Indeterminate
    );
    // Written with the pseudo parameters, the policy is decided wherever it is deployed.
    let deny_self = "          - Effect: Deny\n            Principal: \"*\"\n            Action: \"kms:GenerateDataKey*\"\n            Resource: \"*\"\n            Condition: {StringNotEquals: {\"aws:SourceAccount\": !Ref \"AWS::AccountId\"}}\n";
    assert_eq!(
        status(&template(&key(deny_self), params), "Trail", "TS006"),
        Status::Pass
    );
    assert_eq!(
        status(&template(&key(""), params), "Trail", "TS006"),
        Status::Pass
    );
}

// CloudFormation "AWS::S3::Bucket": without BucketName the name is generated. The bucket is
// still the template's (its Region is known), its name is not a real one.
#[test]
fn a_bucket_without_a_name_keeps_its_region_but_has_no_name() {
    let resources = format!(
        "{}  Key:\n    Type: AWS::KMS::Key\n",
        CFN_TRAIL.replace("    Properties: {BucketName: logs}\n", "")
    );
    let scan = template(&resources, "  X: {Type: String, Default: x}\n");
    let trail = &scan.account.trails[0];
    assert!(matches!(trail.s3_bucket_name, Fact::Unknown(_)));
    assert_eq!(status(&scan, "Trail", "TS005"), Status::Pass);
}

// One trail's key outside the template does not change another trail's answer on the same
// bucket (the comparison with the deploying Region is per trail).
#[test]
fn region_comparisons_are_per_trail() {
    let resources = format!(
        "{CFN_TRAIL}  Key:\n    Type: AWS::KMS::Key\n  Other:\n    Type: AWS::CloudTrail::Trail\n    Properties:\n      TrailName: o\n      IsLogging: true\n      S3BucketName: !Ref Bucket\n      KMSKeyId: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\n"
    );
    let scan = template(&resources, "  X: {Type: String, Default: x}\n");
    assert_eq!(status(&scan, "Trail", "TS005"), Status::Pass);
    assert_eq!(status(&scan, "Other", "TS005"), Status::Indeterminate);
}

// A trail without TrailName: a key policy pinning aws:SourceArn to one trail cannot be
// decided before deployment, and the finding says which fact is missing.
#[test]
fn an_unknown_trail_name_is_named_in_the_finding() {
    let policy = format!(
        "{CFN_TRAIL}  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n        Version: \"2012-10-17\"\n        Statement:\n          - Effect: Allow\n            Principal: {{Service: cloudtrail.amazonaws.com}}\n            Action: \"kms:GenerateDataKey*\"\n            Resource: \"*\"\n            Condition: {{StringEquals: {{\"aws:SourceArn\": !Sub \"arn:aws:cloudtrail:${{AWS::Region}}:${{AWS::AccountId}}:trail/main\"}}}}\n"
    )
    .replace("      TrailName: t\n", "");
    let scan = template(&policy, "  X: {Type: String, Default: x}\n");
    let findings = scan.localize(trailseal_checks::evaluate_account(
        &scan.account,
        &trailseal_checks::iac_codes(),
    ));
    let f = findings
        .iter()
        .find(|f| f.resource == "Trail" && f.code == "TS006")
        .expect("TS006");
    assert_eq!(f.status, Status::Indeterminate, "{}", f.message);
    assert!(f.message.contains("the trail's name"), "{}", f.message);
}

// Patterns that may or may not match the deploying Region or account (IAM "Condition
// operators": `*` and `?` match any characters; CloudFormation "Pseudo parameters":
// AWS::Region / AWS::AccountId are the deploying stack's), including patterns the symbols
// themselves would match (`0*`, `*-1`): never decided on the symbol alone.
#[test]
fn patterns_on_the_deploying_account_or_region_are_undecided() {
    let deny = |condition: &str| {
        format!(
            "{CFN_TRAIL}  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n        Version: \"2012-10-17\"\n        Statement:{CT_STATEMENTS}          - Effect: Deny\n            Principal: \"*\"\n            Action: \"kms:*\"\n            Resource: \"*\"\n            Condition: {condition}\n"
        )
    };
    let params = "  X: {Type: String, Default: x}\n";
    for condition in [
        r#"{StringLike: {"aws:SourceArn": "arn:aws:cloudtrail:*-2:*"}}"#,
        r#"{StringLike: {"aws:SourceArn": "arn:aws:cloudtrail:?u-*"}}"#,
        r#"{StringNotLike: {"aws:SourceArn": "arn:aws:cloudtrail:*-1:*"}}"#,
        r#"{StringLike: {"aws:SourceAccount": "1111*"}}"#,
        r#"{StringNotLike: {"aws:SourceAccount": "0*"}}"#,
    ] {
        let scan = template(&deny(condition), params);
        assert_eq!(
            status(&scan, "Trail", "TS006"),
            Status::Indeterminate,
            "{condition}"
        );
    }
}

// aws_iam_policy_document: `type = "*"`, `identifiers = ["*"]` renders "Principal": "*" (the
// data source's documentation), so such a Deny counts.
#[test]
fn terraform_policy_document_star_principal_is_everyone() {
    let main = format!(
        r#"{HCL_TRAIL}
data "aws_iam_policy_document" "p" {{
  statement {{
    principals {{
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }}
    actions   = ["kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]
  }}
  statement {{
    effect = "Deny"
    principals {{
      type        = "*"
      identifiers = ["*"]
    }}
    actions   = ["kms:*"]
    resources = ["*"]
  }}
}}
resource "aws_kms_key" "k" {{
  policy = data.aws_iam_policy_document.p.json
}}
"#
    );
    assert_eq!(
        status(&hcl(&main), "aws_cloudtrail.t", "TS006"),
        Status::Fail
    );
}

// An object key known only later (`{ (var.x) = "*" }`): which entry it is cannot be known, so
// the object is unknown as a whole (never an entry under an empty key).
#[test]
fn terraform_unknown_object_key_makes_the_object_unknown() {
    let main = format!(
        r#"{HCL_TRAIL}
variable "x" {{}}
resource "aws_kms_key" "k" {{
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{ Effect = "Allow", Principal = {{ Service = "cloudtrail.amazonaws.com" }}, Action = "kms:*", Resource = "*" }},
      {{ Effect = "Deny", Principal = {{ (var.x) = "*" }}, Action = "kms:*", Resource = "*" }},
    ]
  }})
}}
"#
    );
    assert_eq!(
        status(&hcl(&main), "aws_cloudtrail.t", "TS006"),
        Status::Indeterminate
    );
}

// A key on a provider configuration whose Region is not known: its ARN is not the request's
// resource, so a Deny naming key ARNs of some Regions is undecided.
#[test]
fn terraform_key_in_an_unknown_region_is_not_a_known_resource() {
    let main = format!(
        r#"{HCL_TRAIL}
variable "r" {{ type = string }}
provider "aws" {{ region = "us-east-1" }}
provider "aws" {{
  alias  = "b"
  region = var.r
}}
resource "aws_kms_key" "k" {{
  provider = aws.b
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{ Effect = "Allow", Principal = {{ Service = "cloudtrail.amazonaws.com" }}, Action = "kms:*", Resource = "*" }},
      {{ Effect = "Deny", Principal = "*", Action = "kms:*", Resource = "arn:aws:kms:eu-*:*:key/*" }},
    ]
  }})
}}
"#
    );
    assert_eq!(
        status(&hcl(&main), "aws_cloudtrail.t", "TS006"),
        Status::Indeterminate
    );
}
