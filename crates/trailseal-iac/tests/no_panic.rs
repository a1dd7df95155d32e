//! The parsers' entry points never panic: arbitrary text, and the fixtures with random
//! bytes changed, cut or inserted, go through CloudFormation, plan and HCL scanning.

use std::collections::HashMap;

use proptest::prelude::*;
use trailseal_iac::{cfn, tf, tfplan};

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../examples/iac/{path}", manifest_dir()))
        .expect("fixture")
}

fn mutate(text: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(pos, op, byte) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let i = pos % bytes.len();
        match op % 3 {
            0 => bytes[i] = byte,
            1 => {
                bytes.remove(i);
            }
            _ => bytes.insert(i, byte),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn scan_all(text: &str) {
    let _ = cfn::scan("t.yaml", text, &HashMap::new());
    let _ = tfplan::scan("plan.json", text);
    let dir = std::env::temp_dir().join(format!(
        "trailseal-fuzz-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("main.tf");
    if std::fs::write(&file, text).is_ok() {
        let _ = tf::scan_module(&dir, &[file], &tf::TfVars::default());
    }
    let json = dir.join("main.tf.json");
    if std::fs::write(&json, text).is_ok() {
        let _ = tf::scan_module(&dir, &[json], &tf::TfVars::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text(text in "\\PC{0,400}") {
        scan_all(&text);
    }

    #[test]
    fn mutated_fixtures(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), b' '..b'~'), 1..8),
    ) {
        let base = match which {
            0 => fixture("cloudformation/good.yaml"),
            1 => fixture("cloudformation/long-form.json"),
            2 => fixture("terraform-plan/plan.json"),
            3 => fixture("terraform/json/main.tf.json"),
            _ => fixture("terraform/root/main.tf"),
        };
        scan_all(&mutate(&base, &edits));
    }
}

/// The package directory of this checkout: cargo sets CARGO_MANIFEST_DIR when it runs tests
/// (the compile-time value is only a fallback: a target directory shared between checkouts at
/// different paths may hold binaries built elsewhere).
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
}
