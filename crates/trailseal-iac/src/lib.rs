//! trailseal-iac: infrastructure as code turned into the evidence model the live audit
//! collects, so that the same checks (same codes) run before deployment. Pure: no AWS SDK,
//! no async.
//!
//! Front ends: CloudFormation (YAML and JSON, short and long intrinsic forms) in [`cfn`];
//! Terraform HCL (modules, variables, locals, `count` / `for_each`, evaluated by
//! [`terraform`]) and Terraform plan JSON ([`tfplan`]), which both produce the typed
//! [`tfplan::Planned`]. Every resource keeps its file position; findings are mapped back from
//! the synthetic ARNs the evidence uses to logical ids / addresses with [`IacScan::localize`].
//! Which checks run on IaC, and TS000 for input that cannot be read, come from the catalogue
//! (`trailseal_checks::iac_codes`, `trailseal_checks::input_finding`).

pub mod cfn;
pub mod discover;
pub(crate) mod mapper;
pub mod suggest;
pub mod terraform;
pub mod tfplan;
pub mod value;
pub mod yaml;

/// The Terraform HCL scanner under its older name (`tf::scan_module`, `tf::TfVars`).
pub use terraform as tf;

use foldhash::{HashMap, HashMapExt};

use serde_json::json;
use trailseal_model::{AccountEvidence, Finding, Status};

/// Where a resource is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// CloudFormation logical id, or Terraform address.
    pub address: String,
    pub line: u32,
    pub column: u32,
}

/// Something in the file that is wrong in itself (unparseable, unknown property, suppression
/// without a reason): reported as an `error` finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub address: Option<String>,
    pub line: u32,
    pub column: u32,
    pub message: String,
    /// The input could not be read or parsed (as opposed to read, but wrong in itself): the
    /// run exits 2 whatever --fail-on says.
    pub unreadable: bool,
}

impl Problem {
    /// A file that could not be read or parsed as a whole (reported at line 1, column 1).
    pub fn file(message: impl Into<String>) -> Problem {
        Problem {
            address: None,
            line: 1,
            column: 1,
            message: message.into(),
            unreadable: true,
        }
    }
}

/// An inline suppression: findings of `code` on `resource` become `skipped` with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The synthetic ARN of the resource in the evidence.
    pub resource: String,
    pub code: String,
    pub reason: String,
}

/// One scanned file.
#[derive(Debug, Clone, Default)]
pub struct IacScan {
    pub file: String,
    pub account: AccountEvidence,
    /// Synthetic resource ARN -> where the resource is defined.
    pub locations: HashMap<String, Location>,
    pub problems: Vec<Problem>,
    pub suppressions: Vec<Suppression>,
    /// Trail ARN -> the ARN of its key in the file: a suppression on a key applies to the
    /// findings of the trails that use it.
    pub trail_keys: HashMap<String, String>,
    /// Address -> file, when a scan covers several files (a Terraform module).
    pub files: HashMap<String, String>,
    /// Problems of files other than `file`.
    pub file_problems: Vec<(String, Problem)>,
    /// What was deliberately not evaluated (remote modules), per file: `skipped` findings.
    pub file_notes: Vec<(String, Problem)>,
    /// Terraform: the local module directories this scan evaluated as children (canonical),
    /// which are then not scanned again as root modules.
    pub module_dirs: Vec<std::path::PathBuf>,
    /// The language the resources are written in: fixes are suggested in it.
    pub lang: suggest::Lang,
    /// How each key's policy is written (key ARN -> where and in what form), so that a fix adds
    /// the statement where it belongs.
    pub key_policy_sites: HashMap<String, suggest::PolicySite>,
    /// The inputs the file declares: a template's parameters, a root module's variables (so
    /// that a --parameter or --var that names nothing scanned is not ignored silently).
    pub declared_inputs: Vec<String>,
}

impl IacScan {
    pub fn new(file: &str) -> IacScan {
        IacScan {
            file: file.to_owned(),
            ..IacScan::default()
        }
    }

    /// Reads `Metadata: {trailseal: {skip: [{id: TS011, reason: "..."}]}}` on a resource.
    pub(crate) fn suppress(&mut self, resource: &str, address: &str, node: &yaml::Node) {
        let Some(skip) = node
            .get("Metadata")
            .and_then(|m| m.get("trailseal"))
            .and_then(|t| t.get("skip"))
        else {
            return;
        };
        let items: Vec<&yaml::Node> = match &skip.value {
            yaml::Value::Seq(items) => items.iter().collect(),
            _ => vec![skip],
        };
        for item in items {
            let code = item
                .get("id")
                .or_else(|| item.get("code"))
                .and_then(yaml::Node::as_str)
                .map(str::to_ascii_uppercase);
            let reason = item
                .get("reason")
                .and_then(yaml::Node::as_str)
                .map(str::trim)
                .filter(|r| !r.is_empty());
            match (code, reason) {
                (Some(code), Some(reason)) => self.suppressions.push(Suppression {
                    resource: resource.to_owned(),
                    code,
                    reason: reason.to_owned(),
                }),
                (code, _) => self.problems.push(Problem {
                    address: Some(address.to_owned()),
                    line: item.pos.line,
                    column: item.pos.column,
                    message: format!(
                        "suppression of {} on {address} has no reason: give `id` and a non-empty `reason`",
                        code.as_deref().unwrap_or("(no id)")
                    ),
                    unreadable: false,
                }),
            }
        }
    }

    /// Rewrites a finding's fix in the file's language, at the resource to edit (its trail, or
    /// its key when the key is defined in the scanned files). `key_statements`: what the
    /// failing TS006/TS007 findings add to each key, for all its trails.
    fn suggest(
        &self,
        f: &mut Finding,
        trail: &Location,
        key_statements: &HashMap<&str, Vec<serde_json::Value>>,
        statement: Option<&serde_json::Value>,
    ) {
        // Most findings pass: nothing to rewrite, and nothing to look up (this runs for every
        // finding of a scan).
        if !suggest::rewrites(f) {
            return;
        }
        let file_of = |loc: &Location| {
            self.files
                .get(&loc.address)
                .map(String::as_str)
                .unwrap_or(self.file.as_str())
        };
        let trail_target = suggest::Target {
            location: trail,
            file: file_of(trail),
        };
        let key_arn = self.trail_keys.get(&f.resource);
        let key = key_arn
            .and_then(|k| self.locations.get(k))
            .map(|location| suggest::Target {
                location,
                file: file_of(location),
            });
        let site = key_arn.and_then(|k| self.key_policy_sites.get(k));
        let setter = match site {
            Some(suggest::PolicySite::Argument { setter, .. }) => self
                .locations
                .values()
                .find(|l| &l.address == setter)
                .map(|location| suggest::Target {
                    location,
                    file: file_of(location),
                }),
            _ => None,
        };
        suggest::rewrite(
            f,
            self.lang,
            &suggest::Places {
                trail: &trail_target,
                key: key.as_ref(),
                policy: site,
                setter: setter.as_ref(),
                key_statements: key_arn
                    .and_then(|k| key_statements.get(k.as_str()))
                    .map_or(&[], Vec::as_slice),
                statement,
            },
        );
    }

    /// Maps findings on the evidence back to the file: resource = logical id / address,
    /// `file`, `line`, `column`; the symbolic account and Region read as
    /// `${AWS::AccountId}` / `${AWS::Region}`; suppressed findings become `skipped`.
    /// Findings about resources that are not in the file (the account-level ones) are dropped.
    /// The file's problems are appended as `error` findings.
    pub fn localize(&self, findings: Vec<Finding>) -> Vec<Finding> {
        // In place: most strings hold neither marker and are left as they are.
        let symbolic = |s: &mut String| {
            if let Some(new) = symbolic(s) {
                *s = new;
            }
        };
        // Each finding's statement to add (once: it hashes the trail's ARN), and every
        // statement by key.
        let statements: Vec<Option<serde_json::Value>> =
            findings.iter().map(suggest::statement_to_add).collect();
        let mut key_statements: HashMap<&str, Vec<serde_json::Value>> = HashMap::new();
        for (f, statement) in findings.iter().zip(&statements) {
            if let Some((statement, key)) = statement
                .as_ref()
                .and_then(|s| Some((s, self.trail_keys.get(&f.resource)?)))
            {
                let list = key_statements.entry(key.as_str()).or_default();
                if !list.contains(statement) {
                    list.push(statement.clone());
                }
            }
        }
        let mut out: Vec<Finding> = findings
            .into_iter()
            .zip(&statements)
            .filter_map(|(mut f, statement)| {
                let loc = self.locations.get(&f.resource)?;
                let key = self.trail_keys.get(&f.resource);
                if let Some(s) = self.suppressions.iter().find(|s| {
                    s.code == f.code && (s.resource == f.resource || Some(&s.resource) == key)
                }) {
                    f.status = Status::Skipped;
                    f.message = format!("suppressed: {} (was: {})", s.reason, f.message);
                }
                // A suppressed finding no longer fails: it adds no statement.
                let statement = statement.as_ref().filter(|_| f.status == Status::Fail);
                self.suggest(&mut f, loc, &key_statements, statement);
                // The fix now holds the statement in the file's language; the live form (with
                // the deploying account as a placeholder) would only mislead here.
                if let Some(evidence) = f.evidence.as_object_mut() {
                    evidence.remove("statement_to_add");
                }
                f.resource = loc.address.clone();
                symbolic(&mut f.account);
                symbolic(&mut f.region);
                symbolic(&mut f.message);
                symbolic(&mut f.remediation);
                replace_strings(&mut f.evidence);
                f.file = Some(
                    self.files
                        .get(&loc.address)
                        .cloned()
                        .unwrap_or_else(|| self.file.clone()),
                );
                f.line = Some(loc.line);
                f.column = Some(loc.column);
                Some(f)
            })
            .collect();
        out.extend(self.problems.iter().map(|p| problem_finding(&self.file, p)));
        out.extend(
            self.file_problems
                .iter()
                .map(|(file, p)| problem_finding(file, p)),
        );
        out.extend(self.file_notes.iter().map(|(file, p)| {
            let mut f = problem_finding(file, p);
            f.status = Status::Skipped;
            f.remediation = "Scan the Terraform plan (terraform show -json) to cover it.".into();
            f
        }));
        out
    }
}

/// A bucket the scanned files refer to but do not define: whether it exists and its policy are
/// not known from them (TS014 skips it; `trailseal audit` reads it).
pub(crate) fn iac_bucket() -> trailseal_model::Bucket {
    let why = "the bucket is not defined in the scanned files";
    trailseal_model::Bucket {
        exists: trailseal_model::Fact::Unknown(why.to_owned()),
        policy: trailseal_model::Fact::Unknown(why.to_owned()),
        ..trailseal_model::Bucket::default()
    }
}

/// An `error` finding (TS000, from the catalogue) for a problem in a file.
pub fn problem_finding(file: &str, p: &Problem) -> Finding {
    let resource = p.address.as_deref().unwrap_or(file);
    trailseal_checks::input_finding(file, resource, p.line, p.column, &p.message, p.unreadable)
}

/// The AWS default key policy (what KMS applies when a key is created without one): it
/// delegates to IAM in the account and names no service, so CloudTrail cannot use the key.
pub(crate) fn default_key_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// Writes the symbolic account and Region of every string inside a JSON value in place.
fn replace_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Some(new) = symbolic(s) {
                *s = new;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(replace_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(replace_strings),
        _ => {}
    }
}

/// The symbolic account and Region of the evidence (see [`value::ACCOUNT`]) written as
/// `${AWS::AccountId}` / `${AWS::Region}`, in one pass; None when `s` has neither.
fn symbolic(s: &str) -> Option<String> {
    use std::sync::LazyLock;
    // The common cases without a search: a finding's account and Region are often the
    // markers themselves, and a string shorter than both holds neither.
    if s == value::ACCOUNT {
        return Some("${AWS::AccountId}".to_owned());
    }
    if s == value::REGION {
        return Some("${AWS::Region}".to_owned());
    }
    if s.len() < value::ACCOUNT.len().min(value::REGION.len()) {
        return None;
    }
    static ACCOUNT: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(value::ACCOUNT));
    static REGION: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(value::REGION));
    let next = |from: usize| -> Option<(usize, usize, &'static str)> {
        let rest = s.as_bytes().get(from..)?;
        let a = ACCOUNT
            .find(rest)
            .map(|i| (from + i, value::ACCOUNT.len(), "${AWS::AccountId}"));
        let r = REGION
            .find(rest)
            .map(|i| (from + i, value::REGION.len(), "${AWS::Region}"));
        match (a, r) {
            (Some(a), Some(r)) => Some(if a.0 <= r.0 { a } else { r }),
            (a, r) => a.or(r),
        }
    };
    let mut hit = next(0)?;
    let mut out = String::with_capacity(s.len() + 8);
    let mut at = 0;
    loop {
        let (start, len, with) = hit;
        out.push_str(s.get(at..start)?);
        out.push_str(with);
        at = start + len;
        match next(at) {
            Some(h) => hit = h,
            None => break,
        }
    }
    out.push_str(s.get(at..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The search [`symbolic`] replaced (each marker found with `str::find` from where the last
    /// replacement ended, the leftmost first): the oracle.
    fn symbolic_before(s: &str) -> Option<String> {
        let (a, r) = (value::ACCOUNT, value::REGION);
        let next = |from: usize| -> Option<(usize, usize, &'static str)> {
            let rest = s.get(from..)?;
            let hits = [
                rest.find(a)
                    .map(|i| (from + i, a.len(), "${AWS::AccountId}")),
                rest.find(r).map(|i| (from + i, r.len(), "${AWS::Region}")),
            ];
            hits.into_iter().flatten().min_by_key(|h| h.0)
        };
        let mut hit = next(0)?;
        let mut out = String::new();
        let mut at = 0;
        loop {
            let (start, len, with) = hit;
            out.push_str(&s[at..start]);
            out.push_str(with);
            at = start + len;
            match next(at) {
                Some(h) => hit = h,
                None => break,
            }
        }
        out.push_str(&s[at..]);
        Some(out)
    }

    proptest! {
        #[test]
        fn symbolic_replaces_as_the_search_did(
            pieces in prop::collection::vec(prop_oneof![
                Just(value::ACCOUNT.to_owned()),
                Just(value::REGION.to_owned()),
                Just("0".to_owned()),
                Just("d".to_owned()),
                Just("deploying-".to_owned()),
                "[a-z0-9:/é-]{0,6}",
            ], 0..10)
        ) {
            let s = pieces.concat();
            prop_assert_eq!(symbolic(&s), symbolic_before(&s));
        }
    }

    #[test]
    fn symbolic_account_and_region_are_written_as_cloudformation_writes_them() {
        let (a, r) = (value::ACCOUNT, value::REGION);
        assert_eq!(symbolic("nothing to replace"), None);
        assert_eq!(symbolic(""), None);
        assert_eq!(symbolic(a).as_deref(), Some("${AWS::AccountId}"));
        assert_eq!(
            symbolic(&format!(
                "arn:aws:kms:{r}:{a}:key/k resolves to arn:aws:kms:{r}:{a}:key/k"
            ))
            .as_deref(),
            Some(
                "arn:aws:kms:${AWS::Region}:${AWS::AccountId}:key/k resolves to \
                 arn:aws:kms:${AWS::Region}:${AWS::AccountId}:key/k"
            )
        );
        // Adjacent, Region first, and the account's digits running on (non-overlapping, from
        // the left).
        assert_eq!(
            symbolic(&format!("{r}{a}{a}0000")).as_deref(),
            Some("${AWS::Region}${AWS::AccountId}${AWS::AccountId}0000")
        );
        assert_eq!(
            symbolic(&format!("é{a}é")).as_deref(),
            Some("é${AWS::AccountId}é")
        );
    }
}
