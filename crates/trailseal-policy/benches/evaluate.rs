//! Criterion benchmarks of the policy engine on the CloudTrail console's key policy.
//! Run: `cargo bench -p trailseal-policy` (numbers in bench/README.md).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use trailseal_policy::{evaluate, lint, who_may_decrypt, Policy, TrailContext};

fn console_policy() -> String {
    let path = &format!(
        "{}/../../examples/policies/cloudtrail-console-key-policy.json",
        manifest_dir()
    );
    std::fs::read_to_string(path).expect("fixture")
}

fn benches(c: &mut Criterion) {
    let text = console_policy();
    let policy = Policy::parse(&text).expect("parses");
    let trail =
        TrailContext::new("arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events")
            .with_bucket("aws-cloudtrail-logs-111122223333");
    let request = trail.generate_data_key_request();
    c.bench_function("evaluate console policy, CloudTrail GenerateDataKey", |b| {
        b.iter(|| evaluate(black_box(&policy), black_box(&request)))
    });
    c.bench_function("build request + evaluate (one trail)", |b| {
        b.iter(|| {
            evaluate(
                black_box(&policy),
                &black_box(&trail).generate_data_key_request(),
            )
        })
    });
    c.bench_function("parse console policy", |b| {
        b.iter(|| Policy::parse(black_box(&text)))
    });
    c.bench_function("lint console policy", |b| b.iter(|| lint(black_box(&text))));
    c.bench_function("who may decrypt (console policy)", |b| {
        b.iter(|| who_may_decrypt(black_box(&policy), black_box(&trail)))
    });
}

criterion_group!(policy_engine, benches);
criterion_main!(policy_engine);

/// The package directory of this checkout: cargo sets CARGO_MANIFEST_DIR when it runs tests
/// (the compile-time value is only a fallback: a target directory shared between checkouts at
/// different paths may hold binaries built elsewhere).
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
}
