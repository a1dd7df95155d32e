//! TS000 iac-input (high)
//!
//! What it reports
//!   Input that trailseal could not read, or something in it that is wrong in itself: a parse
//!   error, a non-UTF-8 or oversized file, a CloudFormation property CloudFormation rejects (such
//!   as `KmsKeyId` on AWS::CloudTrail::Trail, whose property is `KMSKeyId`), a suppression
//!   without a reason, a Terraform module cycle, an unknown --parameter. Status `error`, with
//!   file, line and column. A remote Terraform module source, deliberately not evaluated, is
//!   reported `skipped`. TS000 is not a check of the trail: it says that what follows from the
//!   file could not be (fully) evaluated.
//!
//! Why it matters
//!   What cannot be read cannot be checked. The rest of the scan goes on, and what could be read
//!   is still checked (an unknown property does not stop its resource from being evaluated), but
//!   what the problem hides is not covered until it is fixed, so a run with a TS000 error always exits 2,
//!   whatever `--fail-on` says: a CI gate must never pass on input it could not read.
//!
//! Example
//!   `Resources: [` cut off mid-file; `KmsKeyId:` instead of `KMSKeyId:` on a trail; a
//!   `# trailseal:ignore TS006` comment without `-- reason`.
//!
//! How to fix
//!   Fix the file at the line given (or pass the missing value with --var / --parameter); scan a
//!   Terraform plan (`terraform show -json`) to cover remote modules.

use serde_json::json;
use trailseal_model::{Finding, Severity, Status};

use crate::{Applies, CheckInfo};

pub(crate) const INFO: CheckInfo = CheckInfo {
    code: "TS000",
    name: "iac-input",
    severity: Severity::High,
    title: "an input file could not be read or is wrong in itself (not a check)",
    compliance: &[],
    applies: Applies::IAC,
    compliant: false,
    source: include_str!("ts000_input.rs"),
};

/// The `error` finding for input that could not be read (`unreadable`: could not be read or
/// parsed at all; otherwise read, but wrong in itself): `resource` is the resource's address in
/// the file, or the file itself. `evidence.unreadable` carries the distinction to the exit code.
pub fn input_finding(
    file: &str,
    resource: &str,
    line: u32,
    column: u32,
    message: &str,
    unreadable: bool,
) -> Finding {
    Finding {
        code: INFO.code.to_owned(),
        name: INFO.name.to_owned(),
        status: Status::Error,
        severity: INFO.severity,
        account: String::new(),
        region: String::new(),
        resource: resource.to_owned(),
        message: message.to_owned(),
        remediation: "Fix the input at this line. Everything that could be read was still \
                      checked and is reported separately; what this problem hides is not checked \
                      until it is fixed."
            .to_owned(),
        evidence: json!({"unreadable": unreadable}),
        compliance: Vec::new(),
        file: Some(file.to_owned()),
        line: Some(line),
        column: Some(column),
        muted: None,
    }
}
