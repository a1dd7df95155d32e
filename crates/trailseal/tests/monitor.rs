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
        // moto delivers no log files (TS016) and its trails have no readers (TS015): at the
        // default `high` every trail here would be NON_COMPLIANT. TS001-TS006 count at any
        // threshold (tested below).
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

    // EnableKey (no event of the rule), then ScheduleKeyDeletion: notified.
    server.python(&format!(
        "kms = client('kms'); kms.enable_key(KeyId={key_id:?}); \
         kms.schedule_key_deletion(KeyId={key_id:?}, PendingWindowInDays=7)"
    ));
    let event = api_call(
        "aws.kms",
        "kms.amazonaws.com",
        "ScheduleKeyDeletion",
        json!({"keyId": key_id, "pendingWindowInDays": 7}),
    );
    let (code, outcome) = handle(server, dir.path(), &event, &topic);
    assert_eq!(code, 1, "{outcome:#}");
    assert_eq!(notifications(server, &queue).len(), 1);
    // CancelKeyDeletion leaves the key Disabled (AWS KMS: "the key state is Disabled"): still
    // not compliant, and said so; only EnableKey restores it, and the next change notifies
    // nothing.
    server.python(&format!(
        "client('kms').cancel_key_deletion(KeyId={key_id:?})"
    ));
    let event = api_call(
        "aws.kms",
        "kms.amazonaws.com",
        "CancelKeyDeletion",
        json!({"keyId": key_id}),
    );
    let (code, outcome) = handle(server, dir.path(), &event, &topic);
    assert_eq!(code, 1, "{outcome:#}");
    assert!(
        outcome["trails"][0]["problems"]
            .to_string()
            .contains("TS003 fail"),
        "{outcome:#}"
    );
    assert_eq!(notifications(server, &queue).len(), 1);
    server.python(&format!("client('kms').enable_key(KeyId={key_id:?})"));
    let event = api_call(
        "aws.kms",
        "kms.amazonaws.com",
        "PutKeyPolicy",
        json!({"keyId": key_id, "policyName": "default"}),
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

    // Config's notice that the trail was deleted: NOT_APPLICABLE, as Config expects. The
    // evaluation's OrderingTimestamp is a JSON 1.1 timestamp: seconds since the epoch.
    server.start_recording();
    let (code, outcome) = handle(
        server,
        dir.path(),
        &config_change(ACCOUNT, "main", "ResourceDeleted"),
        &topic,
    );
    assert_eq!(code, 0, "{outcome:#}");
    assert_eq!(outcome["evaluations"][0]["compliance"], "NOT_APPLICABLE");
    server.stop_recording();
    let sent = sent_evaluations(server);
    assert!(sent[0]["OrderingTimestamp"].is_number(), "{sent:?}");
    assert_eq!(sent[0]["OrderingTimestamp"].as_f64(), Some(1_796_032_800.0));
}

#[test]
fn encryption_removed_a_key_locked_away_or_an_unread_region_always_notify() {
    let (_guard, server) = moto();
    let dir = tempfile::tempdir().unwrap();
    let (key_id, topic, queue) = seed(server);

    // UpdateTrail --kms-key-id "": even at FAIL_ON=critical, TS001 (high) counts.
    server.python("client('cloudtrail').update_trail(Name='main', KmsKeyId='')");
    let event = api_call(
        "aws.cloudtrail",
        "cloudtrail.amazonaws.com",
        "UpdateTrail",
        json!({"name": "main", "kmsKeyId": ""}),
    );
    let (code, outcome) = handle(server, dir.path(), &event, &topic);
    assert_eq!(code, 1, "{outcome:#}");
    assert!(
        outcome["trails"][0]["problems"]
            .to_string()
            .contains("TS001 fail"),
        "{outcome:#}"
    );
    assert_eq!(notifications(server, &queue).len(), 1);
    let (_, outcome) = handle(
        server,
        dir.path(),
        &config_change(ACCOUNT, "main", "OK"),
        &topic,
    );
    assert_eq!(outcome["evaluations"][0]["compliance"], "NON_COMPLIANT");

    // A key policy that locks everyone out of the key (the function included), named by its
    // bare id: the trail's key can no longer be read, so it is affected and undecided.
    let key_arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}");
    server.python(&format!(
        r#"
ct = client('cloudtrail'); kms = client('kms')
ct.update_trail(Name='main', KmsKeyId={key_arn:?})
kms.put_key_policy(KeyId={key_id:?}, PolicyName='default', Policy=json.dumps({{"Version": "2012-10-17", "Statement": [
  {{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::123456789012:root"}}, "Action": "kms:*", "Resource": "*"}},
  {{"Effect": "Deny", "Principal": "*", "Action": "kms:Describe*", "Resource": "*"}}]}}))
"#
    ));
    let mut event = api_call(
        "aws.kms",
        "kms.amazonaws.com",
        "PutKeyPolicy",
        json!({"keyId": key_id, "policyName": "default"}),
    );
    event["detail"]["resources"] =
        json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn}]);
    let (code, outcome) = handle(server, dir.path(), &event, &topic);
    assert_eq!(code, 1, "{outcome:#}");
    assert_eq!(outcome["trails"][0]["arn"], TRAIL, "{outcome:#}");
    assert_eq!(outcome["trails"][0]["compliance"], "NON_COMPLIANT");
    let got = notifications(server, &queue);
    assert_eq!(got.len(), 1, "{got:?}");

    // A call in a Region the function does not read: not "deleted", undecided and notified.
    let mut event = api_call(
        "aws.cloudtrail",
        "cloudtrail.amazonaws.com",
        "StopLogging",
        json!({"name": "eu-trail"}),
    );
    event["detail"]["awsRegion"] = "eu-west-1".into();
    event["region"] = "eu-west-1".into();
    let (code, outcome) = handle(server, dir.path(), &event, &topic);
    assert_eq!(code, 2, "{outcome:#}");
    assert!(
        outcome["error"]
            .as_str()
            .unwrap()
            .contains("eu-west-1 is not among the Regions"),
        "{outcome:#}"
    );
    let got = notifications(server, &queue);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].0.contains("could not verify"), "{got:?}");
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

    // A trail in a Region the function does not read: not "deleted", undecided.
    let mut elsewhere = config_change(ACCOUNT, "eu-trail", "OK");
    let mut invoking: Value =
        serde_json::from_str(elsewhere["invokingEvent"].as_str().unwrap()).unwrap();
    invoking["configurationItem"]["awsRegion"] = "eu-west-1".into();
    elsewhere["invokingEvent"] = invoking.to_string().into();
    let (_, outcome) = handle(server, dir.path(), &elsewhere, &topic);
    assert_eq!(
        outcome["evaluations"][0]["compliance"], "NON_COMPLIANT",
        "{outcome:#}"
    );
    assert!(outcome["evaluations"][0]["annotation"]
        .as_str()
        .unwrap()
        .contains("eu-west-1 is not among the Regions"));

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
        .args(["--include-checks", "I", "--"])
        .arg(&template)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // `-o FILE` writes the same stack.
    let tf = dir.path().join("monitor.tf");
    support::cli::trailseal()
        .args(["monitor", "--emit", "terraform", "-o"])
        .arg(&tf)
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    assert_eq!(std::fs::read_to_string(&tf).unwrap(), emit("terraform"));
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
        (
            "AWS::Lambda::EventInvokeConfig",
            "aws_lambda_function_event_invoke_config",
        ),
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
    assert_eq!(
        cfn_types
            .iter()
            .filter(|x| **x == "IAM::RolePolicy")
            .count(),
        1
    );
    assert_eq!(
        tf_types
            .iter()
            .filter(|x| **x == "aws_iam_role_policy")
            .count(),
        2
    );
    // s3:GetObject only on the log files' paths, in both.
    for doc in [&cfn, &tf] {
        assert!(doc.contains(":s3:::*/AWSLogs/*"), "{doc}");
    }
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

/// A minimal Lambda Runtime API (the HTTP interface Lambda serves to a custom runtime): hands
/// out `events` one by one on `GET .../invocation/next` and records what the function posts to
/// `.../response` and `.../error`. Each connection is served on its own thread (HTTP/1.1,
/// keep-alive, Content-Length bodies).
mod runtime_api {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    pub struct State {
        pub events: Vec<String>,
        pub served: usize,
        /// (path, body) of every POST.
        pub posted: Vec<(String, String)>,
    }

    pub fn start(events: Vec<String>) -> (String, Arc<Mutex<State>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new(State {
            events,
            ..State::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        (addr, state)
    }

    fn serve(stream: TcpStream, state: &Mutex<State>) {
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            );
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 {
                    return;
                }
                if header == "\r\n" {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let response = if method == "GET" && path.ends_with("/invocation/next") {
                let next = {
                    let mut s = state.lock().unwrap();
                    let i = s.served;
                    s.served += 1;
                    s.events.get(i).cloned().map(|e| (i, e))
                };
                let Some((i, event)) = next else {
                    // No more events: keep the function waiting, as Lambda does.
                    std::thread::sleep(std::time::Duration::from_secs(600));
                    return;
                };
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    + 60_000;
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Lambda-Runtime-Aws-Request-Id: req-{i}\r\n\
                     Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:trailseal-monitor\r\n\
                     Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                     Content-Length: {}\r\n\r\n{event}",
                    event.len()
                )
            } else {
                state
                    .lock()
                    .unwrap()
                    .posted
                    .push((path, String::from_utf8_lossy(&body).into_owned()));
                "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n"
                    .to_owned()
            };
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }
}

/// The binary, started as a Lambda function's `bootstrap`, serves invocations through the
/// Runtime API: a bad event and a failed call are answered (not failed, which Lambda would
/// retry), and the function keeps polling for the next one.
#[test]
fn as_bootstrap_the_binary_answers_every_invocation_and_keeps_serving() {
    let failed_call = {
        let mut e = api_call(
            "aws.kms",
            "kms.amazonaws.com",
            "DisableKey",
            json!({"keyId": "k"}),
        );
        e["detail"]["errorCode"] = "AccessDenied".into();
        e
    };
    let (addr, state) = runtime_api::start(vec![
        json!({"hello": "world"}).to_string(),
        failed_call.to_string(),
        config_change(ACCOUNT, "main", "OK").to_string(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = dir.path().join("bootstrap");
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("trailseal"), &bootstrap).unwrap();
    let mut child = std::process::Command::new(&bootstrap)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "trailseal-monitor")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Nothing listens there: PutEvaluations fails fast.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        // A wrong setting: the function still answers, "misconfigured".
        .env("TRAILSEAL_TRUSTED_ACCOUNTS", "12345")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let posted = loop {
        let posted = state.lock().unwrap().posted.clone();
        if posted.len() >= 3 || started.elapsed() > std::time::Duration::from_secs(60) {
            break posted;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let waiting = state.lock().unwrap().served >= 4;
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(posted.len(), 3, "{posted:?} {stderr}");
    assert!(stderr.contains("misconfigured"), "{stderr}");
    // The Config change could not be delivered (PutEvaluations unreachable): an error, so
    // that Lambda retries it; the evaluation it tried to send was NON_COMPLIANT, misconfigured.
    assert_eq!(
        posted[2].0, "/2018-06-01/runtime/invocation/req-2/error",
        "{posted:?}"
    );
    assert_eq!(
        posted[0].0, "/2018-06-01/runtime/invocation/req-0/response",
        "{posted:?}"
    );
    assert!(
        posted[0].1.contains("the event cannot be handled"),
        "{posted:?}"
    );
    assert_eq!(posted[1].0, "/2018-06-01/runtime/invocation/req-1/response");
    assert!(posted[1].1.contains("changed nothing"), "{posted:?}");
    assert!(still_running && waiting, "the function stopped: {stderr}");
}
