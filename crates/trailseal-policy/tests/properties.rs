//! Property tests of the policy engine.

use proptest::prelude::*;
use serde_json::{json, Value};
use trailseal_policy::glob::{glob_match, matches_tokens, tokens};
use trailseal_policy::*;

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";

/// The obvious recursive matcher, as the reference for the hand-written iterative one.
fn reference_glob(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| reference_glob(rest, &t[i..])),
        Some(('?', rest)) => !t.is_empty() && reference_glob(rest, &t[1..]),
        Some((c, rest)) => t.first() == Some(c) && reference_glob(rest, &t[1..]),
    }
}

fn small_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ab:*?+.]{0,10}").unwrap()
}

fn principal() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("*")),
        Just(json!({"AWS": "*"})),
        Just(json!({"AWS": "111122223333"})),
        Just(json!({"AWS": "arn:aws:iam::111122223333:role/Reader"})),
        Just(json!({"AWS": "arn:aws:iam::999999999999:root"})),
        Just(json!({"Service": "cloudtrail.amazonaws.com"})),
        Just(json!({"Service": ["logs.amazonaws.com", "cloudtrail.amazonaws.com"]})),
        Just(json!({"AWS": "⟨unknown: var.principal⟩"})),
    ]
}

fn action() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("kms:*")),
        Just(json!("kms:GenerateDataKey*")),
        Just(json!(["kms:Decrypt", "kms:ReEncryptFrom"])),
        Just(json!("kms:DescribeKey")),
        Just(json!("kms:Describe*")),
    ]
}

fn condition() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        Just(TRAIL.to_owned()),
        Just("arn:aws:cloudtrail:*:111122223333:trail/*".to_owned()),
        Just("arn:aws:cloudtrail:*:999999999999:trail/*".to_owned()),
        Just("111122223333".to_owned()),
        Just("vpce-1".to_owned()),
        Just("true".to_owned()),
    ];
    let key = prop_oneof![
        Just("aws:SourceArn"),
        Just("aws:SourceAccount"),
        Just("kms:EncryptionContext:aws:cloudtrail:arn"),
        Just("kms:CallerAccount"),
        Just("aws:SourceVpce"),
        Just("kms:EncryptionContextKeys"),
    ];
    let op = prop_oneof![
        Just("StringEquals"),
        Just("StringLike"),
        Just("StringNotEquals"),
        Just("ArnLike"),
        Just("ArnNotLike"),
        Just("StringLikeIfExists"),
        Just("ForAnyValue:StringLike"),
        Just("ForAllValues:StringEquals"),
        Just("Null"),
    ];
    proptest::collection::vec((op, key, value), 0..3).prop_map(|items| {
        let mut cond = serde_json::Map::new();
        for (op, key, value) in items {
            let block = cond.entry(op.to_owned()).or_insert_with(|| json!({}));
            block[key] = json!(value);
        }
        Value::Object(cond)
    })
}

fn statement() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        principal(),
        action(),
        condition(),
    )
        .prop_map(|(allow, not_principal, p, a, c)| {
            let mut s = json!({
                "Effect": if allow { "Allow" } else { "Deny" },
                "Action": a,
                "Resource": "*",
            });
            // NotPrincipal with "*" is rejected by AWS; only use it with named principals.
            let negate = not_principal && p != json!("*") && p != json!({"AWS": "*"});
            s[if negate { "NotPrincipal" } else { "Principal" }] = p;
            if c.as_object().is_some_and(|m| !m.is_empty()) {
                s["Condition"] = c;
            }
            s
        })
}

fn policy_json() -> impl Strategy<Value = Value> {
    proptest::collection::vec(statement(), 1..5)
        .prop_map(|statements| json!({"Version": "2012-10-17", "Statement": statements}))
}

fn requests() -> Vec<Request> {
    let t = TrailContext::new(TRAIL).with_bucket("logs");
    vec![
        t.generate_data_key_request(),
        t.describe_key_request(),
        t.decrypt_request(RequestPrincipal::aws(
            "arn:aws:iam::111122223333:role/Reader",
        )),
        t.decrypt_request(RequestPrincipal::AccountMember {
            account: "111122223333".into(),
        }),
        t.decrypt_request(RequestPrincipal::Anyone),
        t.decrypt_request(RequestPrincipal::OtherAccount),
        TrailContext {
            name_known: false,
            is_organization_trail: Given::Unknown,
            ..t.clone()
        }
        .generate_data_key_request(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn glob_agrees_with_reference(pattern in small_text(), text in small_text()) {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        prop_assert_eq!(glob_match(&pattern, &text, false), reference_glob(&p, &t));
        prop_assert_eq!(matches_tokens(&tokens(&pattern, true), &text, false), reference_glob(&p, &t));
    }

    #[test]
    fn adding_a_statement_that_cannot_match_never_changes_the_decision(doc in policy_json(), extra in statement()) {
        let base = Policy::parse(&doc.to_string()).unwrap();
        let mut extra = extra;
        // A principal no request uses: the statement can never apply.
        if let Some(o) = extra.as_object_mut() {
            o.remove("NotPrincipal");
            o.insert("Principal".into(), json!({"Service": "never-matches.example.com"}));
        }
        let mut doc2 = doc.clone();
        doc2["Statement"].as_array_mut().unwrap().push(extra);
        let extended = Policy::parse(&doc2.to_string()).unwrap();
        for r in requests() {
            let (a, b) = (evaluate(&base, &r), evaluate(&extended, &r));
            prop_assert_eq!(a.decision, b.decision);
            prop_assert_eq!(a.deciding, b.deciding);
            prop_assert_eq!(a.unknown_keys, b.unknown_keys);
        }
    }

    #[test]
    fn adding_a_statement_for_another_resource_or_action_never_changes_anything(doc in policy_json(), extra in statement(), s3 in any::<bool>()) {
        let base = Policy::parse(&doc.to_string()).unwrap();
        let mut extra = extra;
        // A resource no key ARN matches (even with the key ARN unknown), or an action no request uses.
        if s3 {
            extra["Resource"] = json!("arn:aws:s3:::logs/*");
        } else {
            extra["Action"] = json!("kms:ScheduleKeyDeletion");
        }
        let mut doc2 = doc.clone();
        doc2["Statement"].as_array_mut().unwrap().push(extra);
        let extended = Policy::parse(&doc2.to_string()).unwrap();
        for r in requests() {
            let (a, b) = (evaluate(&base, &r), evaluate(&extended, &r));
            prop_assert_eq!(a.decision, b.decision);
            prop_assert_eq!(a.unknown_keys, b.unknown_keys);
        }
    }

    #[test]
    fn an_undecided_deny_never_hides_why_an_allow_is_undecided(doc in policy_json(), extra in statement()) {
        let base = Policy::parse(&doc.to_string()).unwrap();
        let mut extra = extra;
        extra["Effect"] = json!("Deny");
        let mut doc2 = doc.clone();
        doc2["Statement"].as_array_mut().unwrap().push(extra);
        let extended = Policy::parse(&doc2.to_string()).unwrap();
        for r in requests() {
            let (a, b) = (evaluate(&base, &r), evaluate(&extended, &r));
            if a.decision == Decision::Indeterminate && b.decision == Decision::Indeterminate {
                for k in &a.unknown_keys {
                    prop_assert!(b.unknown_keys.contains(k), "{:?} lost from {:?}", k, b.unknown_keys);
                }
            }
            // a Deny can only take an Allow away
            if a.decision != Decision::Allow {
                prop_assert_ne!(b.decision, Decision::Allow);
            }
        }
    }

    #[test]
    fn a_matching_unconditional_deny_always_wins(doc in policy_json()) {
        let mut doc = doc;
        doc["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"
        }));
        let p = Policy::parse(&doc.to_string()).unwrap();
        for r in requests() {
            prop_assert_eq!(evaluate(&p, &r).decision, Decision::ExplicitDeny);
        }
    }

    #[test]
    fn parse_serialize_parse_is_stable(doc in policy_json()) {
        let once = Policy::parse(&doc.to_string()).unwrap();
        let again = Policy::parse(&once.to_json().to_string()).unwrap();
        prop_assert_eq!(&once, &again);
        for r in requests() {
            prop_assert_eq!(evaluate(&once, &r), evaluate(&again, &r));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let report = lint(&text);
        if let Some(p) = report.policy {
            for r in requests() {
                let _ = evaluate(&p, &r);
            }
        }
    }

    #[test]
    fn mutated_policies_never_panic_and_never_allow_on_fatal_errors(doc in policy_json(), cut in 0usize..400, junk in ".{0,8}") {
        let text = doc.to_string();
        let cut = cut.min(text.len());
        let cut = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let mutated = format!("{}{}{}", &text[..cut], junk, &text[cut..]);
        let report = lint(&mutated);
        match (&report.policy, Policy::parse(&mutated)) {
            (Some(p), Ok(q)) => {
                prop_assert_eq!(p, &q);
                for r in requests() {
                    let e = evaluate(p, &r);
                    let _ = explain(p, &r, &e);
                }
            }
            (None, Err(_)) => prop_assert!(report.is_invalid()),
            (a, b) => prop_assert!(false, "lint and parse disagree: {:?} vs {:?}", a.is_some(), b.is_ok()),
        }
    }
}
