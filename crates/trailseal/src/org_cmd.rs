//! `--org` / `--accounts` for `audit` and `collect`: the options, checked; the plan (before
//! any output is written); the run with a progress bar, each account handed on as soon as it
//! is read.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context as _;
use trailseal_aws::{
    AccountsPlan, CollectError, CollectOptions, OrgCollector, OrgOptions, Selection, Shard,
};
use trailseal_model::AccountEvidence;

use crate::cli::{AwsArgs, OrgArgs};
use crate::UsageError;

/// The checked organization options, or `None` for a single-account run. Malformed or
/// duplicated account ids, a shard like `3/2`, account options without --org / --accounts:
/// usage errors.
pub fn options(aws: &AwsArgs, org: &OrgArgs) -> Result<Option<OrgOptions>, UsageError> {
    let accounts = account_list("--accounts", &org.accounts)?;
    let exclude = account_list("--exclude-accounts", &org.exclude_accounts)?;
    let selection = if org.org {
        Selection::Organization
    } else if !accounts.is_empty() {
        Selection::Accounts(accounts)
    } else {
        let given: Vec<&str> = [
            (!org.exclude_accounts.is_empty(), "--exclude-accounts"),
            (org.external_id.is_some(), "--external-id"),
            (org.shard.is_some(), "--shard"),
            (
                org.role_name != trailseal_aws::DEFAULT_ROLE_NAME,
                "--role-name",
            ),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if !given.is_empty() {
            return Err(UsageError(format!(
                "{} only apply to several accounts: add --org (every account of the \
                 organization) or --accounts ID,ID",
                given.join(", ")
            )));
        }
        return Ok(None);
    };
    let role = org.role_name.trim();
    if role.is_empty()
        || role.starts_with('/')
        || role.ends_with('/')
        || role.starts_with("arn:")
        || role.contains(char::is_whitespace)
    {
        return Err(UsageError(format!(
            "--role-name {:?} is not a role name: give the name (e.g. \
             OrganizationAccountAccessRole, or path/Name), not an ARN",
            org.role_name
        )));
    }
    // STS: an external id is 2 to 1224 characters.
    if let Some(id) = &org.external_id {
        if !(2..=1224).contains(&id.chars().count()) {
            return Err(UsageError(format!(
                "--external-id {id:?}: STS takes 2 to 1224 characters"
            )));
        }
    }
    let shard = org.shard.as_deref().map(parse_shard).transpose()?;
    let collect = collect_options(aws)?;
    // Checked once here, not once per account: every account would fail alike.
    if let Some(regions) = &collect.regions {
        if let Some(unknown) = regions.iter().find(|r| !trailseal_aws::known_region(r)) {
            return Err(UsageError(format!(
                "--regions: unknown Region {unknown:?}{}",
                trailseal_aws::closest_known_region(unknown)
                    .map(|s| format!("; did you mean {s}?"))
                    .unwrap_or_default()
            )));
        }
        if regions.iter().all(|r| collect.exclude_regions.contains(r)) {
            return Err(UsageError(
                "--exclude-regions leaves none of --regions to scan".into(),
            ));
        }
    }
    Ok(Some(OrgOptions {
        selection,
        exclude_accounts: exclude,
        role_name: role.to_owned(),
        external_id: org.external_id.clone(),
        shard,
        account_concurrency: usize::from(org.account_concurrency),
        collect,
    }))
}

/// 12-digit account ids, each once.
pub(crate) fn account_list(flag: &str, given: &[String]) -> Result<Vec<String>, UsageError> {
    let mut out: Vec<String> = Vec::new();
    for raw in given {
        let id = raw.trim();
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UsageError(format!(
                "{flag}: {raw:?} is not an AWS account id (12 digits, e.g. 111122223333)"
            )));
        }
        if out.iter().any(|o| o == id) {
            return Err(UsageError(format!("{flag}: account {id} is given twice")));
        }
        out.push(id.to_owned());
    }
    Ok(out)
}

/// `I/N` with 1 <= I <= N.
fn parse_shard(text: &str) -> Result<Shard, UsageError> {
    let bad = || {
        UsageError(format!(
            "--shard {text:?}: expected I/N with 1 <= I <= N, e.g. --shard 1/4 (the first of 4)"
        ))
    };
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let index: u32 = i.trim().parse().map_err(|_| bad())?;
    let count: u32 = n.trim().parse().map_err(|_| bad())?;
    if index == 0 || count == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// Regions, excluded Regions and the global limit, checked.
pub fn collect_options(aws: &AwsArgs) -> Result<CollectOptions, UsageError> {
    let names = |flag: &str, list: &[String]| -> Result<Vec<String>, UsageError> {
        let names: Vec<String> = list.iter().map(|r| r.trim().to_owned()).collect();
        if names.iter().any(String::is_empty) {
            return Err(UsageError(format!(
                "{flag} {:?} names an empty Region: give names like us-east-1,eu-west-1{}",
                list.join(","),
                if flag == "--regions" {
                    ", or leave --regions out to scan every Region enabled for the account"
                } else {
                    ""
                }
            )));
        }
        Ok(names)
    };
    let regions = names("--regions", &aws.regions)?;
    let exclude_regions = names("--exclude-regions", &aws.exclude_regions)?;
    for r in &exclude_regions {
        if !trailseal_aws::known_region(r) {
            return Err(UsageError(format!(
                "--exclude-regions: unknown Region {r:?}{}",
                trailseal_aws::closest_known_region(r)
                    .map(|s| format!("; did you mean {s}?"))
                    .unwrap_or_default()
            )));
        }
    }
    Ok(CollectOptions {
        regions: (!regions.is_empty()).then_some(regions),
        exclude_regions,
        concurrency: usize::from(aws.concurrency),
        ..CollectOptions::default()
    })
}

/// The configured timeouts.
pub fn timeouts(aws: &AwsArgs) -> trailseal_aws::Timeouts {
    trailseal_aws::Timeouts {
        connect: Duration::from_secs(aws.connect_timeout),
        attempt: Duration::from_secs(aws.call_timeout),
    }
}

/// A usage error for what stops a collection as a whole (exit 2), with the SDK's detail
/// under -v.
pub fn usage_error(e: CollectError, verbose: bool) -> UsageError {
    match e {
        CollectError::UnknownRegion { .. } => UsageError(format!("--regions: {e}")),
        CollectError::Credentials { ref detail, .. } if verbose && !detail.is_empty() => {
            UsageError(format!("{e}\n  AWS SDK detail: {detail}"))
        }
        other => UsageError(other.to_string()),
    }
}

/// The accounts to read, decided (Organizations listed, the shard taken) before anything is
/// written: a run that cannot start leaves an existing output file alone.
pub struct Prepared {
    runtime: tokio::runtime::Runtime,
    collector: OrgCollector,
    pub plan: AccountsPlan,
}

/// Plans the run of `options` and prints the plan's notes.
pub fn prepare(aws: &AwsArgs, options: &OrgOptions) -> anyhow::Result<Prepared> {
    let runtime = crate::org_cmd::async_runtime()?;
    let (collector, plan) = runtime.block_on(async {
        let config = trailseal_aws::load_config_with(aws.profile.as_deref(), &timeouts(aws))
            .await
            .map_err(|e| usage_error(e, aws.verbose))?;
        let collector = OrgCollector::new(config, options.collect.concurrency);
        let plan = collector
            .plan(options)
            .await
            .map_err(|e| usage_error(e, aws.verbose))?;
        Ok::<_, UsageError>((collector, plan))
    })?;
    for note in &plan.notes {
        eprintln!("trailseal: note: {note}");
    }
    if plan.accounts.is_empty() {
        eprintln!(
            "trailseal: note: this shard holds none of the {} account(s)",
            match &options.selection {
                Selection::Organization => plan.members.len(),
                Selection::Accounts(list) => list.len(),
            }
        );
    }
    Ok(Prepared {
        runtime,
        collector,
        plan,
    })
}

impl Prepared {
    /// `--security-hub`: each account's findings imported as that account (the caller's own
    /// credentials, or its role); returns whether everything was imported.
    pub fn import_security_hub(
        &self,
        options: &OrgOptions,
        findings: &[trailseal_model::Finding],
        audited: &crate::audit_cmd::Audited,
    ) -> bool {
        let mut by_account: std::collections::BTreeMap<&str, Vec<trailseal_model::Finding>> =
            std::collections::BTreeMap::new();
        for f in findings {
            by_account.entry(&f.account).or_default().push(f.clone());
        }
        let mut ok = true;
        for (account, findings) in by_account {
            match self
                .runtime
                .block_on(self.collector.account_config(&self.plan, options, account))
            {
                Ok(config) => {
                    ok &= crate::securityhub_cmd::import_account(
                        &self.runtime,
                        &config,
                        account,
                        &findings,
                        audited
                            .get(account)
                            .unwrap_or(&std::collections::BTreeSet::new()),
                    );
                }
                Err(e) => {
                    ok = false;
                    eprintln!(
                        "trailseal: error: security hub {account}: {} finding(s) not imported: {e}",
                        findings.len()
                    );
                }
            }
        }
        ok
    }

    /// Reads every account of the plan and hands each to `each` as soon as it is read (the
    /// organization's management account first), with a progress bar on a terminal.
    pub fn collect(&self, options: &OrgOptions, mut each: impl FnMut(AccountEvidence)) {
        let progress = progress_bar(self.plan.accounts.len());
        let mut errors = 0;
        self.runtime.block_on(
            self.collector
                .collect(&self.plan, options, |evidence, notes| {
                    for note in notes {
                        eprintln!("trailseal: note: account {}: {note}", evidence.account);
                    }
                    if evidence.error.is_some() {
                        errors += 1;
                        if let Some(p) = &progress {
                            p.set_message(format!("{errors} account(s) not readable"));
                        }
                    }
                    each(evidence);
                    if let Some(p) = &progress {
                        p.inc(1);
                    }
                }),
        );
        if let Some(p) = progress {
            p.finish_and_clear();
        }
    }
}

/// Accounts done of total, errors and time left, on standard error when it is a terminal.
fn progress_bar(total: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || total < 2 {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} accounts {pos}/{len} [{bar:30}] {elapsed_precise}, about {eta} left {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// The async runtime of the commands that talk to AWS.
pub fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_checked() {
        assert_eq!(
            parse_shard("2/4").map(|s| (s.index, s.count)).ok(),
            Some((2, 4))
        );
        for bad in ["3/2", "0/2", "1/0", "1", "a/b", "1/2/3", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn account_ids_are_checked() {
        assert!(account_list("--accounts", &["111122223333".into()]).is_ok());
        for bad in ["11112222333", "1111222233334", "11112222333x", ""] {
            assert!(account_list("--accounts", &[bad.into()]).is_err(), "{bad}");
        }
        let twice = account_list(
            "--accounts",
            &["111122223333".into(), "111122223333".into()],
        );
        assert!(twice.is_err());
    }
}
