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
    /// Run the check catalogue (TS001-TS013) against live AWS (read-only), or offline on a
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
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Print the plan as code instead.
    #[arg(long, value_enum, value_name = "KIND")]
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
    /// AWS requests in flight at most.
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Write the evidence to this file (default: standard output).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Evaluate this evidence file (trailseal.evidence/v1 JSON, from `trailseal collect`)
    /// offline instead of reading AWS.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["regions", "profile", "concurrency"])]
    pub evidence: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Which findings to report and which fail the run (audit, scan).
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only these checks, comma-separated (e.g. TS001,TS006).
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Exit non-zero only for findings of at least this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "info",
          value_parser = ["info", "low", "medium", "high", "critical"])]
    pub fail_on: String,
    /// Also print passing findings in full.
    #[arg(long, short)]
    pub verbose: bool,
}

impl FilterArgs {
    /// The `--checks` codes, checked against the catalogue (an unknown code is a usage error).
    pub fn codes(&self) -> Result<Vec<&str>, crate::UsageError> {
        let codes: Vec<&str> = self
            .checks
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .collect();
        match codes.iter().find(|c| trailseal_checks::find(c).is_none()) {
            Some(bad) => Err(crate::UsageError(format!(
                "--checks: unknown check code {bad:?} (see `trailseal explain`)"
            ))),
            None => Ok(codes),
        }
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
    Check(PolicyCheckArgs),
    /// Validate a policy document (stable codes in the spirit of IAM Access Analyzer).
    Lint(PolicyLintArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// SARIF 2.1.0, for code-scanning UIs (audit, scan, policy check).
    Sarif,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format (default: text).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
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
    /// Exit non-zero only for findings of at least this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "info",
          value_parser = ["info", "low", "medium", "high", "critical"])]
    pub fail_on: String,
    /// Also print passing findings in full.
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct PolicyLintArgs {
    /// The policy JSON file (`-` for standard input).
    pub policy: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A check code such as TS006. Without one, lists every check.
    pub code: Option<String>,
}
