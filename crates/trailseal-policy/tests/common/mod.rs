//! Helpers shared by the semantic tests (`semantics.rs`, `partial_knowledge.rs`): a policy from
//! statements, the test trail and its requests.
#![allow(dead_code)] // each test binary uses its own subset

use serde_json::{json, Value};
use trailseal_policy::*;

pub const ACCT: &str = "111122223333";
pub const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
pub const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

pub fn policy_with(version: Option<&str>, statements: Value) -> Policy {
    let mut doc = json!({ "Statement": statements });
    if let Some(v) = version {
        doc["Version"] = json!(v);
    }
    Policy::parse(&doc.to_string()).expect("test policy parses")
}

pub fn policy(statements: Value) -> Policy {
    policy_with(Some("2012-10-17"), statements)
}

pub fn trail() -> TrailContext {
    TrailContext {
        key_arn: Some(KEY.into()),
        ..TrailContext::new(TRAIL).with_bucket("logs-bucket")
    }
}

/// CloudTrail's GenerateDataKey request for the test trail.
pub fn ct() -> Request {
    trail().generate_data_key_request()
}

pub fn request(principal: RequestPrincipal, action: &str, context: Context) -> Request {
    Request {
        principal,
        action: action.into(),
        resource: Some(KEY.into()),
        resource_pattern: false,
        context,
    }
}

pub fn decision(p: &Policy, r: &Request) -> Decision {
    evaluate(p, r).decision
}

pub fn allow_ct(condition: Value) -> Value {
    let mut s = json!({
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*"
    });
    if !condition.is_null() {
        s["Condition"] = condition;
    }
    s
}
