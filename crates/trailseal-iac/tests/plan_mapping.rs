//! "Unknown is never pass" in the Terraform plan mapper (`tfplan`): an attribute known only
//! after apply is never its default; one the configuration does not set takes the provider's
//! default; references resolve only to exactly one resource; aliases, keys and trails are in
//! their own Regions. Each test runs the real checks on the evidence the mapper builds.

use serde_json::{json, Value};
use trailseal_iac::{tfplan, IacScan};
use trailseal_model::{Fact, Status};

mod support;
use support::status;

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

/// (address, type, values, after_unknown, expressions, provider configuration key).
type PlanResource<'a> = (&'a str, &'a str, Value, Value, Value, Option<&'a str>);

/// A plan document of `resources` with these provider configurations.
fn doc(resources: &[PlanResource<'_>], providers: Value) -> IacScan {
    let planned: Vec<Value> = resources
        .iter()
        .map(|(a, ty, v, _, _, _)| {
            json!({"address": a, "mode": "managed", "type": ty, "name": a.rsplit('.').next(), "values": v})
        })
        .collect();
    let changes: Vec<Value> = resources
        .iter()
        .map(|(a, _, _, u, _, _)| json!({"address": a, "change": {"after_unknown": u}}))
        .collect();
    let config: Vec<Value> = resources
        .iter()
        .map(|(a, ty, _, _, e, p)| {
            let mut c =
                json!({"address": a, "type": ty, "name": a.rsplit('.').next(), "expressions": e});
            if let Some(p) = p {
                c["provider_config_key"] = json!(p);
            }
            c
        })
        .collect();
    let d = json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": config}, "provider_config": providers},
    });
    tfplan::scan("plan.json", &d.to_string())
}

fn east() -> Value {
    json!({"aws": {"expressions": {"region": {"constant_value": "us-east-1"}}}})
}

// Terraform "Local Values": a local can hold a resource's attribute. A value known only after
// apply that refers to a local (or `each.value`) may come from another resource: unknown.
#[test]
fn plan_reference_through_a_local_is_unknown() {
    let scan = doc(
        &[
            (
                "aws_kms_key.good",
                "aws_kms_key",
                json!({}),
                json!({}),
                json!({}),
                None,
            ),
            (
                "aws_s3_bucket.b",
                "aws_s3_bucket",
                json!({"bucket": "logs"}),
                json!({}),
                json!({"bucket": {}}),
                None,
            ),
            (
                "aws_cloudtrail.t",
                "aws_cloudtrail",
                json!({"name": "t", "s3_bucket_name": "logs"}),
                json!({"kms_key_id": true}),
                json!({"name": {}, "s3_bucket_name": {}, "kms_key_id": {"references": ["var.use_local", "local.key", "aws_kms_key.good.arn", "aws_kms_key.good"]}}),
                None,
            ),
        ],
        east(),
    );
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS001"),
        Status::Indeterminate
    );
}

// Terraform "Provider Configuration": a configuration without `region` takes it from the
// environment, which is the default configuration's only when that sets none either.
#[test]
fn plan_provider_without_region_is_unknown_when_the_default_sets_one() {
    let providers = json!({
        "aws": {"expressions": {"region": {"constant_value": "us-east-1"}}},
        "aws.other": {"name": "aws", "alias": "other"}
    });
    let scan = doc(
        &[
            (
                "aws_kms_key.k",
                "aws_kms_key",
                json!({}),
                json!({}),
                json!({}),
                None,
            ),
            (
                "aws_s3_bucket.b",
                "aws_s3_bucket",
                json!({"bucket": "logs"}),
                json!({}),
                json!({"bucket": {}}),
                Some("aws.other"),
            ),
            (
                "aws_cloudtrail.t",
                "aws_cloudtrail",
                json!({"name": "t", "s3_bucket_name": "logs", "kms_key_id": "arn:aws:kms:us-east-1:000000000000:key/aws_kms_key.k"}),
                json!({}),
                json!({"name": {}, "s3_bucket_name": {}, "kms_key_id": {}}),
                None,
            ),
        ],
        providers,
    );
    assert_eq!(
        status(&scan, "aws_cloudtrail.t", "TS005"),
        Status::Indeterminate
    );
}

// ARNs in GovCloud and China Regions are in their own partitions ("Amazon Resource Names"):
// the trail ARN CloudTrail's requests carry is arn:aws-us-gov:..., never arn:aws:...
#[test]
fn plan_partition_follows_the_region() {
    let scan = doc(
        &[(
            "aws_cloudtrail.t",
            "aws_cloudtrail",
            json!({"name": "t", "s3_bucket_name": "logs"}),
            json!({}),
            json!({"name": {}, "s3_bucket_name": {}}),
            None,
        )],
        json!({"aws": {"expressions": {"region": {"constant_value": "us-gov-west-1"}}}}),
    );
    assert_eq!(scan.account.partition, "aws-us-gov");
    assert!(scan.account.trails[0]
        .arn
        .starts_with("arn:aws-us-gov:cloudtrail:us-gov-west-1:"));
}
