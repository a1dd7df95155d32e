//! The independent validators of the report formats (scripts/setup-validators.sh): a venv
//! with ocsf-json-schema, jsonschema, xmlschema, botocore and pre-commit, the junit-10.xsd and
//! playwright-core. Without it the tests fail with that instruction: they never pass silently.

use std::path::PathBuf;

/// The validators' directory, holding `needed` (a path inside it).
pub fn dir(needed: &str) -> PathBuf {
    let dir = std::env::var_os("TRAILSEAL_VALIDATORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/trailseal-validators-venv")
        });
    assert!(
        dir.join(needed).exists(),
        "the report validators are not installed ({needed} is missing): run \
         scripts/setup-validators.sh (or set TRAILSEAL_VALIDATORS_DIR)"
    );
    dir
}
