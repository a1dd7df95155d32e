//! Policy validation (lint), in the spirit of IAM Access Analyzer `ValidatePolicy`.
//!
//! Structural findings come from the parser ([`crate::parse`]); this module adds the semantic
//! ones. Every code is stable and listed in the README ("Policy lint codes").

use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::glob::glob_match;
use crate::model::*;
use crate::starts_with_ignore_case;
use crate::unknown::unknown_reason;
use crate::values::{parse_bool, parse_cidr, parse_date, parse_number};
use crate::vars::has_variable;

/// The KMS API actions a key policy can grant (for `UNKNOWN_KMS_ACTION`).
pub const KMS_ACTIONS: &[&str] = &[
    "CancelKeyDeletion",
    "ConnectCustomKeyStore",
    "CreateAlias",
    "CreateCustomKeyStore",
    "CreateGrant",
    "CreateKey",
    "Decrypt",
    "DeleteAlias",
    "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial",
    "DeriveSharedSecret",
    "DescribeCustomKeyStores",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "DisconnectCustomKeyStore",
    "EnableKey",
    "EnableKeyRotation",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "ListRetirableGrants",
    "PutKeyPolicy",
    "ReEncryptFrom",
    "ReEncryptTo",
    "ReplicateKey",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "Sign",
    "SynchronizeMultiRegionKey",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateCustomKeyStore",
    "UpdateKeyDescription",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
];

/// The result of linting a policy text.
#[derive(Debug, Clone)]
pub struct LintReport {
    /// The parsed policy, unless a fatal problem prevented it.
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl LintReport {
    /// AWS would reject the document (any error-severity finding).
    pub fn is_invalid(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Parses and validates a policy text.
pub fn lint(text: &str) -> LintReport {
    let (policy, partial, mut diagnostics) = crate::parse::parse_document_partial(text);
    if let Some(p) = &policy {
        diagnostics.extend(lint_policy(p));
    } else if let Some(p) = &partial {
        // Every problem, not only the fatal one: the statements that parsed are linted too
        // (not the policy as a whole: whether anyone may administer the key depends on the
        // statements that did not parse).
        diagnostics.extend(lint_statements(p));
    }
    diagnostics.sort_by(|a, b| {
        (a.location.statement, a.severity, a.code).cmp(&(b.location.statement, b.severity, b.code))
    });
    LintReport {
        policy,
        diagnostics,
    }
}

/// Semantic checks on a parsed policy.
pub fn lint_policy(policy: &Policy) -> Vec<Diagnostic> {
    let mut out = lint_statements(policy);
    out.extend(lockout(policy));
    out
}

/// The checks of each statement on its own (and Sid uniqueness), without evaluating the policy:
/// they also run on the statements that parsed when another one did not (whose `index` is then
/// not their position in `policy.statements`).
fn lint_statements(policy: &Policy) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut push =
        |code: &'static str, severity: Severity, s: &Statement, path: &str, message: String| {
            out.push(Diagnostic {
                code,
                severity,
                fatal: false,
                location: Location::statement(s.index, s.sid.as_deref(), path),
                message,
            });
        };
    for (i, s) in policy.statements.iter().enumerate() {
        for (path, reason) in unknown_values(s) {
            push(
                "UNKNOWN_VALUE",
                Severity::Warning,
                s,
                &path,
                format!("this value is not known before deployment ({reason}): the checks that depend on it are indeterminate"),
            );
        }
        if let Some(sid) = &s.sid {
            if policy.statements[..i]
                .iter()
                .any(|o| o.sid.as_deref() == Some(sid))
            {
                push(
                    "DUPLICATE_SID",
                    Severity::Error,
                    s,
                    "Sid",
                    format!("Sid \"{sid}\" is used by an earlier statement; Sids must be unique"),
                );
            }
        }
        let principal_name = if s.principal.negated {
            "NotPrincipal"
        } else {
            "Principal"
        };
        let wildcard_principal = match &s.principal.items {
            Principals::Any => true,
            Principals::Entries(e) => e.iter().any(PrincipalEntry::is_wildcard),
        };
        if s.effect == Effect::Allow
            && !s.principal.negated
            && wildcard_principal
            && s.conditions.is_empty()
        {
            push(
                "WILDCARD_PRINCIPAL_WITHOUT_CONDITION",
                Severity::SecurityWarning,
                s,
                principal_name,
                "Allow to every principal of every AWS account with no condition: add a condition such as \
                 kms:CallerAccount, aws:PrincipalOrgID or aws:SourceArn"
                    .into(),
            );
        }
        if s.effect == Effect::Allow && s.principal.negated {
            push(
                "ALLOW_WITH_NOT_PRINCIPAL",
                Severity::SecurityWarning,
                s,
                "NotPrincipal",
                "Allow with NotPrincipal grants every principal not listed, in every account"
                    .into(),
            );
        }
        if s.effect == Effect::Allow && s.action.negated {
            push(
                "ALLOW_WITH_NOT_ACTION",
                Severity::SecurityWarning,
                s,
                "NotAction",
                "Allow with NotAction grants every action not listed, including future ones".into(),
            );
        }
        if let Principals::Entries(entries) = &s.principal.items {
            for e in entries.iter().filter(|e| e.kind == PrincipalKind::Service) {
                if !e.raw.contains('*')
                    && !e.raw.ends_with(".amazonaws.com")
                    && !e.raw.ends_with(".amazonaws.com.cn")
                {
                    push(
                        "UNUSUAL_SERVICE_PRINCIPAL",
                        Severity::Warning,
                        s,
                        principal_name,
                        format!("service principal \"{}\" does not end in .amazonaws.com; a service principal matches only its exact name", e.raw),
                    );
                }
            }
        }
        let action_name = if s.action.negated {
            "NotAction"
        } else {
            "Action"
        };
        for a in &s.action.items {
            if a == "*" {
                continue;
            }
            let Some((service, name)) = a.split_once(':') else {
                continue;
            };
            if !service.eq_ignore_ascii_case("kms") {
                push(
                    "NON_KMS_ACTION",
                    Severity::Warning,
                    s,
                    action_name,
                    format!("\"{a}\" is not a KMS action and has no effect in a key policy"),
                );
            } else if !KMS_ACTIONS.iter().any(|k| glob_match(name, k, true)) {
                push(
                    "UNKNOWN_KMS_ACTION",
                    Severity::Warning,
                    s,
                    action_name,
                    format!("\"{a}\" matches no KMS action (check the spelling)"),
                );
            }
        }
        for r in &s.resource.items {
            if r != "*" && !s.resource.negated && unknown_reason(r).is_none() {
                push(
                    "KEY_POLICY_RESOURCE",
                    Severity::Suggestion,
                    s,
                    "Resource",
                    format!("in a key policy \"Resource\": \"*\" means this key; \"{r}\" only matches if it names this key"),
                );
            }
        }
        for c in &s.conditions {
            let path = format!("Condition > {} > {}", c.operator_text, c.key);
            if !policy.supports_variables() && c.values.iter().any(|v| has_variable(v)) {
                push(
                    "VARIABLE_IN_OLD_VERSION",
                    Severity::Warning,
                    s,
                    &path,
                    "a policy variable is used but the policy is not Version 2012-10-17: IAM reads it as literal text".into(),
                );
            }
            if !c.key.contains(':') && unknown_reason(&c.key).is_none() {
                push(
                    "INVALID_CONDITION_KEY",
                    Severity::Error,
                    s,
                    &path,
                    format!(
                        "\"{}\" is not a condition key (expected service:Key, e.g. aws:SourceArn)",
                        c.key
                    ),
                );
            }
            let Some(op) = c.operator else { continue };
            let bad = |check: fn(&str) -> bool| {
                c.values
                    .iter()
                    .find(|v| unknown_reason(v).is_none() && !check(v))
                    .cloned()
            };
            use BaseOperator::*;
            let (code, invalid) = match op.base {
                Null => ("NULL_NON_BOOLEAN", bad(|v| parse_bool(v).is_some())),
                Bool => ("INVALID_BOOLEAN", bad(|v| parse_bool(v).is_some())),
                NumericEquals
                | NumericNotEquals
                | NumericLessThan
                | NumericLessThanEquals
                | NumericGreaterThan
                | NumericGreaterThanEquals => {
                    ("INVALID_NUMBER", bad(|v| parse_number(v).is_some()))
                }
                DateEquals
                | DateNotEquals
                | DateLessThan
                | DateLessThanEquals
                | DateGreaterThan
                | DateGreaterThanEquals => ("INVALID_DATE", bad(|v| parse_date(v).is_some())),
                IpAddress | NotIpAddress => ("INVALID_IP", bad(|v| parse_cidr(v).is_some())),
                _ => ("", None),
            };
            if let Some(v) = invalid {
                let expected = match op.base {
                    Null | Bool => "\"true\" or \"false\"",
                    IpAddress | NotIpAddress => "an IP address or CIDR block",
                    DateEquals
                    | DateNotEquals
                    | DateLessThan
                    | DateLessThanEquals
                    | DateGreaterThan
                    | DateGreaterThanEquals => "an ISO 8601 date or epoch seconds",
                    _ => "a number",
                };
                let message = format!("{} takes {expected}, found \"{v}\"", op.base.name());
                push(code, Severity::Error, s, &path, message);
            }
            if s.effect == Effect::Allow
                && op.set == SetQualifier::ForAllValues
                && starts_with_ignore_case(&c.key, "kms:EncryptionContext")
            {
                push(
                    "FORALLVALUES_WITH_ALLOW",
                    Severity::SecurityWarning,
                    s,
                    &path,
                    "ForAllValues is true when the request has no encryption context at all, so this Allow also \
                     matches requests without one; add \"Null\": {\"kms:EncryptionContextKeys\": \"false\"} or use ForAnyValue"
                        .into(),
                );
            }
            if op.set != SetQualifier::Single && single_valued(&c.key) {
                push(
                    "SET_OPERATOR_ON_SINGLE_VALUED_KEY",
                    Severity::Warning,
                    s,
                    &path,
                    format!(
                        "{} is single-valued; {} is meant for multi-valued keys",
                        c.key, c.operator_text
                    ),
                );
            }
            if op.set == SetQualifier::Single && op.base != Null && multi_valued(&c.key) {
                push(
                    "MULTIVALUED_KEY_WITHOUT_SET_OPERATOR",
                    Severity::Warning,
                    s,
                    &path,
                    format!(
                        "{} is multivalued: use ForAnyValue:{} or ForAllValues:{}; without a set operator \
                         AWS does not document the result, so trailseal evaluates it as unknown",
                        c.key, c.operator_text, c.operator_text
                    ),
                );
            }
            if matches!(op.base, StringLike | StringNotLike)
                && !c.values.iter().any(|v| v.contains(['*', '?']))
            {
                push(
                    "LIKE_WITHOUT_WILDCARD",
                    Severity::Suggestion,
                    s,
                    &path,
                    format!(
                        "{} without a wildcard behaves like {}",
                        op.base.name(),
                        if op.base == StringLike {
                            "StringEquals"
                        } else {
                            "StringNotEquals"
                        }
                    ),
                );
            }
            if matches!(op.base, StringEquals | StringNotEquals) {
                if let Some(v) = c.values.iter().find(|v| v.contains('*')) {
                    let message = format!(
                        "{} compares \"{v}\" literally: `*` is not a wildcard here (use StringLike)",
                        op.base.name()
                    );
                    push("WILDCARD_IN_EQUALS", Severity::Warning, s, &path, message);
                }
            }
        }
    }
    out
}

/// `NO_KEY_ADMINISTRATOR`: no principal may call `kms:PutKeyPolicy`. "The key policy must
/// allow the calling principal to make a subsequent PutKeyPolicy request on the KMS key"
/// (AWS KMS API Reference, PutKeyPolicy, BypassPolicyLockoutSafetyCheck): AWS rejects such a
/// policy with MalformedPolicyDocumentException, and if the check is bypassed the key "becomes
/// unmanageable". The policy most guides print for this control (only CloudTrail's statement)
/// is one. Undecided (conditions trailseal cannot evaluate): no finding.
fn lockout(policy: &Policy) -> Option<Diagnostic> {
    let admins = crate::readers::who_may_administer(policy, &crate::TrailContext::default());
    (admins.audience == crate::Audience::Nobody).then(|| Diagnostic {
        code: "NO_KEY_ADMINISTRATOR",
        severity: Severity::Error,
        fatal: false,
        location: Location::document("Statement"),
        message: "no principal may call kms:PutKeyPolicy: AWS rejects this key policy \
                  (MalformedPolicyDocumentException) unless the policy lockout safety check is \
                  bypassed, and then nobody can ever change the key policy again; keep a \
                  statement that lets the account (arn:aws:iam::ACCOUNT:root, the default key \
                  policy) or a key administrator role call kms:PutKeyPolicy"
            .into(),
    })
}

/// Every element path of the statement that holds an unknown-value marker, with its reason
/// (one entry per path).
fn unknown_values(s: &Statement) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut note = |path: String, text: &str| {
        if let Some(reason) = unknown_reason(text) {
            if !out.iter().any(|(p, _)| *p == path) {
                out.push((path, reason.to_owned()));
            }
        }
    };
    if let Some(m) = &s.effect_marker {
        note("Effect".into(), m);
    }
    let principal = if s.principal.negated {
        "NotPrincipal"
    } else {
        "Principal"
    };
    if let Principals::Entries(entries) = &s.principal.items {
        for e in entries {
            note(format!("{principal} > {}", e.type_key), &e.type_key);
            note(format!("{principal} > {}", e.type_key), &e.raw);
        }
    }
    let action = if s.action.negated {
        "NotAction"
    } else {
        "Action"
    };
    for a in &s.action.items {
        note(action.into(), a);
    }
    let resource = if s.resource.negated {
        "NotResource"
    } else {
        "Resource"
    };
    for r in &s.resource.items {
        note(resource.into(), r);
    }
    for c in &s.conditions {
        let path = format!("Condition > {} > {}", c.operator_text, c.key);
        note(path.clone(), &c.operator_text);
        note(path.clone(), &c.key);
        for v in &c.values {
            note(path.clone(), v);
        }
    }
    out
}

/// Well-known single-valued keys used in key policies.
/// Multivalued context keys (IAM User Guide, "Single-valued vs. multivalued context keys";
/// KMS condition keys): a request may carry several values, and conditions on them need a set
/// operator.
pub(crate) fn multi_valued(key: &str) -> bool {
    const KEYS: &[&str] = &[
        "kms:EncryptionContextKeys",
        "kms:GrantOperations",
        "aws:TagKeys",
        "aws:CalledVia",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceNamesList",
    ];
    KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

fn single_valued(key: &str) -> bool {
    const KEYS: &[&str] = &[
        "aws:SourceArn",
        "aws:SourceAccount",
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalOrgID",
        "kms:CallerAccount",
        "kms:ViaService",
        "aws:SourceIp",
        "aws:SecureTransport",
    ];
    KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
        || starts_with_ignore_case(key, "kms:EncryptionContext:")
}
