//! The key policy statements the plan sets, and merging them into an existing policy without
//! touching what is there.
//!
//! CloudTrail's statements are the documented ones ([`TrailContext::encrypt_statement`],
//! [`TrailContext::describe_statement`]: "Configure AWS KMS key policies for CloudTrail"),
//! with `aws:SourceArn` listing every trail the statement serves (`StringEquals` with several
//! values matches any of them). A new key's policy starts with the AWS default key policy's
//! statement (the account may `kms:*`, so the account's IAM policies decide who administers
//! and reads; "Default key policy", AWS KMS Developer Guide), which is what keeps the key
//! manageable.

use serde_json::{json, Value};
use trailseal_policy::TrailContext;

/// Sid of the new key's administration statement.
pub const SID_ADMIN: &str = "TrailsealKeyAdministration";
/// Sid of the statement carrying the readers over from a replaced key (and `--reader`s).
pub const SID_READERS: &str = "TrailsealAllowLogReaders";

/// Who must be able to decrypt the logs under a new key, besides the trail's account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readers {
    /// Principal ARNs (roles, users).
    pub principals: Vec<String>,
    /// Accounts whose IAM principals may decrypt (`kms:CallerAccount`).
    pub accounts: Vec<String>,
}

impl Readers {
    pub fn add_principal(&mut self, arn: &str) {
        if !self.principals.iter().any(|p| p == arn) {
            self.principals.push(arn.to_owned());
        }
    }

    pub fn add_account(&mut self, account: &str) {
        if !self.accounts.iter().any(|a| a == account) {
            self.accounts.push(account.to_owned());
        }
    }
}

/// `value`, or a list when there are several.
fn one_or_many(values: &[String]) -> Value {
    match values {
        [one] => Value::String(one.clone()),
        many => json!(many),
    }
}

/// A statement built for the first trail with `aws:SourceArn` widened to every trail's ARN.
fn for_trails(trails: &[TrailContext], build: impl Fn(&TrailContext) -> Value) -> Option<Value> {
    let first = trails.first()?;
    let mut statement = build(first);
    let arns: Vec<String> = trails
        .iter()
        .filter(|t| t.name_known)
        .map(|t| t.trail_arn.clone())
        .collect();
    if let Some(equals) = statement
        .pointer_mut("/Condition/StringEquals")
        .and_then(Value::as_object_mut)
    {
        if equals.contains_key("aws:SourceArn") && !arns.is_empty() {
            equals.insert("aws:SourceArn".into(), one_or_many(&arns));
        }
    }
    Some(statement)
}

/// CloudTrail's encrypt statement for `trails` (all of one account).
pub fn encrypt_statement(trails: &[TrailContext]) -> Option<Value> {
    for_trails(trails, TrailContext::encrypt_statement)
}

/// CloudTrail's describe statement for `trails`.
pub fn describe_statement(trails: &[TrailContext]) -> Option<Value> {
    for_trails(trails, TrailContext::describe_statement)
}

/// The policy of a new trailseal key for `trails` (at least one): administration for the
/// account, CloudTrail's statements, decrypt for the account's principals and `readers`.
pub fn new_key_policy(
    partition: &str,
    account: &str,
    trails: &[TrailContext],
    readers: &Readers,
) -> String {
    let mut statements = vec![json!({
        "Sid": SID_ADMIN,
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
        "Action": "kms:*",
        "Resource": "*"
    })];
    statements.extend(encrypt_statement(trails));
    statements.extend(describe_statement(trails));
    // Principals of the trail's account, and of every reader account, may decrypt log files
    // (the documented statement, with kms:CallerAccount listing the accounts).
    if let Some(first) = trails.first() {
        let mut decrypt = first.decrypt_statement();
        let mut accounts = vec![account.to_owned()];
        for a in &readers.accounts {
            if !accounts.contains(a) {
                accounts.push(a.clone());
            }
        }
        if let Some(equals) = decrypt
            .pointer_mut("/Condition/StringEquals")
            .and_then(Value::as_object_mut)
        {
            equals.insert("kms:CallerAccount".into(), one_or_many(&accounts));
        }
        statements.push(decrypt);
    }
    if !readers.principals.is_empty() {
        statements.push(json!({
            "Sid": SID_READERS,
            "Effect": "Allow",
            "Principal": {"AWS": one_or_many(&readers.principals)},
            "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": "*",
            "Condition": {"Null": {trailseal_policy::cloudtrail::EC_TRAIL_ARN: "false"}}
        }));
    }
    let policy = json!({"Version": "2012-10-17", "Statement": statements});
    serde_json::to_string_pretty(&policy).unwrap_or_default()
}

/// `policy` with `statements` appended, each under a Sid no existing statement uses (its own
/// Sid, else the Sid with a number). Existing statements are kept as they are, in order.
/// Returns the new text and the Sids added; Err when `policy` is not a JSON policy document.
pub fn merge(policy: &str, statements: Vec<Value>) -> Result<(String, Vec<String>), String> {
    let mut doc: Value =
        serde_json::from_str(policy).map_err(|e| format!("the key policy is not JSON: {e}"))?;
    let Some(root) = doc.as_object_mut() else {
        return Err("the key policy is not a JSON object".into());
    };
    let existing = match root.remove("Statement") {
        Some(Value::Array(list)) => list,
        Some(one @ Value::Object(_)) => vec![one],
        None => Vec::new(),
        Some(_) => return Err("the key policy's Statement is not a list or an object".into()),
    };
    let mut sids: Vec<String> = existing
        .iter()
        .filter_map(|s| s.get("Sid").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut added = Vec::new();
    let mut list = existing;
    for mut statement in statements {
        let base = statement
            .get("Sid")
            .and_then(Value::as_str)
            .unwrap_or("Trailseal")
            .to_owned();
        let mut sid = base.clone();
        let mut n = 2;
        while sids.contains(&sid) {
            sid = format!("{base}{n}");
            n += 1;
        }
        if let Some(map) = statement.as_object_mut() {
            map.insert("Sid".into(), Value::String(sid.clone()));
        }
        sids.push(sid.clone());
        added.push(sid);
        list.push(statement);
    }
    root.insert("Statement".into(), Value::Array(list));
    // No Version is added where there is none: under 2008-10-17 rules policy variables in the
    // existing statements are literal text, and adding one would change what they mean.
    Ok((
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
        added,
    ))
}
