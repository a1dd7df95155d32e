//! The `trailseal` command line. Thin: parses arguments, reads files, calls the pure crates,
//! renders, and maps results to the exit codes of ../shared/PRODUCT.md:
//! 0 everything evaluated passed (or only findings below --fail-on), 1 at least one finding
//! failed (or could not be decided), 2 usage error, input that could not be read, or nothing
//! could be evaluated. docs/reference.md has the details.

mod audit_cmd;
mod cli;
mod collect_cmd;
mod completions_cmd;
mod documents;
mod explain_cmd;
mod fix_cmd;
mod history_cmd;
mod merge_cmd;
mod monitor_cmd;
mod org_cmd;
mod output;
mod policy_cmd;
mod readers_cmd;
mod rollback_cmd;
mod scan_cmd;
mod securityhub_cmd;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: scanning allocates many small values from
/// several threads, and glibc malloc took a quarter of the scan time (perf). Built with
/// `no_thp`: mimalloc otherwise asks for transparent huge pages on its arenas (madvise). Measured
/// on a scan: with them, fewer page faults but only 1.49-1.77 of 2 CPUs busy, wall time 3%
/// longer and about twice as variable; without, 1.80-1.98 CPUs busy (bench/README.md, eleventh
/// session).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An error that maps to exit code 2 (usage, unreadable input, nothing evaluated).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    // In AWS Lambda (provided.al2023) the binary is the function's `bootstrap`.
    if let Some(code) = monitor_cmd::lambda_bootstrap() {
        return code;
    }
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Policy(p) => policy_cmd::run(p),
        cli::Command::Audit(a) => audit_cmd::run(a),
        cli::Command::Collect(c) => collect_cmd::run(c),
        cli::Command::Scan(s) => scan_cmd::run(s),
        cli::Command::Explain(e) => explain_cmd::run(e),
        cli::Command::Fix(f) => fix_cmd::run(f),
        cli::Command::Rollback(r) => rollback_cmd::run(r),
        cli::Command::Merge(m) => merge_cmd::run(m),
        cli::Command::History(h) => history_cmd::history(h),
        cli::Command::Diff(d) => history_cmd::diff(d),
        cli::Command::Monitor(m) => monitor_cmd::run(m),
        cli::Command::Readers(r) => readers_cmd::run(r),
        cli::Command::Completions(c) => completions_cmd::completions(c),
        cli::Command::Man(m) => completions_cmd::man(m),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("trailseal: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
