//! Who can read a trail's log files end to end (TS015, `trailseal readers`): `s3:GetObject` of a
//! log file through the bucket policy and the principal's IAM policies, **and** `kms:Decrypt`
//! of it through the key policy, the principal's IAM policies and the key's grants.
//!
//! Every principal the analysis can tell apart is a row:
//! - the trail account's root user (not subject to IAM policies);
//! - each IAM user and role of the trail's account (`iam:GetAccountAuthorizationDetails`;
//!   service-linked roles left out), with its inline, attached and group policies and its
//!   permissions boundary; when those were not read, one row for "IAM principals of the
//!   account" that depends on them;
//! - each principal and account the key policy, the bucket policy or a grant names from another
//!   account (their own IAM policies are their account's business: a cross-account grant counts
//!   as a reader);
//! - principals of every account neither policy names, and anonymous callers (S3 only).
//!
//! Each side is combined as IAM does (see `trailseal_policy::identity`): a KMS key policy must
//! allow, directly or by delegating to the account; within the bucket's account, the bucket
//! policy or the principal's IAM policies allow; across accounts both must. Any explicit Deny
//! wins. Not read: service control and resource control policies, session policies, VPC
//! endpoint policies (they can only take access away: a listed reader may be refused), object
//! ACLs (CloudTrail writes its objects with `bucket-owner-full-control`, which grants only the
//! bucket owner; with ACLs enabled a later `PutObjectAcl` could grant more) and other copies of
//! the logs (replication, CloudWatch Logs).
mod analysis;
mod sides;

use serde::Serialize;
use trailseal_policy::{Combined, Decision, Tri, FRESH};

pub use analysis::NoAnalysis;
pub(crate) use analysis::{analyse, decrypters};
use trailseal_model::TrailEvidence;

/// What kind of principal a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// The trail account's root user.
    Root,
    User,
    Role,
    /// IAM principals of the trail's account whose policies were not read.
    AccountPrincipals,
    /// A principal of another account, named by a policy or a grant.
    Named,
    /// The IAM principals of another account the policies name (their IAM policies decide).
    OtherAccountPrincipals,
    /// Principals of every account the policies do not name.
    AnyAccount,
    /// Anonymous callers (S3 only: KMS never serves them).
    Anonymous,
    /// Principals outside the account that may assume a role of the account that reads (its
    /// trust policy names them, or was not read).
    ThroughRole,
    /// An AWS service principal other than CloudTrail that the policies name (CloudFront origin
    /// access control serves objects to the world): outside the account.
    Service,
}

impl RowKind {
    /// Outside the trail's account, or anyone.
    pub fn is_public(self) -> bool {
        matches!(self, RowKind::AnyAccount | RowKind::Anonymous)
    }
}

/// One side of reading a log file (decrypt or S3 read) for one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    pub decision: Decision,
    /// The statements (and grants) that allow or deny.
    pub via: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Allowed for these files only (an object ARN pattern: one Region's or one member's
    /// folder); None: every log file, or not allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
}

impl Side {
    fn from(c: Combined) -> Side {
        Side {
            decision: c.decision,
            via: c.via,
            depends_on: c.unknown_keys,
            only: None,
        }
    }

    fn unknown(why: &str) -> Side {
        Side {
            decision: Decision::Indeterminate,
            via: Vec::new(),
            depends_on: vec![why.to_owned()],
            only: None,
        }
    }

    pub fn allowed(&self) -> Tri {
        match self.decision {
            Decision::Allow => Tri::True,
            Decision::Indeterminate => Tri::Unknown,
            _ => Tri::False,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub principal: String,
    /// The principal's account (None for rows of every account, or anonymous).
    pub account: Option<String>,
    pub kind: RowKind,
    pub decrypt: Side,
    pub read: Side,
    /// Outside the account, with CloudTrail Insights on (or not known to be off): whether it
    /// may read the Insights files (`CloudTrail-Insight/`), whose encryption is not documented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insights: Option<Side>,
}

impl Row {
    /// Can read a log file end to end: decrypt and read.
    pub fn reader(&self) -> Tri {
        self.decrypt.allowed().and(self.read.allowed())
    }

    /// Not in the trail's account (or anyone).
    /// Rows without an account (any account, anonymous callers, services, whoever assumes a
    /// role from outside) are outside too.
    pub fn outside(&self, account: &str) -> bool {
        self.kind.is_public() || self.account.as_deref() != Some(account)
    }

    /// `kms: ...; s3: ...` for the allowing sides.
    pub fn via(&self) -> String {
        let mut parts = Vec::new();
        for (name, side) in [("kms", &self.decrypt), ("s3", &self.read)] {
            if side.decision != Decision::ImplicitDeny && !side.via.is_empty() {
                parts.push(format!("{name}: {}", side.via.join(", ")));
            }
        }
        parts.join("; ")
    }

    pub fn depends_on(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in self.decrypt.depends_on.iter().chain(&self.read.depends_on) {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
        out
    }
}

/// The analysis for one trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogReaders {
    pub trail: String,
    pub account: String,
    pub rows: Vec<Row>,
    /// What was not read, so that rows may be missing or undecided.
    pub notes: Vec<String>,
    /// The trail account's folder of its home Region (where the global events are): a reader
    /// of that folder alone still reads the account's main logs.
    #[serde(skip)]
    pub home_folder: Option<String>,
}

impl LogReaders {
    /// In the trail's account or one of `trusted_accounts` (never any account or anonymous).
    pub fn trusted(&self, r: &Row, trusted_accounts: &[String]) -> bool {
        !r.kind.is_public()
            && r.account
                .as_deref()
                .is_some_and(|a| a == self.account || trusted_accounts.iter().any(|t| t == a))
    }

    /// Reads every log file, or at least the trail account's home-Region folder.
    pub fn reads_main_logs(&self, r: &Row) -> bool {
        r.reader() == Tri::True && (r.read.only.is_none() || r.read.only == self.home_folder)
    }

    /// Principals that can read a log file end to end.
    pub fn readers(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.reader() == Tri::True)
    }
    /// Principals that may read, depending on values trailseal cannot know.
    pub fn conditional(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.reader() == Tri::Unknown)
    }
    /// Principals that can only decrypt, or only read the objects.
    pub fn partial(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| {
            r.reader() == Tri::False
                && (r.decrypt.decision == Decision::Allow || r.read.decision == Decision::Allow)
        })
    }
}

/// A session name trailseal made up (see [`RequestPrincipal::caller`]) never shows.
pub fn shown(principal: &str) -> String {
    principal.replace(FRESH, "*")
}

/// The whole analysis, for `trailseal readers`: `Err` says why it cannot run (the key policy
/// or the bucket cannot be read).
pub fn log_readers(ev: &TrailEvidence) -> Result<LogReaders, NoAnalysis> {
    let loaded = crate::support::load(&crate::checks::TS015.info, ev)
        .map_err(|f| NoAnalysis::Unknown(f.message))?;
    analyse(ev, &loaded)
}
