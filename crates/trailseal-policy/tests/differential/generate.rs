//! The seeded generator of key policies and fully known requests.

use super::*;

pub(crate) const ACCT: &str = "111122223333";
pub(crate) const OTHER: &str = "444455556666";
pub(crate) const KEY: &str =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
pub(crate) const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
pub(crate) const OTHER_TRAIL: &str = "arn:aws:cloudtrail:eu-west-1:444455556666:trail/other";
pub(crate) const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";
pub(crate) const LOGS: &str = "logs.amazonaws.com";

pub(crate) const EC_TRAIL: &str = "kms:EncryptionContext:aws:cloudtrail:arn";
pub(crate) const EC_S3: &str = "kms:EncryptionContext:aws:s3:arn";
pub(crate) const EC_KEYS: &str = "kms:EncryptionContextKeys";

/// Who makes a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Caller {
    Service(&'static str),
    /// An IAM principal: its ARN (user, role, assumed-role session or account root), account,
    /// and the ARN `aws:PrincipalArn` carries (the role's for a session).
    Iam {
        arn: &'static str,
        account: &'static str,
        principal_arn: &'static str,
    },
}

pub(crate) const IAM_CALLERS: &[Caller] = &[
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
pub(crate) enum Identity {
    /// None (service principals; and the "direct grants only" variant for same-account callers).
    NoPolicies,
    /// One policy allowing `*` on `*`: every Allow the key policy delegates to IAM goes through.
    AllowAll,
}

/// A context key's value: single-valued keys have one, `kms:EncryptionContextKeys` a set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    One(String),
    Set(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Case {
    pub(crate) id: usize,
    pub(crate) policy: Value,
    pub(crate) caller: Caller,
    pub(crate) action: &'static str,
    /// The keys present in the request (every other key is absent).
    pub(crate) context: BTreeMap<&'static str, Val>,
    pub(crate) identity: Identity,
    /// An identity-based policy of the caller (same-account IAM callers), evaluated by
    /// trailseal with `combine(ResourceKind::KmsKey, ...)` and by iam-simulate as the caller's
    /// identity policy; replaces `identity` when set.
    pub(crate) identity_policy: Option<Value>,
}

impl Case {
    pub(crate) fn same_account(&self) -> bool {
        matches!(self.caller, Caller::Iam { account, .. } if account == ACCT)
    }

    pub(crate) fn request(&self) -> Request {
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
            resource_pattern: false,
            context,
        }
    }

    pub(crate) fn to_simulate_json(&self) -> Value {
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
        let identity = match (&self.identity_policy, self.identity) {
            (Some(policy), _) => json!([policy]),
            (None, Identity::NoPolicies) => json!([]),
            (None, Identity::AllowAll) => json!([{
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
    pub(crate) fn statements(&self) -> &[Value] {
        self.policy["Statement"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

// ---------------------------------------------------------------------------------------------
// The generator: a small xorshift RNG and a grammar of key policies and requests.
// ---------------------------------------------------------------------------------------------

pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that small seeds give well-mixed states (never 0).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `pct` percent.
    pub(crate) fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Keys a condition can test, with the policy values the generator draws from (matching and
/// non-matching ones for the request pools below) and the operators that suit each key.
pub(crate) struct KeySpec {
    /// As written in policies; sometimes case-mangled by the generator.
    pub(crate) name: &'static str,
    pub(crate) values: &'static [&'static str],
    pub(crate) kind: KeyKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Str,
    Arn,
    Bool,
    /// Multi-valued (`kms:EncryptionContextKeys`).
    Set,
}

pub(crate) const ARN_PATTERNS: &[&str] = &[
    TRAIL,
    OTHER_TRAIL,
    "arn:aws:cloudtrail:*:111122223333:trail/*",
    "arn:aws:cloudtrail:us-east-1:111122223333:trail/*",
    "arn:aws:cloudtrail:*:*:trail/main",
    "arn:aws:cloudtrail:us-east-1:111122223333:trail/MAIN",
    "arn:aws:cloudtrail:*:${aws:SourceAccount}:trail/*",
];

pub(crate) const KEY_SPECS: &[KeySpec] = &[
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

pub(crate) const STRING_OPS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringEqualsIfExists",
    "StringLikeIfExists",
    "StringNotEqualsIfExists",
];
pub(crate) const ARN_OPS: &[&str] = &[
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "ArnLikeIfExists",
];
pub(crate) const BOOL_OPS: &[&str] = &["Bool", "BoolIfExists"];
pub(crate) const SET_OPS: &[&str] = &[
    "ForAnyValue:StringEquals",
    "ForAnyValue:StringLike",
    "ForAllValues:StringEquals",
    "ForAllValues:StringLike",
    "ForAnyValue:StringNotEquals",
    "ForAllValues:StringNotLike",
];

pub(crate) fn gen_condition(rng: &mut Rng) -> Value {
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

pub(crate) const PRINCIPAL_VALUES: &[&str] = &[
    "*",
    ACCT,
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::444455556666:root",
    "arn:aws:iam::111122223333:role/Reader",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:iam::444455556666:user/alice",
    "arn:aws:sts::111122223333:assumed-role/Reader/session-1",
];
pub(crate) const SERVICES: &[&str] = &[CLOUDTRAIL, LOGS, "s3.amazonaws.com"];

pub(crate) fn one_or_many(items: Vec<Value>) -> Value {
    if items.len() == 1 {
        items.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(items)
    }
}

pub(crate) fn gen_principal(rng: &mut Rng, negated: bool) -> Value {
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

pub(crate) const ACTIONS: &[&str] = &[
    "kms:*",
    "kms:GenerateDataKey*",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:Describe*",
    "kms:ReEncrypt*",
    "KMS:decrypt",
];
pub(crate) const RESOURCES: &[&str] = &[
    "*",
    KEY,
    "arn:aws:kms:us-east-1:111122223333:key/*",
    "arn:aws:kms:*:111122223333:key/*",
    "arn:aws:kms:us-east-1:444455556666:key/*",
    "arn:aws:kms:us-east-1:111122223333:key/other-key",
];

pub(crate) fn gen_list(rng: &mut Rng, pool: &[&str], max: usize) -> Value {
    let items: Vec<Value> = (0..1 + rng.below(max))
        .map(|_| json!(rng.pick(pool)))
        .collect();
    one_or_many(items)
}

pub(crate) fn gen_statement(rng: &mut Rng) -> Value {
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

pub(crate) fn gen_policy(rng: &mut Rng) -> Value {
    let statements: Vec<Value> = (0..1 + rng.below(4)).map(|_| gen_statement(rng)).collect();
    if rng.chance(15) {
        json!({ "Statement": statements })
    } else {
        json!({ "Version": "2012-10-17", "Statement": statements })
    }
}

/// Request values: what CloudTrail, another service or a reader would send (or a wrong one).
pub(crate) fn maybe(
    rng: &mut Rng,
    ctx: &mut BTreeMap<&'static str, Val>,
    key: &'static str,
    pool: &[&'static str],
) {
    if rng.chance(85) {
        ctx.insert(key, Val::One(rng.pick(pool).to_owned()));
    }
}

pub(crate) fn gen_ec(rng: &mut Rng, ctx: &mut BTreeMap<&'static str, Val>) {
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

pub(crate) const CRYPTO: &[&str] = &["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"];

pub(crate) fn gen_request(rng: &mut Rng, id: usize, policy: Value) -> Case {
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
        identity_policy: None,
    }
}

/// A random identity-based policy: key-policy statements without their Principal.
pub(crate) fn gen_identity_policy(rng: &mut Rng) -> Value {
    let statements: Vec<Value> = (0..1 + rng.below(3))
        .map(|_| {
            let mut s = gen_statement(rng);
            if let Some(map) = s.as_object_mut() {
                map.remove("Principal");
                map.remove("NotPrincipal");
                // No policy variables: one whose key the request lacks "might cause the entire
                // statement to be invalid" (IAM User Guide, "Policy variables with no value"),
                // which trailseal leaves undecided and iam-simulate does not (see
                // docs/policy-differential.md, "Left out of the comparison").
                if let Some(Value::Object(block)) = map.get_mut("Condition") {
                    for keys in block.values_mut() {
                        if let Value::Object(keys) = keys {
                            keys.retain(|_, v| !v.to_string().contains("${"));
                        }
                    }
                    block.retain(|_, keys| keys.as_object().is_some_and(|k| !k.is_empty()));
                    if block.is_empty() {
                        map.remove("Condition");
                    }
                }
            }
            s
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The batch: each policy/request pair once; IAM callers of the key's account twice (with and
/// without an allow-everything identity policy), and half of them a third time with a random
/// identity policy of their own (`count` counts the key-policy cases only).
pub(crate) fn generate(seed: u64, count: usize) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    // Identity policies draw from their own stream: the key-policy cases stay those of the
    // batch before identity policies were compared.
    let mut identity_rng = Rng::new(seed ^ 0x6964_656e_7469_7479); // "identity"
    let mut cases = Vec::with_capacity(count + count / 3);
    // `count` key-policy cases (the batch of before), plus the identity-policy ones.
    let mut with_identity = 0;
    while cases.len() - with_identity < count {
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
                    cases.push(case.clone());
                    // And with a random identity policy of its own.
                    if identity_rng.chance(50) {
                        case.id = cases.len();
                        case.identity_policy = Some(gen_identity_policy(&mut identity_rng));
                        cases.push(case);
                        with_identity += 1;
                    }
                }
            }
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Running both evaluators and comparing.
// ---------------------------------------------------------------------------------------------
