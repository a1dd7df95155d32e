//! CloudFormation templates (YAML or JSON) into evidence.
//!
//! Resources read: `AWS::CloudTrail::Trail` (`KMSKeyId`, exact case: CloudFormation rejects
//! `KmsKeyId`, and trailseal reports it instead of reading it), `AWS::KMS::Key` (`KeyPolicy` as
//! object or JSON string; without one, the AWS default key policy), `AWS::KMS::ReplicaKey` (a
//! key of its own; its primary is in another Region's stack), `AWS::KMS::Alias`,
//! `AWS::S3::Bucket`, `AWS::CloudTrail::EventDataStore`. Parameters take `--parameter K=V`,
//! then their `Default`; Conditions, Mappings and the intrinsic functions are evaluated (see
//! [`eval`]). A value only deployment can tell is `Unknown`, and the checks that need it are
//! `indeterminate`. Defaults and conversions are applied by [`crate::mapper`], shared with
//! Terraform.

pub mod eval;

use std::collections::HashMap;

use trailseal_model::{
    AccountEvidence, Bucket, EventDataStore, Fact, Key, KeyRef, LookupError, RegionEvidence,
};

use crate::mapper::{self, Arg, KeyArgs, TrailArgs};
use crate::yaml::{self, Node, Pos};
use crate::{IacScan, Location, Problem};
use eval::{Evaluator, Resources, Val, ACCOUNT, REGION};

/// Whether `text` looks like a CloudFormation template (cheap test before parsing).
pub fn looks_like_template(text: &str) -> bool {
    if text.contains("AWSTemplateFormatVersion") {
        return true;
    }
    // A report that mentions templates (SARIF, trailseal's own JSON) is not one.
    let head: String = text.chars().take(2048).collect();
    if head.contains("\"$schema\"") && head.contains("sarif")
        || head.contains("\"schema\": \"trailseal.")
    {
        return false;
    }
    text.contains("Resources") && text.contains("AWS::")
}

struct Res<'a> {
    id: String,
    ty: String,
    pos: Pos,
    node: &'a Node,
    props: Option<&'a Node>,
}

struct Index<'a> {
    resources: Vec<Res<'a>>,
    /// Evaluated names: bucket logical id -> bucket name, alias logical id -> alias name.
    names: HashMap<String, Val>,
}

/// The template's macros (its `Transform` section), SAM's own left out: it only expands
/// serverless resources. None when there is none.
fn template_transform(root: &Node) -> Option<String> {
    let names: Vec<String> = match &root.get("Transform")?.value {
        yaml::Value::Seq(items) => items
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        _ => root
            .get("Transform")
            .and_then(Node::as_str)
            .map(str::to_owned)
            .into_iter()
            .collect(),
    };
    let others: Vec<String> = names
        .into_iter()
        .filter(|t| t != "AWS::Serverless-2016-10-31")
        .collect();
    (!others.is_empty()).then(|| others.join(", "))
}

fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}")
}

impl Index<'_> {
    fn find(&self, id: &str) -> Option<&Res<'_>> {
        self.resources.iter().find(|r| r.id == id)
    }
}

impl Resources for Index<'_> {
    fn resource_ref(&self, id: &str) -> Option<Val> {
        let r = self.find(id)?;
        Some(match r.ty.as_str() {
            // Ref of a key is its key id; the logical id stands for it.
            "AWS::KMS::Key" | "AWS::KMS::ReplicaKey" => Val::Str(id.to_owned()),
            "AWS::KMS::Alias" | "AWS::S3::Bucket" | "AWS::CloudTrail::Trail" => self
                .names
                .get(id)
                .cloned()
                .unwrap_or_else(|| Val::Str(id.to_owned())),
            other => Val::Unknown(format!(
                "Ref to {id} ({other}) is only known after deployment"
            )),
        })
    }

    fn resource_attr(&self, id: &str, attribute: &str) -> Option<Val> {
        let r = self.find(id)?;
        Some(match (r.ty.as_str(), attribute) {
            ("AWS::KMS::Key" | "AWS::KMS::ReplicaKey", "Arn") => Val::Str(key_arn(id)),
            ("AWS::KMS::Key" | "AWS::KMS::ReplicaKey", "KeyId") => Val::Str(id.to_owned()),
            ("AWS::CloudTrail::Trail", "Arn") => match self.resource_ref(id) {
                Some(Val::Str(name)) => Val::Str(format!(
                    "arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}"
                )),
                other => other.unwrap_or(Val::Null),
            },
            ("AWS::S3::Bucket", "Arn") => match self.resource_ref(id) {
                Some(Val::Str(name)) => Val::Str(format!("arn:aws:s3:::{name}")),
                other => other.unwrap_or(Val::Null),
            },
            (ty, attr) => {
                Val::Unknown(format!("{id}.{attr} ({ty}) is only known after deployment"))
            }
        })
    }
}

const TRAIL_PROPERTIES: &[&str] = &[
    "AdvancedEventSelectors",
    "CloudWatchLogsLogGroupArn",
    "CloudWatchLogsRoleArn",
    "EnableLogFileValidation",
    "EventSelectors",
    "IncludeGlobalServiceEvents",
    "InsightSelectors",
    "IsLogging",
    "IsMultiRegionTrail",
    "IsOrganizationTrail",
    "KMSKeyId",
    "S3BucketName",
    "S3KeyPrefix",
    "SnsTopicName",
    "Tags",
    "TrailName",
];

/// Resource types that are KMS keys.
const KEY_TYPES: &[&str] = &["AWS::KMS::Key", "AWS::KMS::ReplicaKey"];

/// Reads one template. `parameters` are `--parameter K=V` overrides.
pub fn scan(file: &str, text: &str, parameters: &HashMap<String, String>) -> IacScan {
    let mut out = IacScan::new(file);
    out.lang = if text.trim_start().starts_with('{') {
        crate::suggest::Lang::CloudFormationJson
    } else {
        crate::suggest::Lang::CloudFormationYaml
    };
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(e) => {
            out.problems.push(Problem {
                address: None,
                line: e.line,
                column: e.column,
                message: format!("cannot parse the template: {}", e.message),
                unreadable: true,
            });
            return out;
        }
    };
    let Some(resources) = root.get("Resources") else {
        out.problems.push(Problem {
            address: None,
            line: 1,
            column: 1,
            message: "not a CloudFormation template: no Resources section".into(),
            unreadable: true,
        });
        return out;
    };

    // Parameters: override, then Default, else unknown.
    let mut params: HashMap<String, Val> = HashMap::new();
    for (name, _, decl) in root.get("Parameters").map(Node::entries).unwrap_or(&[]) {
        let ty = decl.get("Type").and_then(Node::as_str).unwrap_or("String");
        // A parameter whose AllowedValues has one value can only take that value.
        let only_allowed = match decl.get("AllowedValues").map(|a| &a.value) {
            Some(yaml::Value::Seq(values)) if values.len() == 1 => {
                values[0].as_str().map(str::to_owned)
            }
            _ => None,
        };
        let raw = parameters
            .get(name)
            .cloned()
            .or_else(|| {
                decl.get("Default")
                    .and_then(|d| d.as_str().map(str::to_owned))
            })
            .or(only_allowed);
        let value = match raw {
            _ if ty.starts_with("AWS::SSM::Parameter::Value") && !parameters.contains_key(name) => {
                Val::Unknown(format!("parameter {name} is read from SSM at deploy time: pass --parameter {name}=VALUE"))
            }
            Some(v) if ty.starts_with("List<") || ty == "CommaDelimitedList" => {
                Val::List(v.split(',').map(|s| Val::Str(s.trim().to_owned())).collect())
            }
            Some(v) => Val::Str(v),
            None => Val::Unknown(format!(
                "parameter {name} has no default: pass --parameter {name}=VALUE"
            )),
        };
        params.insert(name.clone(), value);
    }
    out.declared_inputs = params.keys().cloned().collect();
    for name in parameters.keys() {
        if !params.contains_key(name) {
            out.problems.push(Problem {
                address: None,
                line: 1,
                column: 1,
                message: format!("--parameter {name}: the template has no such parameter"),
                unreadable: false,
            });
        }
    }

    let mut index = Index {
        resources: resources
            .entries()
            .iter()
            .map(|(id, pos, node)| Res {
                id: id.clone(),
                ty: node
                    .get("Type")
                    .and_then(Node::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                pos: *pos,
                node,
                props: node.get("Properties"),
            })
            .collect(),
        names: HashMap::new(),
    };
    let mappings = root.get("Mappings");
    let conditions = root.get("Conditions");

    // Names of buckets, aliases and trails first (other resources refer to them).
    let mut names = HashMap::new();
    {
        let ev = Evaluator::new(params.clone(), mappings, conditions, &index);
        for r in &index.resources {
            let prop = match r.ty.as_str() {
                "AWS::S3::Bucket" => "BucketName",
                "AWS::KMS::Alias" => "AliasName",
                "AWS::CloudTrail::Trail" => "TrailName",
                _ => continue,
            };
            // Without the name property CloudFormation generates a unique name at deploy
            // time ("AWS::S3::Bucket": BucketName; "AWS::CloudTrail::Trail": TrailName): not
            // the logical id, which must never stand for a real name.
            let value = r
                .props
                .and_then(|p| p.get(prop))
                .map(|n| ev.eval(n))
                .unwrap_or_else(|| {
                    Val::Unknown(format!(
                        "{} has no {prop}: CloudFormation generates the name at deploy time",
                        r.id
                    ))
                });
            names.insert(r.id.clone(), value);
        }
    }
    index.names = names;
    let ev = Evaluator::new(params, mappings, conditions, &index);

    let mut account = AccountEvidence {
        account: ACCOUNT.to_owned(),
        partition: "aws".to_owned(),
        regions: vec![RegionEvidence {
            region: REGION.to_owned(),
            ..RegionEvidence::default()
        }],
        ..AccountEvidence::default()
    };

    // Which resources exist (a resource whose Condition is false is not created).
    let exists = |r: &Res<'_>| -> bool {
        match r.node.get("Condition").and_then(Node::as_str) {
            Some(c) => ev.condition(c) != Some(false),
            None => true,
        }
    };

    // Keys and their aliases.
    let mut alias_targets: Vec<(String, String)> = Vec::new(); // (alias name, key logical id)
    for r in index
        .resources
        .iter()
        .filter(|r| r.ty == "AWS::KMS::Alias" && exists(r))
    {
        let name = index.names.get(&r.id).and_then(Val::text);
        let target = r
            .props
            .and_then(|p| p.get("TargetKeyId"))
            .map(|n| ev.eval(n));
        if let (Some(name), Some(Val::Str(t))) = (name, target) {
            if let Some(id) = key_logical_id(&index, &t) {
                alias_targets.push((name, id));
            }
        }
    }
    for r in index
        .resources
        .iter()
        .filter(|r| KEY_TYPES.contains(&r.ty.as_str()) && exists(r))
    {
        let arg = |name: &str| {
            let value = r.props.and_then(|p| p.get(name)).map(|n| ev.eval(n));
            prop_arg(&r.id, name, value)
        };
        // AWS::KMS::ReplicaKey is a key of its own (its Region is the stack's, its own
        // KeyPolicy and Enabled); its spec, usage and rotation are its primary's, which lives
        // in another Region, so in another stack: not known here.
        let (spec, usage, multi_region, rotation) = if r.ty == "AWS::KMS::ReplicaKey" {
            let primary = format!(
                "{}: a replica key's spec, usage and rotation are its primary key's (PrimaryKeyArn), which is in another Region's stack",
                r.id
            );
            (
                Arg::Unknown(primary.clone()),
                Arg::Unknown(primary.clone()),
                Arg::Known(serde_json::Value::Bool(true)),
                Arg::Unknown(primary),
            )
        } else {
            (
                arg("KeySpec"),
                arg("KeyUsage"),
                arg("MultiRegion"),
                arg("EnableKeyRotation"),
            )
        };
        let key = mapper::key(KeyArgs {
            arn: key_arn(&r.id),
            key_id: r.id.clone(),
            region: Fact::Known(REGION.to_owned()),
            enabled: arg("Enabled"),
            spec,
            usage,
            multi_region,
            rotation,
            policy: policy_arg(
                &r.id,
                "KeyPolicy",
                r.props.and_then(|p| p.get("KeyPolicy")).map(|n| ev.eval(n)),
            ),
            account: ACCOUNT.to_owned(),
            aliases: alias_targets
                .iter()
                .filter(|(_, id)| *id == r.id)
                .map(|(name, _)| name.clone())
                .collect(),
        });
        out.key_policy_sites.insert(
            key_arn(&r.id),
            match r.props.and_then(|p| p.get("KeyPolicy")) {
                None => crate::suggest::PolicySite::Default,
                Some(_) => crate::suggest::PolicySite::Argument {
                    setter: r.id.clone(),
                    document: None,
                },
            },
        );
        place(&mut out, &key_arn(&r.id), r);
        account.keys.push(key);
    }

    // Buckets defined here are in the deploying Region: by name, and (those without
    // BucketName, whose name is generated at deploy time) by logical id.
    let local = |r: &&Res<'_>| r.ty == "AWS::S3::Bucket" && exists(r);
    let local_buckets: Vec<String> = index
        .resources
        .iter()
        .filter(local)
        .filter_map(|r| index.names.get(&r.id).and_then(Val::text))
        .collect();
    let unnamed_buckets: Vec<&str> = index
        .resources
        .iter()
        .filter(local)
        .filter(|r| index.names.get(&r.id).and_then(Val::text).is_none())
        .map(|r| r.id.as_str())
        .collect();
    // Each AWS::S3::BucketPolicy: the logical id of the bucket of this template it sets the
    // policy of (`Bucket: !Ref B`, or the bucket's known name), None when that cannot be told.
    let bucket_policies: Vec<(Option<String>, &Res<'_>)> = index
        .resources
        .iter()
        .filter(|r| r.ty == "AWS::S3::BucketPolicy" && exists(r))
        .map(|p| {
            let node = p.props.and_then(|n| n.get("Bucket"));
            let by_ref = node
                .and_then(|n| n.get("Ref"))
                .and_then(Node::as_str)
                .filter(|id| index.resources.iter().any(|r| r.id == *id && local(&r)))
                .map(str::to_owned);
            let by_name = || {
                let name = node.map(|n| ev.eval(n)).and_then(|v| v.text())?;
                index
                    .resources
                    .iter()
                    .filter(local)
                    .find(|r| index.names.get(&r.id).and_then(Val::text) == Some(name.clone()))
                    .map(|r| r.id.clone())
            };
            (by_ref.or_else(by_name), p)
        })
        .collect();
    // The policy of the bucket of this template with logical id `id`: none, the one its
    // AWS::S3::BucketPolicy sets, or not known (two of them, or one whose bucket is not known).
    // Content the scan cannot see may set a bucket's policy too (a bucket has one policy;
    // each PutBucketPolicy replaces it): a nested stack, a serverless application, a macro.
    let hidden_setter = index
        .resources
        .iter()
        .find(|r| {
            matches!(
                r.ty.as_str(),
                "AWS::CloudFormation::Stack"
                    | "AWS::CloudFormation::StackSet"
                    | "AWS::Serverless::Application"
            )
        })
        .map(|r| format!("{} ({}) may set it", r.id, r.ty))
        .or_else(|| {
            template_transform(&root).map(|t| format!("the template's Transform {t} may set it"))
        });
    let bucket_policy = |id: &str| -> Fact<Option<String>> {
        if let Some(why) = &hidden_setter {
            return Fact::Unknown(format!("the policy of {id} is not known: {why}"));
        }
        // A policy created only under a condition that cannot be decided here.
        if let Some((_, p)) = bucket_policies.iter().find(|(t, p)| {
            t.as_deref() == Some(id)
                && p.node
                    .get("Condition")
                    .and_then(Node::as_str)
                    .is_some_and(|c| ev.condition(c).is_none())
        }) {
            return Fact::Unknown(format!(
                "{} is created only when its Condition holds, which is not known before deployment",
                p.id
            ));
        }
        if let Some((_, p)) = bucket_policies.iter().find(|(t, _)| t.is_none()) {
            return Fact::Unknown(format!(
                "which bucket {} sets the policy of is not known",
                p.id
            ));
        }
        let setters: Vec<&Res<'_>> = bucket_policies
            .iter()
            .filter(|(t, _)| t.as_deref() == Some(id))
            .map(|(_, p)| *p)
            .collect();
        mapper::bucket_policy(
            id,
            setters
                .into_iter()
                .map(|p| {
                    let document = p
                        .props
                        .and_then(|n| n.get("PolicyDocument"))
                        .map(|n| ev.eval(n));
                    (p.id.clone(), policy_arg(&p.id, "PolicyDocument", document))
                })
                .collect(),
        )
    };
    // A bucket's S3 Bucket Keys: BucketEncryption.ServerSideEncryptionConfiguration[].
    // BucketKeyEnabled (absent: off, AWS's default).
    let bucket_key = |id: &str| -> Fact<bool> {
        let Some(r) = index.find(id) else {
            return Fact::Unknown(format!("{id} is not in this template"));
        };
        let Some(encryption) = r.props.and_then(|p| p.get("BucketEncryption")) else {
            return Fact::Known(false);
        };
        let flag = |v: Option<&Val>| match v {
            None | Some(Val::Null) | Some(Val::NoValue) => Fact::Known(false),
            Some(Val::Bool(b)) => Fact::Known(*b),
            Some(Val::Str(s)) if s == "true" || s == "false" => Fact::Known(s == "true"),
            Some(Val::Unknown(why)) => Fact::Unknown(why.clone()),
            Some(other) => Fact::Unknown(format!("{id}: BucketKeyEnabled is {other:?}")),
        };
        let field = |v: &Val, name: &str| match v {
            Val::Map(entries) => entries
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone()),
            _ => None,
        };
        let value = ev.eval(encryption);
        let rules = field(&value, "ServerSideEncryptionConfiguration");
        let mut flags = match rules {
            None => Vec::new(),
            Some(Val::List(rules)) => rules
                .iter()
                .map(|r| flag(field(r, "BucketKeyEnabled").as_ref()))
                .collect(),
            Some(Val::Unknown(why)) => vec![Fact::Unknown(why)],
            Some(other) => vec![Fact::Unknown(format!(
                "{id}: ServerSideEncryptionConfiguration is {other:?}"
            ))],
        };
        // A part decided only at deployment (an !If on a rule or on the whole setting) may
        // turn a Bucket Key on.
        if let Some(why) = value.unknown() {
            flags.push(Fact::Unknown(why.to_owned()));
        }
        mapper::bucket_key(flags)
    };
    let bucket_id_named = |name: &str| -> Option<String> {
        index
            .resources
            .iter()
            .filter(local)
            .find(|r| index.names.get(&r.id).and_then(Val::text).as_deref() == Some(name))
            .map(|r| r.id.clone())
    };

    for r in index
        .resources
        .iter()
        .filter(|r| r.ty == "AWS::CloudTrail::Trail" && exists(r))
    {
        // Without TrailName (or with one known only at deploy time), CloudFormation generates
        // the name: the ARN below (built from the logical id) then only identifies the
        // resource in the report; CloudTrail's requests carry a name not known here.
        let given_name = r.props.and_then(|p| p.get("TrailName")).map(|n| ev.eval(n));
        let (name, name_unknown) = match given_name.as_ref().and_then(Val::text) {
            Some(name) => (name, None),
            None => (
                r.id.clone(),
                Some(match given_name.as_ref().and_then(Val::unknown) {
                    Some(why) => format!("TrailName: {why}"),
                    None => format!(
                        "{} has no TrailName: CloudFormation generates the trail's name at deploy time",
                        r.id
                    ),
                }),
            ),
        };
        let arn = format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}");
        let prop = |p: &str| r.props.and_then(|props| props.get(p)).map(|n| ev.eval(n));
        for (p, ppos, _) in r.props.map(Node::entries).unwrap_or(&[]) {
            if !TRAIL_PROPERTIES.contains(&p.as_str()) {
                let hint = TRAIL_PROPERTIES
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(p))
                    .map(|k| format!(" (the property is {k}, case-sensitive: {p} is rejected at deploy time and never encrypts anything)"))
                    .unwrap_or_default();
                out.problems.push(Problem {
                    address: Some(r.id.clone()),
                    line: ppos.line,
                    column: ppos.column,
                    message: format!(
                        "AWS::CloudTrail::Trail {} has unknown property {p}{hint}",
                        r.id
                    ),
                    unreadable: false,
                });
            }
        }
        let arg = |p: &str| prop_arg(&r.id, p, prop(p));
        let kms_key_id = match arg("KMSKeyId").optional_string("KMSKeyId") {
            Fact::Known(Some(reference)) => {
                let (key_ref, external) = resolve(&index, &reference, &alias_targets);
                if let Some(key) = &key_ref.key_arn {
                    out.trail_keys.insert(arn.clone(), key.clone());
                }
                account.key_refs.push(key_ref);
                account.keys.extend(external);
                if trailseal_model::names_aws_managed_alias(&reference) {
                    account
                        .keys
                        .push(mapper::aws_managed(&reference, ACCOUNT, REGION));
                }
                Fact::Known(Some(reference))
            }
            other => other,
        };
        let bucket = arg("S3BucketName").string("S3BucketName", None);
        // `!Ref Bucket` to a bucket of this template whose name is generated: the bucket is
        // known (its Region), its name is not.
        let bucket_resource = r
            .props
            .and_then(|p| p.get("S3BucketName"))
            .and_then(|n| n.get("Ref"))
            .and_then(Node::as_str)
            .filter(|id| !bucket.is_known() && unnamed_buckets.contains(id))
            .map(str::to_owned);
        if let Some(id) = &bucket_resource {
            if !account.buckets.iter().any(|b| b.name == *id) {
                account.buckets.push(Bucket {
                    name: id.clone(),
                    region: Fact::Known(REGION.to_owned()),
                    exists: Fact::Known(true),
                    policy: bucket_policy(id),
                    bucket_key: bucket_key(id),
                    object_ownership: mapper::not_read("Object Ownership"),
                });
            }
        }
        if let Fact::Known(name) = &bucket {
            let local = local_buckets.contains(name);
            account
                .buckets
                .push(match bucket_id_named(name).filter(|_| local) {
                    Some(id) => Bucket {
                        name: name.clone(),
                        region: Fact::Known(REGION.to_owned()),
                        exists: Fact::Known(true),
                        policy: bucket_policy(&id),
                        bucket_key: bucket_key(&id),
                        object_ownership: mapper::not_read("Object Ownership"),
                    },
                    None => Bucket {
                        name: name.clone(),
                        region: Fact::Unknown(format!(
                            "bucket {name} is not defined in this template"
                        )),
                        ..crate::iac_bucket()
                    },
                });
        }
        let mut trail = mapper::trail(TrailArgs {
            arn: arn.clone(),
            name,
            home_region: REGION.to_owned(),
            kms_key_id,
            bucket,
            prefix: arg("S3KeyPrefix"),
            multi_region: arg("IsMultiRegionTrail"),
            organization: arg("IsOrganizationTrail"),
            validation: arg("EnableLogFileValidation"),
        });
        trail.name_unknown = name_unknown;
        trail.s3_bucket_resource = bucket_resource;
        place(&mut out, &arn, r);
        account.trails.push(trail);
    }

    for r in index
        .resources
        .iter()
        .filter(|r| r.ty == "AWS::CloudTrail::EventDataStore" && exists(r))
    {
        let arn = format!(
            "arn:aws:cloudtrail:{REGION}:{ACCOUNT}:eventdatastore/{}",
            r.id
        );
        let key = r.props.and_then(|p| p.get("KmsKeyId")).map(|n| ev.eval(n));
        let kms_key_id = prop_arg(&r.id, "KmsKeyId", key).optional_string("KmsKeyId");
        if let Fact::Known(Some(reference)) = &kms_key_id {
            let (key_ref, external) = resolve(&index, reference, &alias_targets);
            account.key_refs.push(key_ref);
            account.keys.extend(external);
        }
        account.event_data_stores.push(EventDataStore {
            arn: arn.clone(),
            name: r.id.clone(),
            region: REGION.to_owned(),
            kms_key_id,
            status: None,
        });
        place(&mut out, &arn, r);
    }

    account
        .key_refs
        .sort_by(|a, b| (&a.reference, &a.region).cmp(&(&b.reference, &b.region)));
    account
        .key_refs
        .dedup_by(|a, b| a.reference == b.reference && a.region == b.region);
    out.account = account;
    out
}

/// A property's evaluated value as a mapper argument; a partly unknown value (a policy with
/// one `!ImportValue` inside) is unknown as a whole, named after the property.
fn prop_arg(id: &str, name: &str, value: Option<Val>) -> Arg {
    match value {
        None | Some(Val::NoValue) | Some(Val::Null) => Arg::Absent,
        Some(v) => match v.unknown() {
            Some(why) => Arg::Unknown(format!("{id}.{name}: {why}")),
            None => Arg::Known(v.to_json()),
        },
    }
}

/// A policy property (`KeyPolicy`, `PolicyDocument`): a policy object with unknown values
/// inside keeps what is known, the unknown values marked for the policy engine (see
/// [`Val::policy_json`]).
fn policy_arg(id: &str, name: &str, value: Option<Val>) -> Arg {
    match &value {
        Some(v @ Val::Map(_)) if v.unknown().is_some() => match v.policy_json() {
            Some(text) => Arg::Known(serde_json::Value::String(text)),
            None => prop_arg(id, name, value),
        },
        _ => prop_arg(id, name, value),
    }
}

/// The logical id of a key in this template that `value` (logical id, key id or key ARN) names.
fn key_logical_id(index: &Index<'_>, value: &str) -> Option<String> {
    let id = value
        .strip_prefix(&format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/"))
        .unwrap_or(value);
    index
        .find(id)
        .filter(|r| KEY_TYPES.contains(&r.ty.as_str()))
        .map(|r| r.id.clone())
}

/// How a trail's `KMSKeyId` resolves within the template, plus the evidence of a key outside
/// it that the reference itself describes (its Region, and whether it is multi-Region).
fn resolve(
    index: &Index<'_>,
    reference: &str,
    aliases: &[(String, String)],
) -> (KeyRef, Option<Key>) {
    let region = trailseal_model::key_region(reference, REGION);
    let mut key_ref = KeyRef {
        region: region.clone(),
        reference: reference.to_owned(),
        key_arn: None,
        error: None,
    };
    if trailseal_model::names_aws_managed_alias(reference) {
        let alias = reference.split(':').nth(5).unwrap_or(reference);
        key_ref.key_arn = Some(format!("arn:aws:kms:{region}:{ACCOUNT}:{alias}"));
        key_ref.error = Some(LookupError::Unknown(format!(
            "{alias} is AWS-managed: whether AWS has created it in the account is not known before deployment"
        )));
        return (key_ref, None);
    }
    let alias = reference
        .strip_prefix(&format!("arn:aws:kms:{REGION}:{ACCOUNT}:"))
        .unwrap_or(reference);
    if alias.starts_with("alias/") {
        match aliases.iter().find(|(name, _)| name == alias) {
            Some((_, id)) => key_ref.key_arn = Some(key_arn(id)),
            None => {
                key_ref.error = Some(LookupError::Unknown(format!(
                    "{alias} is not defined in this template"
                )))
            }
        }
        return (key_ref, None);
    }
    match key_logical_id(index, reference) {
        Some(id) => key_ref.key_arn = Some(key_arn(&id)),
        None => {
            key_ref.error = Some(LookupError::Unknown(format!(
                "{reference} is not a key defined in this template"
            )));
            if let Some(k) = mapper::external_key(reference, &region) {
                key_ref.key_arn = k.arn.clone();
                return (key_ref, Some(k));
            }
        }
    }
    (key_ref, None)
}

/// Records where a resource is defined and its Metadata suppressions.
fn place(out: &mut IacScan, arn: &str, r: &Res<'_>) {
    out.locations.insert(
        arn.to_owned(),
        Location {
            address: r.id.clone(),
            line: r.pos.line,
            column: r.pos.column,
        },
    );
    out.suppress(arn, &r.id, r.node);
}
