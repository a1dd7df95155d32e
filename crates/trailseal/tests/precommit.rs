//! The repository's pre-commit hook (.pre-commit-hooks.yaml), exercised the way a user adopts
//! it: `pre-commit try-repo` (PyPI, from scripts/setup-validators.sh) on a fixture repository,
//! with the trailseal under test on PATH.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn validators() -> PathBuf {
    support::validators::dir("bin/pre-commit")
}

fn git(repo: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .current_dir(repo)
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?}");
}

/// Runs the hook on a repository holding `files`; returns (success, output).
fn try_hook(files: &[(&str, &str)]) -> (bool, String) {
    let dir = support::cli::tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q"]);
    for (name, text) in files {
        let path = repo.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    git(&repo, &["add", "."]);
    let bin = assert_cmd::cargo::cargo_bin("trailseal");
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(validators().join("bin/pre-commit"))
        .args([
            "try-repo",
            &support::cli::root(),
            "trailseal-scan",
            "--all-files",
        ])
        .current_dir(&repo)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", dir.path().join("pre-commit-home"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run pre-commit");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_hook_fails_an_unencrypted_trail_and_passes_other_infrastructure() {
    let (ok, out) = try_hook(&[(
        "infra/trail.yaml",
        "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Trail:\n    Type: AWS::CloudTrail::Trail\n    Properties:\n      IsLogging: true\n      S3BucketName: logs-bucket\n",
    )]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("TS001") && out.contains("trailseal scan"),
        "{out}"
    );

    // A repository whose templates define no trail: nothing to check, the hook passes.
    let (ok, out) = try_hook(&[(
        "infra/bucket.yaml",
        "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Logs:\n    Type: AWS::S3::Bucket\n",
    )]);
    assert!(ok, "{out}");
}
