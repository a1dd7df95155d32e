//! `audit --security-hub`: the audit's findings imported into AWS Security Hub (ASFF, each in
//! its Region, batches of 100), after the report is written, each account's into that account
//! (the caller's own; with --org / --accounts each account through its role).
//! Findings that pass (and checks that did not apply) are archived. A Region where Security
//! Hub cannot be used, findings it refuses, or findings of another account, are reported here
//! and make the run exit 2; the other Regions are still imported.

use trailseal_model::Finding;

use crate::cli::AwsArgs;

/// Imports `findings` (the mutelist already applied); returns whether everything was imported.
///
/// Security Hub accepts, through an account's own custom-integration product, only that
/// account's findings (BatchImportFindings: the caller must be the finding's `AwsAccountId`):
/// findings of any other account are not sent, and named.
pub fn import(
    aws: &AwsArgs,
    findings: &[Finding],
    audited: &crate::audit_cmd::Audited,
) -> anyhow::Result<bool> {
    let runtime = crate::org_cmd::async_runtime()?;
    let config = runtime.block_on(async {
        trailseal_aws::load_config_with(aws.profile.as_deref(), &crate::org_cmd::timeouts(aws))
            .await
            .map_err(|e| crate::org_cmd::usage_error(e, aws.verbose))
    })?;
    let (caller, _) = runtime
        .block_on(trailseal_aws::caller_identity(&config))
        .map_err(|e| crate::org_cmd::usage_error(e, aws.verbose))?;
    let (own, others): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.account == caller);
    let mut ok = true;
    if !others.is_empty() {
        ok = false;
        let mut accounts: Vec<&str> = others.iter().map(|f| f.account.as_str()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        eprintln!(
            "trailseal: error: security hub: {} finding(s) of account(s) {} not imported: \
             Security Hub imports only the caller's own account's findings ({caller}); import \
             them with that account's credentials",
            others.len(),
            accounts.join(", ")
        );
    }
    let own: Vec<Finding> = own.into_iter().cloned().collect();
    let empty = std::collections::BTreeSet::new();
    let archive_in = audited.get(&caller).unwrap_or(&empty);
    ok &= import_account(&runtime, &config, &caller, &own, archive_in);
    Ok(ok)
}

/// Imports the findings of `account` with `config` (its credentials); prints what happened;
/// returns whether everything was imported.
pub fn import_account(
    runtime: &tokio::runtime::Runtime,
    config: &trailseal_aws::SdkConfig,
    account: &str,
    findings: &[Finding],
    archive_in: &std::collections::BTreeSet<String>,
) -> bool {
    let now = trailseal_report::now().0;
    let asff = trailseal_report::asff::findings(findings, &now);
    if asff.is_empty() {
        eprintln!("trailseal: security hub: no finding of account {account} to import");
        return true;
    }
    let mut ok = true;
    let reports = runtime.block_on(trailseal_aws::securityhub::import(config, asff, archive_in));
    for r in &reports {
        match &r.error {
            Some(e) => eprintln!(
                "trailseal: error: security hub {account} {}: {} of {} finding(s) not imported: {e}",
                r.region,
                r.sent - r.imported.min(r.sent),
                r.sent
            ),
            None => eprintln!(
                "trailseal: security hub {account} {}: imported {} of {} finding(s){}",
                r.region,
                r.imported,
                r.sent,
                if r.archived > 0 {
                    format!(
                        "; archived {} earlier finding(s) no longer reported",
                        r.archived
                    )
                } else {
                    String::new()
                }
            ),
        }
        if let Some(e) = &r.archive_error {
            eprintln!(
                "trailseal: error: security hub {account} {}: could not archive earlier findings \
                 no longer reported: {e}",
                r.region
            );
        }
        for (id, code, message) in r.archive_failed.iter().take(10) {
            eprintln!(
                "trailseal: error: security hub {account} {} refused to archive {id}: {code}: {message}",
                r.region
            );
        }
        for (id, code, message) in r.failed.iter().take(10) {
            eprintln!(
                "trailseal: error: security hub {} refused {id}: {code}: {message}",
                r.region
            );
        }
        if r.failed.len() > 10 {
            eprintln!(
                "trailseal: error: ... and {} more refused",
                r.failed.len() - 10
            );
        }
        ok &= r.ok();
    }
    ok
}
