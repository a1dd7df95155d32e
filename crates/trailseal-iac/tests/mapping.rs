//! The evidence mapping ("Unknown is never pass") in CloudFormation and Terraform plans: a value known only at
//! deployment makes the checks that need it `indeterminate`, never a default or a guess; a
//! default applies only when the argument is absent; what AWS's own rules imply stays known.
//!
//! Each test runs the real checks on the evidence the front end builds, so a false pass shows
//! up as `pass` where `indeterminate` is expected.

use std::collections::HashMap;

use serde_json::{json, Value};
use trailseal_iac::{cfn, tfplan, IacScan, IAC_CODES};
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

/// A plan with the given resources: (type, name, values, after_unknown, expressions).
fn plan(resources: &[(&str, &str, Value, Value, Value)], region: Option<&str>) -> IacScan {
    let planned: Vec<Value> = resources
        .iter()
        .map(|(ty, name, values, _, _)| {
            json!({"address": format!("{ty}.{name}"), "mode": "managed", "type": ty, "name": name, "values": values})
        })
        .collect();
    let changes: Vec<Value> = resources
        .iter()
        .map(|(ty, name, _, unknown, _)| {
            json!({"address": format!("{ty}.{name}"), "change": {"after_unknown": unknown}})
        })
        .collect();
    let config: Vec<Value> = resources
        .iter()
        .map(|(ty, name, _, _, expressions)| {
            json!({"address": format!("{ty}.{name}"), "type": ty, "name": name, "expressions": expressions})
        })
        .collect();
    let mut doc = json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": config}},
    });
    if let Some(r) = region {
        doc["configuration"]["provider_config"] =
            json!({"aws": {"expressions": {"region": {"constant_value": r}}}});
    }
    tfplan::scan("plan.json", &doc.to_string())
}

fn trail_to(key_expr: Value, key_refs: Value) -> (&'static str, &'static str, Value, Value, Value) {
    let mut values = json!({"name": "t", "s3_bucket_name": "logs"});
    let mut unknown = json!({});
    match key_expr {
        Value::Null => unknown["kms_key_id"] = json!(true),
        v => values["kms_key_id"] = v,
    }
    (
        "aws_cloudtrail",
        "t",
        values,
        unknown,
        json!({"name": {}, "s3_bucket_name": {}, "kms_key_id": {"references": key_refs}}),
    )
}

fn bucket() -> (&'static str, &'static str, Value, Value, Value) {
    (
        "aws_s3_bucket",
        "b",
        json!({"bucket": "logs"}),
        json!({}),
        json!({"bucket": {}}),
    )
}

/// A key whose `values` and `unknown` attributes are configured.
fn key(
    name: &'static str,
    values: Value,
    unknown: Value,
) -> (&'static str, &'static str, Value, Value, Value) {
    key_with_computed(name, values, unknown, &[])
}

/// A key whose `computed` attributes are known only after apply without being configured.
fn key_with_computed(
    name: &'static str,
    values: Value,
    mut unknown: Value,
    computed: &[&str],
) -> (&'static str, &'static str, Value, Value, Value) {
    let mut expressions = serde_json::Map::new();
    for k in values
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .chain(unknown.as_object().into_iter().flatten().map(|(k, _)| k))
    {
        expressions.insert(k.clone(), json!({}));
    }
    for c in computed {
        unknown[*c] = json!(true);
    }
    (
        "aws_kms_key",
        name,
        values,
        unknown,
        Value::Object(expressions),
    )
}

// Terraform `aws_kms_key`: is_enabled defaults to true, customer_master_key_spec to
// SYMMETRIC_DEFAULT (Terraform AWS provider docs); an argument known only after apply is
// not its default.
#[test]
fn plan_unknown_key_arguments_are_indeterminate() {
    let scan = plan(
        &[
            key(
                "k",
                json!({}),
                json!({"is_enabled": true, "customer_master_key_spec": true, "region": true}),
            ),
            bucket(),
            trail_to(Value::Null, json!(["aws_kms_key.k.arn", "aws_kms_key.k"])),
        ],
        Some("us-east-1"),
    );
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS003"),
        Status::Indeterminate
    );
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS004"),
        Status::Indeterminate
    );
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS005"),
        Status::Indeterminate
    );
}

// Attributes Terraform computes at apply because the configuration does not set them take the
// provider's default: the key without a policy gets the AWS default key policy.
#[test]
fn plan_computed_unconfigured_policy_is_the_default_policy() {
    let scan = plan(
        &[
            key_with_computed("k", json!({}), json!({}), &["policy", "arn"]),
            bucket(),
            trail_to(Value::Null, json!(["aws_kms_key.k.arn", "aws_kms_key.k"])),
        ],
        Some("us-east-1"),
    );
    assert_eq!(status(&scan, "aws_cloudtrail.t", "TS006"), Status::Fail);
}

// A conditional between two keys on a value known only after apply refers to both keys in
// the plan's configuration: which key the trail gets is not known.
#[test]
fn plan_key_chosen_at_apply_is_unknown() {
    let scan = plan(
        &[
            key("a", json!({}), json!({})),
            key("b", json!({}), json!({})),
            bucket(),
            trail_to(
                Value::Null,
                json!([
                    "aws_kms_key.a.arn",
                    "aws_kms_key.a",
                    "aws_kms_key.b.arn",
                    "aws_kms_key.b"
                ]),
            ),
        ],
        Some("us-east-1"),
    );
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS001"),
        Status::Indeterminate
    );
}

// Terraform `aws_kms_key_policy`: sets the key's policy (the key's own policy argument must
// then be unset).
#[test]
fn plan_aws_kms_key_policy_is_the_keys_policy() {
    let good = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "CT", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"}
    ]})
    .to_string();
    let scan = plan(
        &[
            key_with_computed("k", json!({}), json!({}), &["policy"]),
            (
                "aws_kms_key_policy",
                "p",
                json!({"policy": good}),
                json!({"key_id": true}),
                json!({"policy": {}, "key_id": {"references": ["aws_kms_key.k.id", "aws_kms_key.k"]}}),
            ),
            bucket(),
            trail_to(Value::Null, json!(["aws_kms_key.k.arn", "aws_kms_key.k"])),
        ],
        Some("us-east-1"),
    );
    assert_eq!(status(&scan, "aws_cloudtrail.t", "TS006"), Status::Pass);
}

// Trail arguments known only after apply stay unknown in the evidence (the request CloudTrail
// makes depends on them).
#[test]
fn plan_unknown_trail_arguments_stay_unknown() {
    let mut t = trail_to(
        json!("arn:aws:kms:us-east-1:000000000000:key/aws_kms_key.k"),
        json!([]),
    );
    t.3 = json!({"s3_key_prefix": true, "is_organization_trail": true, "enable_log_file_validation": true});
    t.4["s3_key_prefix"] = json!({});
    t.4["is_organization_trail"] = json!({});
    t.4["enable_log_file_validation"] = json!({});
    let scan = plan(
        &[key("k", json!({}), json!({})), bucket(), t],
        Some("us-east-1"),
    );
    let trail = &scan.account.trails[0];
    assert!(matches!(trail.s3_key_prefix, Fact::Unknown(_)));
    assert!(matches!(trail.is_organization_trail, Fact::Unknown(_)));
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS010"),
        Status::Indeterminate
    );
}

// KMS Developer Guide, "Aliases": an alias is a Regional resource; an alias created in one
// Region never resolves in another.
#[test]
fn plan_aliases_are_regional() {
    let alias = |region: &str| {
        (
            "aws_kms_alias",
            "a",
            json!({"name": "alias/logs", "region": region}),
            json!({"target_key_id": true}),
            json!({"name": {}, "region": {}, "target_key_id": {"references": ["aws_kms_key.k.key_id", "aws_kms_key.k"]}}),
        )
    };
    let other = plan(
        &[
            key("k", json!({}), json!({})),
            alias("eu-west-1"),
            bucket(),
            trail_to(json!("alias/logs"), json!([])),
        ],
        Some("us-east-1"),
    );
    assert_eq!(
        status(&other, "aws_cloudtrail.t", "TS002"),
        Status::Indeterminate
    );
    let same = plan(
        &[
            key("k", json!({}), json!({})),
            alias("us-east-1"),
            bucket(),
            trail_to(json!("alias/logs"), json!([])),
        ],
        Some("us-east-1"),
    );
    assert_eq!(status(&same, "aws_cloudtrail.t", "TS002"), Status::Pass);
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

// Terraform plans: a bucket name known only after apply that may be one of several buckets
// is unknown (it is never the first one mentioned).
#[test]
fn plan_bucket_chosen_at_apply_is_unknown() {
    let mut t = trail_to(
        json!("arn:aws:kms:us-east-1:000000000000:key/aws_kms_key.k"),
        json!([]),
    );
    t.2 =
        json!({"name": "t", "kms_key_id": "arn:aws:kms:us-east-1:000000000000:key/aws_kms_key.k"});
    t.3 = json!({"s3_bucket_name": true});
    t.4["s3_bucket_name"] = json!({"references": ["aws_s3_bucket.b.id", "aws_s3_bucket.b", "aws_s3_bucket.c.id", "aws_s3_bucket.c"]});
    let c = (
        "aws_s3_bucket",
        "c",
        json!({"bucket": "other"}),
        json!({}),
        json!({"bucket": {}}),
    );
    let scan = plan(
        &[key("k", json!({}), json!({})), bucket(), c, t],
        Some("us-east-1"),
    );
    assert!(matches!(
        scan.account.trails[0].s3_bucket_name,
        Fact::Unknown(_)
    ));
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS005"),
        Status::Indeterminate
    );
}

// `aws_kms_key.k[count.index].arn` is listed as a reference to `aws_kms_key.k` (Terraform
// "Resource Addressing"): with several instances it names none of them for sure.
#[test]
fn plan_reference_to_one_of_several_instances_is_unknown() {
    let planned: Vec<Value> = vec![
        json!({"address": "aws_kms_key.k[0]", "mode": "managed", "type": "aws_kms_key", "name": "k", "values": {}}),
        json!({"address": "aws_kms_key.k[1]", "mode": "managed", "type": "aws_kms_key", "name": "k", "values": {}}),
        json!({"address": "aws_s3_bucket.b", "mode": "managed", "type": "aws_s3_bucket", "name": "b", "values": {"bucket": "logs"}}),
        json!({"address": "aws_cloudtrail.t", "mode": "managed", "type": "aws_cloudtrail", "name": "t", "values": {"name": "t", "s3_bucket_name": "logs"}}),
    ];
    let doc = json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": [{"address": "aws_cloudtrail.t", "change": {"after_unknown": {"kms_key_id": true}}}],
        "configuration": {"root_module": {"resources": [
            {"address": "aws_kms_key.k", "type": "aws_kms_key", "name": "k", "expressions": {}},
            {"address": "aws_s3_bucket.b", "type": "aws_s3_bucket", "name": "b", "expressions": {"bucket": {}}},
            {"address": "aws_cloudtrail.t", "type": "aws_cloudtrail", "name": "t", "expressions": {"name": {}, "s3_bucket_name": {}, "kms_key_id": {"references": ["aws_kms_key.k", "count.index"]}}}
        ]}, "provider_config": {"aws": {"expressions": {"region": {"constant_value": "us-east-1"}}}}},
    });
    let scan = tfplan::scan("plan.json", &doc.to_string());
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS001"),
        Status::Indeterminate
    );
}

// A trail's alias name is looked up in the trail's own Region (its provider's): an alias the
// plan creates in another Region does not resolve (KMS "Aliases" are Regional).
#[test]
fn plan_trail_alias_is_looked_up_in_the_trails_region() {
    let planned = json!([
        {"address": "aws_kms_key.k", "mode": "managed", "type": "aws_kms_key", "name": "k", "values": {}},
        {"address": "aws_kms_alias.a", "mode": "managed", "type": "aws_kms_alias", "name": "a", "values": {"name": "alias/logs"}},
        {"address": "aws_s3_bucket.b", "mode": "managed", "type": "aws_s3_bucket", "name": "b", "values": {"bucket": "logs"}},
        {"address": "aws_cloudtrail.t", "mode": "managed", "type": "aws_cloudtrail", "name": "t", "values": {"name": "t", "s3_bucket_name": "logs", "kms_key_id": "alias/logs"}}
    ]);
    let doc = json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": [{"address": "aws_kms_alias.a", "change": {"after_unknown": {"target_key_id": true}}}],
        "configuration": {"root_module": {"resources": [
            {"address": "aws_kms_key.k", "type": "aws_kms_key", "name": "k", "expressions": {}},
            {"address": "aws_kms_alias.a", "type": "aws_kms_alias", "name": "a", "expressions": {"name": {}, "target_key_id": {"references": ["aws_kms_key.k.key_id", "aws_kms_key.k"]}}},
            {"address": "aws_s3_bucket.b", "type": "aws_s3_bucket", "name": "b", "expressions": {"bucket": {}}},
            {"address": "aws_cloudtrail.t", "type": "aws_cloudtrail", "name": "t", "provider_config_key": "aws.eu", "expressions": {"name": {}, "s3_bucket_name": {}, "kms_key_id": {}}}
        ]}, "provider_config": {
            "aws": {"expressions": {"region": {"constant_value": "us-east-1"}}},
            "aws.eu": {"expressions": {"region": {"constant_value": "eu-west-1"}}}
        }},
    });
    let scan = tfplan::scan("plan.json", &doc.to_string());
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS002"),
        Status::Indeterminate
    );
    assert!(scan.account.trails[0].arn.contains(":eu-west-1:"));
}

// A trail name known only after apply: the ARN CloudTrail's requests carry is unknown.
#[test]
fn plan_unknown_trail_name_is_not_the_address() {
    let mut t = trail_to(
        json!("arn:aws:kms:us-east-1:000000000000:key/aws_kms_key.k"),
        json!([]),
    );
    t.2 = json!({"s3_bucket_name": "logs", "kms_key_id": "arn:aws:kms:us-east-1:000000000000:key/aws_kms_key.k"});
    t.3 = json!({"name": true});
    let scan = plan(
        &[key("k", json!({}), json!({})), bucket(), t],
        Some("us-east-1"),
    );
    assert!(scan.account.trails[0].name_unknown.is_some());
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
    let findings = scan.localize(trailseal_checks::evaluate_account(&scan.account, IAC_CODES));
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
