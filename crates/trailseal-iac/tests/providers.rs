//! Which provider configuration (and so which Region) each Terraform resource uses, and the
//! identity attributes Terraform only knows at apply, in the evaluation of HCL and in the checks' results. A resource placed in the wrong Region, or a generated name
//! used as if it were known, is a false result; these tests run the real checks.
//!
//! What `terraform::planned` gives (and `tfplan::scan_planned` maps):
//! - `providers[key]`: the Region a configuration sets, a constant, not constant (not known
//!   before apply) or unset (the deploying Region);
//! - a resource's `provider` names the configuration it uses: none for the root
//!   module's default `aws`, `aws.ALIAS` for the root's aliases (also when passed to a child
//!   module with `providers`), `module.NAME.aws[.ALIAS]` for a child module's own blocks.

use serde_json::Value;
use trailseal_iac::tfplan::{Planned, ProviderRegion};
use trailseal_iac::IacScan;
use trailseal_model::{Fact, Status};

mod support;

fn scan_files(files: &[(&str, &str)]) -> IacScan {
    support::scan_with(files, &[])
}

fn plan(files: &[(&str, &str)]) -> Planned {
    support::plan_with(files, &[])
}

fn status(scan: &IacScan, resource: &str, code: &str) -> (Status, String) {
    let all = support::findings(scan);
    all.get(&(resource.to_owned(), code.to_owned()))
        .cloned()
        .unwrap_or_else(|| panic!("no {code} finding on {resource}: {all:#?}"))
}

/// The key of the provider configuration the resource at `address` (any instance) uses.
fn provider<'a>(doc: &'a Planned, address: &str) -> &'a str {
    support::instance(doc, address)
        .provider
        .as_deref()
        .unwrap_or_else(|| panic!("{address} uses the default provider configuration"))
}

/// The Region a provider configuration sets.
fn region<'a>(doc: &'a Planned, key: &str) -> &'a ProviderRegion {
    doc.providers
        .get(key)
        .unwrap_or_else(|| panic!("no provider configuration {key}: {doc:#?}"))
}

use support::{unknown, value};

const POLICY: &str = r#"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "root", Effect = "Allow", Principal = { AWS = "arn:aws:iam::111122223333:root" }, Action = "kms:*", Resource = "*" },
      { Sid = "ct", Effect = "Allow", Principal = { Service = "cloudtrail.amazonaws.com" }, Action = ["kms:GenerateDataKey*", "kms:DescribeKey"], Resource = "*" }
    ]
  })
"#;

fn key_module(provider_block: &str) -> String {
    format!(
        "{provider_block}\nresource \"aws_kms_key\" \"k\" {{{POLICY}}}\noutput \"key_arn\" {{ value = aws_kms_key.k.arn }}\n"
    )
}

const ROOT_TRAIL: &str = r#"
resource "aws_s3_bucket" "a" { bucket = "logs-a" }
resource "aws_cloudtrail" "t" {
  name                       = "t"
  s3_bucket_name             = aws_s3_bucket.a.id
  kms_key_id                 = module.kms.key_arn
  enable_log_file_validation = true
}
"#;

/// "If you specify a providers argument, it cancels this default behavior, and the child module
/// will only have access to the provider configurations you specify", the keys being "the
/// provider configuration names used inside the child module" and the values "provider
/// configuration names from the parent module" (The Module providers Meta-Argument,
/// https://developer.hashicorp.com/terraform/language/meta-arguments/module-providers).
#[test]
fn a_child_module_given_providers_uses_the_callers_configuration() {
    let root = format!(
        "provider \"aws\" {{ region = \"us-east-1\" }}\nprovider \"aws\" {{\n  alias  = \"west\"\n  region = \"us-west-2\"\n}}\nmodule \"kms\" {{\n  source    = \"./kms\"\n  providers = {{ aws = aws.west }}\n}}\n{ROOT_TRAIL}"
    );
    let files = [("main.tf", root.as_str()), ("kms/main.tf", &key_module(""))];
    let doc = plan(&files);
    assert_eq!(provider(&doc, "module.kms.aws_kms_key.k"), "aws.west");
    assert_eq!(
        value(&doc, "module.kms.aws_kms_key.k", "arn"),
        Some(&Value::from(
            "arn:aws:kms:us-west-2:000000000000:key/module.kms.aws_kms_key.k"
        ))
    );
    let scan = scan_files(&files);
    let key = &scan.account.keys[0];
    assert_eq!(key.region, Fact::Known("us-west-2".to_owned()));
    let (s, message) = status(&scan, "aws_cloudtrail.t", "TS005");
    assert_eq!(s, Status::Fail, "{message}");
}

/// An aliased configuration mapped in `providers` (`aws.keys = aws.west`) is the caller's, and a
/// module call with `providers` that does not pass the default `aws` gives the child no default
/// configuration of the caller's: its Region is not known.
#[test]
fn mapped_aliases_and_a_default_not_passed() {
    let child = format!(
        "resource \"aws_kms_key\" \"k\" {{\n  provider = aws.keys\n{POLICY}}}\nresource \"aws_kms_key\" \"d\" {{{POLICY}}}\noutput \"key_arn\" {{ value = aws_kms_key.k.arn }}\n"
    );
    let root = format!(
        "provider \"aws\" {{ region = \"us-east-1\" }}\nprovider \"aws\" {{\n  alias  = \"west\"\n  region = \"us-west-2\"\n}}\nmodule \"kms\" {{\n  source    = \"./kms\"\n  providers = {{ aws.keys = aws.west }}\n}}\n{ROOT_TRAIL}"
    );
    let files = [("main.tf", root.as_str()), ("kms/main.tf", child.as_str())];
    let doc = plan(&files);
    assert_eq!(provider(&doc, "module.kms.aws_kms_key.k"), "aws.west");
    let scan = scan_files(&files);
    let region = |id: &str| {
        scan.account
            .keys
            .iter()
            .find(|k| k.key_id.as_deref() == Some(id))
            .map(|k| k.region.clone())
            .expect("key")
    };
    assert_eq!(
        region("module.kms.aws_kms_key.k"),
        Fact::Known("us-west-2".to_owned())
    );
    assert!(matches!(
        region("module.kms.aws_kms_key.d"),
        Fact::Unknown(_)
    ));
}

/// Without `providers`, "a child module inherits all of the default provider configurations
/// from its parent module" (same page); a child module's own `provider` block (a legacy shared
/// module, https://developer.hashicorp.com/terraform/language/modules/develop/providers#legacy-shared-modules-with-provider-configurations)
/// configures the provider for its own resources.
#[test]
fn a_child_modules_own_provider_block_applies_to_its_resources() {
    let root = format!(
        "provider \"aws\" {{ region = \"us-east-1\" }}\nmodule \"kms\" {{ source = \"./kms\" }}\n{ROOT_TRAIL}"
    );
    let files = [
        ("main.tf", root.as_str()),
        (
            "kms/main.tf",
            &key_module("provider \"aws\" { region = \"ap-south-1\" }"),
        ),
    ];
    let doc = plan(&files);
    let key = provider(&doc, "module.kms.aws_kms_key.k");
    assert_eq!(
        region(&doc, key),
        &ProviderRegion::Constant("ap-south-1".into())
    );
    let scan = scan_files(&files);
    assert_eq!(
        scan.account.keys[0].region,
        Fact::Known("ap-south-1".to_owned())
    );
    let (s, message) = status(&scan, "aws_cloudtrail.t", "TS005");
    assert_eq!(s, Status::Fail, "{message}");

    // Inherited: the caller's default configuration, in the caller's Region.
    let files = [("main.tf", root.as_str()), ("kms/main.tf", &key_module(""))];
    let scan = scan_files(&files);
    assert_eq!(
        scan.account.keys[0].region,
        Fact::Known("us-east-1".to_owned())
    );
    assert_eq!(status(&scan, "aws_cloudtrail.t", "TS005").0, Status::Pass);
}

/// The provider configuration's `region` (https://registry.terraform.io/providers/hashicorp/aws/latest/docs#region)
/// is where its resources are; a `region = var.x` without a value is not known, and is never
/// the deploying Region.
#[test]
fn an_alias_whose_region_is_unknown_is_not_the_deploying_region() {
    let main = format!(
        r#"
provider "aws" {{ region = "us-east-1" }}
variable "key_region" {{ type = string }}
provider "aws" {{
  alias  = "keys"
  region = var.key_region
}}
resource "aws_s3_bucket" "a" {{ bucket = "logs-a" }}
resource "aws_kms_key" "k" {{
  provider = aws.keys
{POLICY}}}
resource "aws_cloudtrail" "t" {{
  name                       = "t"
  s3_bucket_name             = aws_s3_bucket.a.id
  kms_key_id                 = aws_kms_key.k.arn
  enable_log_file_validation = true
}}
"#
    );
    let files = [("main.tf", main.as_str())];
    let doc = plan(&files);
    assert_eq!(region(&doc, "aws.keys"), &ProviderRegion::NotConstant);
    assert_eq!(
        region(&doc, "aws"),
        &ProviderRegion::Constant("us-east-1".into())
    );
    // The key's ARN does not claim a Region.
    let arn = value(&doc, "aws_kms_key.k", "arn")
        .and_then(Value::as_str)
        .expect("a symbolic ARN");
    assert!(
        !arn.contains("deploying-region-1") && !arn.contains("us-east-1"),
        "{arn}"
    );
    let scan = scan_files(&files);
    assert!(matches!(scan.account.keys[0].region, Fact::Unknown(_)));
    let (s, message) = status(&scan, "aws_cloudtrail.t", "TS005");
    assert_eq!(s, Status::Indeterminate, "{message}");
    // TS001 still knows the trail is encrypted.
    assert_eq!(status(&scan, "aws_cloudtrail.t", "TS001").0, Status::Pass);
}

/// A default provider whose Region is not known leaves the deploying Region unknown (the
/// symbol), not "no Region"; a known one is a constant.
#[test]
fn the_default_providers_region_known_or_not() {
    let doc = plan(&[(
        "main.tf",
        "variable \"r\" {}\nprovider \"aws\" { region = var.r }\nresource \"aws_s3_bucket\" \"a\" { bucket = \"b\" }\n",
    )]);
    assert_eq!(region(&doc, "aws"), &ProviderRegion::NotConstant);
    let doc = plan(&[(
        "main.tf",
        "variable \"r\" { default = \"eu-west-1\" }\nprovider \"aws\" { region = var.r }\n",
    )]);
    assert_eq!(
        region(&doc, "aws"),
        &ProviderRegion::Constant("eu-west-1".into())
    );
}

/// An alias without `region` takes the Region from the environment (AWS_REGION, the shared
/// config file: https://registry.terraform.io/providers/hashicorp/aws/latest/docs#region): the
/// same as the default configuration's only when that one sets none either.
#[test]
fn an_alias_without_a_region() {
    let main = "provider \"aws\" { region = \"us-east-1\" }\nprovider \"aws\" { alias = \"env\" }\nresource \"aws_kms_key\" \"k\" { provider = aws.env }\n";
    let scan = scan_files(&[("main.tf", main)]);
    assert!(matches!(scan.account.keys[0].region, Fact::Unknown(_)));
    let main = "provider \"aws\" { alias = \"env\" }\nresource \"aws_kms_key\" \"k\" { provider = aws.env }\n";
    let scan = scan_files(&[("main.tf", main)]);
    assert_eq!(
        scan.account.keys[0].region,
        Fact::Known("deploying-region-1".to_owned())
    );
}

/// `bucket`: "If omitted, Terraform will assign a random, unique name"; `bucket_prefix`
/// "Creates a unique bucket name beginning with the specified prefix"
/// (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/s3_bucket#bucket).
/// The name is known only at apply: `.id`, `.bucket` and `.arn` are unknown, never the address.
#[test]
fn a_generated_bucket_name_is_unknown() {
    let main = r#"
resource "aws_s3_bucket" "a" { bucket_prefix = "zzz-" }
resource "aws_s3_bucket" "n" { bucket = "named" }
resource "aws_cloudtrail" "t" {
  name           = "t"
  s3_bucket_name = "${aws_s3_bucket.a.id}"
}
resource "aws_cloudtrail" "u" {
  name           = aws_s3_bucket.a.arn
  s3_bucket_name = aws_s3_bucket.a.bucket
}
resource "aws_cloudtrail" "n" {
  name           = aws_s3_bucket.n.arn
  s3_bucket_name = aws_s3_bucket.n.id
}
"#;
    let doc = plan(&[("main.tf", main)]);
    for (address, attr) in [
        ("aws_cloudtrail.t", "s3_bucket_name"),
        ("aws_cloudtrail.u", "s3_bucket_name"),
        ("aws_cloudtrail.u", "name"),
    ] {
        assert_eq!(value(&doc, address, attr), None, "{address}.{attr}");
        let why = unknown(&doc, address, attr).expect("unknown");
        assert!(why.contains("generates it at apply"), "{why}");
    }
    assert_eq!(
        value(&doc, "aws_cloudtrail.n", "s3_bucket_name"),
        Some(&Value::from("named"))
    );
    assert_eq!(
        value(&doc, "aws_cloudtrail.n", "name"),
        Some(&Value::from("arn:aws:s3:::named"))
    );
}

/// The reviewer's fixture: a key policy allowing `arn:aws:s3:::zzz-*` for a bucket named with
/// `bucket_prefix = "zzz-"` is not a failure.
#[test]
fn a_generated_bucket_name_does_not_fail_a_matching_policy() {
    let main = r#"
provider "aws" { region = "us-east-1" }
resource "aws_s3_bucket" "a" { bucket_prefix = "zzz-" }
resource "aws_kms_key" "k" {
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "root", Effect = "Allow", Principal = { AWS = "arn:aws:iam::111122223333:root" }, Action = "kms:*", Resource = "*" },
      { Sid = "ct", Effect = "Allow", Principal = { Service = "cloudtrail.amazonaws.com" }, Action = ["kms:GenerateDataKey*", "kms:DescribeKey"], Resource = "*",
        Condition = { StringLike = { "kms:EncryptionContext:aws:s3:arn" = ["arn:aws:s3:::zzz-*"] } } }
    ]
  })
}
resource "aws_cloudtrail" "t" {
  name                       = "t"
  s3_bucket_name             = "${aws_s3_bucket.a.id}"
  kms_key_id                 = aws_kms_key.k.arn
  enable_log_file_validation = true
}
"#;
    let scan = scan_files(&[("main.tf", main)]);
    let (s, message) = status(&scan, "aws_cloudtrail.t", "TS006");
    assert_ne!(s, Status::Fail, "{message}");
}

/// A trail's own `provider` (https://developer.hashicorp.com/terraform/language/meta-arguments/resource-provider)
/// is in the plan like a key's and a bucket's, and its symbolic ARN is in that Region.
#[test]
fn a_trails_provider_is_in_the_document() {
    let main = r#"
provider "aws" { region = "us-east-1" }
provider "aws" {
  alias  = "eu"
  region = "eu-west-1"
}
resource "aws_s3_bucket" "a" { bucket = "logs-a" }
resource "aws_cloudtrail" "eu" {
  provider       = aws.eu
  name           = "eu-trail"
  s3_bucket_name = aws_s3_bucket.a.id
}
resource "aws_cloudtrail" "home" {
  name           = aws_cloudtrail.eu.arn
  s3_bucket_name = aws_s3_bucket.a.id
}
"#;
    let doc = plan(&[("main.tf", main)]);
    assert_eq!(provider(&doc, "aws_cloudtrail.eu"), "aws.eu");
    assert_eq!(
        value(&doc, "aws_cloudtrail.eu", "arn"),
        Some(&Value::from(
            "arn:aws:cloudtrail:eu-west-1:000000000000:trail/eu-trail"
        ))
    );
    assert_eq!(
        value(&doc, "aws_cloudtrail.home", "name"),
        Some(&Value::from(
            "arn:aws:cloudtrail:eu-west-1:000000000000:trail/eu-trail"
        ))
    );
}

/// `count.index` picks the instance: `aws_kms_key.k[count.index].arn` is that instance's
/// symbolic ARN, and an instance's configured name is evaluated with its own `count.index`.
#[test]
fn count_index_references_pick_the_instance() {
    let main = r#"
resource "aws_kms_key" "k" { count = 2 }
resource "aws_s3_bucket" "b" {
  count  = 2
  bucket = "logs-${count.index}"
}
resource "aws_cloudtrail" "t" {
  count          = 2
  name           = "t${count.index}"
  kms_key_id     = aws_kms_key.k[count.index].arn
  s3_bucket_name = aws_s3_bucket.b[count.index].id
}
"#;
    let doc = plan(&[("main.tf", main)]);
    for i in 0..2 {
        assert_eq!(
            value(&doc, &format!("aws_cloudtrail.t[{i}]"), "kms_key_id"),
            Some(&Value::from(format!(
                "arn:aws:kms:deploying-region-1:000000000000:key/aws_kms_key.k[{i}]"
            )))
        );
        assert_eq!(
            value(&doc, &format!("aws_cloudtrail.t[{i}]"), "s3_bucket_name"),
            Some(&Value::from(format!("logs-{i}")))
        );
    }
    // An instance that does not exist is an error, not a symbolic ARN.
    let doc = plan(&[(
        "main.tf",
        "resource \"aws_kms_key\" \"k\" { count = 1 }\nresource \"aws_cloudtrail\" \"t\" { kms_key_id = aws_kms_key.k[3].arn }\n",
    )]);
    assert_eq!(value(&doc, "aws_cloudtrail.t", "kms_key_id"), None);
}

/// `.tf.json`: provider references are strings ("provider": "aws.west", "providers":
/// {"aws": "aws.west"}), read like the native syntax's.
#[test]
fn json_syntax_provider_references() {
    let root = r#"{
  "provider": {"aws": [{"region": "us-east-1"}, {"alias": "west", "region": "us-west-2"}]},
  "module": {"kms": {"source": "./kms", "providers": {"aws": "aws.west"}}},
  "resource": {
    "aws_s3_bucket": {"a": {"provider": "aws.west", "bucket": "logs-a"}}
  }
}"#;
    let files = [
        ("main.tf.json", root),
        ("kms/main.tf", "resource \"aws_kms_key\" \"k\" {}\n"),
    ];
    let doc = plan(&files);
    assert_eq!(provider(&doc, "aws_s3_bucket.a"), "aws.west");
    assert_eq!(provider(&doc, "module.kms.aws_kms_key.k"), "aws.west");
}
