//! Fuzz target: any bytes -> lint (parse + validate) -> evaluate every CloudTrail request ->
//! explain -> who may decrypt. Must never panic. See README "Fuzzing".
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailseal_policy::{evaluate, explain, lint, who_may_decrypt, RequestPrincipal, TrailContext};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let report = lint(text);
    let Some(policy) = report.policy else { return };
    let trail = TrailContext {
        trail_arn: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main".into(),
        bucket: Some("logs".into()),
        key_arn: Some("arn:aws:kms:us-east-1:111122223333:key/k".into()),
        ..Default::default()
    };
    for request in [
        trail.generate_data_key_request(),
        trail.describe_key_request(),
        trail.decrypt_request(RequestPrincipal::Anyone),
        trail.decrypt_request(RequestPrincipal::aws("arn:aws:sts::111122223333:assumed-role/R/s")),
    ] {
        let e = evaluate(&policy, &request);
        let _ = explain(&policy, &request, &e);
    }
    let _ = who_may_decrypt(&policy, &trail);
});
