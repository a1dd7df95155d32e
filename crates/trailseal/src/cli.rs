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
    /// Run the check catalogue (TS001-TS013) on collected evidence (`--evidence FILE`, schema
    /// trailseal.evidence/v1). Live collection from AWS is not available yet.
    Audit(AuditArgs),
    /// Print a check's documentation: what it checks, why it matters, an example, how to fix.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Evidence file to evaluate offline (trailseal.evidence/v1 JSON).
    #[arg(long, value_name = "FILE", required = true)]
    pub evidence: PathBuf,
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
