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
use trailseal_policy::{Policy, TrailContext};

/// The key policy size quota: 32 KB ("Key policies in AWS KMS", AWS KMS Developer Guide).
pub const MAX_POLICY_BYTES: usize = 32 * 1024;

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

/// At most this many trail ARNs are listed in `aws:SourceArn`; a key serving more trails is
/// pinned to the account's trails by pattern instead, so that the policy stays far below the
/// 32 KB quota (about 70 bytes an ARN, in two statements).
pub const MAX_PINNED_TRAILS: usize = 20;

/// A statement built for the first trail with `aws:SourceArn` widened to every trail's ARN
/// (or, beyond [`MAX_PINNED_TRAILS`], to `arn:P:cloudtrail:*:ACCOUNT:trail/*`).
fn for_trails(trails: &[TrailContext], build: impl Fn(&TrailContext) -> Value) -> Option<Value> {
    let first = trails.first()?;
    let mut statement = build(first);
    let arns: Vec<String> = trails
        .iter()
        .filter(|t| t.name_known)
        .map(|t| t.trail_arn.clone())
        .collect();
    let Some(condition) = statement
        .get_mut("Condition")
        .and_then(Value::as_object_mut)
    else {
        return Some(statement);
    };
    let pinned = condition
        .get("StringEquals")
        .is_some_and(|e| e.get("aws:SourceArn").is_some());
    if !pinned || arns.is_empty() {
        return Some(statement);
    }
    if arns.len() <= MAX_PINNED_TRAILS {
        if let Some(equals) = condition
            .get_mut("StringEquals")
            .and_then(Value::as_object_mut)
        {
            equals.insert("aws:SourceArn".into(), one_or_many(&arns));
        }
        return Some(statement);
    }
    if let Some(equals) = condition
        .get_mut("StringEquals")
        .and_then(Value::as_object_mut)
    {
        equals.remove("aws:SourceArn");
    }
    if condition
        .get("StringEquals")
        .and_then(Value::as_object)
        .is_some_and(serde_json::Map::is_empty)
    {
        condition.remove("StringEquals");
    }
    let pattern = format!(
        "arn:{}:cloudtrail:*:{}:trail/*",
        first.partition(),
        first.account()
    );
    let like = condition.entry("StringLike").or_insert_with(|| json!({}));
    if let Some(like) = like.as_object_mut() {
        like.insert("aws:SourceArn".into(), Value::String(pattern));
    }
    Some(statement)
}

/// CloudTrail's encrypt statement for `trails` (all of one account).
pub fn encrypt_statement(trails: &[TrailContext]) -> Option<Value> {
    let mut statement = for_trails(trails, TrailContext::encrypt_statement)?;
    // kms:Decrypt too when any of them writes to a bucket with S3 Bucket Keys.
    if trails.iter().any(|t| t.bucket_key_decrypt) {
        statement["Action"] = json!(["kms:GenerateDataKey*", "kms:Decrypt"]);
    }
    Some(statement)
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
    let principals_only = Readers {
        principals: readers.principals.clone(),
        accounts: Vec::new(),
    };
    statements.extend(readers_statements(&principals_only));
    let policy = json!({"Version": "2012-10-17", "Statement": statements});
    serde_json::to_string_pretty(&policy).unwrap_or_default()
}

/// Statements letting `readers` decrypt log files (none when there are none): the principals
/// by name, the accounts by `kms:CallerAccount` (as the documented decrypt statement does).
pub fn readers_statements(readers: &Readers) -> Vec<Value> {
    let mut out = Vec::new();
    let only_logs = json!({"Null": {trailseal_policy::cloudtrail::EC_TRAIL_ARN: "false"}});
    if !readers.principals.is_empty() {
        out.push(json!({
            "Sid": SID_READERS,
            "Effect": "Allow",
            "Principal": {"AWS": one_or_many(&readers.principals)},
            "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": "*",
            "Condition": only_logs
        }));
    }
    if !readers.accounts.is_empty() {
        let mut condition = only_logs;
        condition["StringEquals"] = json!({"kms:CallerAccount": one_or_many(&readers.accounts)});
        out.push(json!({
            "Sid": format!("{SID_READERS}Accounts"),
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
            "Resource": "*",
            "Condition": condition
        }));
    }
    out
}

/// Pretty JSON when it fits the key policy quota, else compact; Err when neither does.
fn fit(doc: &Value) -> Result<String, String> {
    let pretty = serde_json::to_string_pretty(doc).unwrap_or_default();
    if pretty.len() <= MAX_POLICY_BYTES {
        return Ok(pretty);
    }
    let compact = doc.to_string();
    if compact.len() <= MAX_POLICY_BYTES {
        return Ok(compact);
    }
    Err(format!(
        "the key policy would be {} bytes, over the {MAX_POLICY_BYTES}-byte key policy quota",
        compact.len()
    ))
}

/// `policy` with CloudTrail's service principal added to the `NotPrincipal` of the Deny
/// statements at `indices` (0-based; as the policy parser numbers them). Err when one is not a
/// Deny with a `NotPrincipal` (narrowing a `Principal` Deny is a decision for a person), or
/// when the document cannot be rewritten faithfully (see [`merge`]). Returns the text and the
/// labels of the statements changed.
pub fn narrow_denies(policy: &str, indices: &[usize]) -> Result<(String, Vec<String>), String> {
    if let Some(n) = unfaithful_number(policy) {
        return Err(format!(
            "the key policy holds the number {n}: it is not rewritten"
        ));
    }
    if trailseal_policy::lint(policy)
        .diagnostics
        .iter()
        .any(|d| d.code == "DUPLICATE_KEY")
    {
        return Err("the key policy gives a JSON key twice: it is not rewritten".into());
    }
    let mut doc: Value =
        serde_json::from_str(policy).map_err(|e| format!("the key policy is not JSON: {e}"))?;
    let statements: &mut Vec<Value> = match doc.get_mut("Statement") {
        Some(Value::Array(list)) => list,
        Some(one @ Value::Object(_)) => {
            *one = Value::Array(vec![one.take()]);
            match one {
                Value::Array(list) => list,
                _ => return Err("the key policy's Statement is not a list".into()),
            }
        }
        _ => return Err("the key policy has no Statement list".into()),
    };
    let mut labels = Vec::new();
    for &i in indices {
        let Some(s) = statements.get_mut(i) else {
            return Err(format!("the key policy has no Statement[{i}]"));
        };
        let label = match s.get("Sid").and_then(Value::as_str) {
            Some(sid) => format!("Statement[{i}] (Sid \"{sid}\")"),
            None => format!("Statement[{i}]"),
        };
        if s.get("Effect").and_then(Value::as_str) != Some("Deny") {
            return Err(format!("{label} is not a Deny"));
        }
        let Some(not) = s.get_mut("NotPrincipal").and_then(Value::as_object_mut) else {
            return Err(format!(
                "{label} names its principals with Principal, not NotPrincipal: exempting CloudTrail from it is a decision for a person"
            ));
        };
        let service = not.entry("Service").or_insert(Value::Array(Vec::new()));
        let mut list = match service.take() {
            Value::Array(l) => l,
            Value::String(one) => vec![Value::String(one)],
            _ => {
                return Err(format!(
                    "{label}: its NotPrincipal Service is not a string or list"
                ))
            }
        };
        if !list
            .iter()
            .any(|v| v.as_str() == Some(trailseal_policy::CLOUDTRAIL_SERVICE))
        {
            list.push(Value::String(trailseal_policy::CLOUDTRAIL_SERVICE.into()));
        }
        *service = if list.len() == 1 {
            list.remove(0)
        } else {
            Value::Array(list)
        };
        labels.push(label);
    }
    Ok((fit(&doc)?, labels))
}

/// The first number token of the JSON `text` (outside strings) that does not survive a
/// parse and write unchanged (`10.50`, `1e3`, integers beyond 64 bits).
fn unfaithful_number(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let (mut i, mut in_string) = (0, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || b"+-.eE".contains(&bytes[i])) {
                i += 1;
            }
            let token = text.get(start..i).unwrap_or_default();
            let written = serde_json::from_str::<Value>(token).map(|v| v.to_string());
            if written.ok().as_deref() != Some(token) {
                return Some(token.to_owned());
            }
            continue;
        }
        i += 1;
    }
    None
}

/// `policy` with `statements` appended, each under a Sid no existing statement uses (its own
/// Sid, else the Sid with a number). Existing statements are kept as they are, in order.
/// Returns the new text and the Sids added. Err, so that nothing is planned, when `policy` is
/// not a policy document trailseal can evaluate, when it gives a JSON key twice (what IAM
/// reads and what a reader sees differ), when writing it back would change any existing
/// statement as IAM reads it (a number such as `10.50` does not survive a JSON round trip),
/// or when the result is over the size quota.
pub fn merge(policy: &str, statements: Vec<Value>) -> Result<(String, Vec<String>), String> {
    let original = Policy::parse(policy)
        .map_err(|e| format!("the key policy cannot be evaluated ({e}): it is not changed"))?;
    if trailseal_policy::lint(policy)
        .diagnostics
        .iter()
        .any(|d| d.code == "DUPLICATE_KEY")
    {
        return Err(
            "the key policy gives a JSON key twice (see `trailseal policy lint`): IAM reads the last one, people the first; trailseal does not rewrite such a policy, fix it by hand first".into(),
        );
    }
    if let Some(n) = unfaithful_number(policy) {
        return Err(format!(
            "the key policy holds the number {n}, which JSON tools write back differently (IAM compares condition values as text): trailseal does not rewrite it; add the statements by hand, or write the number as a string"
        ));
    }
    let mut doc: Value =
        serde_json::from_str(policy).map_err(|e| format!("the key policy is not JSON: {e}"))?;
    let Some(root) = doc.as_object_mut() else {
        return Err("the key policy is not a JSON object".into());
    };
    // Replaced in place, so the document's keys keep their order.
    let slot = root.entry("Statement").or_insert(Value::Null);
    let existing = match std::mem::take(slot) {
        Value::Array(list) => list,
        one @ Value::Object(_) => vec![one],
        Value::Null => Vec::new(),
        _ => return Err("the key policy's Statement is not a list or an object".into()),
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
    *slot = Value::Array(list);
    // No Version is added where there is none: under 2008-10-17 rules policy variables in the
    // existing statements are literal text, and adding one would change what they mean.
    let text = fit(&doc)?;
    let merged =
        Policy::parse(&text).map_err(|e| format!("the merged key policy is not valid: {e}"))?;
    let n = original.statements.len();
    let kept = merged.version == original.version
        && merged.id == original.id
        && merged.statements.len() == n + added.len()
        && merged.statements[..n] == original.statements[..];
    if !kept {
        return Err(
            "writing the key policy back would change how IAM reads an existing statement (a number or text that JSON does not carry through unchanged): it is not rewritten; add the statements by hand".into(),
        );
    }
    Ok((text, added))
}
