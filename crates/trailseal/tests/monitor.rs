//! `trailseal monitor`: the handler of the Lambda function on real event shapes (AWS Config
//! custom rule invocations and EventBridge "AWS API Call via CloudTrail" events, as the AWS
//! Config Developer Guide and the EventBridge User Guide show them) against moto in server
//! mode, the state changed the way each event says; and the emitted stack (cfn-lint, scan,
//! Terraform consistent with CloudFormation).
//!
//! What moto does not emulate, and how the tests deal with it:
//! - config:PutEvaluations only with `TestMode` (anything else is "not yet implemented"), and
//!   it keeps nothing: the function runs with TRAILSEAL_CONFIG_TEST_MODE=true and the tests
//!   read the evaluations it sent from moto's request recording.
//! - AWS Config does not record CloudTrail trails in moto (ListDiscoveredResources knows no
//!   AWS::CloudTrail::Trail): the periodic evaluation is tested for what it says then.
//! - SNS delivers to an SQS queue subscribed to the topic: the tests read the notification
//!   there.

mod support;

use std::path::Path;

use predicates::prelude::*;
use serde_json::{json, Value};
use support::moto::{moto, trailseal, Moto};

const ACCOUNT: &str = "123456789012";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main";

/// A bucket CloudTrail may write to, a key whose policy lets CloudTrail encrypt, the trail
/// `main` logging with it, an SNS topic with an SQS queue subscribed. Prints the key id, the
/// topic ARN and the queue URL.
fn seed(server: &Moto) -> (String, String, String) {
    let seed = format!("{}/../../scripts/seed-moto.py", env!("CARGO_MANIFEST_DIR"));
    let out = server.python_output(&format!(
        r#"
import importlib.util
spec = importlib.util.spec_from_file_location('seed', {seed:?}); seed = importlib.util.module_from_spec(spec); spec.loader.exec_module(seed)
s3 = client('s3'); kms = client('kms'); ct = client('cloudtrail'); sns = client('sns'); sqs = client('sqs')
s3.create_bucket(Bucket='logs')
s3.put_bucket_policy(Bucket='logs', Policy=json.dumps(seed.bucket_policy('logs')))
key = kms.create_key(Policy=json.dumps(seed.good_policy()))['KeyMetadata']
ct.create_trail(Name='main', S3BucketName='logs', KmsKeyId=key['Arn'], IsMultiRegionTrail=True)
ct.start_logging(Name='main')
topic = sns.create_topic(Name='alerts')['TopicArn']
queue = sqs.create_queue(QueueName='alerts')['QueueUrl']
queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint=queue_arn)
print(key['KeyId']); print(topic); print(queue)
"#
    ));
    let mut lines = out.lines().map(str::to_owned);
    let mut next = || lines.next().expect("seed output");
    (next(), next(), next())
}

/// An AWS Config custom rule invocation for a configuration change of `trail` (the shape of
/// "Example Events for AWS Config Rules": invokingEvent is a JSON string).
fn config_change(account: &str, name: &str, status: &str) -> Value {
    let item = json!({
        "configurationItemCaptureTime": "2026-11-30T10:00:00.000Z",
        "awsAccountId": account,
        "configurationItemStatus": status,
        "resourceType": "AWS::CloudTrail::Trail",
        "resourceId": name,
        "resourceName": name,
        "ARN": format!("arn:aws:cloudtrail:us-east-1:{account}:trail/{name}"),
        "awsRegion": "us-east-1",
        "availabilityZone": "Not Applicable",
        "configurationStateMd5Hash": "",
        "configuration": {"name": name, "s3BucketName": "logs"},
        "supplementaryConfiguration": {},
        "tags": {},
        "relationships": []
    });
    json!({
        "version": "1.0",
        "invokingEvent": json!({
            "configurationItem": item,
            "notificationCreationTime": "2026-11-30T10:00:01.000Z",
            "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3"
        }).to_string(),
        "ruleParameters": "{}",
        "resultToken": "myResultToken",
        "eventLeftScope": false,
        "executionRoleArn": format!("arn:aws:iam::{account}:role/config-role"),
        "configRuleArn": format!("arn:aws:config:us-east-1:{account}:config-rule/config-rule-0123456"),
        "configRuleName": "trailseal-cloudtrail-encryption",
        "configRuleId": "config-rule-0123456",
        "accountId": account
    })
}

/// An EventBridge event of a CloudTrail management event.
fn api_call(source: &str, event_source: &str, name: &str, params: Value) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "account": ACCOUNT,
        "time": "2026-11-30T10:05:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLE",
                "arn": format!("arn:aws:iam::{ACCOUNT}:user/mallory"),
                "accountId": ACCOUNT,
                "userName": "mallory"
            },
            "eventTime": "2026-11-30T10:04:58Z",
            "eventSource": event_source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.1",
            "userAgent": "aws-cli/2",
            "requestParameters": params,
            "responseElements": null,
            "requestID": "e1c1e1c1-0000-4000-8000-000000000000",
            "eventID": "e2c2e2c2-0000-4000-8000-000000000000",
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management"
        }
    })
}

/// Runs the handler once on `event`; returns the exit code and the outcome.
fn handle(server: &Moto, dir: &Path, event: &Value, topic: &str) -> (i32, Value) {
    let file = dir.join("event.json");
    std::fs::write(&file, event.to_string()).unwrap();
    let out = trailseal(server)
        .args(["monitor", "--regions", "us-east-1", "--event"])
        .arg(&file)
        .env("TRAILSEAL_CONFIG_TEST_MODE", "true")
        .env("TRAILSEAL_FAIL_ON", "critical")
        .env("TRAILSEAL_SNS_TOPIC_ARN", topic)
        .output()
        .unwrap();
    let outcome: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no outcome ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), outcome)
}

/// The notifications that reached the queue (SNS envelopes' Subject and Message).
fn notifications(server: &Moto, queue: &str) -> Vec<(String, String)> {
    let out = server.python_output(&format!(
        r#"
sqs = client('sqs')
got = sqs.receive_message(QueueUrl={queue:?}, MaxNumberOfMessages=10, WaitTimeSeconds=0).get('Messages', [])
for m in got:
    body = json.loads(m['Body'])
    print(json.dumps([body.get('Subject', ''), body.get('Message', '')]))
"#
    ));
    out.lines()
        .map(|l| serde_json::from_str::<(String, String)>(l).expect("notification line"))
        .collect()
}

/// The PutEvaluations requests moto recorded: their Evaluations.
fn sent_evaluations(server: &Moto) -> Vec<Value> {
    server
        .recorded()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| {
            r["headers"]["X-Amz-Target"] == "StarlingDoveService.PutEvaluations"
                || r["headers"]["x-amz-target"] == "StarlingDoveService.PutEvaluations"
        })
        .filter_map(|r| {
            use base64::Engine as _;
            let body = r["body"].as_str()?;
            let body = if r["body_encoded"] == true {
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .ok()?
            } else {
                body.as_bytes().to_vec()
            };
            serde_json::from_slice::<Value>(&body).ok()
        })
        .flat_map(|b| b["Evaluations"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[test]
fn config_and_eventbridge_events_re_evaluate_and_notify_on_a_regression() {
    let (_guard, server) = moto();
    let dir = tempfile::tempdir().unwrap();
    let (key_id, topic, queue) = seed(server);

    // A configuration change of the trail while all is well: COMPLIANT, sent to Config.
    server.start_recording();
    let (code, outcome) = handle(
        server,
        dir.path(),
        &config_change(ACCOUNT, "main", "OK"),
        &topic,
    );
    server.stop_recording();
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(
        outcome["evaluations"][0]["compliance"], "COMPLIANT",
        "{outcome:#}"
    );
    assert_eq!(outcome["evaluations"][0]["trail"], TRAIL);
    assert_eq!(outcome["evaluations_sent"], true);
    let sent = sent_evaluations(server);
    assert_eq!(sent.len(), 1, "{}", server.recorded());
    assert_eq!(sent[0]["ComplianceType"], "COMPLIANT");
    assert_eq!(sent[0]["ComplianceResourceType"], "AWS::CloudTrail::Trail");
    assert_eq!(sent[0]["ComplianceResourceId"], "main");
    assert!(notifications(server, &queue).is_empty());

    // DisableKey, then its EventBridge event: the trail is broken, the topic is told.
    server.python(&format!("client('kms').disable_key(KeyId={key_id:?})"));
    let event = api_call(
        "aws.kms",
        "kms.amazonaws.com",
        "DisableKey",
        json!({"keyId": key_id}),
    );
    let (code, outcome) = handle(server, dir.path(), &event, &topic);
    assert_eq!(code, 1, "{outcome:#}");
    assert_eq!(outcome["trails"][0]["arn"], TRAIL);
    assert_eq!(outcome["trails"][0]["compliance"], "NON_COMPLIANT");
    let problems = outcome["trails"][0]["problems"].to_string();
    assert!(problems.contains("TS003 fail"), "{problems}");
    assert_eq!(outcome["notified"], true, "{outcome:#}");
    let got = notifications(server, &queue);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.contains("DisableKey"), "{got:?}");
    assert!(
        got[0]
            .1
            .contains("by arn:aws:iam::123456789012:user/mallory"),
        "{got:?}"
    );
    assert!(got[0].1.contains(TRAIL), "{got:?}");

    // Config's next change notification of the trail: NON_COMPLIANT with the code.
    server.start_recording();
    let (code, _) = handle(
        server,
        dir.path(),
        &config_change(ACCOUNT, "main", "OK"),
        &topic,
    );
    server.stop_recording();
    assert_eq!(code, 1);
    let sent = sent_evaluations(server);
    assert_eq!(sent[0]["ComplianceType"], "NON_COMPLIANT");
    assert!(
        sent[0]["Annotation"]
            .as_str()
            .unwrap()
            .starts_with("TS003 fail"),
        "{sent:?}"
    );

    // EnableKey is no event of the rule; CancelKeyDeletion-style fixes notify nothing.
    server.python(&format!("client('kms').enable_key(KeyId={key_id:?})"));
    let event = api_call(
        "aws.kms",
        "kms.amazonaws.com",
        "CancelKeyDeletion",
        json!({"keyId": key_id}),
    );
    let (code, outcome) = handle(server, dir.path(), &event, &topic);
    assert_eq!(code, 0, "{outcome:#}");
    assert!(outcome["notification"].is_null());
    assert!(notifications(server, &queue).is_empty());

    // DeleteTrail of the only trail: us-east-1 is no longer logged.
    server.python("client('cloudtrail').delete_trail(Name='main')");
    let event = api_call(
        "aws.cloudtrail",
        "cloudtrail.amazonaws.com",
        "DeleteTrail",
        json!({"name": "main"}),
    );
    let (code, outcome) = handle(server, dir.path(), &event, &topic);
    assert_eq!(code, 1, "{outcome:#}");
    let got = notifications(server, &queue);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].1.contains("Regions not logged by any trail now"),
        "{got:?}"
    );
    assert!(got[0].1.contains("us-east-1"), "{got:?}");

    // Config's notice that the trail was deleted: NOT_APPLICABLE, as Config expects.
    let (code, outcome) = handle(
        server,
        dir.path(),
        &config_change(ACCOUNT, "main", "ResourceDeleted"),
        &topic,
    );
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["evaluations"][0]["compliance"], "NOT_APPLICABLE");
}

#[test]
fn events_that_cannot_be_decided_are_never_compliant_and_never_crash() {
    let (_guard, server) = moto();
    let dir = tempfile::tempdir().unwrap();
    let (_key, topic, _queue) = seed(server);

    // From another account: an error, and Config hears NON_COMPLIANT with the reason.
    let (code, outcome) = handle(
        server,
        dir.path(),
        &config_change("999999999999", "main", "OK"),
        &topic,
    );
    assert_eq!(code, 2, "{outcome:#}");
    assert_eq!(outcome["evaluations"][0]["compliance"], "NON_COMPLIANT");
    let annotation = outcome["evaluations"][0]["annotation"].as_str().unwrap();
    assert!(
        annotation.starts_with("cannot be decided: the event is about account 999999999999"),
        "{annotation}"
    );
    assert_eq!(outcome["evaluations_sent"], true);

    // A trail Config still names that is gone (its Region was read): NOT_APPLICABLE.
    let (code, outcome) = handle(
        server,
        dir.path(),
        &config_change(ACCOUNT, "gone", "OK"),
        &topic,
    );
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["evaluations"][0]["compliance"], "NOT_APPLICABLE");

    // An API call that failed changed nothing.
    let mut failed = api_call(
        "aws.cloudtrail",
        "cloudtrail.amazonaws.com",
        "StopLogging",
        json!({"name": "main"}),
    );
    failed["detail"]["errorCode"] = "AccessDenied".into();
    let (code, outcome) = handle(server, dir.path(), &failed, &topic);
    assert_eq!(code, 0, "{outcome:#}");
    assert!(outcome["notes"][0]
        .as_str()
        .unwrap()
        .contains("changed nothing"));

    // Events the function does not handle: an answer with the reason, exit 2, no crash.
    for event in [
        json!({"hello": "world"}),
        api_call("aws.kms", "kms.amazonaws.com", "Decrypt", json!({})),
        json!({"invokingEvent": "not json", "resultToken": "t"}),
    ] {
        let (code, outcome) = handle(server, dir.path(), &event, &topic);
        assert_eq!(code, 2, "{outcome:#}");
        assert!(outcome["error"].is_string(), "{outcome:#}");
        assert!(outcome["evaluations"].as_array().unwrap().is_empty());
    }

    // The periodic evaluation: moto's Config records no trails, so there is nothing Config
    // could file an evaluation under; the trail is named as not evaluated, never compliant.
    let scheduled = json!({
        "version": "1.0",
        "invokingEvent": json!({
            "awsAccountId": ACCOUNT,
            "notificationCreationTime": "2026-11-30T11:00:00.000Z",
            "messageType": "ScheduledNotification",
            "recordVersion": "1.0"
        }).to_string(),
        "ruleParameters": "{}",
        "resultToken": "myResultToken",
        "eventLeftScope": false,
        "configRuleName": "trailseal-cloudtrail-encryption",
        "accountId": ACCOUNT
    });
    let (code, outcome) = handle(server, dir.path(), &scheduled, &topic);
    let said = outcome.to_string();
    assert!(
        code == 2 || said.contains("AWS Config does not record"),
        "{outcome:#}"
    );
    assert!(!said.contains("\"COMPLIANT\""), "{outcome:#}");
}

fn emit(format: &str) -> String {
    let out = support::cli::trailseal()
        .args(["monitor", "--emit", format])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `"service:Action"` strings of a document, sorted and without repeats.
fn actions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(|c: char| c.is_whitespace() || "\"[],-".contains(c))
        .filter(|w| {
            let mut parts = w.splitn(2, ':');
            matches!((parts.next(), parts.next()), (Some(s), Some(a))
                if !s.is_empty() && s != "aws" && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && a.starts_with(|c: char| c.is_ascii_uppercase()) && a.bytes().all(|b| b.is_ascii_alphanumeric()))
        })
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn the_emitted_cloudformation_passes_cfn_lint_and_scan() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("monitor.yaml");
    std::fs::write(&template, emit("cloudformation")).unwrap();
    let validators = support::validators::dir("bin/cfn-lint");
    let out = std::process::Command::new(validators.join("bin/cfn-lint"))
        .arg(&template)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tf = dir.path().join("monitor.tf");
    std::fs::write(&tf, emit("terraform")).unwrap();
    // Both read by trailseal's own scanner: no TS000 (unreadable input), nothing failing.
    support::cli::trailseal()
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("TS000").not());
}

#[test]
fn the_emitted_terraform_has_the_resources_and_permissions_of_the_cloudformation() {
    let cfn = emit("cloudformation");
    let tf = emit("terraform");
    // The same resources, type for type.
    let pairs = [
        ("AWS::SNS::Topic", "aws_sns_topic"),
        ("AWS::SNS::Subscription", "aws_sns_topic_subscription"),
        ("AWS::Logs::LogGroup", "aws_cloudwatch_log_group"),
        ("AWS::IAM::Role", "aws_iam_role"),
        ("AWS::Lambda::Function", "aws_lambda_function"),
        ("AWS::Config::ConfigRule", "aws_config_config_rule"),
        ("AWS::Events::Rule", "aws_cloudwatch_event_rule"),
    ];
    let cfn_types: Vec<&str> = cfn
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Type: AWS::"))
        .collect();
    let tf_types: Vec<&str> = tf
        .lines()
        .filter_map(|l| l.strip_prefix("resource \"")?.split('"').next())
        .collect();
    for (c, t) in pairs {
        let in_cfn = cfn_types
            .iter()
            .filter(|x| format!("AWS::{x}") == c)
            .count();
        let in_tf = tf_types.iter().filter(|x| *x == &t).count();
        assert_eq!((c, in_cfn), (c, 1), "{cfn_types:?}");
        assert_eq!((t, in_tf), (t, 1), "{tf_types:?}");
    }
    // Lambda permissions (Config, EventBridge) and the event target.
    assert_eq!(
        cfn_types
            .iter()
            .filter(|x| **x == "Lambda::Permission")
            .count(),
        2
    );
    assert_eq!(
        tf_types
            .iter()
            .filter(|x| **x == "aws_lambda_permission")
            .count(),
        2
    );
    assert!(tf_types.contains(&"aws_iam_role_policy"));
    assert!(tf_types.contains(&"aws_cloudwatch_event_target"));
    // The same actions: the audit's read-only policy, Config reporting, SNS, logs, and the same
    // API calls in the EventBridge pattern.
    assert_eq!(actions(&cfn), actions(&tf));
    let all = actions(&cfn);
    for needed in [
        "config:PutEvaluations",
        "sns:Publish",
        "kms:GetKeyPolicy",
        "iam:GetAccountAuthorizationDetails",
        "sts:AssumeRole",
    ] {
        assert!(
            all.iter().any(|a| a == needed),
            "{needed} missing from {all:?}"
        );
    }
    for event in [
        "UpdateTrail",
        "DeleteTrail",
        "StopLogging",
        "CreateTrail",
        "PutKeyPolicy",
        "DisableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "DeleteAlias",
        "UpdateAlias",
    ] {
        assert!(cfn.contains(&format!("\"{event}\"")), "{event}");
        assert!(tf.contains(&format!("\"{event}\"")), "{event}");
    }
    // Nothing but the audit's reads and reporting on "*": no write action of a service the
    // control is about.
    for a in &all {
        let action = a.split(':').nth(1).unwrap_or_default();
        let write = [
            "Put", "Update", "Delete", "Create", "Disable", "Schedule", "Stop",
        ]
        .iter()
        .any(|w| action.starts_with(w));
        assert!(
            !write
                || a == "config:PutEvaluations"
                || a == "logs:PutLogEvents"
                || a == "logs:CreateLogStream",
            "{a} is a write"
        );
    }
}
