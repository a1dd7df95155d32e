//! Differential test of the policy engine against an independent IAM evaluator,
//! `@cloud-copilot/iam-simulate` (npm, pinned in `scripts/differential/package-lock.json`).
//!
//! A seeded generator builds random KMS key policies (principals, NotPrincipal, actions,
//! NotAction, resources, NotResource, conditions over the keys of CloudTrail's and log readers'
//! requests) and random requests whose context is fully known (every key has a value or is
//! absent: iam-simulate has no "unknown"). Both evaluators decide every pair, once, in one
//! `node scripts/differential/simulate.mjs` run; every disagreement must be a known bug of
//! trailseal ([`KNOWN_BUGS`]) or a documented difference ([`KNOWN_DIFFERENCES`], see
//! `docs/policy-differential.md`), else the test fails printing a shrunk repro.
//!
//! How a trailseal decision maps to iam-simulate's (each case says which identity policies the
//! caller has; see `docs/policy-differential.md` for why):
//! - a service principal (`cloudtrail.amazonaws.com`, ...) has no identity policies: the key
//!   policy alone decides; `Allow` <-> `Allowed`.
//! - an IAM principal, variant "iam allows everything" (an identity policy allowing `*` on `*`):
//!   `Allow`, direct or through `arn:aws:iam::ACCT:root` delegation (`via_iam_accounts`),
//!   <-> `Allowed`. Same-account and cross-account alike.
//! - an IAM principal of the key's account, variant "no identity policy": only a direct grant
//!   in the key policy allows, so `Allow` with empty `via_iam_accounts` <-> `Allowed` and
//!   `Allow` only via IAM <-> `ImplicitlyDenied`. This checks the delegation bookkeeping.
//! - `ExplicitDeny` <-> `ExplicitlyDenied`, `ImplicitDeny` <-> `ImplicitlyDenied`. trailseal's
//!   `Indeterminate` is never expected here (every key is known) and counts as a disagreement.
//!
//! Needs Node.js and the npm package: `scripts/differential/setup.sh` (run by
//! `scripts/test.sh`). Without them the test FAILS with that instruction. Environment:
//! `TRAILSEAL_DIFF_CASES` (default 6000), `TRAILSEAL_DIFF_SEED` (decimal or 0x-hex),
//! `TRAILSEAL_IAM_SIMULATE_DIR` (where setup.sh installed the package), `TRAILSEAL_NODE` (the
//! node binary, default `node`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};
use trailseal_policy::{evaluate, Decision, Policy, Request, Tri};
use trailseal_policy::{Context, KeyState, RequestPrincipal};

// ---------------------------------------------------------------------------------------------
// Known disagreements. When the two answers differ, the test asks iam-simulate, statement by
// statement, which statements of the policy apply to the request (each statement alone, made a
// Deny: it applies iff the answer is ExplicitlyDenied) and compares with the statements that
// apply in trailseal. Every statement on which they differ must show a known rule below, and
// there must be at least one; nothing else is excused. In the default batch every entry must
// still explain a disagreement, so a fixed bug (or an upgraded iam-simulate) makes the test fail
// until its entry is removed: the lists can only shrink safely.
// ---------------------------------------------------------------------------------------------

/// One explained kind of disagreement.
struct Known {
    name: &'static str,
    /// What differs and which side is right.
    description: &'static str,
    /// The AWS documentation page that decides it.
    reference: &'static str,
    /// Whether a statement on which the two evaluators differ shows the rule. The flag says
    /// whether the statement applies in trailseal (it does not in iam-simulate, and vice versa).
    statement: fn(&Case, &Value, bool) -> bool,
}

/// trailseal bugs found by this test, to be fixed in `crates/trailseal-policy/src/`. Delete the
/// entry with the fix: the test then checks that the disagreement is gone.
const KNOWN_BUGS: &[Known] = &[];

/// Places where iam-simulate is wrong (each documented in `docs/policy-differential.md`).
const KNOWN_DIFFERENCES: &[Known] = &[
    Known {
        name: "not-principal-needs-account-and-arn",
        description: "a Deny with NotPrincipal that lists only some of the caller's names (its \
                      account alone, its ARN without its account, a session's role): iam-simulate \
                      exempts the caller, trailseal denies it; AWS exempts only a principal listed \
                      together with its account (and, for a session, its role): trailseal is right",
        reference: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html",
        statement: not_principal_partly_lists_caller,
    },
    Known {
        name: "arn-operator-with-policy-variable",
        description: "ArnEquals/ArnLike/ArnNotEquals/ArnNotLike with a policy variable in the value \
                      (`arn:aws:cloudtrail:*:${aws:SourceAccount}:trail/*`): iam-simulate does not \
                      substitute it, trailseal does; AWS: conditions support variables with string \
                      and ARN operators, so trailseal is right",
        reference: "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-invalid-variable-for-operator",
        statement: has_arn_operator_with_variable,
    },
    Known {
        name: "variables-need-version-2012-10-17",
        description: "a policy without \"Version\": \"2012-10-17\" that uses `${...}` in a condition: \
                      iam-simulate substitutes the variable, trailseal compares the literal text; \
                      AWS: policy variables work only under Version 2012-10-17 (without a Version \
                      element the policy is 2008-10-17 and `${...}` is literal), so trailseal is \
                      right",
        reference: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html",
        statement: has_variable_without_version_2012,
    },
    Known {
        name: "multivalued-key-without-set-operator",
        description: "a condition on a multivalued key (`kms:EncryptionContextKeys`) without \
                      ForAnyValue/ForAllValues: iam-simulate never matches it, trailseal reports \
                      Indeterminate; AWS documents only that multivalued keys require a set \
                      operator, not what happens without one, so trailseal does not decide",
        reference: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html",
        statement: undecided_multivalued_key_without_set_operator,
    },
];

/// The known entries that explain a disagreement (empty: unexplained).
fn explained(case: &Case, o: &Outcome) -> Vec<&'static Known> {
    let Some(sim_applies) = &o.sim_applies else {
        return Vec::new();
    };
    if o.agrees(case) || o.trailseal.is_none() {
        return Vec::new();
    }
    let mut used: Vec<&'static Known> = Vec::new();
    let mut contested = 0;
    for (i, s) in case.statements().iter().enumerate() {
        let ours = o.applies.get(i).copied().flatten();
        let theirs = sim_applies.get(i).copied();
        if ours == theirs {
            continue;
        }
        contested += 1;
        // A statement trailseal cannot decide did not decide a definite answer (an undecided
        // statement that could change it would make the answer Indeterminate): the
        // disagreement then lies with the others. When the answer is Indeterminate, the
        // undecided statement must show a rule trailseal leaves undecided by design.
        let ours = match ours {
            Some(ours) => ours,
            None if o.trailseal != Some(Decision::Indeterminate) => {
                contested -= 1;
                continue;
            }
            None => false,
        };
        match KNOWN_BUGS
            .iter()
            .chain(KNOWN_DIFFERENCES)
            .find(|k| (k.statement)(case, s, ours))
        {
            Some(k) => {
                if !used.iter().any(|u| u.name == k.name) {
                    used.push(k);
                }
            }
            None => return Vec::new(),
        }
    }
    if contested == 0 {
        return Vec::new(); // same statements apply, different decisions: a combination bug
    }
    used
}

fn supports_variables(case: &Case) -> bool {
    case.policy["Version"] == "2012-10-17"
}

/// A Deny whose NotPrincipal names the IAM caller partly: some of its names (its ARN, its
/// account, a session's role) but not both its ARN and its account.
fn not_principal_partly_lists_caller(case: &Case, s: &Value, ours: bool) -> bool {
    let Caller::Iam {
        arn,
        account,
        principal_arn,
    } = &case.caller
    else {
        return false;
    };
    let Some(np) = s.get("NotPrincipal") else {
        return false;
    };
    let names = aws_principals(np);
    let listed = |n: &str| names.iter().any(|x| x == n);
    let by_arn = listed(arn);
    let by_account = listed(account) || listed(&format!("arn:aws:iam::{account}:root"));
    let by_role = principal_arn != arn && listed(principal_arn);
    ours && s["Effect"] == "Deny" && (by_arn || by_account || by_role) && !(by_arn && by_account)
}

fn has_arn_operator_with_variable(case: &Case, s: &Value, _ours: bool) -> bool {
    supports_variables(case)
        && conditions(s).iter().any(|(op, _key, values)| {
            op.starts_with("Arn") && values.iter().any(|v| !variables(v).is_empty())
        })
}

fn has_variable_without_version_2012(case: &Case, s: &Value, _ours: bool) -> bool {
    !supports_variables(case)
        && conditions(s)
            .iter()
            .any(|(_op, _key, values)| values.iter().any(|v| !variables(v).is_empty()))
}

fn undecided_multivalued_key_without_set_operator(case: &Case, s: &Value, ours: bool) -> bool {
    !ours
        && matches!(case.context.get(EC_KEYS), Some(Val::Set(_)))
        && conditions(s).iter().any(|(op, key, _values)| {
            !op.starts_with("For") && op != "Null" && key.eq_ignore_ascii_case(EC_KEYS)
        })
}

/// The `AWS` entries of a Principal/NotPrincipal element.
fn aws_principals(element: &Value) -> Vec<String> {
    match &element["AWS"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The (operator, key, values) triples of a statement's Condition block.
fn conditions(statement: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let Some(block) = statement.get("Condition").and_then(Value::as_object) else {
        return out;
    };
    for (op, keys) in block {
        for (key, values) in keys.as_object().into_iter().flatten() {
            let values = match values {
                Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                Value::String(v) => vec![v.clone()],
                _ => Vec::new(),
            };
            out.push((op.clone(), key.clone(), values));
        }
    }
    out
}

/// The keys of the `${key}` / `${key, 'default'}` policy variables in a value.
fn variables(value: &str) -> Vec<&str> {
    value
        .split("${")
        .skip(1)
        .filter_map(|rest| rest.split('}').next())
        .map(|v| v.split(',').next().unwrap_or(v).trim())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The world the cases live in.
// ---------------------------------------------------------------------------------------------

const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
const OTHER_TRAIL: &str = "arn:aws:cloudtrail:eu-west-1:444455556666:trail/other";
const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";
const LOGS: &str = "logs.amazonaws.com";

const EC_TRAIL: &str = "kms:EncryptionContext:aws:cloudtrail:arn";
const EC_S3: &str = "kms:EncryptionContext:aws:s3:arn";
const EC_KEYS: &str = "kms:EncryptionContextKeys";

/// Who makes a request.
#[derive(Debug, Clone, PartialEq)]
enum Caller {
    Service(&'static str),
    /// An IAM principal: its ARN (user, role, assumed-role session or account root), account,
    /// and the ARN `aws:PrincipalArn` carries (the role's for a session).
    Iam {
        arn: &'static str,
        account: &'static str,
        principal_arn: &'static str,
    },
}

const IAM_CALLERS: &[Caller] = &[
    Caller::Iam {
        arn: "arn:aws:iam::111122223333:role/Reader",
        account: ACCT,
        principal_arn: "arn:aws:iam::111122223333:role/Reader",
    },
    Caller::Iam {
        arn: "arn:aws:sts::111122223333:assumed-role/Reader/session-1",
        account: ACCT,
        principal_arn: "arn:aws:iam::111122223333:role/Reader",
    },
    Caller::Iam {
        arn: "arn:aws:iam::111122223333:user/bob",
        account: ACCT,
        principal_arn: "arn:aws:iam::111122223333:user/bob",
    },
    Caller::Iam {
        arn: "arn:aws:iam::444455556666:user/alice",
        account: OTHER,
        principal_arn: "arn:aws:iam::444455556666:user/alice",
    },
    Caller::Iam {
        arn: "arn:aws:iam::444455556666:role/Auditor",
        account: OTHER,
        principal_arn: "arn:aws:iam::444455556666:role/Auditor",
    },
];

/// Which identity policies an IAM caller has in the iam-simulate run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Identity {
    /// None (service principals; and the "direct grants only" variant for same-account callers).
    NoPolicies,
    /// One policy allowing `*` on `*`: every Allow the key policy delegates to IAM goes through.
    AllowAll,
}

/// A context key's value: single-valued keys have one, `kms:EncryptionContextKeys` a set.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    One(String),
    Set(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
struct Case {
    id: usize,
    policy: Value,
    caller: Caller,
    action: &'static str,
    /// The keys present in the request (every other key is absent).
    context: BTreeMap<&'static str, Val>,
    identity: Identity,
}

impl Case {
    fn same_account(&self) -> bool {
        matches!(self.caller, Caller::Iam { account, .. } if account == ACCT)
    }

    fn request(&self) -> Request {
        let mut context = Context::absent_by_default();
        for (k, v) in &self.context {
            let values = match v {
                Val::One(s) => vec![s.clone()],
                Val::Set(s) => s.clone(),
            };
            context.set(k, KeyState::Known(values));
        }
        Request {
            principal: match &self.caller {
                Caller::Service(name) => RequestPrincipal::service(name),
                Caller::Iam { arn, .. } => RequestPrincipal::aws(arn),
            },
            action: self.action.to_owned(),
            resource: Some(KEY.to_owned()),
            context,
        }
    }

    fn to_simulate_json(&self) -> Value {
        let context: serde_json::Map<String, Value> = self
            .context
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Val::One(s) => json!(s),
                    Val::Set(s) => json!(s),
                };
                ((*k).to_owned(), v)
            })
            .collect();
        let identity = match self.identity {
            Identity::NoPolicies => json!([]),
            Identity::AllowAll => json!([{
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
            }]),
        };
        json!({
            "id": self.id,
            "policy": self.policy,
            "identityPolicies": identity,
            "principal": match &self.caller {
                Caller::Service(name) => *name,
                Caller::Iam { arn, .. } => *arn,
            },
            "action": self.action,
            "resource": KEY,
            "resourceAccount": ACCT,
            "context": context,
        })
    }

    /// The policy's statements (the generator always writes an array).
    fn statements(&self) -> &[Value] {
        self.policy["Statement"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

// ---------------------------------------------------------------------------------------------
// The generator: a small xorshift RNG and a grammar of key policies and requests.
// ---------------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that small seeds give well-mixed states (never 0).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Keys a condition can test, with the policy values the generator draws from (matching and
/// non-matching ones for the request pools below) and the operators that suit each key.
struct KeySpec {
    /// As written in policies; sometimes case-mangled by the generator.
    name: &'static str,
    values: &'static [&'static str],
    kind: KeyKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Str,
    Arn,
    Bool,
    /// Multi-valued (`kms:EncryptionContextKeys`).
    Set,
}

const ARN_PATTERNS: &[&str] = &[
    TRAIL,
    OTHER_TRAIL,
    "arn:aws:cloudtrail:*:111122223333:trail/*",
    "arn:aws:cloudtrail:us-east-1:111122223333:trail/*",
    "arn:aws:cloudtrail:*:*:trail/main",
    "arn:aws:cloudtrail:us-east-1:111122223333:trail/MAIN",
    "arn:aws:cloudtrail:*:${aws:SourceAccount}:trail/*",
];

const KEY_SPECS: &[KeySpec] = &[
    KeySpec {
        name: "aws:SourceArn",
        values: ARN_PATTERNS,
        kind: KeyKind::Arn,
    },
    KeySpec {
        name: "aws:SourceAccount",
        values: &[ACCT, OTHER, "1111*"],
        kind: KeyKind::Str,
    },
    KeySpec {
        name: EC_TRAIL,
        values: ARN_PATTERNS,
        kind: KeyKind::Str,
    },
    KeySpec {
        name: EC_S3,
        values: &[
            "arn:aws:s3:::logs-bucket/AWSLogs/111122223333/*",
            "arn:aws:s3:::logs-bucket/*",
            "arn:aws:s3:::other-bucket/*",
        ],
        kind: KeyKind::Str,
    },
    KeySpec {
        name: "kms:CallerAccount",
        values: &[ACCT, OTHER, "${aws:PrincipalAccount}"],
        kind: KeyKind::Str,
    },
    KeySpec {
        name: "aws:PrincipalAccount",
        values: &[ACCT, OTHER],
        kind: KeyKind::Str,
    },
    KeySpec {
        name: "aws:PrincipalArn",
        values: &[
            "arn:aws:iam::111122223333:role/Reader",
            "arn:aws:iam::111122223333:role/*",
            "arn:aws:iam::*:role/Reader",
            "arn:aws:iam::444455556666:user/alice",
            "arn:aws:iam::111122223333:user/bob",
            "arn:aws:iam::${aws:PrincipalAccount}:role/*",
        ],
        kind: KeyKind::Arn,
    },
    KeySpec {
        name: "aws:SecureTransport",
        values: &["true", "false"],
        kind: KeyKind::Bool,
    },
    KeySpec {
        name: EC_KEYS,
        values: &["aws:cloudtrail:arn", "aws:s3:arn", "aws:*", "purpose"],
        kind: KeyKind::Set,
    },
    KeySpec {
        name: "aws:PrincipalOrgID",
        values: &["o-a1b2c3d4e5", "o-*", "o-zzzzzzzzzz"],
        kind: KeyKind::Str,
    },
];

const STRING_OPS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringEqualsIfExists",
    "StringLikeIfExists",
    "StringNotEqualsIfExists",
];
const ARN_OPS: &[&str] = &[
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "ArnLikeIfExists",
];
const BOOL_OPS: &[&str] = &["Bool", "BoolIfExists"];
const SET_OPS: &[&str] = &[
    "ForAnyValue:StringEquals",
    "ForAnyValue:StringLike",
    "ForAllValues:StringEquals",
    "ForAllValues:StringLike",
    "ForAnyValue:StringNotEquals",
    "ForAllValues:StringNotLike",
];

fn gen_condition(rng: &mut Rng) -> Value {
    let mut block = serde_json::Map::new();
    for _ in 0..1 + rng.below(3) {
        let spec = &KEY_SPECS[rng.below(KEY_SPECS.len())];
        let (op, values): (&str, Vec<&str>) = if rng.chance(12) {
            ("Null", vec![rng.pick(&["true", "false"])])
        } else {
            let op = match spec.kind {
                KeyKind::Str => rng.pick(STRING_OPS),
                KeyKind::Arn if rng.chance(50) => rng.pick(ARN_OPS),
                KeyKind::Arn => rng.pick(STRING_OPS),
                KeyKind::Bool => rng.pick(BOOL_OPS),
                KeyKind::Set if rng.chance(85) => rng.pick(SET_OPS),
                KeyKind::Set => rng.pick(STRING_OPS),
            };
            let n = if rng.chance(70) { 1 } else { 2 };
            (op, (0..n).map(|_| rng.pick(spec.values)).collect())
        };
        let key = if rng.chance(10) {
            spec.name.to_ascii_lowercase()
        } else {
            spec.name.to_owned()
        };
        let entry = block
            .entry(op.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a condition block is an object");
        entry.insert(
            key,
            if values.len() == 1 {
                json!(values[0])
            } else {
                json!(values)
            },
        );
    }
    Value::Object(block)
}

const PRINCIPAL_VALUES: &[&str] = &[
    "*",
    ACCT,
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::444455556666:root",
    "arn:aws:iam::111122223333:role/Reader",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:iam::444455556666:user/alice",
    "arn:aws:sts::111122223333:assumed-role/Reader/session-1",
];
const SERVICES: &[&str] = &[CLOUDTRAIL, LOGS, "s3.amazonaws.com"];

fn one_or_many(items: Vec<Value>) -> Value {
    if items.len() == 1 {
        items.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(items)
    }
}

fn gen_principal(rng: &mut Rng, negated: bool) -> Value {
    if !negated && rng.chance(10) {
        return json!("*");
    }
    let mut p = serde_json::Map::new();
    let aws: Vec<Value> = (0..rng.below(3))
        .map(|_| {
            let v = rng.pick(PRINCIPAL_VALUES);
            // NotPrincipal with "*" is rejected by AWS: leave it to Principal.
            json!(if negated && v == "*" { ACCT } else { v })
        })
        .collect();
    let services: Vec<Value> = (0..rng.below(2))
        .map(|_| json!(rng.pick(SERVICES)))
        .collect();
    if !aws.is_empty() {
        p.insert("AWS".into(), one_or_many(aws));
    }
    if !services.is_empty() || p.is_empty() {
        let s = if services.is_empty() {
            vec![json!(CLOUDTRAIL)]
        } else {
            services
        };
        p.insert("Service".into(), one_or_many(s));
    }
    Value::Object(p)
}

const ACTIONS: &[&str] = &[
    "kms:*",
    "kms:GenerateDataKey*",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:Describe*",
    "kms:ReEncrypt*",
    "KMS:decrypt",
];
const RESOURCES: &[&str] = &[
    "*",
    KEY,
    "arn:aws:kms:us-east-1:111122223333:key/*",
    "arn:aws:kms:*:111122223333:key/*",
    "arn:aws:kms:us-east-1:444455556666:key/*",
    "arn:aws:kms:us-east-1:111122223333:key/other-key",
];

fn gen_list(rng: &mut Rng, pool: &[&str], max: usize) -> Value {
    let items: Vec<Value> = (0..1 + rng.below(max))
        .map(|_| json!(rng.pick(pool)))
        .collect();
    one_or_many(items)
}

fn gen_statement(rng: &mut Rng) -> Value {
    let allow = rng.chance(65);
    let mut s = serde_json::Map::new();
    s.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
    // NotPrincipal only with Deny: AWS does not support it with Allow (and trailseal's lint
    // reports ALLOW_WITH_NOT_PRINCIPAL), so there is no behaviour to compare.
    let not_principal = !allow && rng.chance(20);
    s.insert(
        if not_principal {
            "NotPrincipal"
        } else {
            "Principal"
        }
        .into(),
        gen_principal(rng, not_principal),
    );
    let not_action = rng.chance(10);
    s.insert(
        if not_action { "NotAction" } else { "Action" }.into(),
        gen_list(rng, ACTIONS, 2),
    );
    let not_resource = rng.chance(8);
    s.insert(
        if not_resource {
            "NotResource"
        } else {
            "Resource"
        }
        .into(),
        gen_list(rng, RESOURCES, 2),
    );
    if rng.chance(70) {
        s.insert("Condition".into(), gen_condition(rng));
    }
    Value::Object(s)
}

fn gen_policy(rng: &mut Rng) -> Value {
    let statements: Vec<Value> = (0..1 + rng.below(4)).map(|_| gen_statement(rng)).collect();
    if rng.chance(15) {
        json!({ "Statement": statements })
    } else {
        json!({ "Version": "2012-10-17", "Statement": statements })
    }
}

/// Request values: what CloudTrail, another service or a reader would send (or a wrong one).
fn maybe(
    rng: &mut Rng,
    ctx: &mut BTreeMap<&'static str, Val>,
    key: &'static str,
    pool: &[&'static str],
) {
    if rng.chance(85) {
        ctx.insert(key, Val::One(rng.pick(pool).to_owned()));
    }
}

fn gen_ec(rng: &mut Rng, ctx: &mut BTreeMap<&'static str, Val>) {
    maybe(rng, ctx, EC_TRAIL, &[TRAIL, OTHER_TRAIL]);
    maybe(
        rng,
        ctx,
        EC_S3,
        &[
            "arn:aws:s3:::logs-bucket/AWSLogs/111122223333/*",
            "arn:aws:s3:::other-bucket/AWSLogs/444455556666/*",
        ],
    );
    if rng.chance(85) {
        let all = ["aws:cloudtrail:arn", "aws:s3:arn", "purpose"];
        let mut keys: Vec<String> = all
            .iter()
            .filter(|_| rng.chance(60))
            .map(|s| (*s).to_owned())
            .collect();
        if keys.is_empty() {
            keys.push(rng.pick(&all).to_owned());
        }
        ctx.insert(EC_KEYS, Val::Set(keys));
    }
}

const CRYPTO: &[&str] = &["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"];

fn gen_request(rng: &mut Rng, id: usize, policy: Value) -> Case {
    let mut ctx = BTreeMap::new();
    let (caller, action) = match rng.below(10) {
        // CloudTrail encrypting a log file, or describing the key.
        0..=3 => {
            let action = if rng.chance(75) {
                "kms:GenerateDataKey"
            } else {
                "kms:DescribeKey"
            };
            maybe(rng, &mut ctx, "aws:SourceArn", &[TRAIL, OTHER_TRAIL]);
            maybe(rng, &mut ctx, "aws:SourceAccount", &[ACCT, OTHER]);
            (Caller::Service(CLOUDTRAIL), action)
        }
        // Another service.
        4 => {
            maybe(rng, &mut ctx, "aws:SourceAccount", &[ACCT, OTHER]);
            (
                Caller::Service(LOGS),
                rng.pick(&["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]),
            )
        }
        // A reader or another IAM principal.
        _ => {
            let caller = IAM_CALLERS[rng.below(IAM_CALLERS.len())].clone();
            if let Caller::Iam {
                account,
                principal_arn,
                ..
            } = &caller
            {
                // Usually the truth; sometimes the other account, to exercise mismatches.
                let acct = if rng.chance(90) { *account } else { OTHER };
                maybe(rng, &mut ctx, "kms:CallerAccount", &[acct]);
                maybe(rng, &mut ctx, "aws:PrincipalAccount", &[acct]);
                maybe(rng, &mut ctx, "aws:PrincipalArn", &[principal_arn]);
            }
            if rng.chance(50) {
                maybe(
                    rng,
                    &mut ctx,
                    "aws:PrincipalOrgID",
                    &["o-a1b2c3d4e5", "o-zzzzzzzzzz"],
                );
            }
            let action = if rng.chance(70) {
                "kms:Decrypt"
            } else {
                rng.pick(&["kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"])
            };
            (caller, action)
        }
    };
    if CRYPTO.contains(&action) {
        gen_ec(rng, &mut ctx);
    }
    maybe(rng, &mut ctx, "aws:SecureTransport", &["true", "false"]);
    Case {
        id,
        policy,
        caller,
        action,
        context: ctx,
        identity: Identity::AllowAll,
    }
}

/// The batch: each policy/request pair once; IAM callers of the key's account twice (with and
/// without an allow-everything identity policy).
fn generate(seed: u64, count: usize) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let mut cases = Vec::with_capacity(count + count / 3);
    while cases.len() < count {
        let policy = gen_policy(&mut rng);
        let mut case = gen_request(&mut rng, cases.len(), policy);
        match case.caller {
            Caller::Service(_) => {
                case.identity = Identity::NoPolicies;
                cases.push(case);
            }
            Caller::Iam { .. } => {
                let same = case.same_account();
                cases.push(case.clone());
                if same {
                    case.id = cases.len();
                    case.identity = Identity::NoPolicies;
                    cases.push(case);
                }
            }
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Running both evaluators and comparing.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Sim {
    Decision(String),
    /// iam-simulate refused the input (its policy validation, usually).
    Rejected(Value),
}

#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// `None` when trailseal could not parse the policy.
    trailseal: Option<Decision>,
    via_iam: Vec<String>,
    /// For each statement, whether it applies in trailseal (`None`: undecided).
    applies: Vec<Option<bool>>,
    simulate: Sim,
    ignored_keys: Vec<String>,
    /// For each statement, whether it applies in iam-simulate; asked only on disagreement.
    sim_applies: Option<Vec<bool>>,
}

impl Outcome {
    /// The iam-simulate result trailseal's decision maps to, per the module doc.
    fn expected(&self, case: &Case) -> Option<&'static str> {
        Some(match self.trailseal? {
            Decision::Allow
                if case.identity == Identity::NoPolicies
                    && matches!(case.caller, Caller::Iam { .. })
                    && !self.via_iam.is_empty() =>
            {
                "ImplicitlyDenied"
            }
            Decision::Allow => "Allowed",
            Decision::ExplicitDeny => "ExplicitlyDenied",
            Decision::ImplicitDeny => "ImplicitlyDenied",
            Decision::Indeterminate => return None,
        })
    }

    fn agrees(&self, case: &Case) -> bool {
        match &self.simulate {
            Sim::Decision(d) => self.expected(case) == Some(d.as_str()),
            // A policy iam-simulate refuses is not compared (counted and reported instead).
            Sim::Rejected(_) => true,
        }
    }
}

type Applies = Vec<Option<bool>>;

fn trailseal(case: &Case) -> (Option<Decision>, Vec<String>, Applies) {
    match Policy::parse(&case.policy.to_string()) {
        Ok(p) => {
            let e = evaluate(&p, &case.request());
            let applies = e
                .statements
                .iter()
                .map(|r| match r.applies {
                    Tri::True => Some(true),
                    Tri::False => Some(false),
                    Tri::Unknown => None,
                })
                .collect();
            (Some(e.decision), e.via_iam_accounts, applies)
        }
        Err(_) => (None, Vec::new(), Vec::new()),
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn simulate_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TRAILSEAL_IAM_SIMULATE_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/trailseal-iam-simulate")
}

/// Fails (never skips) when node or the npm package is missing.
fn check_installed() -> (String, PathBuf) {
    let node = std::env::var("TRAILSEAL_NODE").unwrap_or_else(|_| "node".to_owned());
    let dir = simulate_dir();
    let fix = "run scripts/differential/setup.sh (needs Node.js >= 18 and npm), \
               or set TRAILSEAL_IAM_SIMULATE_DIR / TRAILSEAL_NODE";
    let version = Command::new(&node).arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "the differential test needs Node.js (`{node}` did not run): {fix}"
    );
    let package = dir.join("node_modules/@cloud-copilot/iam-simulate/package.json");
    assert!(
        package.exists(),
        "@cloud-copilot/iam-simulate is not installed ({} is missing): {fix}",
        package.display()
    );
    (node, dir)
}

/// Runs iam-simulate once on every case; answers are returned in case order.
fn run_simulate(node: &str, dir: &PathBuf, cases: &[Case]) -> Vec<(Sim, Vec<String>)> {
    let script = repo_root().join("scripts/differential/simulate.mjs");
    let mut child = Command::new(node)
        .arg(&script)
        .arg("--modules")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node scripts/differential/simulate.mjs");
    let mut input = String::new();
    for c in cases {
        input.push_str(&c.to_simulate_json().to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("node's stdin");
    // Write from a thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("wait for node");
    writer
        .join()
        .expect("writer thread")
        .expect("write cases to node");
    assert!(
        out.status.success(),
        "simulate.mjs failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("simulate.mjs prints UTF-8");
    let answers: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("simulate.mjs prints JSON lines"))
        .collect();
    assert_eq!(answers.len(), cases.len(), "one answer per case");
    cases
        .iter()
        .zip(answers)
        .map(|(c, a)| {
            assert_eq!(a["id"], json!(c.id), "answers in case order");
            let ignored = a["ignoredContextKeys"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let sim = match a["result"].as_str() {
                Some(r) => Sim::Decision(r.to_owned()),
                None => Sim::Rejected(a["error"].clone()),
            };
            (sim, ignored)
        })
        .collect()
}

/// Both evaluators on every case; on each disagreement, iam-simulate also says which
/// statements apply (a second node run for all of them).
fn outcomes(node: &str, dir: &PathBuf, cases: &[Case]) -> Vec<Outcome> {
    let mut results: Vec<Outcome> = run_simulate(node, dir, cases)
        .into_iter()
        .zip(cases)
        .map(|((simulate, ignored_keys), case)| {
            let (trailseal, via_iam, applies) = trailseal(case);
            Outcome {
                trailseal,
                via_iam,
                applies,
                simulate,
                ignored_keys,
                sim_applies: None,
            }
        })
        .collect();
    let mut probes = Vec::new();
    let mut owners = Vec::new();
    for (n, (c, o)) in cases.iter().zip(&results).enumerate() {
        if o.agrees(c) {
            continue;
        }
        for (i, s) in c.statements().iter().enumerate() {
            let mut statement = s.clone();
            statement["Effect"] = json!("Deny");
            let mut probe = c.clone();
            probe.id = probes.len();
            probe.policy["Statement"] = json!([statement]);
            probe.identity = Identity::NoPolicies;
            probes.push(probe);
            owners.push((n, i));
        }
    }
    if probes.is_empty() {
        return results;
    }
    for (n, c) in cases.iter().enumerate() {
        if !results[n].agrees(c) {
            results[n].sim_applies = Some(vec![false; c.statements().len()]);
        }
    }
    for ((sim, _), (n, i)) in run_simulate(node, dir, &probes).into_iter().zip(owners) {
        if let Some(applies) = results[n].sim_applies.as_mut() {
            applies[i] = sim == Sim::Decision("ExplicitlyDenied".into());
        }
    }
    results
}

// ---------------------------------------------------------------------------------------------
// Shrinking a disagreement to a minimal repro.
// ---------------------------------------------------------------------------------------------

/// Smaller variants of a case: one statement, condition, list element or context key fewer.
fn smaller(case: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    let statements = case.statements().to_vec();
    let with_statements = |s: Vec<Value>| {
        let mut c = case.clone();
        c.policy["Statement"] = Value::Array(s);
        c
    };
    for i in 0..statements.len() {
        if statements.len() > 1 {
            let mut s = statements.clone();
            s.remove(i);
            out.push(with_statements(s));
        }
        let Some(st) = statements[i].as_object() else {
            continue;
        };
        for (field, value) in st {
            match value {
                Value::Array(items) if items.len() > 1 => {
                    for j in 0..items.len() {
                        let mut s = statements.clone();
                        let mut items = items.clone();
                        items.remove(j);
                        s[i][field] = one_or_many(items);
                        out.push(with_statements(s));
                    }
                }
                Value::Object(map) if field == "Condition" => {
                    for (op, block) in map {
                        let Some(block) = block.as_object() else {
                            continue;
                        };
                        for key in block.keys() {
                            let mut s = statements.clone();
                            let cond = s[i]["Condition"]
                                .as_object_mut()
                                .expect("Condition is an object");
                            let b = cond[op].as_object_mut().expect("block is an object");
                            b.remove(key);
                            if b.is_empty() {
                                cond.remove(op);
                            }
                            if cond.is_empty() {
                                s[i].as_object_mut().expect("statement").remove("Condition");
                            }
                            out.push(with_statements(s));
                        }
                    }
                }
                Value::Object(map) if field.ends_with("Principal") => {
                    for (ty, v) in map {
                        if map.len() > 1 {
                            let mut s = statements.clone();
                            s[i][field]
                                .as_object_mut()
                                .expect("principal map")
                                .remove(ty);
                            out.push(with_statements(s));
                        }
                        if let Value::Array(items) = v {
                            for j in 0..items.len() {
                                let mut s = statements.clone();
                                let mut items = items.clone();
                                items.remove(j);
                                if items.is_empty() {
                                    continue;
                                }
                                s[i][field][ty] = one_or_many(items);
                                out.push(with_statements(s));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for key in case.context.keys() {
        let mut c = case.clone();
        c.context.remove(key);
        out.push(c);
    }
    out
}

fn is_unexplained(case: &Case, outcome: &Outcome) -> bool {
    !outcome.agrees(case) && explained(case, outcome).is_empty()
}

/// Greedy shrinking, one node run per round over all candidates of the current case.
fn shrink(node: &str, dir: &PathBuf, case: &Case, outcome: &Outcome) -> (Case, Outcome) {
    let (mut case, mut outcome) = (case.clone(), outcome.clone());
    for _round in 0..60 {
        let mut candidates = smaller(&case);
        for (i, c) in candidates.iter_mut().enumerate() {
            c.id = i;
        }
        if candidates.is_empty() {
            break;
        }
        let results = outcomes(node, dir, &candidates);
        match candidates
            .into_iter()
            .zip(results)
            .find(|(c, o)| is_unexplained(c, o))
        {
            Some((c, o)) => (case, outcome) = (c, o),
            None => break,
        }
    }
    (case, outcome)
}

fn describe(case: &Case, outcome: &Outcome) -> String {
    let context: BTreeMap<&str, Value> = case
        .context
        .iter()
        .map(|(k, v)| {
            (
                *k,
                match v {
                    Val::One(s) => json!(s),
                    Val::Set(s) => json!(s),
                },
            )
        })
        .collect();
    format!(
        "policy:   {}\nrequest:  caller {:?}, action {}, resource {KEY}, identity policies {:?}\n          \
         context {} (every other key absent)\ntrailseal: {:?} (via IAM of {:?}) -> expects iam-simulate {:?}\n\
         iam-simulate: {:?}{}{}",
        serde_json::to_string(&case.policy).unwrap_or_default(),
        case.caller,
        case.action,
        case.identity,
        serde_json::to_string(&context).unwrap_or_default(),
        outcome.trailseal,
        outcome.via_iam,
        outcome.expected(case),
        outcome.simulate,
        if outcome.ignored_keys.is_empty() {
            String::new()
        } else {
            format!(" (ignored context keys {:?})", outcome.ignored_keys)
        },
        match &outcome.sim_applies {
            Some(theirs) => format!(
                "\nstatements that apply: trailseal {:?}, iam-simulate {:?}",
                applying(outcome.applies.iter().map(|a| a.unwrap_or(false))),
                applying(theirs.iter().copied())
            ),
            None => String::new(),
        }
    )
}

/// Indices of the statements that apply.
fn applying(flags: impl Iterator<Item = bool>) -> Vec<usize> {
    flags
        .enumerate()
        .filter_map(|(i, a)| a.then_some(i))
        .collect()
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// The minimal repro of each known entry (as in docs/policy-differential.md): each must still be
/// a disagreement explained by exactly that entry.
fn documented_repros() -> Vec<(&'static str, Case)> {
    let reader = IAM_CALLERS[0].clone();
    let case =
        |policy: Value, caller: Caller, action: &'static str, ctx: &[(&'static str, Val)]| Case {
            id: 0,
            policy,
            identity: match caller {
                Caller::Service(_) => Identity::NoPolicies,
                Caller::Iam { .. } => Identity::AllowAll,
            },
            caller,
            action,
            context: ctx.iter().cloned().collect(),
        };
    let one = |v: &str| Val::One(v.to_owned());
    vec![
        (
            "not-principal-needs-account-and-arn",
            case(
                json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"},
                    {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
                     "Action": "kms:Decrypt", "Resource": "*"}]}),
                reader.clone(),
                "kms:Decrypt",
                &[],
            ),
        ),
        (
            "arn-operator-with-policy-variable",
            case(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL}, "Action": "kms:GenerateDataKey*",
                    "Resource": "*", "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:${aws:SourceAccount}:trail/*"}}}]}),
                Caller::Service(CLOUDTRAIL),
                "kms:GenerateDataKey",
                &[
                    ("aws:SourceArn", one(TRAIL)),
                    ("aws:SourceAccount", one(ACCT)),
                ],
            ),
        ),
        (
            "variables-need-version-2012-10-17",
            case(
                json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                    "Action": "kms:Decrypt", "Resource": "*",
                    "Condition": {"StringEquals": {"kms:CallerAccount": "${aws:PrincipalAccount}"}}}]}),
                reader,
                "kms:Decrypt",
                &[
                    ("kms:CallerAccount", one(ACCT)),
                    ("aws:PrincipalAccount", one(ACCT)),
                ],
            ),
        ),
        (
            "multivalued-key-without-set-operator",
            case(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL}, "Action": "kms:GenerateDataKey*",
                    "Resource": "*", "Condition": {"StringLike": {EC_KEYS: "aws:s3:arn"}}}]}),
                Caller::Service(CLOUDTRAIL),
                "kms:GenerateDataKey",
                &[(
                    EC_KEYS,
                    Val::Set(vec!["aws:cloudtrail:arn".into(), "aws:s3:arn".into()]),
                )],
            ),
        ),
    ]
}

#[test]
fn every_known_disagreement_has_a_live_minimal_repro() {
    let (node, dir) = check_installed();
    let repros = documented_repros();
    let cases: Vec<Case> = repros
        .iter()
        .enumerate()
        .map(|(i, (_, c))| Case { id: i, ..c.clone() })
        .collect();
    let results = outcomes(&node, &dir, &cases);
    for ((name, _), (c, o)) in repros.iter().zip(cases.iter().zip(&results)) {
        let known: Vec<&str> = explained(c, o).iter().map(|k| k.name).collect();
        assert_eq!(known, vec![*name], "repro of {name}:\n{}", describe(c, o));
    }
    let listed: Vec<&str> = KNOWN_BUGS
        .iter()
        .chain(KNOWN_DIFFERENCES)
        .map(|k| k.name)
        .collect();
    let documented: Vec<&str> = repros.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        listed, documented,
        "each KNOWN_BUGS / KNOWN_DIFFERENCES entry needs its repro here (same order)"
    );
}

const DEFAULT_SEED: u64 = 0x7472_6169_6c73_6561; // "trailsea"
const DEFAULT_CASES: u64 = 6000;

#[test]
fn trailseal_agrees_with_iam_simulate() {
    let (node, dir) = check_installed();
    let seed = env_number("TRAILSEAL_DIFF_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_number("TRAILSEAL_DIFF_CASES").unwrap_or(DEFAULT_CASES) as usize;
    let default_batch = seed == DEFAULT_SEED && count == DEFAULT_CASES as usize;

    let started = Instant::now();
    let cases = generate(seed, count);
    let results = outcomes(&node, &dir, &cases);
    let elapsed = started.elapsed();

    // The generator only sends keys the action can carry: a dropped key would silently change
    // the request iam-simulate evaluates.
    for (c, o) in cases.iter().zip(&results) {
        assert!(
            o.ignored_keys.is_empty(),
            "iam-simulate ignored context keys {:?} of case {}: fix the generator\n{}",
            o.ignored_keys,
            c.id,
            describe(c, o)
        );
    }

    let mut by_known: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let (mut agree, mut rejected, mut known_count) = (0, 0, 0);
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (c, o) in cases.iter().zip(&results) {
        let answer = match &o.simulate {
            Sim::Decision(d) => d.clone(),
            Sim::Rejected(_) => "refused".to_owned(),
        };
        *tally.entry(answer).or_default() += 1;
        if matches!(o.simulate, Sim::Rejected(_)) {
            rejected += 1;
        } else if o.agrees(c) {
            agree += 1;
        } else {
            let known = explained(c, o);
            if known.is_empty() {
                unexplained.push((c, o));
            } else {
                known_count += 1;
            }
            for k in known {
                *by_known.entry(k.name).or_default() += 1;
            }
        }
    }
    eprintln!(
        "differential: seed {seed:#x}, {} cases in {:.1} s: {agree} agree, {rejected} refused by \
         iam-simulate, {known_count} known disagreements, {} unexplained",
        cases.len(),
        elapsed.as_secs_f64(),
        unexplained.len()
    );
    eprintln!("iam-simulate answers: {tally:?}");
    for k in KNOWN_BUGS.iter().chain(KNOWN_DIFFERENCES) {
        if let Some(n) = by_known.get(k.name) {
            eprintln!(
                "  {n:>5} x {}: {}\n          see {}",
                k.name, k.description, k.reference
            );
        }
    }

    if let Some(path) = std::env::var_os("TRAILSEAL_DIFF_DUMP") {
        let text: String = unexplained
            .iter()
            .map(|(c, o)| format!("--- case {}\n{}\n", c.id, describe(c, o)))
            .collect();
        std::fs::write(&path, text).expect("write TRAILSEAL_DIFF_DUMP");
    }

    if !unexplained.is_empty() {
        let mut report = String::new();
        for (c, o) in unexplained.iter().take(3) {
            let (c, o) = shrink(&node, &dir, c, o);
            report.push_str(&format!("\n--- minimal repro\n{}\n", describe(&c, &o)));
        }
        panic!(
            "{} disagreement(s) between trailseal and iam-simulate that are neither a KNOWN_BUG \
             nor a KNOWN_DIFFERENCE (first ones, shrunk):{report}\nEither fix the bug, or add \
             an entry with a precise predicate (and docs/policy-differential.md for a \
             difference). Rerun with TRAILSEAL_DIFF_SEED={seed:#x} TRAILSEAL_DIFF_CASES={count}.",
            unexplained.len()
        );
    }

    if default_batch {
        let stale: Vec<&str> = KNOWN_BUGS
            .iter()
            .chain(KNOWN_DIFFERENCES)
            .filter(|k| !by_known.contains_key(k.name))
            .map(|k| k.name)
            .collect();
        assert!(
            stale.is_empty(),
            "known disagreements that no longer occur in the default batch (fixed? remove them \
             from the list and from docs/policy-differential.md): {stale:?}"
        );
        // Most pairs must be compared for real, or the test proves little.
        assert!(
            rejected * 10 < cases.len(),
            "iam-simulate refused {rejected} of {} cases: the generator writes invalid policies",
            cases.len()
        );
    }
}
