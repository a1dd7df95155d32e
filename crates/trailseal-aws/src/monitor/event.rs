//! The events the monitor function is invoked with, read into a [`Trigger`]. Pure: no AWS.
//!
//! - AWS Config custom rule invocations (AWS Config Developer Guide, "Example Events for AWS
//!   Config Rules"): `invokingEvent` is a JSON *string* whose `messageType` is
//!   `ConfigurationItemChangeNotification` (with the `configurationItem`),
//!   `OversizedConfigurationItemChangeNotification` (with a `configurationItemSummary`) or
//!   `ScheduledNotification`; `resultToken` is what PutEvaluations must send back.
//! - EventBridge events of CloudTrail management events (`detail-type` "AWS API Call via
//!   CloudTrail"): `detail.eventName`, `detail.requestParameters`, `detail.userIdentity`.

use serde_json::Value;

/// The CloudTrail management events that can break the control, by service: the EventBridge
/// rule of `trailseal monitor --emit` matches exactly these.
pub const CLOUDTRAIL_EVENTS: &[&str] =
    &["CreateTrail", "UpdateTrail", "DeleteTrail", "StopLogging"];
pub const KMS_EVENTS: &[&str] = &[
    "PutKeyPolicy",
    "DisableKey",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "DeleteAlias",
    "UpdateAlias",
    // The key goes to PendingImport (TS003).
    "DeleteImportedKeyMaterial",
];
/// S3 calls that can stop delivery (TS014: the bucket policy must let CloudTrail write).
pub const S3_EVENTS: &[&str] = &["PutBucketPolicy", "DeleteBucketPolicy"];

/// The resource type of the Config rule's scope.
pub const TRAIL_RESOURCE_TYPE: &str = "AWS::CloudTrail::Trail";

/// What the function was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// AWS Config: evaluate one trail (a configuration item changed).
    ConfigChange {
        result_token: String,
        account: String,
        region: String,
        /// `resourceId` as Config records it: evaluations name the resource with it.
        resource_id: String,
        resource_name: Option<String>,
        arn: Option<String>,
        resource_type: String,
        /// `configurationItemStatus` is ResourceDeleted / ResourceDeletedNotRecorded.
        deleted: bool,
        /// `configurationItemCaptureTime`: the evaluations' ordering timestamp.
        captured_at: String,
        /// `eventLeftScope`: the resource is no longer in the rule's scope (NOT_APPLICABLE).
        left_scope: bool,
    },
    /// AWS Config, periodic: evaluate every trail of the account in the function's Region.
    ConfigScheduled {
        result_token: String,
        account: String,
        notified_at: String,
    },
    /// EventBridge: an API call that can break the control.
    ApiCall(ApiCall),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    pub event_name: String,
    /// `cloudtrail.amazonaws.com` or `kms.amazonaws.com`.
    pub event_source: String,
    pub account: String,
    pub region: String,
    pub event_time: String,
    /// `userIdentity.arn`, when the event has one.
    pub caller: Option<String>,
    /// The trail (name or ARN) of a CloudTrail call.
    pub trail: Option<String>,
    /// The key (id, ARN, alias name or alias ARN) of a KMS call; for UpdateAlias the new
    /// target.
    pub key: Option<String>,
    /// The alias of DeleteAlias / UpdateAlias.
    pub alias: Option<String>,
    /// `detail.resources[].ARN`: CloudTrail names the key of a KMS call by its full ARN there
    /// (the request may name it by id or alias).
    pub resources: Vec<String>,
    /// The bucket of an S3 call.
    pub bucket: Option<String>,
    /// `errorCode`: the call failed and changed nothing.
    pub error_code: Option<String>,
}

impl Trigger {
    /// The account the event is about.
    pub fn account(&self) -> &str {
        match self {
            Trigger::ConfigChange { account, .. } | Trigger::ConfigScheduled { account, .. } => {
                account
            }
            Trigger::ApiCall(call) => &call.account,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Trigger::ConfigChange {
                resource_id,
                deleted,
                ..
            } => format!(
                "AWS Config: configuration change of {resource_id}{}",
                if *deleted { " (deleted)" } else { "" }
            ),
            Trigger::ConfigScheduled { .. } => "AWS Config: periodic evaluation".to_owned(),
            Trigger::ApiCall(call) => call.describe(),
        }
    }
}

impl ApiCall {
    /// `EVENT by CALLER in REGION at TIME`.
    pub fn describe(&self) -> String {
        format!(
            "{} by {} in {} at {}",
            self.event_name,
            self.caller.as_deref().unwrap_or("an unknown caller"),
            self.region,
            self.event_time
        )
    }
}

/// Why an event cannot be handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventError(pub String);

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn required<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, EventError> {
    text(v, key).ok_or_else(|| EventError(format!("{what} has no {key:?}")))
}

/// Reads an invocation event.
pub fn parse(event: &Value) -> Result<Trigger, EventError> {
    if event.get("invokingEvent").is_some() {
        return parse_config(event);
    }
    if event.get("detail-type").is_some() {
        return parse_api_call(event);
    }
    Err(EventError(
        "neither an AWS Config rule invocation (no invokingEvent) nor an EventBridge event \
         (no detail-type)"
            .into(),
    ))
}

fn parse_config(event: &Value) -> Result<Trigger, EventError> {
    let what = "the AWS Config event";
    let invoking: Value = match event.get("invokingEvent") {
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|e| EventError(format!("{what}: invokingEvent is not JSON: {e}")))?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => {
            return Err(EventError(format!(
                "{what}: invokingEvent is not a JSON string"
            )))
        }
    };
    let result_token = required(event, "resultToken", what)?.to_owned();
    let event_account = text(event, "accountId");
    let message_type = required(&invoking, "messageType", "invokingEvent")?;
    match message_type {
        "ScheduledNotification" => Ok(Trigger::ConfigScheduled {
            result_token,
            account: text(&invoking, "awsAccountId")
                .or(event_account)
                .ok_or_else(|| EventError(format!("{what} names no account")))?
                .to_owned(),
            notified_at: required(&invoking, "notificationCreationTime", "invokingEvent")?
                .to_owned(),
        }),
        "ConfigurationItemChangeNotification" | "OversizedConfigurationItemChangeNotification" => {
            let item = invoking
                .get("configurationItem")
                .filter(|v| v.is_object())
                .or_else(|| invoking.get("configurationItemSummary"))
                .filter(|v| v.is_object())
                .ok_or_else(|| {
                    EventError(format!(
                        "{what}: {message_type} without a configuration item"
                    ))
                })?;
            let item_what = "the configuration item";
            let status = text(item, "configurationItemStatus").unwrap_or("OK");
            Ok(Trigger::ConfigChange {
                result_token,
                account: text(item, "awsAccountId")
                    .or(event_account)
                    .ok_or_else(|| EventError(format!("{what} names no account")))?
                    .to_owned(),
                region: required(item, "awsRegion", item_what)?.to_owned(),
                resource_id: required(item, "resourceId", item_what)?.to_owned(),
                resource_name: text(item, "resourceName").map(str::to_owned),
                arn: text(item, "ARN").map(str::to_owned),
                resource_type: required(item, "resourceType", item_what)?.to_owned(),
                deleted: matches!(status, "ResourceDeleted" | "ResourceDeletedNotRecorded"),
                captured_at: text(item, "configurationItemCaptureTime")
                    .or(text(&invoking, "notificationCreationTime"))
                    .ok_or_else(|| EventError(format!("{item_what} has no capture time")))?
                    .to_owned(),
                left_scope: event.get("eventLeftScope").and_then(Value::as_bool) == Some(true),
            })
        }
        other => Err(EventError(format!(
            "{what}: message type {other:?} is not one this rule handles"
        ))),
    }
}

fn parse_api_call(event: &Value) -> Result<Trigger, EventError> {
    let what = "the EventBridge event";
    let detail_type = required(event, "detail-type", what)?;
    if detail_type != "AWS API Call via CloudTrail" {
        return Err(EventError(format!(
            "{what}: detail-type {detail_type:?} is not \"AWS API Call via CloudTrail\""
        )));
    }
    let detail = event
        .get("detail")
        .ok_or_else(|| EventError(format!("{what} has no detail")))?;
    let event_name = required(detail, "eventName", "its detail")?.to_owned();
    let event_source = required(detail, "eventSource", "its detail")?.to_owned();
    let known = match event_source.as_str() {
        "cloudtrail.amazonaws.com" => CLOUDTRAIL_EVENTS.contains(&event_name.as_str()),
        "kms.amazonaws.com" => KMS_EVENTS.contains(&event_name.as_str()),
        "s3.amazonaws.com" => S3_EVENTS.contains(&event_name.as_str()),
        _ => false,
    };
    if !known {
        return Err(EventError(format!(
            "{what}: {event_source} {event_name} is not an event this monitor handles"
        )));
    }
    let params = detail.get("requestParameters").unwrap_or(&Value::Null);
    let response = detail.get("responseElements").unwrap_or(&Value::Null);
    let account = text(event, "account")
        .or_else(|| detail.get("recipientAccountId").and_then(Value::as_str))
        .ok_or_else(|| EventError(format!("{what} names no account")))?
        .to_owned();
    let region = text(detail, "awsRegion")
        .or(text(event, "region"))
        .ok_or_else(|| EventError(format!("{what} names no Region")))?
        .to_owned();
    Ok(Trigger::ApiCall(ApiCall {
        trail: text(response, "trailARN")
            .or(text(params, "name"))
            .map(str::to_owned),
        key: text(params, "targetKeyId")
            .or(text(params, "keyId"))
            .map(str::to_owned),
        alias: text(params, "aliasName").map(str::to_owned),
        resources: detail
            .get("resources")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|r| text(r, "ARN").or(text(r, "arn")))
                    .filter(|a| a.starts_with("arn:") && a.contains(":kms:"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        bucket: text(params, "bucketName").map(str::to_owned),
        caller: detail
            .get("userIdentity")
            .and_then(|u| text(u, "arn"))
            .map(str::to_owned),
        event_time: text(detail, "eventTime")
            .or(text(event, "time"))
            .unwrap_or_default()
            .to_owned(),
        error_code: text(detail, "errorCode").map(str::to_owned),
        event_name,
        event_source,
        account,
        region,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// "Example Events for AWS Config Rules" (AWS Config Developer Guide): a configuration
    /// item change notification; invokingEvent is a string of JSON.
    #[test]
    fn reads_a_configuration_change_invocation() {
        let invoking = json!({
            "configurationItem": {
                "configurationItemCaptureTime": "2016-02-17T01:36:34.043Z",
                "awsAccountId": "123456789012",
                "configurationItemStatus": "OK",
                "resourceId": "main",
                "resourceName": "main",
                "ARN": "arn:aws:cloudtrail:us-east-2:123456789012:trail/main",
                "awsRegion": "us-east-2",
                "resourceType": "AWS::CloudTrail::Trail"
            },
            "notificationCreationTime": "2016-02-17T01:36:34.043Z",
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.2"
        });
        let event = json!({
            "invokingEvent": invoking.to_string(),
            "ruleParameters": "{}",
            "resultToken": "myResultToken",
            "eventLeftScope": false,
            "configRuleName": "change-triggered-config-rule",
            "accountId": "123456789012",
            "version": "1.0"
        });
        let Trigger::ConfigChange {
            result_token,
            resource_id,
            arn,
            region,
            deleted,
            captured_at,
            ..
        } = parse(&event).unwrap()
        else {
            panic!("not a change");
        };
        assert_eq!(result_token, "myResultToken");
        assert_eq!(resource_id, "main");
        assert_eq!(
            arn.as_deref(),
            Some("arn:aws:cloudtrail:us-east-2:123456789012:trail/main")
        );
        assert_eq!(region, "us-east-2");
        assert!(!deleted);
        assert_eq!(captured_at, "2016-02-17T01:36:34.043Z");
        // The oversized form carries a summary instead of the item.
        let mut oversized = invoking.clone();
        oversized["messageType"] = "OversizedConfigurationItemChangeNotification".into();
        oversized["configurationItemSummary"] = oversized["configurationItem"].take();
        oversized["configurationItemSummary"]["configurationItemStatus"] = "ResourceDeleted".into();
        let mut e = event.clone();
        e["invokingEvent"] = oversized.to_string().into();
        assert!(matches!(
            parse(&e),
            Ok(Trigger::ConfigChange { deleted: true, .. })
        ));
        // No result token: PutEvaluations could not answer it.
        let mut e = event;
        e.as_object_mut().unwrap().remove("resultToken");
        assert!(parse(&e).unwrap_err().0.contains("resultToken"));
    }

    #[test]
    fn reads_a_scheduled_invocation() {
        let event = json!({
            "invokingEvent": json!({
                "awsAccountId": "123456789012",
                "notificationCreationTime": "2016-07-13T21:50:00.373Z",
                "messageType": "ScheduledNotification",
                "recordVersion": "1.0"
            }).to_string(),
            "ruleParameters": "{}",
            "resultToken": "t",
            "accountId": "123456789012"
        });
        assert_eq!(
            parse(&event).unwrap(),
            Trigger::ConfigScheduled {
                result_token: "t".into(),
                account: "123456789012".into(),
                notified_at: "2016-07-13T21:50:00.373Z".into()
            }
        );
    }

    /// EventBridge "AWS API Call via CloudTrail" events (their `detail` is the CloudTrail
    /// record): the trail or key each call names, the alias of alias calls, failed calls.
    #[test]
    fn reads_the_api_calls_that_can_break_the_control() {
        let event = |source: &str, name: &str, params: Value| {
            json!({
                "version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail",
                "source": source, "account": "123456789012", "time": "2026-11-30T10:00:00Z",
                "region": "eu-west-1", "resources": [],
                "detail": {
                    "eventSource": format!("{}.amazonaws.com", source.trim_start_matches("aws.")),
                    "eventName": name, "awsRegion": "eu-west-1",
                    "eventTime": "2026-11-30T09:59:58Z",
                    "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Ops/alice"},
                    "requestParameters": params
                }
            })
        };
        let call = |e: Value| match parse(&e).unwrap() {
            Trigger::ApiCall(c) => c,
            other => panic!("{other:?}"),
        };
        let c = call(event(
            "aws.cloudtrail",
            "StopLogging",
            json!({"name": "main"}),
        ));
        assert_eq!(
            (c.trail.as_deref(), c.region.as_str()),
            (Some("main"), "eu-west-1")
        );
        assert_eq!(
            c.caller.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/Ops/alice")
        );
        let c = call(event(
            "aws.kms",
            "ScheduleKeyDeletion",
            json!({"keyId": "1234abcd", "pendingWindowInDays": 7}),
        ));
        assert_eq!(c.key.as_deref(), Some("1234abcd"));
        let c = call(event(
            "aws.kms",
            "UpdateAlias",
            json!({"aliasName": "alias/logs", "targetKeyId": "5678"}),
        ));
        assert_eq!(
            (c.alias.as_deref(), c.key.as_deref()),
            (Some("alias/logs"), Some("5678"))
        );
        let mut failed = event("aws.kms", "DisableKey", json!({"keyId": "1234abcd"}));
        failed["detail"]["errorCode"] = "AccessDenied".into();
        assert_eq!(call(failed).error_code.as_deref(), Some("AccessDenied"));
        // Calls outside the rule's list, and other detail types, are refused by name.
        assert!(parse(&event("aws.kms", "Decrypt", json!({}))).is_err());
        let mut other = event("aws.kms", "DisableKey", json!({}));
        other["detail-type"] = "AWS Service Event via CloudTrail".into();
        assert!(parse(&other).is_err());
        for name in CLOUDTRAIL_EVENTS {
            assert!(
                parse(&event("aws.cloudtrail", name, json!({"name": "t"}))).is_ok(),
                "{name}"
            );
        }
        for name in KMS_EVENTS {
            assert!(
                parse(&event("aws.kms", name, json!({"keyId": "k"}))).is_ok(),
                "{name}"
            );
        }
    }
}
