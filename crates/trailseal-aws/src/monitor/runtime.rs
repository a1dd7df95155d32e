//! The Lambda Runtime API loop (`lambda_runtime`, the AWS-maintained Rust runtime client): the
//! `bootstrap` of a `provided.al2023` function is the trailseal binary itself.
//!
//! Each invocation runs [`super::handle`] and answers with its [`super::Outcome`] (also logged
//! as one JSON line). An event that cannot be used is answered, not failed: Lambda retries a
//! failed asynchronous invocation, and a bad event would fail the same way every time. Only a
//! delivery that failed (PutEvaluations, sns:Publish: throttling, a network error) is returned
//! as an error, so that Lambda's retries can deliver it.

use aws_config::SdkConfig;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use super::{handle, Evaluate, Settings};

/// Serves invocations until the runtime stops the process.
pub async fn run(
    config: SdkConfig,
    settings: Settings,
    evaluate: Evaluate<'_>,
) -> Result<(), String> {
    let config = &config;
    let settings = &settings;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let outcome = handle(config, settings, &event.payload, evaluate).await;
        let line = serde_json::to_string(&outcome).unwrap_or_default();
        println!("{line}");
        if outcome.delivery_failed {
            return Err(outcome.error.unwrap_or_default().into());
        }
        Ok::<Value, lambda_runtime::Error>(serde_json::to_value(&outcome).unwrap_or_default())
    }))
    .await
    .map_err(|e| e.to_string())
}
