//! Security Hub `BatchImportFindings` (`trailseal audit --security-hub`): ASFF findings (built
//! by trailseal-report) imported into each finding's Region, in batches of 100 (the API's
//! limit), as a thin signed REST-JSON request ([`crate::signed::Call`]: one operation does not
//! pay for `aws-sdk-securityhub`). The SDK's standard retries apply (throttling, 5xx).
//!
//! A Region where Security Hub cannot be used (not enabled: `InvalidAccessException`; no
//! permission: `AccessDeniedException`) is reported for that Region and the other Regions are
//! still imported. Findings the API refuses one by one come back in `FailedFindings` and are
//! reported with their error. A finding that passes now is sent with `RecordState` ARCHIVED, so
//! that Security Hub archives it (same `Id` as when it failed).

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use serde::Deserialize;
use serde_json::Value;

use crate::error::describe;
use crate::signed::{
    body_text, endpoint_url, parse_json_error, partition_suffixes, ApiError, Call,
};

/// BatchImportFindings takes at most 100 findings a call.
pub const BATCH: usize = 100;

/// What happened in one Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionImport {
    pub region: String,
    pub sent: usize,
    pub imported: usize,
    /// (finding Id, error code, message) of the findings Security Hub refused.
    pub failed: Vec<(String, String, String)>,
    /// The Region could not be used at all (or a batch failed as a whole).
    pub error: Option<String>,
}

impl RegionImport {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.failed.is_empty() && self.imported == self.sent
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(rename = "SuccessCount", default)]
    success: usize,
    #[serde(rename = "FailedFindings", default)]
    failed: Vec<Failed>,
}

#[derive(Debug, Deserialize)]
struct Failed {
    #[serde(rename = "Id", default)]
    id: String,
    #[serde(rename = "ErrorCode", default)]
    code: String,
    #[serde(rename = "ErrorMessage", default)]
    message: String,
}

fn parse(response: &HttpResponse) -> Result<Answer, OrchestratorError<ApiError>> {
    if !response.status().is_success() {
        return Err(OrchestratorError::operation(ApiError::new(
            parse_json_error(response),
        )));
    }
    serde_json::from_str(body_text(response)).map_err(|e| {
        OrchestratorError::operation(ApiError::unreadable(format!(
            "unreadable BatchImportFindings answer: {e}"
        )))
    })
}

/// Imports `findings` (region, ASFF object), Region by Region, in batches of [`BATCH`].
pub async fn import(config: &SdkConfig, findings: Vec<(String, Value)>) -> Vec<RegionImport> {
    let mut by_region: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (region, f) in findings {
        by_region.entry(region).or_default().push(f);
    }
    let mut out = Vec::new();
    for (region, findings) in by_region {
        let mut report = RegionImport {
            region: region.clone(),
            sent: findings.len(),
            imported: 0,
            failed: Vec::new(),
            error: None,
        };
        let endpoint = endpoint_url(config, "SecurityHub").unwrap_or_else(|| {
            let (suffix, _) = partition_suffixes(&region);
            format!("https://securityhub.{region}.{suffix}")
        });
        for batch in findings.chunks(BATCH) {
            let call = Call {
                service: "securityhub",
                operation: "BatchImportFindings",
                endpoint: endpoint.clone(),
                signing_region: region.clone(),
                content_type: "application/json",
                target: None,
                path: "/findings/import",
                body: serde_json::json!({ "Findings": batch }).to_string(),
            };
            match call.send(config, parse).await {
                Ok(answer) => {
                    report.imported += answer.success;
                    report
                        .failed
                        .extend(answer.failed.into_iter().map(|f| (f.id, f.code, f.message)));
                }
                Err(e) => {
                    // The Region cannot be used (not enabled, no permission): its other
                    // batches would fail alike.
                    report.error = Some(describe("securityhub:BatchImportFindings", &e));
                    break;
                }
            }
        }
        out.push(report);
    }
    out
}
