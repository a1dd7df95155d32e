//! A plan's JSON (`terraform show -json PLANFILE`) read into [`Planned`]: `planned_values`
//! (values known before apply), `resource_changes[].change.after_unknown` (what only apply
//! will tell), `configuration` (each argument's `references`, provider configurations) and
//! `prior_state` (data sources: the deploying account, Region and partition).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::resources::{config_address, Planned, ProviderRegion, Res};

/// The plan in `plan`, or why it is not one.
pub(super) fn planned(plan: &Value) -> Result<Planned, String> {
    let root = plan
        .get("planned_values")
        .and_then(|p| p.get("root_module"))
        .ok_or("not a Terraform plan: no planned_values.root_module (use `terraform show -json PLANFILE`)")?;
    let mut planned = Vec::new();
    collect_resources(root, &mut planned, "");
    let mut config = HashMap::new();
    if let Some(c) = plan.get("configuration").and_then(|c| c.get("root_module")) {
        collect_config(c, "", &mut config);
    }
    let changes: HashMap<&str, &Value> = plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.get("address")?.as_str()?, c.get("change")?)))
        .collect();

    let mut data = Vec::new();
    if let Some(prior) = plan
        .get("prior_state")
        .and_then(|p| p.get("values"))
        .and_then(|v| v.get("root_module"))
    {
        collect_resources(prior, &mut data, "");
    }
    let data_value = |ty: &str, keys: &[&str]| -> Option<String> {
        data.iter()
            .filter(|(r, _)| r.get("type").and_then(Value::as_str) == Some(ty))
            .find_map(|(r, _)| {
                keys.iter()
                    .find_map(|k| r.get("values")?.get(k)?.as_str().map(str::to_owned))
            })
    };

    let providers: BTreeMap<String, ProviderRegion> = plan
        .pointer("/configuration/provider_config")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, p)| {
            let region = match p.pointer("/expressions/region") {
                None => ProviderRegion::Unset,
                Some(e) => match e.get("constant_value").and_then(Value::as_str) {
                    Some(r) => ProviderRegion::Constant(r.to_owned()),
                    None => ProviderRegion::NotConstant,
                },
            };
            (key.clone(), region)
        })
        .collect();

    let resources = planned
        .iter()
        .filter(|(r, _)| r.get("mode").and_then(Value::as_str) != Some("data"))
        .filter_map(|(r, module)| {
            let address = r.get("address")?.as_str()?.to_owned();
            let conf = config.get(&config_address(&address));
            let unknown = changes
                .get(address.as_str())
                .and_then(|c| c.get("after_unknown"))
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| match v {
                    Value::Bool(true) => Some((k.clone(), None)),
                    Value::String(why) => Some((k.clone(), Some(why.clone()))),
                    // A nested block or list with an unknown part (`{"rule": [{"x": true}]}`):
                    // the attribute is read whole, so it is unknown.
                    nested if has_true(nested) => Some((k.clone(), None)),
                    _ => None,
                })
                .collect();
            let expressions = conf.and_then(|c| c.get("expressions")).map(|e| {
                e.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, expr)| {
                        let refs = expr
                            .get("references")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(|r| format!("{module}{r}"))
                            .collect();
                        (name.clone(), refs)
                    })
                    .collect()
            });
            Some(Res {
                ty: r.get("type")?.as_str()?.to_owned(),
                values: r.get("values")?.as_object().cloned().unwrap_or_default(),
                unknown,
                config: expressions,
                provider: conf
                    .and_then(|c| c.get("provider_config_key"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                module: module.clone(),
                address,
            })
        })
        .collect();
    Ok(Planned {
        resources,
        account: data_value("aws_caller_identity", &["account_id"]),
        region: data_value("aws_region", &["name", "region"]),
        partition: data_value("aws_partition", &["partition"]),
        providers,
    })
}

fn collect_resources<'a>(module: &'a Value, out: &mut Vec<(&'a Value, String)>, prefix: &str) {
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push((r, prefix.to_owned()));
    }
    for child in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let address = child
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or_default();
        collect_resources(child, out, &format!("{address}."));
    }
}

fn collect_config<'a>(module: &'a Value, prefix: &str, out: &mut HashMap<String, &'a Value>) {
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(address) = r.get("address").and_then(Value::as_str) {
            out.insert(format!("{prefix}{address}"), r);
        }
    }
    if let Some(calls) = module.get("module_calls").and_then(Value::as_object) {
        for (name, call) in calls {
            if let Some(child) = call.get("module") {
                collect_config(child, &format!("{prefix}module.{name}."), out);
            }
        }
    }
}

/// Whether an `after_unknown` value marks some nested part unknown.
fn has_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Array(items) => items.iter().any(has_true),
        Value::Object(map) => map.values().any(has_true),
        _ => false,
    }
}
