//! Security Hub `BatchImportFindings` (`trailseal audit --security-hub`): ASFF findings (built
//! by trailseal-report) imported into each finding's Region, in batches of 100 (the API's
//! limit), as a thin signed REST-JSON request ([`crate::signed::Call`]: one operation does not
//! pay for `aws-sdk-securityhub`). The SDK's standard retries apply (throttling, 5xx).
//!
//! A Region where Security Hub cannot be used (not enabled: `InvalidAccessException`; no
//! permission: `AccessDeniedException`) is reported for that Region and the other Regions are
//! still imported. Findings the API refuses one by one come back in `FailedFindings` and are
//! reported with their error. A finding that passes now is sent with `RecordState` ARCHIVED, so
//! that Security Hub archives it (same `Id` as when it failed); trailseal's active findings of
//! the evaluated checks that the run no longer reports (a trail deleted) are archived too
//! (GetFindings, then BatchImportFindings).

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use serde::Deserialize;
use serde_json::Value;

use crate::error::describe;
use crate::signed::{endpoint_url, parse_json, partition_suffixes, Call};

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
    /// Earlier findings of trails this run no longer reports, archived.
    pub archived: usize,
    /// (finding Id, error code, message) of archivings Security Hub refused.
    pub archive_failed: Vec<(String, String, String)>,
    /// Looking for earlier findings, or archiving them, failed as a whole.
    pub archive_error: Option<String>,
}

impl RegionImport {
    /// Everything imported and archived.
    pub fn ok(&self) -> bool {
        self.error.is_none()
            && self.failed.is_empty()
            && self.imported == self.sent
            && self.archive_failed.is_empty()
            && self.archive_error.is_none()
    }
}

/// An earlier finding, archived: the fields trailseal writes (not Security Hub's own), with
/// `RecordState` ARCHIVED and `UpdatedAt` now.
fn archived(f: &Value, now: &str) -> Value {
    let mut out = serde_json::Map::new();
    for key in [
        "SchemaVersion",
        "Id",
        "ProductArn",
        "ProductName",
        "CompanyName",
        "GeneratorId",
        "AwsAccountId",
        "Types",
        "CreatedAt",
        "Severity",
        "Title",
        "Description",
        "Remediation",
        "Resources",
        "Compliance",
        "Region",
    ] {
        if let Some(v) = f.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    out.insert("UpdatedAt".to_owned(), Value::from(now));
    out.insert("RecordState".to_owned(), Value::from("ARCHIVED"));
    Value::Object(out)
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

/// BatchImportFindings of one batch in `region`.
fn import_call(endpoint: &str, region: &str, batch: &[Value]) -> Call {
    Call {
        service: "securityhub",
        operation: "BatchImportFindings",
        endpoint: endpoint.to_owned(),
        signing_region: region.to_owned(),
        content_type: "application/json",
        target: None,
        path: "/findings/import",
        body: serde_json::json!({ "Findings": batch }).to_string(),
    }
}

/// One page of GetFindings.
#[derive(Debug, Deserialize)]
struct FindingsPage {
    #[serde(rename = "Findings", default)]
    findings: Vec<Value>,
    #[serde(rename = "NextToken", default)]
    next: Option<String>,
}

/// The ACTIVE findings of `product_arn` in the Region (GetFindings, every page), filtered
/// again here (an emulator may ignore filters).
async fn active_findings(
    config: &SdkConfig,
    endpoint: &str,
    region: &str,
    product_arn: &str,
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10_000 {
        let mut body = serde_json::json!({
            "Filters": {
                "ProductArn": [{"Value": product_arn, "Comparison": "EQUALS"}],
                "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
            },
            "MaxResults": 100,
        });
        if let Some(t) = &token {
            body["NextToken"] = Value::from(t.as_str());
        }
        let call = Call {
            service: "securityhub",
            operation: "GetFindings",
            endpoint: endpoint.to_owned(),
            signing_region: region.to_owned(),
            content_type: "application/json",
            target: None,
            path: "/findings",
            body: body.to_string(),
        };
        let page = call
            .send(config, |r| parse_json::<FindingsPage>(r, "GetFindings"))
            .await
            .map_err(|e| describe("securityhub:GetFindings", &e))?;
        out.extend(
            page.findings
                .into_iter()
                .filter(|f| f["ProductArn"] == product_arn && f["RecordState"] == "ACTIVE"),
        );
        match page.next {
            Some(t) if !t.is_empty() && Some(&t) != token.as_ref() => token = Some(t),
            _ => return Ok(out),
        }
    }
    Ok(out)
}

/// Imports `findings` (region, ASFF object), Region by Region, in batches of [`BATCH`]. Then,
/// in each Region, trailseal's ACTIVE findings of a check this run evaluated that the run no
/// longer reports (a trail deleted, a key gone) are archived: re-imported with `RecordState`
/// ARCHIVED, so that Security Hub does not keep showing what is no longer there.
pub async fn import(
    config: &SdkConfig,
    findings: Vec<(String, Value)>,
    archive_in: &std::collections::BTreeSet<String>,
) -> Vec<RegionImport> {
    let reported: std::collections::BTreeSet<String> = findings
        .iter()
        .filter_map(|(_, f)| f["Id"].as_str().map(str::to_owned))
        .collect();
    let checks: std::collections::BTreeSet<String> = findings
        .iter()
        .filter_map(|(_, f)| f["GeneratorId"].as_str().map(str::to_owned))
        .collect();
    let now = findings
        .first()
        .and_then(|(_, f)| f["UpdatedAt"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut by_region: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (region, f) in findings {
        by_region.entry(region).or_default().push(f);
    }
    let mut out = Vec::new();
    for (region, findings) in by_region {
        let product_arn = findings
            .first()
            .and_then(|f| f["ProductArn"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut report = RegionImport {
            region: region.clone(),
            sent: findings.len(),
            imported: 0,
            failed: Vec::new(),
            error: None,
            archived: 0,
            archive_failed: Vec::new(),
            archive_error: None,
        };
        let endpoint = endpoint_url(config, "SecurityHub").unwrap_or_else(|| {
            let (suffix, _) = partition_suffixes(&region);
            format!("https://securityhub.{region}.{suffix}")
        });
        for batch in findings.chunks(BATCH) {
            match import_call(&endpoint, &region, batch)
                .send(config, |r| parse_json::<Answer>(r, "BatchImportFindings"))
                .await
            {
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
        // Archiving needs the Region's trails read in full this run: a trail not reported
        // because its Region was not audited, or could not be listed, is unknown, not gone.
        if report.error.is_none() && !now.is_empty() && archive_in.contains(&region) {
            match active_findings(config, &endpoint, &region, &product_arn).await {
                Ok(active) => {
                    let stale: Vec<Value> = active
                        .into_iter()
                        .filter(|f| {
                            let id = f["Id"].as_str().unwrap_or_default();
                            id.starts_with("trailseal/")
                                && !reported.contains(id)
                                && f["GeneratorId"]
                                    .as_str()
                                    .is_some_and(|g| checks.contains(g))
                                && f["Resources"][0]["Type"] == "AwsCloudTrailTrail"
                        })
                        .map(|f| archived(&f, &now))
                        .collect();
                    for batch in stale.chunks(BATCH) {
                        match import_call(&endpoint, &region, batch)
                            .send(config, |r| parse_json::<Answer>(r, "BatchImportFindings"))
                            .await
                        {
                            Ok(answer) => {
                                report.archived += answer.success;
                                report.archive_failed.extend(
                                    answer.failed.into_iter().map(|f| (f.id, f.code, f.message)),
                                );
                            }
                            Err(e) => {
                                report.archive_error = Some(describe(
                                    "securityhub:BatchImportFindings (archiving)",
                                    &e,
                                ));
                                break;
                            }
                        }
                    }
                }
                Err(e) => report.archive_error = Some(e),
            }
        }
        out.push(report);
    }
    out
}
