//! `audit --security-hub`: the audit's findings imported into AWS Security Hub (ASFF, each in
//! its Region, batches of 100), after the report is written. Findings that pass are archived.
//! A Region where Security Hub cannot be used, or findings it refuses, are reported here and
//! make the run exit 2; the other Regions are still imported.

use anyhow::Context as _;
use trailseal_model::Finding;

use crate::cli::AwsArgs;

/// Imports `findings` (the mutelist already applied); returns whether everything was imported.
pub fn import(aws: &AwsArgs, findings: &[Finding]) -> anyhow::Result<bool> {
    let now = trailseal_report::now().0;
    let asff = trailseal_report::asff::findings(findings, &now);
    if asff.is_empty() {
        eprintln!("trailseal: security hub: no finding to import");
        return Ok(true);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let reports = runtime.block_on(async {
        let config =
            trailseal_aws::load_config_with(aws.profile.as_deref(), &crate::org_cmd::timeouts(aws))
                .await
                .map_err(|e| crate::org_cmd::usage_error(e, aws.verbose))?;
        Ok::<_, crate::UsageError>(trailseal_aws::securityhub::import(&config, asff).await)
    })?;
    let mut ok = true;
    for r in &reports {
        match &r.error {
            Some(e) => {
                ok = false;
                eprintln!(
                    "trailseal: error: security hub {}: {} finding(s) not imported: {e}",
                    r.region, r.sent
                );
            }
            None => eprintln!(
                "trailseal: security hub {}: imported {} of {} finding(s)",
                r.region, r.imported, r.sent
            ),
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
    Ok(ok)
}
