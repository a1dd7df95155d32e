//! "Unknown is never pass" for Terraform HCL: what cannot be known before apply is unknown in
//! what `terraform::planned` gives the plan mapper (each unknown attribute with the reason),
//! and what Terraform itself would know stays known. Each test cites the Terraform
//! documentation that decides it.

use std::path::PathBuf;

use serde_json::Value;
use trailseal_iac::terraform::{planned, scan_module, TfVars};
use trailseal_iac::tfplan::Planned;

mod support;
use support::plan_with;

/// A module in a temporary directory, with its `--var` settings.
fn module(
    files: &[(&str, &str)],
    values: &[(&str, &str)],
) -> (tempfile::TempDir, Vec<PathBuf>, TfVars) {
    let (dir, tf) = support::module(files);
    (dir, tf, support::vars(values))
}

/// Writes `files` into a temporary module directory and returns what Terraform would know
/// before apply.
fn plan(files: &[(&str, &str)]) -> Planned {
    plan_with(files, &[])
}

use support::{addresses, references, unknown, value};

const KEYS: &str = r#"
resource "aws_kms_key" "good" {}
resource "aws_kms_key" "other" {}
variable "unset" {}
locals {
  m = { a = "x" }
}
"#;

fn trail(kms_key_id: &str) -> String {
    format!("{KEYS}\nresource \"aws_cloudtrail\" \"t\" {{\n  kms_key_id = {kms_key_id}\n}}\n")
}

fn key_id(expr: &str) -> (Option<String>, Option<String>) {
    let doc = plan(&[("main.tf", &trail(expr))]);
    (
        value(&doc, "aws_cloudtrail.t", "kms_key_id").map(|v| v.to_string()),
        unknown(&doc, "aws_cloudtrail.t", "kms_key_id").map(str::to_owned),
    )
}

const GOOD: &str = "\"arn:aws:kms:deploying-region-1:000000000000:key/aws_kms_key.good\"";

/// try() and can() on an unknown argument are unknown: "The try function can only catch and
/// handle dynamic errors resulting from access to data that isn't known until runtime"
/// (https://developer.hashicorp.com/terraform/language/functions/try and .../functions/can);
/// whether evaluation will fail cannot be known. Only a known error moves try() on.
#[test]
fn try_and_can_of_an_unknown_argument_are_unknown() {
    let (known, why) = key_id("try(var.unset, aws_kms_key.good.arn)");
    assert_eq!(known, None);
    assert!(why.is_some_and(|w| w.contains("var.unset")));
    // A known error (a missing attribute of a known object) moves on to the fallback.
    assert_eq!(
        key_id("try(local.m.missing, aws_kms_key.good.arn)")
            .0
            .as_deref(),
        Some(GOOD)
    );
    assert_eq!(
        key_id("can(local.m.missing) ? null : aws_kms_key.good.arn")
            .0
            .as_deref(),
        Some(GOOD)
    );
    let (known, why) = key_id("can(var.unset) ? aws_kms_key.good.arn : null");
    assert_eq!(known, None);
    assert!(why.is_some());
}

/// for_each: "The keys of the map (or all the values in the case of a set of strings) must
/// be known values" (https://developer.hashicorp.com/terraform/language/meta-arguments/for_each):
/// with unknown keys the instances are unknown, so one `[*]` instance with every attribute
/// trailseal reads unknown (never fewer findings); a map with known keys and unknown values
/// has known instances.
#[test]
fn for_each_with_unknown_keys_is_one_unknown_instance() {
    for for_each in ["toset(var.unset)", "toset([var.unset, \"b\"])", "var.unset"] {
        let doc = plan(&[(
            "main.tf",
            &format!(
                "variable \"unset\" {{}}\nresource \"aws_cloudtrail\" \"t\" {{\n  for_each = {for_each}\n  name = \"n\"\n  kms_key_id = \"alias/x\"\n}}\n"
            ),
        )]);
        assert_eq!(addresses(&doc), vec!["aws_cloudtrail.t[*]"], "{for_each}");
        for attr in [
            "name",
            "kms_key_id",
            "enable_log_file_validation",
            "is_multi_region_trail",
        ] {
            let why = unknown(&doc, "aws_cloudtrail.t[*]", attr).unwrap_or_default();
            assert!(why.contains("for_each"), "{for_each} {attr}: {why}");
            assert_eq!(value(&doc, "aws_cloudtrail.t[*]", attr), None);
        }
    }
    let doc = plan(&[(
        "main.tf",
        "variable \"unset\" {}\nresource \"aws_cloudtrail\" \"t\" {\n  for_each = { a = var.unset, b = \"logs\" }\n  s3_bucket_name = each.value\n  name = each.key\n}\n",
    )]);
    assert_eq!(
        addresses(&doc),
        vec!["aws_cloudtrail.t[\"a\"]", "aws_cloudtrail.t[\"b\"]"]
    );
    assert!(unknown(&doc, "aws_cloudtrail.t[\"a\"]", "s3_bucket_name").is_some());
    assert_eq!(
        value(&doc, "aws_cloudtrail.t[\"a\"]", "name"),
        Some(&Value::from("a"))
    );
    assert_eq!(
        value(&doc, "aws_cloudtrail.t[\"b\"]", "s3_bucket_name"),
        Some(&Value::from("logs"))
    );
}

/// count: a tuple of known length with unknown elements has a known length
/// (https://developer.hashicorp.com/terraform/language/functions/length); an unknown count is
/// one unknown instance.
#[test]
fn count_of_a_known_length_is_known() {
    let doc = plan(&[(
        "main.tf",
        "variable \"unset\" {}\nresource \"aws_cloudtrail\" \"t\" {\n  count = length([var.unset, var.unset])\n  name = \"t-${count.index}\"\n}\n",
    )]);
    assert_eq!(
        addresses(&doc),
        vec!["aws_cloudtrail.t[0]", "aws_cloudtrail.t[1]"]
    );
    let doc = plan(&[(
        "main.tf",
        "variable \"unset\" {}\nresource \"aws_cloudtrail\" \"t\" {\n  count = var.unset\n  name = \"t\"\n}\n",
    )]);
    assert_eq!(addresses(&doc), vec!["aws_cloudtrail.t[*]"]);
    assert!(unknown(&doc, "aws_cloudtrail.t[*]", "name").is_some_and(|w| w.contains("count")));
}

/// Functions give up only where Terraform does: coalesce
/// (https://developer.hashicorp.com/terraform/language/functions/coalesce), lookup (.../lookup),
/// merge (.../merge), one (.../one), length, keys, contains, element, concat.
#[test]
fn functions_keep_what_is_known() {
    let good = Some(GOOD);
    for expr in [
        "coalesce(null, \"\", aws_kms_key.good.arn, var.unset)",
        "lookup({ a = aws_kms_key.good.arn, b = var.unset }, \"a\")",
        "merge({ a = aws_kms_key.good.arn }, { b = var.unset }).a",
        "merge({ a = var.unset }, { a = aws_kms_key.good.arn }).a",
        "one(aws_kms_key.good[*].arn)",
        "one([aws_kms_key.good.arn])",
        "length([var.unset, 1]) == 2 ? aws_kms_key.good.arn : null",
        "keys({ a = var.unset })[0] == \"a\" ? aws_kms_key.good.arn : null",
        "contains([var.unset, \"a\"], \"a\") ? aws_kms_key.good.arn : null",
        "element([aws_kms_key.good.arn, var.unset], 0)",
        "concat([aws_kms_key.good.arn], [var.unset])[0]",
        "values({ a = aws_kms_key.good.arn, b = var.unset })[0]",
    ] {
        assert_eq!(key_id(expr).0.as_deref(), good, "{expr}");
    }
    for expr in [
        "coalesce(var.unset, aws_kms_key.good.arn)",
        "merge({ a = aws_kms_key.good.arn }, { a = var.unset }).a",
        "merge(var.unset, { a = aws_kms_key.good.arn }).a",
        "lookup(var.unset, \"a\", aws_kms_key.good.arn)",
        "contains([var.unset, \"b\"], \"a\") ? null : aws_kms_key.good.arn",
        "one(var.unset)",
    ] {
        let (known, why) = key_id(expr);
        assert_eq!(known, None, "{expr}");
        assert!(why.is_some_and(|w| w.contains("var.unset")), "{expr}");
    }
}

/// A conditional on an unknown condition never picks a branch
/// (https://developer.hashicorp.com/terraform/language/expressions/conditionals): unknown
/// unless both branches are the same known value; `&&` / `||` are decided by a known decisive
/// operand (https://developer.hashicorp.com/terraform/language/expressions/operators).
/// The document references both keys, so a consumer sees that the choice is unknown.
#[test]
fn conditionals_and_logical_operators() {
    let (known, why) = key_id("var.unset ? aws_kms_key.good.arn : aws_kms_key.other.arn");
    assert_eq!(known, None);
    assert!(why.is_some_and(|w| w.contains("var.unset")));
    let doc = plan(&[(
        "main.tf",
        &trail("var.unset ? aws_kms_key.good.arn : aws_kms_key.other.arn"),
    )]);
    let refs = references(&doc, "aws_cloudtrail.t", "kms_key_id");
    for r in [
        "var.unset",
        "aws_kms_key.good.arn",
        "aws_kms_key.good",
        "aws_kms_key.other",
    ] {
        assert!(refs.contains(&r.to_owned()), "{r} in {refs:?}");
    }
    assert_eq!(
        key_id("var.unset ? aws_kms_key.good.arn : aws_kms_key.good.arn")
            .0
            .as_deref(),
        Some(GOOD)
    );
    assert_eq!(
        key_id("var.unset || true ? aws_kms_key.good.arn : null")
            .0
            .as_deref(),
        Some(GOOD)
    );
    assert_eq!(
        key_id("false && var.unset ? null : aws_kms_key.good.arn")
            .0
            .as_deref(),
        Some(GOOD)
    );
    assert_eq!(
        key_id("var.unset && true ? aws_kms_key.good.arn : null").0,
        None
    );
}

const VARS: &str = r#"
variable "on" {
  type = bool
}
variable "n" {
  type    = number
  default = 0
}
variable "name" {
  type      = string
  default   = "d"
  sensitive = true
  validation {
    condition     = length(var.name) > 0
    error_message = "a name"
  }
}
resource "aws_cloudtrail" "t" {
  count                      = var.n
  name                       = var.name
  enable_log_file_validation = var.on
}
"#;

/// Variable definition precedence
/// (https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence):
/// terraform.tfvars, terraform.tfvars.json, then *.auto.tfvars / *.auto.tfvars.json in
/// lexical order, then -var-file and -var. Values convert to the `type`
/// (https://developer.hashicorp.com/terraform/language/expressions/type-constraints#conversion-of-primitive-types):
/// "true" is true for bool, "1" is 1 for number.
#[test]
fn variable_files_and_type_conversion() {
    let doc = plan(&[
        ("main.tf", VARS),
        ("terraform.tfvars", "name = \"hcl\"\nn = 5\n"),
        (
            "terraform.tfvars.json",
            r#"{"name": "json", "on": "true", "n": "1"}"#,
        ),
        ("a.auto.tfvars.json", r#"{"n": 3}"#),
        ("b.auto.tfvars", "n = \"2\"\n"),
    ]);
    assert_eq!(
        addresses(&doc),
        vec!["aws_cloudtrail.t[0]", "aws_cloudtrail.t[1]"]
    );
    assert_eq!(
        value(&doc, "aws_cloudtrail.t[0]", "name"),
        Some(&Value::from("json"))
    );
    assert_eq!(
        value(&doc, "aws_cloudtrail.t[0]", "enable_log_file_validation"),
        Some(&Value::Bool(true))
    );
    // --var is a string converted to the type.
    let doc = plan_with(&[("main.tf", VARS)], &[("on", "false"), ("n", "1")]);
    assert_eq!(
        value(&doc, "aws_cloudtrail.t[0]", "enable_log_file_validation"),
        Some(&Value::Bool(false))
    );
}

/// A value that does not convert to the type is an error (TS000), never a guess.
#[test]
fn a_value_of_the_wrong_type_is_an_error() {
    let (dir, tf, vars) = module(&[("main.tf", VARS)], &[("on", "yes"), ("n", "1")]);
    let scan = scan_module(dir.path(), &tf, &vars);
    assert!(
        scan.file_problems
            .iter()
            .any(|(_, p)| p.message.contains("var.on") && p.message.contains("bool")),
        "{:?}",
        scan.file_problems
    );
    let doc = planned(dir.path(), &tf, &vars);
    assert!(unknown(&doc, "aws_cloudtrail.t[0]", "enable_log_file_validation").is_some());
}

/// nullable = false: "If nullable is false and the variable has a default value, then
/// Terraform uses the default when a module input argument is null"
/// (https://developer.hashicorp.com/terraform/language/values/variables#disallowing-null-input-values);
/// without a default, null is an error.
#[test]
fn nullable_false_takes_the_default() {
    let child = r#"
variable "rotate" {
  type     = bool
  default  = true
  nullable = false
}
variable "name" {
  type     = string
  nullable = false
}
resource "aws_kms_key" "k" {
  enable_key_rotation = var.rotate
  description         = var.name
}
"#;
    let (dir, tf, vars) = module(
        &[
            (
                "main.tf",
                "module \"m\" {\n  source = \"./m\"\n  rotate = null\n  name = null\n}\n",
            ),
            ("m/main.tf", child),
        ],
        &[],
    );
    let doc = planned(dir.path(), &tf, &vars);
    assert_eq!(
        value(&doc, "module.m.aws_kms_key.k", "enable_key_rotation"),
        Some(&Value::Bool(true))
    );
    assert!(unknown(&doc, "module.m.aws_kms_key.k", "description").is_some());
    let scan = scan_module(dir.path(), &tf, &vars);
    assert!(scan
        .file_problems
        .iter()
        .any(|(_, p)| p.message.contains("nullable")));
}

fn key_policy(document: &str, vars: &[(&str, &str)]) -> (Option<Value>, Option<String>) {
    let main = format!(
        "variable \"unset\" {{}}\nvariable \"readers\" {{\n  default = [\"a\", \"b\"]\n}}\n{document}\nresource \"aws_kms_key\" \"k\" {{\n  policy = data.aws_iam_policy_document.p.json\n}}\n"
    );
    let doc = plan_with(&[("main.tf", &main)], vars);
    (
        value(&doc, "aws_kms_key.k", "policy")
            .and_then(Value::as_str)
            .and_then(|p| serde_json::from_str(p).ok()),
        unknown(&doc, "aws_kms_key.k", "policy").map(str::to_owned),
    )
}

/// dynamic blocks (https://developer.hashicorp.com/terraform/language/expressions/dynamic-blocks)
/// in aws_iam_policy_document: statements, principals and conditions generated; an unknown
/// for_each makes the document unknown (a generated Deny is never dropped).
#[test]
fn dynamic_statements_principals_and_conditions() {
    let doc = r#"
data "aws_iam_policy_document" "p" {
  statement {
    sid       = "Admin"
    actions   = ["kms:*"]
    resources = ["*"]
  }
  dynamic "statement" {
    for_each = toset(var.readers)
    iterator = reader
    content {
      sid       = "Deny${reader.value}"
      effect    = "Deny"
      actions   = ["kms:Decrypt"]
      resources = ["*"]
      dynamic "principals" {
        for_each = { AWS = "arn:aws:iam::111122223333:role/${reader.key}" }
        content {
          type        = principals.key
          identifiers = [principals.value]
        }
      }
      dynamic "condition" {
        for_each = [reader.value]
        content {
          test     = "StringEquals"
          variable = "aws:PrincipalTag/team"
          values   = [condition.value]
        }
      }
    }
  }
}
"#;
    let (policy, _) = key_policy(doc, &[]);
    let policy = policy.expect("known policy");
    let statements = policy["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 3, "{policy}");
    assert_eq!(statements[1]["Sid"], "Denya");
    assert_eq!(statements[1]["Effect"], "Deny");
    assert_eq!(
        statements[2]["Principal"]["AWS"][0],
        "arn:aws:iam::111122223333:role/b"
    );
    assert_eq!(
        statements[2]["Condition"]["StringEquals"]["aws:PrincipalTag/team"][0],
        "b"
    );
    // An unknown for_each: the document is unknown, with the reason.
    let (policy, why) = key_policy(&doc.replace("toset(var.readers)", "toset(var.unset)"), &[]);
    assert_eq!(policy, None);
    assert!(why.is_some_and(|w| w.contains("var.unset")));
    // A dynamic block over a list of one unknown value: one condition, whose value is
    // unknown (the policy engine's marker, with the reason); the rest of the policy is known.
    let (policy, _) = key_policy(&doc.replace("[reader.value]", "[var.unset]"), &[]);
    let policy = policy.expect("known policy with an unknown value");
    let value = policy["Statement"][1]["Condition"]["StringEquals"]["aws:PrincipalTag/team"][0]
        .as_str()
        .expect("a condition value");
    assert!(
        trailseal_policy::unknown_reason(value).is_some_and(|r| r.contains("var.unset")),
        "{value}"
    );
}

/// source_policy_documents, override_policy_documents, policy_id, version and the not_*
/// elements, as the provider documents them
/// (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/iam_policy_document):
/// "Statements defined in source_policy_documents must have unique sids"; the document's own
/// statements and then override documents replace statements with the same sid, others are
/// appended.
#[test]
fn source_and_override_documents() {
    let doc = r#"
locals {
  source = jsonencode({
    Version   = "2012-10-17"
    Statement = [
      { Sid = "Keep", Effect = "Allow", Action = "kms:Describe*", Resource = "*" },
      { Sid = "Mine", Effect = "Allow", Action = "kms:Old", Resource = "*" },
    ]
  })
  override = jsonencode({
    Statement = [
      { Sid = "Keep", Effect = "Deny", Action = "kms:*", Resource = "*" },
      { Sid = "Added", Effect = "Allow", Action = "kms:Encrypt", Resource = "*" },
    ]
  })
}
data "aws_iam_policy_document" "p" {
  source_policy_documents   = [local.source]
  override_policy_documents = [local.override]
  policy_id                 = "key-policy"
  version                   = "2012-10-17"
  statement {
    sid            = "Mine"
    not_actions    = ["kms:Decrypt"]
    not_resources  = ["arn:aws:kms:*:*:key/x"]
    not_principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::111122223333:root"]
    }
  }
}
"#;
    let (policy, _) = key_policy(doc, &[]);
    let policy = policy.expect("known policy");
    assert_eq!(policy["Id"], "key-policy");
    assert_eq!(policy["Version"], "2012-10-17");
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(sids, vec!["Keep", "Mine", "Added"]);
    assert_eq!(policy["Statement"][0]["Effect"], "Deny");
    assert_eq!(policy["Statement"][1]["NotAction"][0], "kms:Decrypt");
    assert_eq!(
        policy["Statement"][1]["NotResource"][0],
        "arn:aws:kms:*:*:key/x"
    );
    assert_eq!(
        policy["Statement"][1]["NotPrincipal"]["AWS"][0],
        "arn:aws:iam::111122223333:root"
    );
    // Duplicate sids across the source documents: an error, not a policy.
    let (policy, why) = key_policy(
        &doc.replace("[local.source]", "[local.source, local.source]"),
        &[],
    );
    assert_eq!(policy, None);
    assert!(why.is_some_and(|w| w.contains("duplicate Sid")));
}

/// aws_kms_key_policy is in the document with its arguments and references, for the mapper
/// to apply the policy to its key.
#[test]
fn kms_key_policy_resource() {
    let doc = plan(&[(
        "main.tf",
        r#"
resource "aws_kms_key" "k" {}
resource "aws_kms_key_policy" "p" {
  key_id                             = aws_kms_key.k.id
  policy                             = jsonencode({ Version = "2012-10-17", Statement = [] })
  bypass_policy_lockout_safety_check = false
}
"#,
    )]);
    assert_eq!(
        value(&doc, "aws_kms_key_policy.p", "key_id"),
        Some(&Value::from("aws_kms_key.k"))
    );
    assert!(value(&doc, "aws_kms_key_policy.p", "policy").is_some());
    assert_eq!(
        value(
            &doc,
            "aws_kms_key_policy.p",
            "bypass_policy_lockout_safety_check"
        ),
        Some(&Value::Bool(false))
    );
    assert_eq!(
        references(&doc, "aws_kms_key_policy.p", "key_id"),
        vec!["aws_kms_key.k.id", "aws_kms_key.k"]
    );
}

/// Every argument trailseal reads, when its value is unknown, is in `after_unknown` with the
/// reason: never omitted (an omitted argument would take its default in the mapper).
#[test]
fn every_argument_read_is_carried_when_unknown() {
    let reads: &[(&str, &[&str])] = &[
        (
            "aws_kms_key",
            &[
                "is_enabled",
                "customer_master_key_spec",
                "key_usage",
                "multi_region",
                "enable_key_rotation",
                "policy",
                "region",
            ],
        ),
        (
            "aws_cloudtrail",
            &[
                "name",
                "kms_key_id",
                "s3_bucket_name",
                "s3_key_prefix",
                "is_organization_trail",
                "is_multi_region_trail",
                "enable_log_file_validation",
                "enable_logging",
                "region",
            ],
        ),
        ("aws_s3_bucket", &["bucket", "region"]),
        ("aws_kms_alias", &["name", "target_key_id"]),
        (
            "aws_kms_replica_key",
            &["primary_key_arn", "enabled", "policy"],
        ),
        ("aws_cloudtrail_event_data_store", &["kms_key_id"]),
        (
            "aws_kms_key_policy",
            &["key_id", "policy", "bypass_policy_lockout_safety_check"],
        ),
    ];
    for (ty, attrs) in reads {
        for attr in *attrs {
            for expr in ["var.unset", "[var.unset][0]", "\"${var.unset}\""] {
                let doc = plan(&[(
                    "main.tf",
                    &format!("variable \"unset\" {{}}\nresource \"{ty}\" \"r\" {{\n  {attr} = {expr}\n}}\n"),
                )]);
                let address = format!("{ty}.r");
                assert!(
                    unknown(&doc, &address, attr).is_some_and(|w| w.contains("var.unset")),
                    "{ty}.{attr} = {expr}: {doc:#?}"
                );
                assert_eq!(value(&doc, &address, attr), None, "{ty}.{attr}");
            }
        }
    }
    // provider = aws.NAME is a reference, not a value: the configuration names it.
    let doc = plan(&[(
        "main.tf",
        "provider \"aws\" {\n  alias = \"west\"\n  region = \"us-west-2\"\n}\nresource \"aws_kms_key\" \"k\" {\n  provider = aws.west\n}\n",
    )]);
    assert_eq!(doc.resources[0].provider.as_deref(), Some("aws.west"));
}

/// Module calls with unknown instances: their resources are unknown instances too.
#[test]
fn a_module_call_with_unknown_instances() {
    let (dir, tf, vars) = module(
        &[
            (
                "main.tf",
                "variable \"unset\" {}\nmodule \"m\" {\n  source = \"./m\"\n  for_each = toset(var.unset)\n}\n",
            ),
            ("m/main.tf", "resource \"aws_kms_key\" \"k\" {\n  enable_key_rotation = true\n}\n"),
        ],
        &[],
    );
    let doc = planned(dir.path(), &tf, &vars);
    assert_eq!(addresses(&doc), vec!["module.m[*].aws_kms_key.k"]);
    assert!(unknown(&doc, "module.m[*].aws_kms_key.k", "enable_key_rotation").is_some());
    assert!(unknown(&doc, "module.m[*].aws_kms_key.k", "policy").is_some());
}
