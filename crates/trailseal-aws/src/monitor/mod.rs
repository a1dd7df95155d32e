//! The monitor: trailseal as an AWS Lambda function that re-checks the control when something
//! changes (`trailseal monitor --emit` writes the stack that deploys it).
//!
//! [`handle`] is ordinary library code: an event in ([`event::parse`]), the account read by the
//! same [`Collector`] as `trailseal audit`, the same checks, then
//! [`decide`]: AWS Config evaluations (`config:PutEvaluations`, COMPLIANT / NON_COMPLIANT /
//! NOT_APPLICABLE with the failing codes as annotation) and, for an API call that left a trail
//! non-compliant or a Region unlogged, an SNS notification (`sns:Publish`); those calls are
//! in `deliver.rs`. [`runtime`] is the Lambda Runtime API loop around it; `trailseal monitor
//! --event FILE` runs it once locally.
//!
//! Never a silent "compliant": what cannot be decided (an unreadable account, an event from
//! another account, a trail Config names that cannot be found) is NON_COMPLIANT with the
//! reason, or an error in the outcome. An event the function cannot use is answered (logged)
//! and not retried: the function never crash-loops on a bad event.

pub mod decide;
mod deliver;
pub mod event;
pub mod runtime;

use aws_config::SdkConfig;
use serde::Serialize;
use serde_json::Value;
use trailseal_model::{AccountEvidence, Finding, Severity};

use crate::collect::{caller_identity, CollectOptions, Collector};
use decide::{Compliance, Verdict};
use deliver::{discovered_trails, publish, send_evaluations, start_rule_evaluation};
use event::{Trigger, TRAIL_RESOURCE_TYPE};

/// What the function is configured with (its environment variables, see [`Settings::from_env`]).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `TRAILSEAL_REGIONS`: Regions to read (comma-separated); default every enabled Region.
    pub regions: Option<Vec<String>>,
    /// `TRAILSEAL_TRUSTED_ACCOUNTS`: as `audit --trusted-accounts` (TS015).
    pub trusted_accounts: Vec<String>,
    /// `TRAILSEAL_SNS_TOPIC_ARN`: where regressions are notified.
    pub topic_arn: Option<String>,
    /// `TRAILSEAL_FAIL_ON`: the lowest severity that makes a trail NON_COMPLIANT (default high).
    pub fail_on: Option<Severity>,
    /// `TRAILSEAL_CONFIG_TEST_MODE=true`: PutEvaluations with `TestMode` (Config checks the
    /// call and records nothing): a dry run.
    pub config_test_mode: bool,
    /// The Region the function runs in (`AWS_REGION`): the Config rule's Region.
    pub region: String,
    /// `TRAILSEAL_CONFIG_RULE_NAME`: the rule to re-evaluate at once after a KMS or S3 call
    /// that affects trails (such a change is no configuration change of a trail, so Config
    /// would otherwise wait for the periodic run).
    pub config_rule: Option<String>,
    /// Why the settings are unusable: every invocation is then answered as undecided with
    /// this reason (never compliant, and never a function that fails every event).
    pub misconfigured: Option<String>,
}

/// An environment variable that is set and not blank.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The Region the function runs in (`AWS_REGION`, as Lambda sets it).
fn region_from_env() -> String {
    var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_owned())
}

impl Settings {
    /// Reads the function's environment; a bad value is an error naming the variable.
    pub fn from_env() -> Result<Settings, String> {
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let fail_on = match var("TRAILSEAL_FAIL_ON") {
            Some(v) => Some(Severity::parse(&v).ok_or_else(|| {
                format!("TRAILSEAL_FAIL_ON={v:?}: expected info, low, medium, high or critical")
            })?),
            None => None,
        };
        let trusted = var("TRAILSEAL_TRUSTED_ACCOUNTS")
            .map(list)
            .unwrap_or_default();
        if let Some(bad) = trusted
            .iter()
            .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "TRAILSEAL_TRUSTED_ACCOUNTS: {bad:?} is not a 12-digit account id"
            ));
        }
        let test_mode = match var("TRAILSEAL_CONFIG_TEST_MODE").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(format!(
                    "TRAILSEAL_CONFIG_TEST_MODE={other:?}: expected true or false"
                ))
            }
        };
        Ok(Settings {
            regions: var("TRAILSEAL_REGIONS").map(list),
            trusted_accounts: trusted,
            topic_arn: var("TRAILSEAL_SNS_TOPIC_ARN"),
            fail_on,
            config_test_mode: test_mode,
            config_rule: var("TRAILSEAL_CONFIG_RULE_NAME"),
            misconfigured: None,
            region: region_from_env(),
        })
    }

    /// [`Settings::from_env`], or when a variable is wrong, settings that answer every
    /// invocation "cannot be decided: the function is misconfigured: ...".
    pub fn from_env_or_misconfigured() -> Settings {
        // What can still be used to say so: where to answer and whom to tell.
        Settings::from_env().unwrap_or_else(|e| Settings {
            region: region_from_env(),
            config_test_mode: var("TRAILSEAL_CONFIG_TEST_MODE").as_deref() == Some("true"),
            topic_arn: var("TRAILSEAL_SNS_TOPIC_ARN"),
            misconfigured: Some(e),
            ..Settings::default()
        })
    }

    fn threshold(&self) -> Severity {
        self.fail_on.unwrap_or(Severity::High)
    }
}

/// One PutEvaluations entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub resource_type: String,
    pub resource_id: String,
    /// The trail ARN, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail: Option<String>,
    pub compliance: Compliance,
    pub annotation: String,
    pub ordering_timestamp: String,
}

/// An SNS message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub subject: String,
    pub message: String,
}

/// What one invocation did: the function's answer (and its log line).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub trigger: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub evaluations: Vec<Evaluation>,
    /// The trails the event concerns, with what keeps each from compliant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trails: Vec<TrailState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
    /// PutEvaluations succeeded for every evaluation.
    pub evaluations_sent: bool,
    /// The SNS message was published.
    pub notified: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the event could not be handled, or a delivery failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// PutEvaluations or sns:Publish failed: the invocation fails, so that Lambda retries it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub delivery_failed: bool,
}

impl Outcome {
    /// The verdict on the trail Config names `resource_id` (`trail`: its ARN, when it was
    /// found): its evaluation, and its state in the answer.
    fn record(&mut self, resource_id: &str, trail: Option<String>, verdict: Verdict, at: &str) {
        if let Some(arn) = &trail {
            self.trails.push(TrailState {
                arn: arn.clone(),
                compliance: verdict.compliance,
                problems: verdict.problems.clone(),
            });
        }
        self.evaluations.push(Evaluation {
            resource_type: TRAIL_RESOURCE_TYPE.into(),
            resource_id: resource_id.to_owned(),
            trail,
            compliance: verdict.compliance,
            annotation: verdict.annotation,
            ordering_timestamp: at.to_owned(),
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrailState {
    pub arn: String,
    pub compliance: Compliance,
    pub problems: Vec<String>,
}

/// The check catalogue, passed in by the caller (this crate does not depend on the checks):
/// `trailseal_checks::evaluate_account` with every code, and `trailseal_checks::compliant_codes`
/// (the control itself, which must pass at any threshold).
#[derive(Clone, Copy)]
pub struct Checks<'a> {
    pub evaluate: &'a (dyn Fn(&AccountEvidence) -> Vec<Finding> + Send + Sync),
    pub compliant: &'a [&'a str],
}

/// Handles one invocation: never panics, never returns "compliant" for what it could not
/// decide. The outcome says what was sent.
pub async fn handle(
    config: &SdkConfig,
    settings: &Settings,
    event: &Value,
    checks: Checks<'_>,
) -> Outcome {
    let trigger = match event::parse(event) {
        Ok(t) => t,
        Err(e) => {
            return Outcome {
                trigger: "unknown event".into(),
                error: Some(format!("the event cannot be handled: {e}")),
                ..Outcome::default()
            }
        }
    };
    let mut outcome = Outcome {
        trigger: trigger.describe(),
        account: Some(trigger.account().to_owned()),
        ..Outcome::default()
    };
    if let Trigger::ApiCall(call) = &trigger {
        if let Some(code) = &call.error_code {
            outcome
                .notes
                .push(format!("the call failed ({code}) and changed nothing"));
            return outcome;
        }
    }
    if let Trigger::ConfigChange {
        resource_type,
        resource_id,
        captured_at,
        deleted,
        left_scope,
        ..
    } = &trigger
    {
        if resource_type != TRAIL_RESOURCE_TYPE || *deleted || *left_scope {
            outcome.evaluations.push(Evaluation {
                resource_type: resource_type.clone(),
                resource_id: resource_id.clone(),
                trail: None,
                compliance: Compliance::NotApplicable,
                annotation: if *deleted {
                    "the trail was deleted".into()
                } else if *left_scope {
                    "the trail left the rule's scope".into()
                } else {
                    format!("trailseal evaluates {TRAIL_RESOURCE_TYPE} only")
                },
                ordering_timestamp: captured_at.clone(),
            });
            send_evaluations(config, settings, &trigger, &mut outcome).await;
            return outcome;
        }
    }
    // Read the account, as `trailseal audit` does.
    let read = match &settings.misconfigured {
        Some(why) => Err(format!("the function is misconfigured: {why}")),
        None => read_account(config, settings, trigger.account(), checks).await,
    };
    let (evidence, findings) = match read {
        Ok(r) => r,
        Err(reason) => {
            undecided_everywhere(config, settings, &trigger, &reason, &mut outcome).await;
            return outcome;
        }
    };
    match &trigger {
        Trigger::ConfigChange {
            resource_id,
            resource_name,
            arn,
            region,
            captured_at,
            ..
        } => {
            let found = arn
                .as_deref()
                .and_then(|a| decide::find_trail(&evidence, a, region))
                .or_else(|| {
                    resource_name
                        .as_deref()
                        .and_then(|n| decide::find_trail(&evidence, n, region))
                })
                .or_else(|| decide::find_trail(&evidence, resource_id, region));
            let (trail, verdict) = match found {
                Some(t) => (
                    Some(t.arn.clone()),
                    decide::trail_verdict(
                        &t.arn,
                        &findings,
                        settings.threshold(),
                        checks.compliant,
                    ),
                ),
                None => (None, missing_trail(&evidence, region, resource_id)),
            };
            outcome.record(resource_id, trail, verdict, captured_at);
        }
        Trigger::ConfigScheduled { notified_at, .. } => {
            scheduled(
                config,
                settings,
                &evidence,
                &findings,
                checks.compliant,
                notified_at,
                &mut outcome,
            )
            .await;
        }
        Trigger::ApiCall(call) => {
            // A call in a Region this function did not (or could not) read is not decided.
            let read = evidence
                .regions
                .iter()
                .find(|r| r.region == call.region)
                .map(|r| r.trails_error.clone());
            let unread = match read {
                None => Some(format!(
                    "{} is not among the Regions this function reads (TRAILSEAL_REGIONS)",
                    call.region
                )),
                Some(Some(e)) => Some(format!(
                    "the trails of {} could not be read: {e}",
                    call.region
                )),
                Some(None) => None,
            };
            if let Some(reason) = unread {
                undecided_everywhere(config, settings, &trigger, &reason, &mut outcome).await;
                return outcome;
            }
            let affected = decide::affected_trails(call, &evidence);
            let mut broken: Vec<String> = Vec::new();
            // A trail being created is not logging yet: only the control itself and the
            // critical delivery checks are judged at CreateTrail.
            let threshold = if call.event_name == "CreateTrail" {
                Severity::Critical
            } else {
                settings.threshold()
            };
            for t in &affected {
                let v = decide::trail_verdict(&t.arn, &findings, threshold, checks.compliant);
                if v.compliance != Compliance::Compliant {
                    broken.push(format!("{}: {}", t.arn, v.annotation));
                }
                outcome.trails.push(TrailState {
                    arn: t.arn.clone(),
                    compliance: v.compliance,
                    problems: v.problems,
                });
            }
            if affected.is_empty() {
                outcome.notes.push(match call.event_source.as_str() {
                    "cloudtrail.amazonaws.com" => format!(
                        "the trail {} is not in the account (deleted?)",
                        call.trail.as_deref().unwrap_or("(not named)")
                    ),
                    _ => "no trail of the account uses this key or alias".to_owned(),
                });
            }
            // Region coverage is what deleting or stopping a trail can take away.
            let uncovered = if matches!(call.event_name.as_str(), "DeleteTrail" | "StopLogging") {
                decide::uncovered_regions(&evidence.account, &findings)
            } else {
                Vec::new()
            };
            if !broken.is_empty() || !uncovered.is_empty() {
                outcome.notification =
                    Some(notification(call, &evidence.account, &broken, &uncovered));
            }
            if !affected.is_empty() && call.event_source != "cloudtrail.amazonaws.com" {
                start_rule_evaluation(config, settings, &mut outcome).await;
            }
        }
    }
    send_evaluations(config, settings, &trigger, &mut outcome).await;
    publish(config, settings, &mut outcome).await;
    outcome
}

/// The account's evidence and findings, read live; the error says why it could not be read.
async fn read_account(
    config: &SdkConfig,
    settings: &Settings,
    account: &str,
    checks: Checks<'_>,
) -> Result<(AccountEvidence, Vec<Finding>), String> {
    let (caller, partition) = caller_identity(config)
        .await
        .map_err(|e| format!("the function's credentials cannot be used: {e}"))?;
    if caller != account {
        return Err(format!(
            "the event is about account {account}, and this function reads account {caller}: \
             deploy the monitor in account {account}"
        ));
    }
    let options = CollectOptions {
        regions: settings.regions.clone(),
        identity: Some((caller, partition)),
        ..CollectOptions::default()
    };
    let collection = Collector::new(config.clone(), crate::collect::DEFAULT_CONCURRENCY)
        .collect(&options)
        .await
        .map_err(|e| format!("the account could not be read: {e}"))?;
    let mut evidence = collection.account;
    if let Some(error) = &evidence.error {
        return Err(format!("the account could not be read: {error}"));
    }
    evidence.trusted_accounts = settings.trusted_accounts.clone();
    let findings = (checks.evaluate)(&evidence);
    Ok((evidence, findings))
}

/// A trail Config names that the account does not have (any more), or whose Region could not
/// be read.
fn missing_trail(evidence: &AccountEvidence, region: &str, resource_id: &str) -> Verdict {
    match evidence.regions.iter().find(|r| r.region == region) {
        Some(r) if r.trails_error.is_none() => Verdict {
            compliance: Compliance::NotApplicable,
            annotation: format!("{resource_id} is not among the trails of {region} (deleted)"),
            problems: Vec::new(),
        },
        Some(r) => decide::undecided(&format!(
            "the trails of {region} could not be read: {}",
            r.trails_error.as_deref().unwrap_or_default()
        )),
        None => decide::undecided(&format!(
            "{region} is not among the Regions this function reads (TRAILSEAL_REGIONS)"
        )),
    }
}

/// What could not be decided is said everywhere it would have been: Config hears
/// NON_COMPLIANT with the reason (for the changed trail, or for every trail it records on a
/// periodic run), the topic hears that an API call could not be verified.
async fn undecided_everywhere(
    config: &SdkConfig,
    settings: &Settings,
    trigger: &Trigger,
    reason: &str,
    outcome: &mut Outcome,
) {
    let v = decide::undecided(reason);
    let evaluation = |id: &str, at: &str| Evaluation {
        resource_type: TRAIL_RESOURCE_TYPE.into(),
        resource_id: id.to_owned(),
        trail: None,
        compliance: v.compliance,
        annotation: v.annotation.clone(),
        ordering_timestamp: at.to_owned(),
    };
    match trigger {
        Trigger::ConfigChange {
            resource_id,
            captured_at,
            ..
        } => outcome
            .evaluations
            .push(evaluation(resource_id, captured_at)),
        Trigger::ConfigScheduled { notified_at, .. } => {
            match discovered_trails(config, settings).await {
                Ok(list) => outcome.evaluations.extend(
                    list.iter()
                        .filter(|d| d.deleted.is_none())
                        .map(|d| evaluation(&d.id, notified_at)),
                ),
                Err(e) => outcome.notes.push(format!(
                    "the trails AWS Config records could not be listed either: {e}"
                )),
            }
        }
        Trigger::ApiCall(call) => {
            outcome.notification = Some(Notification {
                subject: decide::clip(
                    &format!(
                        "trailseal: could not verify CloudTrail encryption after {} in {}",
                        call.event_name, call.account
                    ),
                    100,
                ),
                message: format!(
                    "{} may have changed the CloudTrail encryption control, and trailseal could \
                     not verify it: {reason}\n",
                    call.describe()
                ),
            });
        }
    }
    outcome.error = Some(reason.to_owned());
    send_evaluations(config, settings, trigger, outcome).await;
    publish(config, settings, outcome).await;
}

fn notification(
    call: &event::ApiCall,
    account: &str,
    broken: &[String],
    uncovered: &[String],
) -> Notification {
    let mut message = format!(
        "After {} in account {account}, the CloudTrail encryption control does not hold.\n\n",
        call.event_name
    );
    message += &format!("Event: {}\n", call.describe());
    if !broken.is_empty() {
        message += "\nTrails not compliant now:\n";
        for b in broken {
            message += &format!("- {b}\n");
        }
    }
    if !uncovered.is_empty() {
        message += "\nRegions not logged by any trail now:\n";
        for u in uncovered {
            message += &format!("- {u}\n");
        }
    }
    message += "\n`trailseal explain CODE` says what each code checks and how to fix it; \
                `trailseal fix` plans the repair.\n";
    Notification {
        subject: decide::clip(
            &format!(
                "trailseal: CloudTrail encryption not compliant after {} in {account}",
                call.event_name
            ),
            100,
        ),
        message,
    }
}

/// The periodic evaluation: every trail AWS Config records in the function's Region
/// (ListDiscoveredResources gives Config's own resource ids), each with its verdict.
async fn scheduled(
    config: &SdkConfig,
    settings: &Settings,
    evidence: &AccountEvidence,
    findings: &[Finding],
    compliant: &[&str],
    notified_at: &str,
    outcome: &mut Outcome,
) {
    let discovered = match discovered_trails(config, settings).await {
        Ok(d) => d,
        Err(e) => {
            outcome.error = Some(format!(
                "the trails AWS Config records could not be listed (config:ListDiscoveredResources): {e}"
            ));
            return;
        }
    };
    for d in &discovered {
        let found = d
            .name
            .as_deref()
            .and_then(|n| decide::find_trail(evidence, n, &settings.region))
            .or_else(|| decide::find_trail(evidence, &d.id, &settings.region));
        let (trail, verdict) = match (found, &d.deleted) {
            (_, Some(_)) => (
                None,
                Verdict {
                    compliance: Compliance::NotApplicable,
                    annotation: "the trail was deleted".into(),
                    problems: Vec::new(),
                },
            ),
            (Some(t), None) => (
                Some(t.arn.clone()),
                decide::trail_verdict(&t.arn, findings, settings.threshold(), compliant),
            ),
            (None, None) => (None, missing_trail(evidence, &settings.region, &d.id)),
        };
        outcome.record(&d.id, trail, verdict, notified_at);
    }
    for t in evidence
        .trails
        .iter()
        .filter(|t| t.home_region == settings.region)
    {
        if !outcome.trails.iter().any(|s| s.arn == t.arn) {
            outcome.notes.push(format!(
                "AWS Config does not record {} (is the recorder recording {TRAIL_RESOURCE_TYPE} in {}?): not evaluated",
                t.arn, settings.region
            ));
        }
    }
}
