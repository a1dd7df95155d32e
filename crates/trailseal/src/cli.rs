//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "trailseal",
    version,
    about = "Keeps AWS CloudTrail logs encrypted under a KMS key CloudTrail can really use",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate or validate a KMS key policy (offline, no AWS access needed).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run the check catalogue (TS001-TS016) against live AWS (read-only), or offline on a
    /// collected evidence file with `--evidence FILE`.
    Audit(AuditArgs),
    /// Collect the evidence the checks need from live AWS (read-only) into a file, for offline
    /// `audit --evidence FILE` and for auditors' records.
    Collect(CollectArgs),
    /// Scan infrastructure as code before deployment (CloudFormation YAML/JSON, Terraform HCL
    /// and plan JSON) with the same checks and codes as the live audit.
    Scan(ScanArgs),
    /// Print a check's documentation: what it checks, why it matters, an example, how to fix.
    Explain(ExplainArgs),
    /// Plan the remediation of every trail that is not compliant (TS001-TS006): what, where
    /// and why, with the equivalent AWS CLI commands and how to back each change out, every
    /// planned key policy proven with the policy engine. Reads like `audit`; changes nothing
    /// without `--apply` (which journals every change for `rollback`).
    Fix(FixArgs),
    /// Undo every change a `fix --apply` journal records, newest first (also after a crash
    /// mid-apply); a second rollback of the same journal does nothing.
    Rollback(RollbackArgs),
    /// Who can read a trail's log files end to end (S3 read AND KMS decrypt), through which
    /// statements and grants: every IAM user and role of the account, the root user, other
    /// accounts' principals the policies name, every other account, anonymous callers.
    Readers(ReadersArgs),
    /// List the audits recorded by `audit --history` (one run per account): when, which
    /// tool version, how many trails are compliant, findings per status.
    History(HistoryArgs),
    /// What changed between two recorded runs of an account (default: each account of the
    /// latest audit against its run before): trails added or removed, findings newly failing or fixed, key state changes,
    /// key policy statements with their effect on TS006-TS008. `--fail-on-regression` exits 1
    /// only when something got worse.
    Diff(DiffArgs),
    /// Keep it true inside AWS: `--emit cloudformation|terraform` writes the stack that
    /// re-checks the control on every change (trailseal as a Lambda function, an AWS Config
    /// custom rule on every trail, an EventBridge rule on the CloudTrail, KMS and S3 calls that
    /// can break it, an SNS topic for regressions); `--event FILE` runs the function's handler once,
    /// here, on a Config or EventBridge event.
    Monitor(MonitorArgs),
    /// Combine audit reports (trailseal.audit/v1 JSON or JSON Lines, e.g. one per --shard)
    /// into one report, with the exit code of the whole.
    Merge(MergeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), generated from the same definitions as --help.
    Man(ManArgs),
}

/// What `fix` prints instead of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// A bash script of the AWS CLI commands, with the backout as comments.
    Cli,
    /// A Terraform configuration: existing trails, keys and buckets adopted with import
    /// blocks, the change as their arguments; new keys and aliases as resources.
    Terraform,
    /// A CloudFormation template (one Region): existing resources with DeletionPolicy
    /// Retain, to import first and then update; new keys and aliases as resources.
    Cloudformation,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Plan from this evidence file (trailseal.evidence/v1, from `trailseal collect`) instead
    /// of reading AWS.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["regions", "profile", "concurrency"])]
    pub evidence: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Only these trails (ARN or name; repeatable or comma-separated).
    #[arg(long = "trail", value_name = "ARN|NAME", value_delimiter = ',')]
    pub trails: Vec<String>,
    /// Leave out log file validation (TS010) and key rotation (TS011).
    #[arg(long)]
    pub no_extras: bool,
    /// Point the trails that need a new key at this key (ARN; it must be an enabled
    /// customer-managed key in their bucket's Region) instead of the trailseal key.
    #[arg(long, value_name = "KEY_ARN")]
    pub key: Option<String>,
    /// Alias of the key trailseal creates (one per account and Region, reused when it exists).
    #[arg(long, value_name = "ALIAS", default_value = trailseal_plan::DEFAULT_ALIAS)]
    pub alias: String,
    /// A principal ARN or account id that must be able to decrypt the logs under a new key
    /// (repeatable); the old key's readers are carried over as well.
    #[arg(long = "reader", value_name = "PRINCIPAL")]
    pub readers: Vec<String>,
    /// Re-enable a disabled key instead of replacing it.
    #[arg(long)]
    pub enable_disabled_keys: bool,
    /// When an explicit Deny in the key policy blocks CloudTrail, point the trail at the
    /// trailseal key (without it the plan changes nothing for that trail and says so).
    #[arg(long)]
    pub replace_key: bool,
    /// UNSAFE: exempt CloudTrail from the blocking Deny statements that use NotPrincipal
    /// (CloudTrail is added to it); refused unless who may decrypt and who may administer the
    /// key stay exactly the same (the proof), or --force.
    #[arg(long)]
    pub edit_deny: bool,
    /// Keep changes whose proof fails (the plan flags them).
    #[arg(long)]
    pub force: bool,
    /// Plan format (json: trailseal.plan/v1).
    #[arg(long, value_enum, ignore_case = true, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Print the plan as code instead.
    #[arg(long, value_enum, ignore_case = true, value_name = "KIND")]
    pub emit: Option<Emit>,
    /// Also save the plan (trailseal.plan/v1 JSON) to this file, for review.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Apply the plan (asks for confirmation on a terminal unless --yes). With a file, apply
    /// exactly that saved plan, after checking that the account still gives the same plan.
    #[arg(long, value_name = "PLAN", num_args = 0..=1, conflicts_with_all = ["evidence", "emit"])]
    pub apply: Option<Option<PathBuf>>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Journal of the apply (JSON lines; default: trailseal-journal-ACCOUNT-TIME.jsonl here).
    #[arg(long, value_name = "FILE", requires = "apply")]
    pub journal: Option<PathBuf>,
    /// When AWS cannot be used, also print the SDK's whole error chain.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The journal `fix --apply` wrote.
    pub journal: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Also schedule the deletion of the keys the apply created (else they are only disabled).
    #[arg(long)]
    pub delete_keys: bool,
    /// Use a journal whose last line was cut off (the process was killed while writing it):
    /// that line is ignored. Without it such a journal is refused.
    #[arg(long)]
    pub torn_ok: bool,
    /// The waiting period of that deletion, in days.
    #[arg(long, value_name = "DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(i32).range(7..=30))]
    pub pending_days: i32,
    /// Restore the state before the apply even where it was changed after the apply (without
    /// it, such a change is left as it is and the rollback stops there).
    #[arg(long)]
    pub force: bool,
    /// Named profile from the AWS config/credentials files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

/// Where and how to read AWS.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// Regions to scan, comma-separated (default: every Region enabled for the account, from
    /// ec2:DescribeRegions). Trails whose home Region is elsewhere are still read there.
    #[arg(long, value_name = "REGIONS", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Named profile from the AWS config/credentials files (default: the standard chain:
    /// environment, AWS_PROFILE, SSO, credential_process, instance/container metadata).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Regions never to scan, comma-separated (also when they are enabled).
    #[arg(long, value_name = "REGIONS", value_delimiter = ',')]
    pub exclude_regions: Vec<String>,
    /// AWS requests in flight at most (over every account with --org / --accounts).
    #[arg(long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Seconds to wait for a connection (per attempt; calls are tried up to 5 times): an
    /// unreachable Region fails after this instead of hanging.
    #[arg(long, value_name = "SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub connect_timeout: u64,
    /// Seconds one attempt of a call may take in all (a stalled connection fails after this).
    #[arg(long, value_name = "SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub call_timeout: u64,
    /// Print the AWS SDK's whole error chain when AWS cannot be used (set from the command's
    /// own `-v`).
    #[arg(skip)]
    pub verbose: bool,
}

/// Which accounts to read: one (the caller's, default), every account of the organization,
/// or a list.
#[derive(Debug, Args)]
pub struct OrgArgs {
    /// Every ACTIVE account of the organization (organizations:ListAccounts; run as the
    /// management account or a delegated administrator). The caller's account is read with its
    /// own credentials, every other one through --role-name.
    #[arg(long, conflicts_with = "accounts")]
    pub org: bool,
    /// These accounts (12-digit ids, comma-separated), each through --role-name (the caller's
    /// own with its credentials).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Accounts to leave out of --org / --accounts (comma-separated).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub exclude_accounts: Vec<String>,
    /// The role to assume in each account (a name, or path/name).
    #[arg(long, value_name = "NAME", default_value = trailseal_aws::DEFAULT_ROLE_NAME)]
    pub role_name: String,
    /// The external id the roles' trust policies require.
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// AWS requests in flight per account (--concurrency limits them over all accounts).
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub account_concurrency: u16,
    /// Only the I-th of N shards of the accounts (1-based; an account's shard follows from a
    /// hash of its id): N machines, one shard each, then `trailseal merge` their reports.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub accounts: OrgArgs,
    /// Write the evidence to this file (default: standard output).
    #[arg(long, short, value_name = "FILE", conflicts_with = "output_dir")]
    pub output: Option<PathBuf>,
    /// With --org / --accounts: one evidence file per account in this directory
    /// (evidence-ACCOUNT.json) instead of one file for all.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// When AWS cannot be used, also print the SDK's whole error chain.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Evaluate this evidence file (trailseal.evidence/v1 JSON, from `trailseal collect`)
    /// offline instead of reading AWS.
    #[arg(long, value_name = "FILE",
          conflicts_with_all = ["regions", "concurrency", "org", "accounts",
                                "exclude_accounts", "role_name", "external_id", "shard",
                                "account_concurrency", "exclude_regions"])]
    pub evidence: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub accounts: OrgArgs,
    /// Also import the findings into AWS Security Hub (ASFF, BatchImportFindings, each in its
    /// Region, batches of 100; passing findings archived), each account's as that account (the
    /// caller's own credentials, --profile with --evidence, or the account's role with --org /
    /// --accounts). A Region where that fails is named and the run exits 2; the others are
    /// still imported.
    #[arg(long)]
    pub security_hub: bool,
    /// Accounts meant to read the logs besides each trail's own (12-digit ids,
    /// comma-separated): TS015 does not fail for their readers.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub trusted_accounts: Vec<String>,
    /// Record this run (each account's evidence and findings) in the audit history, a SQLite
    /// database: DB, or without a file `~/.local/share/trailseal/history.sqlite3` (the user's
    /// data directory). `trailseal history` lists the runs, `trailseal diff` compares them.
    #[arg(long, value_name = "DB", num_args = 0..=1)]
    pub history: Option<Option<PathBuf>>,
    /// With --history: keep only the newest N runs of each audited account (at least 2:
    /// `trailseal diff` compares the last two).
    #[arg(long, value_name = "N", requires = "history",
          value_parser = clap::value_parser!(u32).range(2..))]
    pub keep: Option<u32>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// What `monitor --emit` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StackFormat {
    /// A CloudFormation template (YAML).
    Cloudformation,
    /// A Terraform configuration (HCL).
    Terraform,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["emit", "event"])))]
pub struct MonitorArgs {
    /// Write the monitoring stack in this language.
    #[arg(long, value_name = "FORMAT")]
    pub emit: Option<StackFormat>,
    /// Run the function's handler once on this event (an AWS Config rule invocation or an
    /// EventBridge event, JSON), with the credentials and Regions of this command; the
    /// function's settings come from the same environment variables (TRAILSEAL_SNS_TOPIC_ARN,
    /// TRAILSEAL_TRUSTED_ACCOUNTS, TRAILSEAL_FAIL_ON, TRAILSEAL_CONFIG_TEST_MODE,
    /// TRAILSEAL_CONFIG_RULE_NAME). Prints the
    /// outcome (JSON); exit 1 when a trail is not compliant (or a notification was due), 2 when
    /// the event could not be used or decided, a delivery failed, or a setting is invalid.
    #[arg(long, value_name = "FILE", conflicts_with = "emit")]
    pub event: Option<PathBuf>,
    /// Write the stack to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE", requires = "emit")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The history database (default: `~/.local/share/trailseal/history.sqlite3`).
    #[arg(long, value_name = "DB")]
    pub history: Option<PathBuf>,
    /// Only this account's runs.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Print run RUN's evidence as an evidence file (trailseal.evidence/v1) instead of the
    /// list: `trailseal audit --evidence FILE` evaluates it again (with this trailseal's checks).
    #[arg(long, value_name = "RUN", conflicts_with_all = ["account", "keep"])]
    pub evidence: Option<i64>,
    /// Delete all but the newest N runs of each account first (at least 2).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..))]
    pub keep: Option<u32>,
    /// text (a table) or json (`runs`).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Run numbers (`trailseal history` lists them): none, each account of the latest audit
    /// and its run before; one, that run and the account's run before it; two, OLD and NEW.
    #[arg(value_name = "RUN", num_args = 0..=2)]
    pub runs: Vec<i64>,
    /// The history database (default: `~/.local/share/trailseal/history.sqlite3`).
    #[arg(long, value_name = "DB")]
    pub history: Option<PathBuf>,
    /// Exit 1 when something got worse: a finding fails or cannot be decided any more, a new
    /// one is not passing, one was not verified again (fewer checks or Regions read), or a
    /// compliant trail was deleted. A known backlog that did not change exits 0.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Exit 1 on any change at all (also a key policy edit that changes no verdict).
    #[arg(long)]
    pub fail_on_change: bool,
    /// text or json (`trailseal.diff/v1`).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct ReadersArgs {
    /// The trail: its name or ARN.
    #[arg(value_name = "TRAIL")]
    pub trail: String,
    /// Read this evidence file (trailseal.evidence/v1, from `trailseal collect`) instead of
    /// AWS.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["regions", "concurrency", "exclude_regions"])]
    pub evidence: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Accounts meant to read the logs besides the trail's own (12-digit ids,
    /// comma-separated): their readers are marked trusted.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub trusted_accounts: Vec<String>,
    /// text (a table) or json (`readers`, `conditional`, `partial`, `not_read`).
    #[arg(long, value_name = "FORMAT", default_value = "text",
          value_parser = ["text", "json"])]
    pub format: String,
}

/// The lowest severity that fails the run (exit 1), or `none`: report only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
    /// Report only: findings never fail the run (input that cannot be read still exits 2).
    None,
}

/// Which findings to report and which fail the run (audit, scan, policy check).
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only these checks, comma-separated (e.g. TS001,TS006).
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Leave these checks out, comma-separated (e.g. TS011,TS013).
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub skip_checks: Vec<String>,
    /// Exit 1 only for findings (fail, error, indeterminate) of at least this severity;
    /// `none` reports only. Input that cannot be read always exits 2.
    #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true,
          default_value_t = FailOn::Info)]
    pub fail_on: FailOn,
    /// Report only: the same as --fail-on none.
    #[arg(long, conflicts_with = "fail_on")]
    pub exit_zero: bool,
    /// Also print passing findings in full.
    #[arg(long, short, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Only the problems and the summary (text): no passing resources.
    #[arg(long, short)]
    pub quiet: bool,
    /// Accepted risks (YAML: `mutes:` entries by checks, accounts, regions and resources, each
    /// with a reason and an optional `expires` date): the findings they cover are reported
    /// `muted`, with the reason, and do not fail the run.
    #[arg(long, value_name = "FILE")]
    pub mutelist: Option<PathBuf>,
}

impl FilterArgs {
    /// The threshold of the exit code: `None` when nothing fails the run.
    pub fn threshold(&self) -> Option<trailseal_model::Severity> {
        use trailseal_model::Severity;
        if self.exit_zero {
            return None;
        }
        match self.fail_on {
            FailOn::Info => Some(Severity::Info),
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::None => None,
        }
    }

    /// The checks to run among `available` (the command's checks, in catalogue order): all of
    /// them, or those `--checks` names, minus `--skip-checks`. A code the catalogue does not
    /// know, or nothing left to run, is a usage error.
    pub fn codes(
        &self,
        available: &[&'static str],
    ) -> Result<Vec<&'static str>, crate::UsageError> {
        let listed = |flag: &str,
                      list: &[String]|
         -> Result<Vec<&'static str>, crate::UsageError> {
            list.iter()
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .map(|c| match trailseal_checks::find(c) {
                    Some(k) => Ok(k.info.code),
                    None if trailseal_checks::info(c).is_some() => Err(crate::UsageError(format!(
                        "{flag}: {c} reports input that cannot be read; it is not a \
                                 check and cannot be selected or skipped"
                    ))),
                    None => Err(crate::UsageError(format!(
                        "{flag}: unknown check code {c:?} (`trailseal explain` lists them)"
                    ))),
                })
                .collect()
        };
        let only = listed("--checks", &self.checks)?;
        let skip = listed("--skip-checks", &self.skip_checks)?;
        // A code this command does not run is a mistake, never silently dropped.
        let foreign: Vec<&str> = only
            .iter()
            .copied()
            .filter(|c| !available.contains(c))
            .collect();
        if !foreign.is_empty() {
            return Err(crate::UsageError(format!(
                "--checks {}: not run by this command (it runs {})",
                foreign.join(","),
                available.join(",")
            )));
        }
        let codes: Vec<&'static str> = available
            .iter()
            .copied()
            .filter(|c| only.is_empty() || only.contains(c))
            .filter(|c| !skip.contains(c))
            .collect();
        if codes.is_empty() {
            return Err(crate::UsageError(format!(
                "no check left to run: this command runs {}{}{}",
                available.join(","),
                if only.is_empty() {
                    String::new()
                } else {
                    format!("; --checks named {}", only.join(","))
                },
                if skip.is_empty() {
                    String::new()
                } else {
                    format!("; --skip-checks named {}", skip.join(","))
                },
            )));
        }
        Ok(codes)
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories (files and modules are scanned in parallel; directories are walked
    /// respecting .gitignore, skipping .terraform/).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// A CloudFormation parameter value, NAME=VALUE (repeatable); overrides the Default.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
    /// A Terraform variable value, NAME=VALUE (repeatable); overrides defaults and tfvars.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// A Terraform variables file (tfvars syntax) for the root modules (repeatable); read after
    /// terraform.tfvars and *.auto.tfvars, before --var.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide whether CloudTrail can encrypt (TS006), describe the key (TS007), and who can
    /// decrypt the logs (TS008), with the statements and conditions that decided.
    Check(Box<PolicyCheckArgs>),
    /// Validate a policy document (stable codes in the spirit of IAM Access Analyzer).
    Lint(PolicyLintArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// SARIF 2.1.0, for code-scanning UIs (audit, scan, policy check).
    Sarif,
    /// One finding per line (JSON Lines), streamed as each account (or file) is done.
    Jsonl,
    /// One row per finding, RFC 4180 CSV with a header (columns in docs/reference.md).
    Csv,
    /// JUnit XML: a test suite per check, a test case per resource and check.
    Junit,
    /// OCSF 1.8.0 Detection Finding (class 2004) objects in a JSON array.
    Ocsf,
    /// OCSF Detection Finding objects, one per line.
    OcsfJsonl,
    /// AWS Security Finding Format (BatchImportFindings), a JSON array (audit only).
    Asff,
    /// One self-contained HTML page: summary, filters, each finding with its fix.
    Html,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format (default: text).
    #[arg(long, value_enum, ignore_case = true, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short, value_name = "FILE", conflicts_with = "output_dir")]
    pub output: Option<PathBuf>,
    /// Write the report into this directory instead, in every format of --output-formats (file
    /// names: trailseal-ACCOUNT-TIME.EXT; ACCOUNT is `org-ID`, `accounts`, `scan`, `policy` or
    /// `merged` where there is no single account).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// The formats --output-dir writes, comma-separated (default: --format).
    #[arg(
        long,
        value_name = "FORMATS",
        value_enum,
        ignore_case = true,
        value_delimiter = ',',
        requires = "output_dir"
    )]
    pub output_formats: Vec<Format>,
    /// No ANSI colours (colours are only used on a terminal anyway).
    #[arg(long)]
    pub no_color: bool,
}

#[derive(Debug, Args)]
pub struct PolicyCheckArgs {
    /// The key policy JSON file (`-` for standard input).
    pub policy: PathBuf,
    /// The trail that uses the key: arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME
    #[arg(long, value_name = "ARN")]
    pub trail_arn: String,
    /// The trail's S3 bucket (sets the kms:EncryptionContext:aws:s3:arn value; unknown without it).
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
    /// The trail's S3 key prefix.
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// The key's ARN (only needed when the policy names resources other than "*").
    #[arg(long, value_name = "ARN")]
    pub key_arn: Option<String>,
    /// The trail is an organization trail (member accounts' log paths are then unknown).
    #[arg(long)]
    pub organization_trail: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct PolicyLintArgs {
    /// The policy JSON file (`-` for standard input).
    pub policy: PathBuf,
    /// Output format (json: trailseal.lint/v1).
    #[arg(long, value_enum, ignore_case = true, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// Write the diagnostics to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `policy lint` prints diagnostics, not findings: no SARIF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A check code such as TS006. Without one, lists every check and where it applies.
    pub code: Option<String>,
    /// json: the catalogue entries (code, name, severity, title, compliance, applies,
    /// compliant, doc), for tools.
    #[arg(long, value_enum, ignore_case = true, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, ignore_case = true)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write trailseal.1 and one page per subcommand (trailseal-audit.1, ...) into this
    /// directory instead of printing trailseal.1 to standard output.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The reports to combine (`trailseal audit --format json` or `--format jsonl` output).
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}
