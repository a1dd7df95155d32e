//! Organization audits: which accounts to read (`--org`: Organizations ListAccounts, ACTIVE
//! accounts only; or `--accounts`), and reading each of them with a role assumed in it.
//!
//! - The caller's own account is read with its own credentials; every other account through
//!   `sts:AssumeRole` into `arn:PARTITION:iam::ACCOUNT:role/ROLE_NAME` (session `trailseal`,
//!   with `--external-id` when given). Each session is resolved once and refreshed shortly
//!   before it expires.
//! - Requests in flight are limited per account and over all accounts (one global semaphore);
//!   a few accounts are read at a time, in order, and each is handed to the caller as soon as
//!   it is complete, so memory holds only the accounts in flight.
//! - Organization trails belong to the management account: it is read first, its organization
//!   trails are evaluated there once (for every member's log files) and counted as covering
//!   every member account; a member that lists them (as shadow trails) does not read them
//!   again.
//! - An account whose role cannot be assumed is evidence with [`AccountEvidence::error`] set
//!   (an `error` finding); the others go on.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use futures::StreamExt;
use sha2::Digest as _;
use tokio::sync::Semaphore;
use trailseal_model::{AccountEvidence, OrganizationInfo, Trail};

use crate::collect::{CollectOptions, Collector};
use crate::error::{code, describe, human, CollectError};
use crate::organizations::{describe_organization, list_accounts, Organization};

/// Which accounts an audit reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every ACTIVE account of the caller's organization.
    Organization,
    /// These accounts (12-digit ids).
    Accounts(Vec<String>),
}

/// One shard of the accounts: the `index`-th (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether `account` is in this shard: a hash of the id, so that an account stays in its
    /// shard when others join or leave the organization.
    pub fn holds(&self, account: &str) -> bool {
        let digest = sha2::Sha256::digest(account.as_bytes());
        let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        n % self.count == self.index - 1
    }
}

/// How to read the accounts.
#[derive(Debug, Clone)]
pub struct OrgOptions {
    pub selection: Selection,
    pub exclude_accounts: Vec<String>,
    /// The role assumed in each account (a name, or `path/name`).
    pub role_name: String,
    pub external_id: Option<String>,
    pub shard: Option<Shard>,
    /// Requests in flight per account (the global limit is `collect.concurrency`).
    pub account_concurrency: usize,
    /// Regions, excluded Regions, the global limit of requests in flight.
    pub collect: CollectOptions,
}

/// The default role: the one AWS Organizations creates in every account it creates.
pub const DEFAULT_ROLE_NAME: &str = "OrganizationAccountAccessRole";

/// The accounts an audit will read, decided before any of them is read.
#[derive(Debug, Clone)]
pub struct AccountsPlan {
    /// The account of the caller's credentials.
    pub caller: String,
    pub partition: String,
    pub organization: Option<Organization>,
    /// Every ACTIVE account ListAccounts lists (empty when it could not be called).
    pub members: Vec<String>,
    /// The accounts to read (this shard's), in order; the management account first when it is
    /// one of them.
    pub accounts: Vec<String>,
    /// The management account must be read first for its organization trails, also when it is
    /// in another shard (then it is read, not reported).
    pub read_management_first: bool,
    /// For the operator (skipped accounts, what could not be listed): not findings.
    pub notes: Vec<String>,
}

/// Reads accounts of an organization.
pub struct OrgCollector {
    base: SdkConfig,
    global: Arc<Semaphore>,
}

impl OrgCollector {
    /// `base`: the caller's configuration; `concurrency`: requests in flight over every account.
    pub fn new(base: SdkConfig, concurrency: usize) -> OrgCollector {
        OrgCollector {
            base,
            global: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Decides which accounts to read. Fails as a whole (a usage problem) when the caller's
    /// credentials cannot be used, or `--org` is given and the accounts cannot be listed.
    pub async fn plan(&self, options: &OrgOptions) -> Result<AccountsPlan, CollectError> {
        let (caller, partition) = Collector::new(self.base.clone(), 1).identity().await?;
        let mut notes = Vec::new();
        let organization = describe_organization(&self.base).await;
        let listed = match (&options.selection, &organization) {
            (_, Ok(_)) => Some(list_accounts(&self.base).await),
            _ => None,
        };
        let (organization, members, selected) = match &options.selection {
            Selection::Organization => {
                let organization = organization.map_err(|e| CollectError::Organization {
                    message: describe("organizations:DescribeOrganization", &e),
                    advice: not_an_organization_advice(code(&e)),
                })?;
                let accounts = match listed {
                    Some(Ok(accounts)) => accounts,
                    Some(Err(e)) => {
                        return Err(CollectError::Organization {
                            message: describe("organizations:ListAccounts", &e),
                            advice: not_an_organization_advice(code(&e)),
                        })
                    }
                    None => Vec::new(),
                };
                for a in accounts.iter().filter(|a| !a.is_active()) {
                    notes.push(format!(
                        "account {} ({}) is {}: not audited",
                        a.id, a.name, a.state
                    ));
                }
                let members: Vec<String> = accounts
                    .into_iter()
                    .filter(|a| a.is_active())
                    .map(|a| a.id)
                    .collect();
                if members.is_empty() {
                    return Err(CollectError::Organization {
                        message: "organizations:ListAccounts lists no ACTIVE account".into(),
                        advice: "Check that the credentials are those of the organization's \
                                 management account or of a delegated administrator",
                    });
                }
                (Some(organization), members.clone(), members)
            }
            Selection::Accounts(list) => {
                // The organization is optional here: it only attributes organization trails.
                let members = match listed {
                    Some(Ok(accounts)) => accounts
                        .into_iter()
                        .filter(|a| a.is_active())
                        .map(|a| a.id)
                        .collect(),
                    Some(Err(e)) => {
                        notes.push(format!(
                            "could not list the organization's accounts ({}): organization \
                             trails cover only the accounts that list them",
                            describe("organizations:ListAccounts", &e)
                        ));
                        Vec::new()
                    }
                    None => Vec::new(),
                };
                (organization.ok(), members, list.clone())
            }
        };
        let excluded: BTreeSet<&str> = options
            .exclude_accounts
            .iter()
            .map(String::as_str)
            .collect();
        for e in &excluded {
            if !selected.iter().any(|a| a == e) {
                notes.push(format!(
                    "--exclude-accounts: {e} is not among the accounts to audit (a typo?)"
                ));
            }
        }
        let mut chosen: Vec<String> = Vec::new();
        for a in selected {
            if !excluded.contains(a.as_str()) && !chosen.contains(&a) {
                chosen.push(a);
            }
        }
        if chosen.is_empty() {
            return Err(CollectError::Organization {
                message: "--exclude-accounts leaves no account to audit".into(),
                advice: "Exclude fewer accounts",
            });
        }
        chosen.sort();
        // The management account owns the organization trails: it is read first, also when it
        // is not audited itself (left out, or in another shard), so that they are evaluated
        // once and cover the members.
        let management = organization.as_ref().map(|o| o.management_account.clone());
        let mut accounts: Vec<String> = chosen
            .iter()
            .filter(|a| options.shard.is_none_or(|s| s.holds(a)))
            .cloned()
            .collect();
        if let Some(m) = &management {
            if let Some(i) = accounts.iter().position(|a| a == m) {
                let m = accounts.remove(i);
                accounts.insert(0, m);
            }
        }
        let read_management_first = management.is_some();
        Ok(AccountsPlan {
            caller,
            partition,
            organization,
            members,
            accounts,
            read_management_first,
            notes,
        })
    }

    /// Reads the plan's accounts, a few at a time, and hands each one's evidence (with notes
    /// for the operator) to `emit`, in the plan's order.
    pub async fn collect(
        &self,
        plan: &AccountsPlan,
        options: &OrgOptions,
        mut emit: impl FnMut(AccountEvidence, Vec<String>),
    ) {
        // An empty shard reads nothing, not even the management account.
        if plan.accounts.is_empty() {
            return;
        }
        let mut rest: &[String] = &plan.accounts;
        let mut organization_trails: Vec<Trail> = Vec::new();
        let mut pending: Option<String> = None;
        if plan.read_management_first {
            if let Some(management) = plan.organization.as_ref().map(|o| &o.management_account) {
                let (evidence, notes) = self.account(plan, options, management, &[]).await;
                organization_trails = evidence
                    .trails
                    .iter()
                    .filter(|t| t.is_organization_trail.is(&true) == Some(true))
                    .cloned()
                    .collect();
                if rest.first() == Some(management) {
                    rest = &rest[1..];
                    emit(evidence, notes);
                } else if let Some(error) = &evidence.error {
                    // Not audited here, but its organization trails are not known either.
                    pending = Some(format!(
                        "the management account {management} could not be read for its \
                         organization trails ({error}): member accounts covered only by them \
                         fail or cannot decide Region coverage (TS012)"
                    ));
                }
            }
        }
        // Accounts in flight: enough to keep the global limit busy, few enough to bound memory.
        let in_flight = (options.collect.concurrency / options.account_concurrency.max(1))
            .saturating_mul(2)
            .clamp(2, 64);
        let organization_trails = &organization_trails;
        let mut reads = futures::stream::iter(rest)
            .map(|account| self.account(plan, options, account, organization_trails))
            .buffered(in_flight);
        while let Some((evidence, mut notes)) = reads.next().await {
            if let Some(note) = pending.take() {
                notes.insert(0, note);
            }
            emit(evidence, notes);
        }
    }

    /// Reads one account; never fails: what cannot be read is recorded in the evidence.
    async fn account(
        &self,
        plan: &AccountsPlan,
        options: &OrgOptions,
        account: &str,
        organization_trails: &[Trail],
    ) -> (AccountEvidence, Vec<String>) {
        let failed = |error: String| AccountEvidence {
            account: account.to_owned(),
            partition: plan.partition.clone(),
            error: Some(error),
            organization: organization_info(plan, account),
            ..AccountEvidence::default()
        };
        let config = if account == plan.caller {
            self.base.clone()
        } else {
            match self.assume(plan, options, account).await {
                Ok(config) => config,
                Err(error) => return (failed(error), Vec::new()),
            }
        };
        let collect = CollectOptions {
            identity: Some((account.to_owned(), plan.partition.clone())),
            organization: organization_info(plan, account),
            organization_trails: organization_trails.to_vec(),
            member_of_organization: plan.members.iter().any(|m| m == account),
            ..options.collect.clone()
        };
        let collector = Collector::new(config, options.account_concurrency)
            .with_global_limit(Arc::clone(&self.global));
        match collector.collect(&collect).await {
            Ok(collection) => (collection.account, collection.notes),
            Err(e) => (failed(e.to_string()), Vec::new()),
        }
    }

    /// The configuration to call AWS as `account`: the caller's own, or the role assumed in
    /// it (`audit --org --security-hub` imports each account's findings as that account).
    pub async fn account_config(
        &self,
        plan: &AccountsPlan,
        options: &OrgOptions,
        account: &str,
    ) -> Result<SdkConfig, String> {
        if account == plan.caller {
            return Ok(self.base.clone());
        }
        self.assume(plan, options, account).await
    }

    /// The configuration of `account` with the role assumed in it; the first AssumeRole runs
    /// here, so that a role that cannot be assumed is known before anything else is called.
    async fn assume(
        &self,
        plan: &AccountsPlan,
        options: &OrgOptions,
        account: &str,
    ) -> Result<SdkConfig, String> {
        let role = format!(
            "arn:{}:iam::{account}:role/{}",
            plan.partition, options.role_name
        );
        let mut builder = aws_config::sts::AssumeRoleProvider::builder(role.clone())
            .session_name("trailseal")
            .configure(&self.base);
        if let Some(id) = &options.external_id {
            builder = builder.external_id(id.clone());
        }
        let provider =
            crate::config::resolved_once(SharedCredentialsProvider::new(builder.build().await));
        let first = {
            let _slot = self.global.acquire().await;
            provider.provide_credentials().await
        };
        if let Err(e) = first {
            return Err(format!("could not assume {role}: {}", assume_error(&e)));
        }
        Ok(self
            .base
            .to_builder()
            .credentials_provider(provider)
            .build())
    }
}

/// The organization as recorded in an account's evidence: with the member accounts for the
/// management account (whose organization trails are evaluated for every member).
fn organization_info(plan: &AccountsPlan, account: &str) -> Option<OrganizationInfo> {
    let org = plan.organization.as_ref()?;
    let owner = org.management_account == account;
    Some(OrganizationInfo {
        id: org.id.clone(),
        management_account: org.management_account.clone(),
        member_accounts: if owner {
            plan.members.clone()
        } else {
            Vec::new()
        },
    })
}

/// What to do when Organizations refuses: by its error code.
fn not_an_organization_advice(code: Option<&str>) -> &'static str {
    match code {
        Some("AWSOrganizationsNotInUseException") => {
            "The account is not in an organization: audit it without --org, or name the \
             accounts with --accounts"
        }
        Some("AccessDeniedException") | Some("AccessDenied") => {
            "--org needs the organization's management account or a delegated administrator \
             (with organizations:DescribeOrganization and organizations:ListAccounts); or name \
             the accounts with --accounts"
        }
        _ => "Try again; or name the accounts with --accounts",
    }
}

/// The AssumeRole error in one line: STS's code and message when it answered.
fn assume_error(e: &aws_credential_types::provider::error::CredentialsError) -> String {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    type AssumeSdkError = aws_sdk_sts::error::SdkError<AssumeRoleError, HttpResponse>;
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(sdk) = err.downcast_ref::<AssumeSdkError>() {
            return describe("sts:AssumeRole", sdk);
        }
        next = err.source();
    }
    human(e).map_or_else(|| e.to_string(), |(_, line)| line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_accounts_and_keep_each_in_one() {
        let accounts: Vec<String> = (0..1000).map(|i| format!("{:012}", 100_000 + i)).collect();
        let count = 4;
        let mut sizes = Vec::new();
        for a in &accounts {
            let holders = (1..=count)
                .filter(|&index| Shard { index, count }.holds(a))
                .count();
            assert_eq!(holders, 1, "{a} is in {holders} shards");
        }
        for index in 1..=count {
            sizes.push(
                accounts
                    .iter()
                    .filter(|a| Shard { index, count }.holds(a))
                    .count(),
            );
        }
        // Roughly even: each shard within 20% of a quarter.
        assert!(sizes.iter().all(|&n| (200..=300).contains(&n)), "{sizes:?}");
    }
}
