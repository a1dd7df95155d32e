//! The monitor's AWS calls besides the collection: AWS Config (PutEvaluations,
//! ListDiscoveredResources, StartConfigRulesEvaluation; JSON 1.1) and SNS (Publish; Query),
//! each a thin signed request ([`crate::signed::Call`]: two services, four operations, no SDK
//! crate).

use aws_config::SdkConfig;
use serde::Deserialize;
use serde_json::Value;

use super::event::{Trigger, TRAIL_RESOURCE_TYPE};
use super::{Outcome, Settings};
use crate::error::describe;
use crate::iam::encode;
use crate::signed::{endpoint_url, parse_json, partition_suffixes, query_body, Call};

#[derive(Debug, Deserialize)]
pub(super) struct DiscoveredPage {
    #[serde(rename = "resourceIdentifiers", default)]
    resources: Vec<Discovered>,
    #[serde(rename = "nextToken", default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Discovered {
    #[serde(rename = "resourceId")]
    pub(super) id: String,
    #[serde(rename = "resourceName", default)]
    pub(super) name: Option<String>,
    #[serde(rename = "resourceDeletionTime", default)]
    pub(super) deleted: Option<Value>,
}

/// Asks AWS Config to re-run the rule now (StartConfigRulesEvaluation): a key or bucket change
/// is no configuration change of a trail.
pub(super) async fn start_rule_evaluation(
    config: &SdkConfig,
    settings: &Settings,
    outcome: &mut Outcome,
) {
    let Some(rule) = &settings.config_rule else {
        return;
    };
    let sent = config_call(
        config,
        settings,
        "StartConfigRulesEvaluation",
        serde_json::json!({ "ConfigRuleNames": [rule] }).to_string(),
    )
    .send(config, |r| {
        parse_json::<Value>(r, "StartConfigRulesEvaluation")
    })
    .await;
    outcome.notes.push(match sent {
        Ok(_) => format!("AWS Config re-evaluates {rule} now"),
        Err(e) => format!(
            "AWS Config could not be asked to re-evaluate {rule} (it will at its next periodic \
             run): {}",
            describe("config:StartConfigRulesEvaluation", &e)
        ),
    });
}

/// One AWS Config call (JSON 1.1) in the function's Region.
fn config_call(
    config: &SdkConfig,
    settings: &Settings,
    operation: &'static str,
    body: String,
) -> Call {
    Call {
        service: "config",
        operation,
        endpoint: config_endpoint(config, &settings.region),
        signing_region: settings.region.clone(),
        content_type: "application/x-amz-json-1.1",
        target: Some(format!("StarlingDoveService.{operation}")),
        path: "/",
        body,
    }
}

fn config_endpoint(config: &SdkConfig, region: &str) -> String {
    endpoint_url(config, "Config Service")
        .unwrap_or_else(|| format!("https://config.{region}.{}", partition_suffixes(region).0))
}

pub(super) async fn discovered_trails(
    config: &SdkConfig,
    settings: &Settings,
) -> Result<Vec<Discovered>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..1000 {
        let mut body = serde_json::json!({
            "resourceType": TRAIL_RESOURCE_TYPE,
            "includeDeletedResources": true,
            "limit": 100,
        });
        if let Some(t) = &token {
            body["nextToken"] = Value::from(t.as_str());
        }
        let page = config_call(
            config,
            settings,
            "ListDiscoveredResources",
            body.to_string(),
        )
        .send(config, |r| {
            parse_json::<DiscoveredPage>(r, "ListDiscoveredResources")
        })
        .await
        .map_err(|e| describe("config:ListDiscoveredResources", &e))?;
        out.extend(page.resources);
        match page.next {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(out),
        }
    }
    Err("more than 1,000 pages".into())
}

/// PutEvaluations takes at most 100 evaluations a call.
const EVALUATIONS_PER_CALL: usize = 100;

#[derive(Debug, Deserialize)]
struct PutAnswer {
    #[serde(rename = "FailedEvaluations", default)]
    failed: Vec<Value>,
}

/// Sends the evaluations of a Config invocation (with its result token).
pub(super) async fn send_evaluations(
    config: &SdkConfig,
    settings: &Settings,
    trigger: &Trigger,
    outcome: &mut Outcome,
) {
    let token = match trigger {
        Trigger::ConfigChange { result_token, .. }
        | Trigger::ConfigScheduled { result_token, .. } => result_token,
        Trigger::ApiCall(_) => return,
    };
    if outcome.evaluations.is_empty() {
        outcome.evaluations_sent = true;
        return;
    }
    for batch in outcome.evaluations.chunks(EVALUATIONS_PER_CALL) {
        let body = serde_json::json!({
            "Evaluations": batch.iter().map(|e| serde_json::json!({
                "ComplianceResourceType": e.resource_type,
                "ComplianceResourceId": e.resource_id,
                "ComplianceType": e.compliance,
                "Annotation": e.annotation,
                // A timestamp of the JSON 1.1 protocol: seconds since the epoch.
                "OrderingTimestamp": epoch_seconds(&e.ordering_timestamp),
            })).collect::<Vec<_>>(),
            "ResultToken": token,
            "TestMode": settings.config_test_mode,
        });
        let answer = config_call(config, settings, "PutEvaluations", body.to_string())
            .send(config, |r| parse_json::<PutAnswer>(r, "PutEvaluations"))
            .await;
        match answer {
            Ok(a) if a.failed.is_empty() => {}
            Ok(a) => {
                outcome.delivery_failed = true;
                outcome.error = Some(format!(
                    "AWS Config refused {} evaluation(s): {}",
                    a.failed.len(),
                    Value::from(a.failed)
                ));
                return;
            }
            Err(e) => {
                outcome.delivery_failed = true;
                outcome.error = Some(describe("config:PutEvaluations", &e));
                return;
            }
        }
    }
    outcome.evaluations_sent = true;
}

/// Publishes the notification, when there is one and a topic is configured.
pub(super) async fn publish(config: &SdkConfig, settings: &Settings, outcome: &mut Outcome) {
    let Some(n) = &outcome.notification else {
        return;
    };
    let Some(topic) = &settings.topic_arn else {
        outcome
            .notes
            .push("no TRAILSEAL_SNS_TOPIC_ARN: the regression is only in this log".into());
        return;
    };
    // The topic's Region is in its ARN.
    let region = topic
        .split(':')
        .nth(3)
        .unwrap_or(&settings.region)
        .to_owned();
    let endpoint = endpoint_url(config, "SNS")
        .unwrap_or_else(|| format!("https://sns.{region}.{}", partition_suffixes(&region).0));
    let body = format!(
        "Action=Publish&Version=2010-03-31&TopicArn={}&Subject={}&Message={}",
        encode(topic),
        encode(&n.subject),
        encode(&n.message)
    );
    let sent = Call {
        service: "sns",
        operation: "Publish",
        endpoint,
        signing_region: region,
        content_type: "application/x-www-form-urlencoded; charset=utf-8",
        target: None,
        path: "/",
        body,
    }
    .send(config, |r| query_body(r).map(|_| ()))
    .await;
    match sent {
        Ok(()) => outcome.notified = true,
        Err(e) => {
            outcome.delivery_failed = true;
            let why = format!("{} (topic {topic})", describe("sns:Publish", &e));
            outcome.error = Some(match outcome.error.take() {
                Some(earlier) => format!("{earlier}; {why}"),
                None => why,
            });
        }
    }
}

/// An RFC 3339 time as seconds since the epoch (now, when it cannot be read).
fn epoch_seconds(time: &str) -> f64 {
    use aws_smithy_types::date_time::{DateTime, Format};
    DateTime::from_str(time, Format::DateTime)
        .unwrap_or_else(|_| DateTime::from(std::time::SystemTime::now()))
        .as_secs_f64()
}
