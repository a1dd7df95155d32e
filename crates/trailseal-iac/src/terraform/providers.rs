//! Provider configurations: which `aws` configuration each resource uses, across modules, and
//! its Region.
//!
//! Each module has a namespace of configurations by local name (`aws`, `aws.west`). The root
//! module's are its `provider "aws"` blocks. A child module's are, without a `providers`
//! argument, its caller's default `aws`: "If you omit it, a child module inherits all of the
//! default provider configurations from its parent module"; with one, exactly the mapped
//! ones: "If you specify a providers argument, it cancels this default behavior, and the child
//! module will only have access to the provider configurations you specify" (The Module
//! providers Meta-Argument,
//! https://developer.hashicorp.com/terraform/language/meta-arguments/module-providers). A
//! child module's own `provider` blocks configure its own resources (legacy shared modules,
//! https://developer.hashicorp.com/terraform/language/modules/develop/providers#legacy-shared-modules-with-provider-configurations).
//!
//! In [`crate::tfplan::Planned`] (as in a plan's `configuration.provider_config`) a
//! configuration has a key, and a resource names the one it uses (`provider_config_key`):
//!
//! - the root module's default `aws`: key `aws`, and resources using it (in any module) have
//!   no `provider_config_key` (the mapper's deploying Region);
//! - a root module alias: key `aws.ALIAS` (also for a child's resources it is passed to, as
//!   `terraform show -json` does for passed configurations);
//! - a child module's own block: key `module.NAME.aws` / `module.NAME.aws.ALIAS` (the module
//!   address, a dot, the local name). Terraform writes `module.NAME:aws`, but the plan mapping
//!   falls back to the part of such a key after its last `:`, which would be the root's `aws`.
//!
//! Its Region is a constant when known, not constant when it is not known before apply, and
//! unset when the configuration takes the deploying Region.

use foldhash::{HashMap, HashMapExt};

use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::Block;

use super::{Module, Scope};
use crate::tfplan::ProviderRegion;
use crate::value::{Val, REGION};

/// The Region of a provider configuration.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Region {
    /// Known: a Region, or [`REGION`], the deploying Region (the root module's default
    /// configuration's, whatever it is).
    Known(String),
    /// Not known before apply: the reason.
    Unknown(String),
}

/// A provider configuration as a resource sees it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Provider {
    /// Its key in `configuration.provider_config`; None for the root module's default
    /// configuration.
    pub(super) key: Option<String>,
    pub(super) region: Region,
}

/// The configurations a module can use, by local name, and the Region a configuration
/// without `region` gets.
#[derive(Clone, Debug, Default)]
pub(super) struct Providers {
    pub(super) by_name: HashMap<String, Provider>,
    /// The Region of a configuration that sets no `region` (the provider then reads AWS_REGION
    /// or the shared config file: https://registry.terraform.io/providers/hashicorp/aws/latest/docs#region):
    /// the deploying Region when the root module's default configuration sets none either,
    /// else not known.
    pub(super) environment: Option<Region>,
    /// The root module's default configuration's entry (`aws`), when it has a block.
    pub(super) default_entry: Option<ProviderRegion>,
}

impl Providers {
    /// The configuration a local name (`aws`, `aws.west`) refers to in a module whose address
    /// prefix is `prefix`. One that is not configured (Terraform would reject the
    /// configuration) has an unknown Region.
    pub(super) fn get(&self, name: &str, prefix: &str) -> Provider {
        self.by_name.get(name).cloned().unwrap_or_else(|| {
            let module = if prefix.is_empty() {
                "the root module".to_owned()
            } else {
                prefix.trim_end_matches('.').to_owned()
            };
            Provider {
                key: Some(format!("{prefix}{name}")),
                region: Region::Unknown(
                    format!(
                        "provider configuration {name} is not configured in {module} (not defined there, or not passed to it with the module call's providers argument)"
                ),
                ),
            }
        })
    }
}

/// `aws` or `aws.west` from a reference to a provider configuration (`aws`, `aws.west`), or
/// from a string holding one: the `.tf.json` form ("the value is a string containing the
/// reference", JSON Configuration Syntax,
/// https://developer.hashicorp.com/terraform/language/syntax/json#provider-blocks).
pub(super) fn provider_name(e: &Expression) -> Option<String> {
    match e {
        Expression::String(s) => {
            let s = s.as_str();
            let word = |w: &str| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            };
            let mut parts = s.split('.');
            let ok = match (parts.next(), parts.next(), parts.next()) {
                (Some(p), None, None) => word(p),
                (Some(p), Some(a), None) => word(p) && word(a),
                _ => false,
            };
            ok.then(|| s.to_owned())
        }
        Expression::Variable(v) => Some(v.as_str().to_owned()),
        Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
            (Expression::Variable(v), [op]) => match &**op {
                TraversalOperator::GetAttr(alias) => {
                    Some(format!("{}.{}", v.as_str(), alias.as_str()))
                }
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

impl Module<'_> {
    /// The local name of the configuration a resource or data source uses: its `provider`
    /// argument, else the default `aws`.
    pub(super) fn provider_local_name(&self, block: &Block) -> String {
        self.attr(block, "provider")
            .and_then(provider_name)
            .unwrap_or_else(|| "aws".to_owned())
    }

    /// The configuration a resource or data source uses.
    pub(super) fn provider_of(&self, block: &Block) -> Provider {
        self.providers
            .get(&self.provider_local_name(block), &self.prefix)
    }

    /// A resource's or data source's Region: its own `region` argument (AWS provider 6), else
    /// its provider configuration's. Err: not known before apply, with the reason.
    pub(super) fn region_of(&self, block: &Block) -> Result<String, String> {
        if let Some(e) = self.attr(block, "region") {
            return match self.eval(e, &Scope::default()) {
                Val::Str(r) => Ok(r),
                Val::Unknown(why) => Err(why),
                Val::Null => self.provider_region(block),
                _ => Err("its region argument is not a string".into()),
            };
        }
        self.provider_region(block)
    }

    fn provider_region(&self, block: &Block) -> Result<String, String> {
        let name = self.provider_local_name(block);
        match self.providers.get(&name, &self.prefix).region {
            Region::Known(r) => Ok(r),
            Region::Unknown(why) => Err(format!("the Region of provider {name}: {why}")),
        }
    }

    /// The Region a `provider "aws"` block sets.
    fn block_region(&self, b: &Block, environment: &Region) -> Region {
        let Some(e) = self.attr(b, "region") else {
            return environment.clone();
        };
        match self.eval(e, &Scope::default()) {
            Val::Str(r) => Region::Known(r),
            Val::Null => environment.clone(),
            Val::Unknown(why) => Region::Unknown(why),
            _ => Region::Unknown("its region is not a string".into()),
        }
    }

    /// The Regions of this module's configurations, by key.
    pub(super) fn provider_entries(&self) -> Vec<(String, ProviderRegion)> {
        let mut out: Vec<(String, ProviderRegion)> = self
            .providers
            .by_name
            .values()
            .filter_map(|p| Some((p.key.clone()?, config_entry(&p.region))))
            .collect();
        if let Some(e) = &self.providers.default_entry {
            out.push(("aws".to_owned(), e.clone()));
        }
        out
    }

    /// The configurations of this module: `inherited` (what the module call passes; None for
    /// the root module), then the module's own `provider "aws"` blocks.
    pub(super) fn provider_namespace(&self, inherited: Option<Providers>) -> Providers {
        let root = inherited.is_none();
        let mut out = inherited.unwrap_or_default();
        let alias = |b: &Block| {
            self.attr(b, "alias")
                .map(|e| self.eval(e, &Scope::default()))
                .and_then(|v| v.text())
        };
        let environment = match out.environment.clone() {
            Some(r) => r,
            None => {
                // The root module: the default configuration's `region`, if any, is not what a
                // configuration without one gets.
                let default_sets_region = self
                    .provider_blocks
                    .iter()
                    .any(|b| alias(b).is_none() && self.attr(b, "region").is_some());
                let r = if default_sets_region {
                    Region::Unknown(
                        "it sets no region, so the Region comes from the environment (AWS_REGION, the shared config file), which is not known before apply".into(),
                    )
                } else {
                    Region::Known(REGION.to_owned())
                };
                out.environment = Some(r.clone());
                r
            }
        };
        if root {
            out.by_name.insert(
                "aws".into(),
                Provider {
                    key: None,
                    region: Region::Known(REGION.to_owned()),
                },
            );
        }
        for b in &self.provider_blocks {
            let (name, key) = match alias(b) {
                Some(a) if root => (format!("aws.{a}"), Some(format!("aws.{a}"))),
                Some(a) => (format!("aws.{a}"), Some(format!("{}aws.{a}", self.prefix))),
                None if root => ("aws".to_owned(), None),
                None => ("aws".to_owned(), Some(format!("{}aws", self.prefix))),
            };
            let region = match (root, alias(b)) {
                // The root's default configuration is the deploying Region: a constant when
                // it sets one, else the symbol (not set, or not known: either way the
                // deploying Region is what the mapper cannot name).
                (true, None) => {
                    let region = match self.attr(b, "region") {
                        Some(_) => self.block_region(b, &environment),
                        None => Region::Known(REGION.to_owned()),
                    };
                    out.default_entry = Some(config_entry(&region));
                    match region {
                        Region::Known(r) => Region::Known(r),
                        Region::Unknown(..) => Region::Known(REGION.to_owned()),
                    }
                }
                _ => self.block_region(b, &environment),
            };
            out.by_name.insert(name, Provider { key, region });
        }
        out
    }

    /// The namespace a module call gives its child module: its `providers` map, or the
    /// caller's default `aws`.
    pub(super) fn providers_for_call(&self, call: &Block) -> Providers {
        let mut by_name = HashMap::new();
        match self.attr(call, "providers") {
            None => {
                if let Some(p) = self.providers.by_name.get("aws") {
                    by_name.insert("aws".to_owned(), p.clone());
                }
            }
            Some(Expression::Object(map)) => {
                for (k, v) in map.iter() {
                    let inner = match k {
                        ObjectKey::Ident(i) => Some(i.as_str().to_owned()),
                        ObjectKey::Expression(e) => provider_name(e),
                    };
                    let (Some(inner), Some(outer)) = (inner, provider_name(v.expr())) else {
                        continue;
                    };
                    if inner == "aws" || inner.starts_with("aws.") {
                        by_name.insert(inner, self.providers.get(&outer, &self.prefix));
                    }
                }
            }
            // Not a map of references: Terraform rejects it; nothing is passed.
            Some(_) => {}
        }
        Providers {
            by_name,
            environment: self.providers.environment.clone(),
            default_entry: None,
        }
    }
}

/// A `configuration.provider_config` entry for a configuration's Region.
pub(super) fn config_entry(region: &Region) -> ProviderRegion {
    match region {
        Region::Known(r) if r == REGION => ProviderRegion::Unset,
        Region::Known(r) => ProviderRegion::Constant(r.clone()),
        Region::Unknown(..) => ProviderRegion::NotConstant,
    }
}
