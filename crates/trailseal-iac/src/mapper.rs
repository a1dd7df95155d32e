//! The one place where an IaC resource's arguments become evidence, shared by CloudFormation,
//! Terraform HCL and Terraform plans.
//!
//! Each front end reads an argument as an [`Arg`]: absent, unknown (with the reason naming the
//! expression), or a known JSON value. Here, and only here, defaults and type conversions are
//! applied, by AWS's and the tools' own rules:
//! - a default applies only when the argument is **absent**; an unknown value stays unknown
//!   ([`Fact::Unknown`]) and every check that depends on it is `indeterminate`;
//! - a string `"true"` / `"false"` is a bool where the schema says bool (Terraform converts
//!   it; CloudFormation takes booleans as strings); anything else that is not the expected type
//!   is reported as unreadable (`error`), never guessed.

use serde_json::Value;
use trailseal_model::{Fact, Key, Trail};

/// One argument of a resource, as the front end read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// Not set (null in Terraform, missing or `AWS::NoValue` in CloudFormation).
    Absent,
    /// Set, but its value is known only at deployment: the reason names the expression.
    Unknown(String),
    Known(Value),
}

impl Arg {
    /// A bool argument (`"true"`/`"false"` strings convert), `default` when absent.
    pub(crate) fn bool(&self, what: &str, default: bool) -> Fact<bool> {
        match self {
            Arg::Absent => Fact::Known(default),
            Arg::Unknown(why) => Fact::Unknown(why.clone()),
            Arg::Known(Value::Bool(b)) => Fact::Known(*b),
            Arg::Known(Value::String(s)) if s.eq_ignore_ascii_case("true") => Fact::Known(true),
            Arg::Known(Value::String(s)) if s.eq_ignore_ascii_case("false") => Fact::Known(false),
            Arg::Known(v) => Fact::Unreadable(format!("{what} is not a bool: {v}")),
        }
    }

    /// A string argument, `default` when absent (`None`: no default, absence is unknown too).
    pub(crate) fn string(&self, what: &str, default: Option<&str>) -> Fact<String> {
        match self {
            Arg::Absent => match default {
                Some(d) => Fact::Known(d.to_owned()),
                None => Fact::Unreadable(format!("{what} is not set")),
            },
            Arg::Unknown(why) => Fact::Unknown(why.clone()),
            Arg::Known(v) => match scalar_text(v) {
                Some(s) => Fact::Known(s),
                None => Fact::Unreadable(format!("{what} is not a string: {v}")),
            },
        }
    }

    /// An optional string argument: absent or empty is `None`.
    pub(crate) fn optional_string(&self, what: &str) -> Fact<Option<String>> {
        match self {
            Arg::Absent => Fact::Known(None),
            Arg::Unknown(why) => Fact::Unknown(why.clone()),
            Arg::Known(v) => match scalar_text(v) {
                Some(s) if s.is_empty() => Fact::Known(None),
                Some(s) => Fact::Known(Some(s)),
                None => Fact::Unreadable(format!("{what} is not a string: {v}")),
            },
        }
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a front end knows about a customer-managed KMS key.
pub(crate) struct KeyArgs {
    /// The ARN the evidence uses (real, or symbolic from the address / logical id).
    pub arn: String,
    pub key_id: String,
    pub region: Fact<String>,
    /// `Enabled` (CloudFormation) / `is_enabled` (Terraform) / `enabled` (replica).
    pub enabled: Arg,
    /// `KeySpec` / `customer_master_key_spec` (or `key_spec`).
    pub spec: Arg,
    pub usage: Arg,
    pub multi_region: Arg,
    pub rotation: Arg,
    /// The key policy: a JSON string, or a JSON object (CloudFormation). Absent: the AWS
    /// default key policy of `account`.
    pub policy: Arg,
    pub account: String,
    pub aliases: Vec<String>,
}

/// Whether a bucket of the configuration uses S3 Bucket Keys, from each `BucketKeyEnabled` /
/// `bucket_key_enabled` of its encryption rules (none: off, AWS's default): on when one is,
/// not known when one is not known.
pub(crate) fn bucket_key(flags: Vec<Fact<bool>>) -> Fact<bool> {
    if flags.iter().any(|f| f.is(&true) == Some(true)) {
        return Fact::Known(true);
    }
    match flags.into_iter().find(|f| !f.is_known()) {
        Some(unknown) => unknown,
        None => Fact::Known(false),
    }
}

/// A bucket setting the scan does not read (checks that need it run on a deployed account).
pub(crate) fn not_read<T>(what: &str) -> Fact<T> {
    Fact::Unknown(format!("{what} is not read from the configuration"))
}

/// One rule's `BucketKeyEnabled` from a JSON value (Terraform).
pub(crate) fn bucket_key_flag(owner: &str, value: Option<&Value>) -> Fact<bool> {
    match value {
        None | Some(Value::Null) => Fact::Known(false),
        Some(Value::Bool(b)) => Fact::Known(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Fact::Known(s == "true"),
        Some(other) => Fact::Unknown(format!("{owner}: bucket_key_enabled is {other}")),
    }
}

/// A customer-managed key as evidence (AWS's defaults for absent arguments).
/// A bucket's policy from the resources that set it (`setters`: each one's name and its policy
/// argument): none, one (its document), or several (which applies is not known). Shared by
/// the Terraform and CloudFormation front ends.
pub(crate) fn bucket_policy(bucket: &str, setters: Vec<(String, Arg)>) -> Fact<Option<String>> {
    match setters.as_slice() {
        [] => Fact::Known(None),
        [(setter, arg)] => match arg {
            Arg::Known(Value::String(text)) if text.trim().is_empty() => Fact::Known(None),
            Arg::Known(Value::String(text)) => Fact::Known(Some(text.clone())),
            Arg::Known(v @ Value::Object(_)) => Fact::Known(Some(v.to_string())),
            Arg::Known(v) => Fact::Unreadable(format!(
                "{setter}: the bucket policy is not a document: {v}"
            )),
            Arg::Unknown(why) => Fact::Unknown(why.clone()),
            Arg::Absent => Fact::Unknown(format!("{setter} sets no policy document")),
        },
        several => Fact::Unknown(format!(
            "several resources set the policy of {bucket}: {}",
            several
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

pub(crate) fn key(args: KeyArgs) -> Key {
    let policy = match &args.policy {
        Arg::Absent => Fact::Known(crate::default_key_policy(&args.account)),
        Arg::Unknown(why) => Fact::Unknown(why.clone()),
        Arg::Known(Value::String(text)) if text.trim().is_empty() => {
            Fact::Known(crate::default_key_policy(&args.account))
        }
        Arg::Known(Value::String(text)) => Fact::Known(text.clone()),
        Arg::Known(v @ Value::Object(_)) => Fact::Known(v.to_string()),
        Arg::Known(v) => Fact::Unreadable(format!("the key policy is not a document: {v}")),
    };
    Key {
        arn: Some(args.arn),
        key_id: Some(args.key_id),
        region: args.region,
        state: args
            .enabled
            .bool("enabled", true)
            .map(|on| if on { "Enabled" } else { "Disabled" }.to_owned()),
        manager: Fact::Known("CUSTOMER".to_owned()),
        key_spec: args.spec.string("the key spec", Some("SYMMETRIC_DEFAULT")),
        key_usage: args.usage.string("the key usage", Some("ENCRYPT_DECRYPT")),
        multi_region: args.multi_region.bool("multi-Region", false),
        multi_region_regions: Vec::new(),
        aliases: args.aliases,
        policy,
        rotation_enabled: args.rotation.bool("key rotation", false),
        // A key the configuration creates has no grants when it is created (`aws_kms_grant`
        // resources are not read: a grant there could only add readers, never hide a fail).
        grants: Fact::Known(Vec::new()),
    }
}

/// A key named by an `alias/aws/...` alias: AWS-managed. Only what AWS documents about such
/// keys is known: AWS manages them (their policy is AWS's and cannot be edited), they are
/// symmetric encryption keys, and AWS rotates them every year ("AWS managed keys", KMS
/// Developer Guide). Whether one exists yet, and its policy, are not known before deployment.
pub(crate) fn aws_managed(alias: &str, account: &str, region: &str) -> Key {
    let why = format!("{alias} is an AWS-managed key: its state and policy are set by AWS");
    Key {
        arn: Some(format!("arn:aws:kms:{region}:{account}:{alias}")),
        key_id: Some(alias.to_owned()),
        region: Fact::Known(region.to_owned()),
        state: Fact::Unknown(why.clone()),
        manager: Fact::Known("AWS".to_owned()),
        key_spec: Fact::Known("SYMMETRIC_DEFAULT".to_owned()),
        key_usage: Fact::Known("ENCRYPT_DECRYPT".to_owned()),
        multi_region: Fact::Known(false),
        multi_region_regions: Vec::new(),
        aliases: vec![alias.to_owned()],
        policy: Fact::Unknown(why.clone()),
        rotation_enabled: Fact::Known(true),
        grants: Fact::Unknown(why),
    }
}

/// A key outside the configuration, named by key ARN or key id: only what the reference itself
/// says is known. Its Region (from the ARN, else the Region it is looked up in) and whether it
/// is multi-Region (multi-Region key ids, and only they, start with `mrk-`: KMS Developer
/// Guide, "Multi-Region key identifiers"). Everything else is unknown before deployment.
/// `None` for an alias, which says nothing about its key.
pub(crate) fn external_key(reference: &str, lookup_region: &str) -> Option<Key> {
    let (region, id) = match reference.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "kms", region, _, resource] => (*region, resource.strip_prefix("key/")?),
        _ if reference.starts_with("alias/") => return None,
        _ => (lookup_region, reference),
    };
    if id.is_empty() || id.contains('/') {
        return None;
    }
    let why = format!("{reference} is not managed in this configuration");
    Some(Key {
        arn: Some(reference.to_owned()),
        key_id: Some(id.to_owned()),
        region: Fact::Known(region.to_owned()),
        state: Fact::Unknown(why.clone()),
        manager: Fact::Unknown(why.clone()),
        key_spec: Fact::Unknown(why.clone()),
        key_usage: Fact::Unknown(why.clone()),
        multi_region: Fact::Known(id.starts_with("mrk-")),
        multi_region_regions: Vec::new(),
        aliases: Vec::new(),
        policy: Fact::Unknown(why.clone()),
        rotation_enabled: Fact::Unknown(why.clone()),
        grants: Fact::Unknown(why),
    })
}

/// What a front end knows about a trail.
pub(crate) struct TrailArgs {
    pub arn: String,
    pub name: String,
    pub home_region: String,
    pub kms_key_id: Fact<Option<String>>,
    pub bucket: Fact<String>,
    pub prefix: Arg,
    pub multi_region: Arg,
    pub organization: Arg,
    pub validation: Arg,
}

/// A trail as evidence (CloudTrail's defaults for absent arguments).
pub(crate) fn trail(args: TrailArgs) -> Trail {
    let mut trail = Trail::from_arn(&args.arn);
    trail.name = args.name;
    trail.home_region = args.home_region;
    trail.kms_key_id = args.kms_key_id;
    trail.s3_bucket_name = args.bucket;
    trail.s3_key_prefix = args.prefix.optional_string("the S3 key prefix");
    trail.is_multi_region = args.multi_region.bool("the multi-Region flag", false);
    trail.is_organization_trail = args.organization.bool("the organization flag", false);
    trail.log_file_validation_enabled = args.validation.bool("log file validation", false);
    trail
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_default_applies_only_when_the_argument_is_absent() {
        assert_eq!(Arg::Absent.bool("x", true), Fact::Known(true));
        assert_eq!(
            Arg::Unknown("var.on has no value".into()).bool("x", true),
            Fact::Unknown("var.on has no value".into())
        );
        assert_eq!(
            Arg::Unknown("var.spec has no value".into()).string("x", Some("SYMMETRIC_DEFAULT")),
            Fact::Unknown("var.spec has no value".into())
        );
        assert_eq!(
            Arg::Unknown("var.prefix".into()).optional_string("x"),
            Fact::Unknown("var.prefix".into())
        );
    }

    #[test]
    fn strings_convert_to_bools_and_other_types_are_not_guessed() {
        assert_eq!(
            Arg::Known(json!("true")).bool("x", false),
            Fact::Known(true)
        );
        assert_eq!(
            Arg::Known(json!("False")).bool("x", true),
            Fact::Known(false)
        );
        assert!(matches!(
            Arg::Known(json!("maybe")).bool("x", true),
            Fact::Unreadable(_)
        ));
        assert!(matches!(
            Arg::Known(json!(["a"])).string("x", None),
            Fact::Unreadable(_)
        ));
    }

    #[test]
    fn an_external_key_says_only_what_its_reference_says() {
        let k = external_key(
            "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(k.region, Fact::Known("us-west-2".into()));
        assert_eq!(k.multi_region, Fact::Known(false));
        assert!(matches!(k.state, Fact::Unknown(_)));
        assert!(matches!(k.policy, Fact::Unknown(_)));
        let mrk = external_key("mrk-1234abcd12ab34cd56ef1234567890ab", "eu-west-1").unwrap();
        assert_eq!(mrk.region, Fact::Known("eu-west-1".into()));
        assert_eq!(mrk.multi_region, Fact::Known(true));
        assert!(external_key("alias/logs", "eu-west-1").is_none());
        assert!(external_key("arn:aws:kms:eu-west-1:1:alias/logs", "eu-west-1").is_none());
    }

    #[test]
    fn unknown_key_arguments_stay_unknown_in_the_key() {
        let k = key(KeyArgs {
            arn: "arn:aws:kms:r:1:key/k".into(),
            key_id: "k".into(),
            region: Fact::Unknown("var.region".into()),
            enabled: Arg::Unknown("var.on".into()),
            spec: Arg::Unknown("var.spec".into()),
            usage: Arg::Absent,
            multi_region: Arg::Absent,
            rotation: Arg::Unknown("var.rotate".into()),
            policy: Arg::Unknown("var.policy".into()),
            account: "1".into(),
            aliases: Vec::new(),
        });
        assert_eq!(k.state, Fact::Unknown("var.on".into()));
        assert_eq!(k.key_spec, Fact::Unknown("var.spec".into()));
        // KeyUsage absent: its default. (Whether the spec allows it is TS004's question.)
        assert_eq!(k.key_usage, Fact::Known("ENCRYPT_DECRYPT".into()));
        assert_eq!(k.rotation_enabled, Fact::Unknown("var.rotate".into()));
        assert_eq!(k.policy, Fact::Unknown("var.policy".into()));
        assert_eq!(k.region, Fact::Unknown("var.region".into()));
    }
}
