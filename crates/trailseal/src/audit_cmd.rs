//! `trailseal audit --evidence FILE`: the whole catalogue on collected evidence, offline.

use trailseal_aws::{AccountsPlan, OrgOptions, Selection};
use trailseal_model::{Evidence, EVIDENCE_SCHEMA};
use trailseal_report::Reports;

use crate::cli::AuditArgs;
use crate::documents::{other_document, Expect};
use crate::output::read_input;
use crate::{collect_cmd, UsageError};

pub fn run(mut args: AuditArgs) -> anyhow::Result<u8> {
    args.aws.verbose = args.filter.verbose;
    let all: Vec<&'static str> = trailseal_checks::all_codes();
    let codes = args.filter.codes(&all)?;
    let trusted = crate::org_cmd::account_list("--trusted-accounts", &args.trusted_accounts)?;
    crate::output::refuse_overwriting_input(args.out.output.as_deref(), args.evidence.as_deref())?;
    if args.evidence.is_some() && args.aws.profile.is_some() && !args.security_hub {
        return Err(UsageError(
            "--profile with --evidence is used only by --security-hub (the evidence is read \
             offline)"
                .into(),
        )
        .into());
    }
    // The history is opened first: a database that cannot be written fails before AWS is read.
    let mut recorder = match &args.history {
        Some(path) => Some(crate::history_cmd::Recorder::open(
            path.as_deref(),
            args.keep,
            match &args.evidence {
                Some(file) => format!("evidence {}", file.display()),
                None => "live".to_owned(),
            },
            &codes,
        )?),
        None => None,
    };
    if args.evidence.is_none() {
        if let Some(options) = crate::org_cmd::options(&args.aws, &args.accounts)? {
            let result = audit_accounts(&args, &options, &codes, &trusted, recorder.as_mut());
            // What was recorded is said also when the report could not be written.
            let code = recorder.map_or(0, |r| r.finish(0));
            return result.map(|c| c.max(code));
        }
    }
    let (evidence, source) = match &args.evidence {
        Some(path) => (read_evidence(path)?, format!("Evidence {}", path.display())),
        None => {
            let evidence = collect_cmd::collect_live(&args.aws)?;
            let source = describe_live(&evidence);
            (evidence, source)
        }
    };
    let mut evidence = evidence;
    for account in &mut evidence.accounts {
        account.trusted_accounts = trusted.clone();
    }
    let findings = trailseal_checks::evaluate(&evidence, &codes);
    if let Some(recorder) = recorder.as_mut() {
        for account in &evidence.accounts {
            recorder.record(account, &evidence.collected_at, &findings);
        }
    }
    let input = match &args.evidence {
        Some(path) => serde_json::json!({
            "evidence_file": path.display().to_string(),
            "collected_at": evidence.collected_at,
        }),
        None => serde_json::json!({
            "live": true,
            "collected_at": evidence.collected_at,
            "accounts": evidence.accounts.iter().map(|a| serde_json::json!({
                "account": a.account,
                "regions": a.regions.iter().map(|r| r.region.as_str()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
    };
    let header = format!("{source}, collected {}\n\n", evidence.collected_at);
    let label = match evidence.accounts.as_slice() {
        [one] => one.account.clone(),
        _ => "accounts".to_owned(),
    };
    let (mut code, muted) =
        crate::output::report_muted(&args.out, &args.filter, &findings, &input, &header, &label)?;
    if code == 2 {
        eprintln!("trailseal: error: nothing could be evaluated ({source})");
    }
    if args.security_hub {
        let audited: Audited = evidence
            .accounts
            .iter()
            .map(|a| (a.account.clone(), fully_read_regions(a)))
            .collect();
        code = import_into_security_hub(&args, &muted, &audited, code)?;
    }
    Ok(recorder.map_or(code, |r| r.finish(code)))
}

/// Reads and checks an evidence file. Anything else (an audit report, a plan, a Prowler or
/// Security Hub export, a policy) is named, with what was expected and how to make it.
pub fn read_evidence(path: &std::path::Path) -> anyhow::Result<Evidence> {
    let file = path.display().to_string();
    let text = read_input(path)?;
    let expected = format!(
        "expected a trailseal evidence file ({EVIDENCE_SCHEMA}), which `trailseal collect -o FILE` writes"
    );
    if let Some(what) = other_document(&text, Expect::Evidence) {
        return Err(UsageError(format!("{file} is {what}, not evidence; {expected}")).into());
    }
    let evidence: Evidence = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{file} is not a trailseal evidence file: {e}; {expected}"
        ))
    })?;
    if evidence.schema != EVIDENCE_SCHEMA {
        return Err(UsageError(format!(
            "{file} has schema {:?}; this trailseal reads {EVIDENCE_SCHEMA}",
            evidence.schema
        ))
        .into());
    }
    Ok(evidence)
}

/// "Account 123456789012 (aws), 3 Regions: us-east-1, eu-west-1, ap-southeast-2"
fn describe_live(evidence: &Evidence) -> String {
    let accounts: Vec<String> = evidence
        .accounts
        .iter()
        .map(|a| {
            let regions: Vec<&str> = a.regions.iter().map(|r| r.region.as_str()).collect();
            format!(
                "Account {} ({}), {} Region{}: {}",
                a.account,
                a.partition,
                regions.len(),
                if regions.len() == 1 { "" } else { "s" },
                regions.join(", ")
            )
        })
        .collect();
    accounts.join("; ")
}

/// `audit --org` / `--accounts`: each account is evaluated and written as soon as it is read;
/// the evidence of all accounts is never held at once.
fn audit_accounts(
    args: &AuditArgs,
    options: &OrgOptions,
    codes: &[&str],
    trusted: &[String],
    mut recorder: Option<&mut crate::history_cmd::Recorder>,
) -> anyhow::Result<u8> {
    let prepared = crate::org_cmd::prepare(&args.aws, options)?;
    let mut label = match &prepared.plan.organization {
        Some(o) if options.selection == Selection::Organization => format!("org-{}", o.id),
        _ => "accounts".to_owned(),
    };
    if let Some(shard) = options.shard {
        label += &format!("-shard-{}-of-{}", shard.index, shard.count);
    }
    let outputs = crate::output::account_outputs(&args.out, &args.filter, &label, true)?;
    let mut reports = Reports::new(&outputs.renderers, outputs.sinks)?;
    let mut failure: Option<std::io::Error> = None;
    let mut read: Vec<serde_json::Value> = Vec::new();
    let mut imported: Vec<trailseal_model::Finding> = Vec::new();
    let mut audited: Audited = Audited::new();
    prepared.collect(options, |mut evidence| {
        evidence.trusted_accounts = trusted.to_vec();
        let findings = trailseal_checks::evaluate_account(&evidence, codes);
        if let Some(recorder) = recorder.as_mut() {
            recorder.record(&evidence, &trailseal_aws::now_rfc3339(), &findings);
        }
        audited.insert(evidence.account.clone(), fully_read_regions(&evidence));
        reports.note_account(&evidence.account);
        read.push(serde_json::json!({
            "account": evidence.account,
            "regions": evidence.regions.iter().map(|r| r.region.as_str()).collect::<Vec<_>>(),
            "error": evidence.error,
        }));
        if failure.is_none() {
            // The findings as reported (the mutelist applied once), kept for --security-hub.
            let muted = reports.mute(&findings);
            if let Err(e) = reports.push_muted(&muted) {
                failure = Some(e);
            }
            if args.security_hub {
                imported.extend(muted.into_owned());
            }
        }
    });
    let plan = &prepared.plan;
    let written = |e: std::io::Error| crate::output::written_error(&args.out, e);
    if let Some(e) = failure {
        return Err(written(e));
    }
    let collected_at = trailseal_aws::now_rfc3339();
    let input = serde_json::json!({
        "live": true,
        "collected_at": collected_at,
        "selection": match &options.selection {
            Selection::Organization => "organization",
            Selection::Accounts(_) => "accounts",
        },
        "organization": plan.organization.as_ref().map(|o| serde_json::json!({
            "id": o.id, "management_account": o.management_account,
        })),
        "shard": options.shard.map(|s| format!("{}/{}", s.index, s.count)),
        "accounts": read,
    });
    let unreadable = read.iter().filter(|a| !a["error"].is_null()).count();
    let header = format!(
        "{}{}, collected {collected_at}\n\n",
        describe_accounts(plan, options),
        match unreadable {
            0 => String::new(),
            n => format!(" ({n} could not be read)"),
        }
    );
    let tally = crate::output::finish(reports, &outputs.files, &args.out, &input, &header)?;
    // A shard that holds no account (more shards than accounts) has nothing to evaluate, and
    // nothing failed: exit 0, with the note `prepare` printed.
    if plan.accounts.is_empty() {
        return Ok(0);
    }
    let mut code = tally.exit_code(args.filter.threshold());
    if code == 2 && !plan.accounts.is_empty() {
        eprintln!("trailseal: error: nothing could be evaluated (no account could be read)");
    }
    if args.security_hub && !prepared.import_security_hub(options, &imported, &audited) {
        eprintln!("trailseal: error: some findings were not imported into Security Hub (above)");
        code = 2;
    }
    Ok(code)
}

/// "Accounts of organization o-abc (management account 111122223333): 12 read, shard 1/4"
fn describe_accounts(plan: &AccountsPlan, options: &OrgOptions) -> String {
    let what = match (&options.selection, &plan.organization) {
        (Selection::Organization, Some(o)) => format!(
            "Accounts of organization {} (management account {})",
            o.id, o.management_account
        ),
        _ => "Accounts".to_owned(),
    };
    let shard = options
        .shard
        .map(|s| format!(", shard {}/{}", s.index, s.count))
        .unwrap_or_default();
    format!("{what}: {} audited{shard}", plan.accounts.len())
}

/// `--security-hub`: imports the findings (as the report shows them: the mutelist applied); a
/// failed import makes the run exit 2.
fn import_into_security_hub(
    args: &AuditArgs,
    muted: &[trailseal_model::Finding],
    audited: &Audited,
    code: u8,
) -> anyhow::Result<u8> {
    if crate::securityhub_cmd::import(&args.aws, muted, audited)? {
        Ok(code)
    } else {
        eprintln!("trailseal: error: some findings were not imported into Security Hub (above)");
        Ok(2)
    }
}

/// Per account, the Regions whose trails this run read (the account itself readable): only
/// there may Security Hub findings of trails it no longer reports be archived.
pub type Audited = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

fn fully_read_regions(
    account: &trailseal_model::AccountEvidence,
) -> std::collections::BTreeSet<String> {
    if account.error.is_some() {
        return std::collections::BTreeSet::new();
    }
    account
        .regions
        .iter()
        .filter(|r| r.trails_error.is_none())
        .map(|r| r.region.clone())
        .collect()
}
