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

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use serde::Serialize;
use trailseal_model::{Fact, IamAuthorization, IamIdentity, IamIndex, PolicySource, TrailEvidence};
use trailseal_policy::{
    combine, evaluate, named_principals, parse_identity_policy, Combined, Decision, Identity,
    KeyState, Policy, RequestPrincipal, ResourceKind, TrailContext, Tri, FRESH,
};

use trailseal_policy::delivery::LogObject;

use crate::grants::{grant_readers, GrantReader};
use crate::support::Loaded;

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
    pub fn outside(&self, account: &str) -> bool {
        self.kind.is_public() || self.account.as_deref().is_some_and(|a| a != account)
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

/// The Regions enabled in every AWS account (those launched before March 2019); later ones are
/// opt-in ("Managing AWS Regions", AWS Account Management Reference Guide).
const ENABLED_BY_DEFAULT: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-west-1",
    "us-gov-east-1",
];

/// Member folders of an organization trail looked at one by one, at most.
const MAX_MEMBER_FOLDERS: usize = 200;

/// The bucket side as far as it is known.
enum BucketSide {
    Policy(Rc<Policy>),
    /// No bucket policy: only the owner account's IAM policies grant.
    NoPolicy,
    Unknown(String),
}

/// Why there is no table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnalysis {
    /// Nobody can read the logs at all (the bucket does not exist, the key decrypts nothing).
    Nobody(String),
    /// The analysis cannot run on what is known (the trail's ARN does not say its account).
    Unknown(String),
}

impl std::fmt::Display for NoAnalysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoAnalysis::Nobody(why) | NoAnalysis::Unknown(why) => f.write_str(why),
        }
    }
}

/// Reads the bucket policy; `Err` when nothing can be read at all (no bucket).
fn bucket_side(ev: &TrailEvidence) -> Result<BucketSide, NoAnalysis> {
    let Some(bucket) = &ev.bucket else {
        return Ok(BucketSide::Unknown("the bucket was not collected".into()));
    };
    if bucket.exists.is(&false) == Some(true) {
        return Err(NoAnalysis::Nobody(format!(
            "the bucket {} does not exist",
            bucket.name
        )));
    }
    Ok(match &bucket.policy {
        Fact::Known(Some(text)) => match Policy::parse(text) {
            Ok(p) => BucketSide::Policy(Rc::new(p)),
            Err(e) => BucketSide::Unknown(format!("the bucket policy is not valid: {e}")),
        },
        Fact::Known(None) => BucketSide::NoPolicy,
        Fact::Unknown(why) | Fact::Unreadable(why) => {
            BucketSide::Unknown(format!("the bucket policy could not be read: {why}"))
        }
    })
}

/// The parsed identity policies of the account, managed policies parsed once.
struct Identities<'a> {
    iam: IamIndex<'a>,
    managed: HashMap<&'a str, Result<Arc<Policy>, String>>,
}

impl<'a> Identities<'a> {
    fn new(iam: &'a IamAuthorization) -> Self {
        Identities {
            iam: iam.index(),
            managed: HashMap::new(),
        }
    }

    fn parse(&mut self, arn: &'a str, document: Option<&'a str>) -> Result<Arc<Policy>, String> {
        self.managed
            .entry(arn)
            .or_insert_with(|| match document {
                Some(text) => parse_identity_policy(text)
                    .map(Arc::new)
                    .map_err(|e| format!("{arn} is not a valid policy: {e}")),
                None => Err(format!("{arn} was not listed with its document")),
            })
            .clone()
    }

    fn identity(&mut self, who: &'a IamIdentity) -> Identity {
        let mut out = Identity {
            is_role: who.arn.contains(":role/"),
            ..Identity::default()
        };
        match self.iam.applied_policies(who) {
            Err(group) => out
                .unreadable
                .push(format!("the policies of group {group} were not listed")),
            Ok(applied) => {
                for p in applied {
                    let label = p.source.to_string();
                    let parsed = match p.source {
                        PolicySource::Managed(arn) | PolicySource::GroupManaged { arn, .. } => {
                            self.parse(arn, p.document)
                        }
                        PolicySource::Inline(_) | PolicySource::GroupInline { .. } => {
                            match p.document {
                                Some(text) => parse_identity_policy(text)
                                    .map(Arc::new)
                                    .map_err(|e| format!("{label} is not a valid policy: {e}")),
                                None => Err(format!("{label} has no document")),
                            }
                        }
                    };
                    match parsed {
                        Ok(policy) => out.policies.push((label, policy)),
                        Err(why) => out.unreadable.push(why),
                    }
                }
            }
        }
        if let Some(arn) = &who.permissions_boundary {
            let document = self.iam.policy(arn).and_then(|p| p.document.as_deref());
            match self.parse(arn, document) {
                Ok(policy) => out.boundary = Some((format!("permissions boundary {arn}"), policy)),
                Err(why) => out.unreadable.push(format!("permissions boundary: {why}")),
            }
        }
        out
    }
}

/// The request contexts of the log files' reads: for KMS (every log file's encryption context;
/// an organization trail's every member), and for S3 (the same, with an organization trail's
/// member account `*`: every member's folder).
fn reading_contexts(ev: &TrailEvidence, base: &TrailContext) -> (TrailContext, TrailContext) {
    let mut ctx = base.clone();
    if let Some(b) = ev.trail.s3_bucket_name.known().filter(|b| !b.is_empty()) {
        ctx = ctx.with_bucket(b);
    }
    let s3 = match &ev.organization {
        Some(org) => ctx.for_member(&org.id, "*"),
        None => ctx.clone(),
    };
    (ctx, s3)
}

/// `kms:ViaService` of a decryption for an S3 read: S3 decrypts SSE-KMS objects for the reader,
/// through the bucket's Region ("kms:ViaService", KMS Developer Guide).
fn via_s3(ev: &TrailEvidence) -> KeyState {
    match ev.bucket.as_ref().and_then(|b| b.region.known()) {
        Some(region) if !region.starts_with("cn-") => {
            KeyState::Known(vec![format!("s3.{region}.amazonaws.com")])
        }
        Some(region) => KeyState::pattern(vec![format!("s3.{region}.*")]),
        None => KeyState::pattern(vec!["s3.*".to_owned()]),
    }
}

/// Runs the analysis on the loaded key policy (see [`crate::support::load`]).
pub(crate) fn analyse(ev: &TrailEvidence, loaded: &Loaded) -> Result<LogReaders, NoAnalysis> {
    analyse_sides(ev, loaded, true)
}

/// The decrypt side only (TS008): every row's `read` is left undecided ("not evaluated").
pub(crate) fn decrypters(ev: &TrailEvidence, loaded: &Loaded) -> Result<LogReaders, NoAnalysis> {
    analyse_sides(ev, loaded, false)
}

fn analyse_sides(
    ev: &TrailEvidence,
    loaded: &Loaded,
    with_read: bool,
) -> Result<LogReaders, NoAnalysis> {
    let account = ev.trail.account.clone();
    // The log paths and the request keys come from the trail's ARN: it must name the account.
    match trailseal_policy::cloudtrail::arn_parts(&ev.trail.arn) {
        Some((_, _, region, acct, _)) if acct == account && !region.is_empty() => {}
        _ => {
            return Err(NoAnalysis::Unknown(format!(
                "the trail ARN {:?} does not name its Region and account {account}",
                ev.trail.arn
            )))
        }
    }
    let key_policy = &loaded.policy;
    let (ctx, s3_ctx) = reading_contexts(ev, &loaded.ctx);
    let bucket = bucket_side(ev)?;
    let mut notes = Vec::new();
    // KMS decrypts only with an Enabled key ("KMS key states and their effects on
    // cryptographic operations", KMS Developer Guide).
    let state_unknown = match ev.key.as_ref().map(|k| &k.state) {
        Some(Fact::Known(state)) if state != "Enabled" => {
            return Err(NoAnalysis::Nobody(format!(
                "the key is {state}, and KMS decrypts nothing with a key that is not Enabled"
            )))
        }
        Some(Fact::Known(_)) => None,
        Some(Fact::Unknown(why) | Fact::Unreadable(why)) => {
            notes.push(format!("the key's state is not known: {why}"));
            Some("the key's state")
        }
        None => Some("the key"),
    };
    // CloudTrail encrypts log files only with symmetric encryption keys ("Encrypting CloudTrail
    // log files with AWS KMS keys", CloudTrail User Guide): under any other key there are none.
    let mut spec_unknown = None;
    match ev.key.as_ref().map(|k| &k.key_spec) {
        Some(Fact::Known(spec)) if spec != "SYMMETRIC_DEFAULT" => {
            return Err(NoAnalysis::Nobody(format!(
                "the key is {spec}: CloudTrail encrypts no log file under it"
            )));
        }
        Some(Fact::Unknown(why) | Fact::Unreadable(why)) => {
            notes.push(format!("the key's spec is not known: {why}"));
            spec_unknown = Some("the key's spec");
        }
        _ => {}
    }
    let key_account = ev
        .key
        .as_ref()
        .and_then(|k| k.arn.as_deref())
        .and_then(|a| a.split(':').nth(4))
        .unwrap_or(account.as_str())
        .to_owned();
    let bucket_in_account = match &ev.bucket_in_account {
        Fact::Known(b) => Some(*b),
        Fact::Unknown(why) | Fact::Unreadable(why) => {
            notes.push(format!(
                "whether the bucket is in account {account} is not known ({why})"
            ));
            None
        }
    };
    if bucket_in_account == Some(false) {
        notes.push(
            "the bucket is in another account, whose principals may read the objects through \
             their own IAM policies; which account owns it is not collected, so principals of \
             other accounts that can decrypt are undecided unless the bucket policy refuses them \
             (audit the bucket's account too)"
                .to_owned(),
        );
    }
    if let BucketSide::Unknown(why) = &bucket {
        notes.push(why.clone());
    }
    let grants = grant_readers(ev, key_policy, &ctx);
    let grant_list: Vec<GrantReader> = match &grants {
        Fact::Known(g) => g.clone(),
        Fact::Unknown(why) | Fact::Unreadable(why) => {
            notes.push(format!("the key's grants could not be read: {why}"));
            Vec::new()
        }
    };
    // The Regions whose folders certainly hold log files: the home Region, and for a trail
    // known to be multi-Region the Regions every account has enabled (an opt-in Region holds
    // files only when enabled, which the evidence does not say per trail).
    let multi = ev.trail.is_multi_region.is(&true) == Some(true);
    let regions: Vec<String> =
        crate::checks::regions_of(ctx.partition(), &ev.trail.home_region, multi)
            .unwrap_or_else(|| vec![ev.trail.home_region.clone()])
            .into_iter()
            .filter(|r| *r == ev.trail.home_region || ENABLED_BY_DEFAULT.contains(&r.as_str()))
            .collect();
    // An organization trail: each member's own folder (every member's, when known).
    let folders: Vec<TrailContext> = match &ev.organization {
        Some(org) if !org.member_accounts.is_empty() => org
            .member_accounts
            .iter()
            .take(MAX_MEMBER_FOLDERS)
            .map(|m| ctx.for_member(&org.id, m))
            .collect(),
        Some(org) => vec![ctx.for_member(&org.id, &account)],
        None => vec![ctx.clone()],
    };
    let insights = ev.trail.has_insight_selectors.is(&false) != Some(true);

    let analysis = Analysis {
        account: &account,
        key_account: &key_account,
        key_policy,
        bucket: &bucket,
        bucket_in_account,
        ctx: &ctx,
        s3_ctx: &s3_ctx,
        folders: &folders,
        regions: &regions,
        insights,
        via_s3: via_s3(ev),
        grants: &grant_list,
        grants_known: grants.is_known(),
        with_read,
        trusts: Default::default(),
    };
    let mut rows = Vec::new();
    // The trail account's root user.
    let root_arn = format!("arn:{}:iam::{account}:root", ctx.partition());
    rows.push(analysis.row(
        root_arn.clone(),
        Some(account.clone()),
        RowKind::Root,
        RequestPrincipal::aws(&root_arn),
        Some(&Identity::root()),
    ));
    // The account's IAM users and roles.
    match &ev.iam {
        Fact::Known(iam) => {
            let mut identities = Identities::new(iam);
            for who in iam.principals() {
                let identity = identities.identity(who);
                let kind = if identity.is_role {
                    RowKind::Role
                } else {
                    RowKind::User
                };
                let row = analysis.row(
                    who.arn.clone(),
                    Some(account.clone()),
                    kind,
                    RequestPrincipal::caller(&who.arn),
                    Some(&identity),
                );
                let through = if kind == RowKind::Role && with_read && row.reader() != Tri::False {
                    analysis.assumed_from_outside(who, &row)
                } else {
                    Vec::new()
                };
                rows.push(row);
                rows.extend(through);
            }
        }
        Fact::Unknown(why) | Fact::Unreadable(why) => {
            notes.push(format!("the account's IAM policies were not read: {why}"));
            let identity = Identity {
                unreadable: vec![format!("the IAM policies of account {account}")],
                ..Identity::default()
            };
            rows.push(analysis.row(
                format!("IAM principals of account {account}"),
                Some(account.clone()),
                RowKind::AccountPrincipals,
                RequestPrincipal::AccountMember {
                    account: account.clone(),
                },
                Some(&identity),
            ));
        }
    }
    // Principals and accounts of other accounts that a policy or a grant names.
    let mut others: Vec<RequestPrincipal> = named_principals(key_policy, &ctx, "kms:Decrypt");
    if let BucketSide::Policy(p) = &bucket {
        for q in named_principals(p, &ctx, "s3:GetObject") {
            if !others.contains(&q) {
                others.push(q);
            }
        }
    }
    for g in &grant_list {
        let q = grantee(&g.principal);
        if !others.contains(&q) {
            others.push(q);
        }
    }
    for q in others {
        let (name, other_account, kind) = match &q {
            RequestPrincipal::Aws { account: a, .. } if *a != account => {
                (q.describe(), a.clone(), RowKind::Named)
            }
            RequestPrincipal::AccountMember { account: a } if *a != account => (
                format!("IAM principals of account {a}"),
                a.clone(),
                RowKind::OtherAccountPrincipals,
            ),
            RequestPrincipal::Service { name } => {
                rows.push(analysis.row(
                    format!("service {name}"),
                    None,
                    RowKind::Service,
                    q.clone(),
                    Some(&Identity::default()),
                ));
                continue;
            }
            _ => continue,
        };
        rows.push(analysis.row(name, Some(other_account), kind, q, None));
    }
    rows.push(analysis.row(
        "principals of every account the policies do not name".to_owned(),
        None,
        RowKind::AnyAccount,
        RequestPrincipal::OtherAccount,
        None,
    ));
    let mut anonymous = analysis.row(
        "anonymous (unauthenticated) callers".to_owned(),
        None,
        RowKind::Anonymous,
        RequestPrincipal::Anyone,
        None,
    );
    // KMS serves no anonymous caller (SSE-KMS objects are served only to signed requests).
    anonymous.insights = None;
    anonymous.decrypt = Side {
        decision: Decision::ImplicitDeny,
        via: Vec::new(),
        depends_on: Vec::new(),
        only: None,
    };
    rows.push(anonymous);
    if let Some(what) = state_unknown.or(spec_unknown) {
        for row in &mut rows {
            if row.decrypt.decision == Decision::Allow {
                row.decrypt.decision = Decision::Indeterminate;
                row.decrypt.depends_on.push(what.to_owned());
            }
        }
    }
    let home_folder = match &ev.organization {
        Some(org) => ctx.for_member(&org.id, &account),
        None => ctx.clone(),
    }
    .files_pattern(LogObject::Log, Some(&ev.trail.home_region));
    Ok(LogReaders {
        trail: ev.trail.arn.clone(),
        account,
        rows,
        notes,
        home_folder,
    })
}

/// The principal a grant's grantee names: an account (`...:root`: its IAM principals) or a
/// user, role or session.
fn grantee(arn: &str) -> RequestPrincipal {
    match arn.strip_suffix(":root") {
        Some(_) => RequestPrincipal::AccountMember {
            account: arn.split(':').nth(4).unwrap_or_default().to_owned(),
        },
        None => RequestPrincipal::caller(arn),
    }
}

struct Analysis<'a> {
    account: &'a str,
    key_account: &'a str,
    key_policy: &'a Policy,
    bucket: &'a BucketSide,
    bucket_in_account: Option<bool>,
    /// KMS: every log file's encryption context.
    ctx: &'a TrailContext,
    /// S3: every log file's object ARN.
    s3_ctx: &'a TrailContext,
    /// S3, one folder at a time: each member's (organization trail), or the trail account's.
    folders: &'a [TrailContext],
    /// The Regions whose folders certainly hold log files.
    regions: &'a [String],
    /// CloudTrail Insights is on, or not known to be off: its files may be in the bucket.
    insights: bool,
    via_s3: KeyState,
    grants: &'a [GrantReader],
    grants_known: bool,
    /// Evaluate the S3 side too (false: decrypt only).
    with_read: bool,
    /// Trust policies already read: who outside the account they let assume their role.
    trusts: std::cell::RefCell<HashMap<String, Rc<Vec<Assumer>>>>,
}

/// Who may assume a role, as its trust policy says.
#[derive(Debug, Clone)]
struct Assumer {
    principal: String,
    /// None: any account, or an identity provider's users.
    account: Option<String>,
    decision: Decision,
    depends_on: Vec<String>,
}

impl Assumer {
    /// Whoever may assume it is not known.
    fn anyone(why: String) -> Assumer {
        Assumer {
            principal: "whoever may assume it".into(),
            account: None,
            decision: Decision::Indeterminate,
            depends_on: vec![why],
        }
    }
}

/// A principal of another account controls its own IAM policies: taken as allowing.
fn self_granted() -> Identity {
    Identity {
        root: true,
        ..Identity::default()
    }
}

impl Analysis<'_> {
    /// One row; `identity` is None for principals of other accounts (their IAM policies are
    /// taken as allowing: that account decides).
    fn row(
        &self,
        principal: String,
        account: Option<String>,
        kind: RowKind,
        who: RequestPrincipal,
        identity: Option<&Identity>,
    ) -> Row {
        let own = match (kind, identity) {
            // No credentials, no IAM policies: only the bucket policy can let them in.
            (RowKind::Anonymous, _) => Identity::default(),
            (_, Some(identity)) => identity.clone(),
            (_, None) => self_granted(),
        };
        let in_account = account.as_deref() == Some(self.account);
        let mut decrypt = self.decrypt(&who, &own, in_account);
        let mut read = if self.with_read {
            self.read(&who, &own, in_account, kind)
        } else {
            Side::unknown("not evaluated")
        };
        let mut insights = None;
        if !in_account && !matches!(kind, RowKind::Anonymous | RowKind::Service) {
            // Outside the account, a principal that may change the policies can give itself
            // access: PutKeyPolicy, CreateGrant for Decrypt ("Controlling access to grants", KMS
            // Developer Guide), PutBucketPolicy.
            self.escalate_kms(&who, &own, &mut decrypt);
            if self.with_read {
                self.escalate_s3(&who, &own, &mut read);
            }
        }
        if self.with_read && !in_account && self.insights && kind != RowKind::Service {
            insights = self.insights_read(&who, &own, kind);
        }
        Row {
            principal,
            account,
            kind,
            decrypt,
            read,
            insights,
        }
    }

    fn decrypt(&self, who: &RequestPrincipal, identity: &Identity, in_account: bool) -> Side {
        let mut request = self.ctx.decrypt_request(who.clone());
        request.context.set("kms:ViaService", self.via_s3.clone());
        for_service(&mut request);
        let eval = evaluate(self.key_policy, &request);
        let service = matches!(who, RequestPrincipal::Service { .. });
        let kind = if service || (in_account && self.key_account == self.account) {
            ResourceKind::KmsKey
        } else {
            ResourceKind::OtherAccount
        };
        let side = Side::from(combine(kind, self.key_policy, &eval, identity, &request));
        if matches!(side.decision, Decision::Allow | Decision::ExplicitDeny) {
            return side;
        }
        // A grant to this principal, its role or its account allows as well: "explicitly
        // allowed, and never denied, in a key policy, IAM policy, or grant" (KMS Developer
        // Guide, "Key policies").
        let (arn, role, account) = match who {
            RequestPrincipal::Aws {
                arn,
                role_arn,
                account,
            } => (
                Some(arn.as_str()),
                role_arn.as_deref(),
                Some(account.as_str()),
            ),
            RequestPrincipal::AccountMember { account } => (None, None, Some(account.as_str())),
            _ => (None, None, None),
        };
        let root = account.map(|a| format!("arn:{}:iam::{a}:root", self.ctx.partition()));
        let matching: Vec<&GrantReader> = self
            .grants
            .iter()
            .filter(|g| {
                Some(g.principal.as_str()) == arn
                    || Some(g.principal.as_str()) == role
                    || Some(&g.principal) == root.as_ref()
            })
            .collect();
        if matching.is_empty() {
            if !self.grants_known && side.decision == Decision::ImplicitDeny {
                return Side::unknown("the key's grants");
            }
            return side;
        }
        // A Deny of the key policy that may apply to this principal (not only to the grantee
        // the grant names) leaves any grant undecided.
        let key_deny = deny_state(&eval);
        let id = trailseal_policy::evaluate_identity(identity, &request);
        let boundary = trailseal_policy::identity::evaluate_boundary(identity, &request);
        if id.decision == Decision::ExplicitDeny || boundary.decision == Decision::ExplicitDeny {
            return Side {
                decision: Decision::ExplicitDeny,
                via: id
                    .statements
                    .into_iter()
                    .chain(boundary.statements)
                    .collect(),
                depends_on: Vec::new(),
                only: None,
            };
        }
        // Every matching grant; the best one decides.
        let mut best: Option<Side> = None;
        for g in matching {
            // A grant to an account root reaches its IAM principals only through their own IAM
            // policies (as a key policy naming the account does); any Deny still wins.
            let via_account =
                Some(&g.principal) == root.as_ref() && arn.is_some_and(|a| !a.ends_with(":root"));
            let identity_ok = if via_account {
                allowed(id.decision).and(allowed(boundary.decision))
            } else {
                allowed(boundary.decision)
            };
            if identity_ok == Tri::False {
                continue;
            }
            let certain = g.certain()
                && identity_ok == Tri::True
                && key_deny == Tri::False
                && !id.maybe_denied
                && !boundary.maybe_denied;
            let mut depends_on = side.depends_on.clone();
            if !certain {
                if !g.all_files {
                    depends_on.push(format!("which log files grant {} covers", g.grant_id));
                }
                if !g.definite || key_deny != Tri::False {
                    depends_on.push("the key policy's Deny statements".to_owned());
                    depends_on.extend(eval.unknown_keys.iter().cloned());
                }
                depends_on.extend(id.unknown_keys.iter().cloned());
                depends_on.extend(boundary.unknown_keys.iter().cloned());
                depends_on.dedup();
            }
            let mut via = side.via.clone();
            via.push(format!("grant {}", g.grant_id));
            let candidate = Side {
                decision: if certain {
                    Decision::Allow
                } else {
                    Decision::Indeterminate
                },
                via,
                depends_on,
                only: None,
            };
            let better = match &best {
                None => true,
                Some(b) => b.decision != Decision::Allow && candidate.decision == Decision::Allow,
            };
            if better {
                best = Some(candidate);
            }
        }
        best.unwrap_or(side)
    }

    /// Who outside the account may assume `role` (whose row is `row`, a reader or an undecided
    /// one), by its trust policy: each becomes a row that reads as the role does. A trust policy
    /// that was not read, or does not parse, leaves "whoever may assume it" undecided. Service
    /// principals (the account's workloads) and identity providers of the account itself are
    /// the account's own; another provider (web identity) is outside.
    fn assumed_from_outside(&self, role: &IamIdentity, row: &Row) -> Vec<Row> {
        let through = |assumer: &Assumer| {
            let side = |s: &Side| {
                let mut s = s.clone();
                if assumer.decision == Decision::Indeterminate && s.decision == Decision::Allow {
                    s.decision = Decision::Indeterminate;
                }
                s.depends_on.extend(assumer.depends_on.iter().cloned());
                s.via.push(format!("by assuming {}", role.arn));
                s
            };
            Row {
                principal: format!("{} through {}", assumer.principal, role.arn),
                account: assumer.account.clone(),
                kind: RowKind::ThroughRole,
                decrypt: side(&row.decrypt),
                read: side(&row.read),
                insights: None,
            }
        };
        let Some(text) = role.trust_policy.as_deref() else {
            return vec![through(&Assumer::anyone(format!(
                "the trust policy of {} (not read)",
                role.arn
            )))];
        };
        // Many roles share a trust policy (and its answer does not depend on the role).
        let cached = self.trusts.borrow().get(text).cloned();
        let assumers = match cached {
            Some(a) => a,
            None => {
                let a = Rc::new(self.assumers(text));
                self.trusts.borrow_mut().insert(text.to_owned(), a.clone());
                a
            }
        };
        assumers.iter().map(through).collect()
    }

    /// Who outside the account a trust policy lets assume its role.
    fn assumers(&self, text: &str) -> Vec<Assumer> {
        let trust = match trailseal_policy::parse_trust_policy(text) {
            Ok(p) => p,
            Err(e) => {
                return vec![Assumer::anyone(format!(
                    "a trust policy that is not valid ({e})"
                ))]
            }
        };
        let mut out = Vec::new();
        let mut candidates = named_principals(&trust, self.ctx, "sts:AssumeRole");
        candidates.push(RequestPrincipal::OtherAccount);
        for q in candidates {
            let account = match &q {
                RequestPrincipal::Aws { account, .. }
                | RequestPrincipal::AccountMember { account } => {
                    if account == self.account {
                        continue;
                    }
                    Some(account.clone())
                }
                RequestPrincipal::OtherAccount => None,
                RequestPrincipal::Service { .. } | RequestPrincipal::Anyone => continue,
            };
            let mut request = self.ctx.administer_request(q.clone());
            request.action = "sts:AssumeRole".into();
            request.resource = None;
            let eval = evaluate(&trust, &request);
            if matches!(eval.decision, Decision::Allow | Decision::Indeterminate) {
                out.push(Assumer {
                    principal: q.describe(),
                    account,
                    decision: eval.decision,
                    depends_on: eval.unknown_keys.clone(),
                });
            }
        }
        // Identity providers outside the account (web identity: Google, Cognito, another
        // account's OIDC or SAML provider): their users may assume it, under its conditions.
        let own = format!("arn:{}:iam::{}:", self.ctx.partition(), self.account);
        for st in trust
            .statements
            .iter()
            .filter(|s| s.effect != trailseal_policy::Effect::Deny)
        {
            if let trailseal_policy::Principals::Entries(entries) = &st.principal.items {
                for e in entries.iter().filter(|e| e.type_key == "Federated") {
                    if !e.raw.starts_with(&own) {
                        out.push(Assumer {
                            principal: format!("users of identity provider {}", e.raw),
                            account: None,
                            decision: Decision::Indeterminate,
                            depends_on: vec![format!(
                                "the conditions of {} on federated users",
                                st.label()
                            )],
                        });
                    }
                }
            }
        }
        out
    }

    /// `s3:GetObject` of the log files: every file at once (a statement covering only some
    /// Regions, dates or members leaves it open), then, while open, the whole folder of one
    /// Region, or of one member account, that certainly holds log files: a principal that can
    /// read all of one such folder is a reader.
    fn read(
        &self,
        who: &RequestPrincipal,
        identity: &Identity,
        in_account: bool,
        kind: RowKind,
    ) -> Side {
        let policy = match self.bucket {
            BucketSide::Policy(p) => p.clone(),
            BucketSide::NoPolicy => Rc::new(empty_policy()),
            BucketSide::Unknown(_) => return Side::unknown("the bucket policy"),
        };
        let Some(all) = self
            .s3_ctx
            .get_files_request(who.clone(), LogObject::Log, None)
        else {
            return Side::unknown("the log files' path (bucket, prefix or organization)");
        };
        let side = self.read_one(&policy, &all, identity, in_account, kind);
        if side.decision != Decision::Indeterminate {
            return side;
        }
        let folders = self.folders.iter().flat_map(|f| {
            std::iter::once((f, None))
                .chain(self.regions.iter().map(move |r| (f, Some(r.as_str()))))
        });
        for (folder, region) in folders {
            let Some(request) = folder.get_files_request(who.clone(), LogObject::Log, region)
            else {
                continue;
            };
            let found = self.read_one(&policy, &request, identity, in_account, kind);
            if found.decision == Decision::Allow {
                let mut found = found;
                let folder = request.resource.unwrap_or_default();
                found.via.push(format!("(all of {folder})"));
                found.only = Some(folder);
                return found;
            }
        }
        side
    }

    /// The Insights files (`CloudTrail-Insight/`): whether this principal may read them.
    fn insights_read(
        &self,
        who: &RequestPrincipal,
        identity: &Identity,
        kind: RowKind,
    ) -> Option<Side> {
        let policy = match self.bucket {
            BucketSide::Policy(p) => p.clone(),
            BucketSide::NoPolicy => Rc::new(empty_policy()),
            BucketSide::Unknown(_) => return Some(Side::unknown("the bucket policy")),
        };
        let request = self
            .s3_ctx
            .get_files_request(who.clone(), LogObject::Insight, None)?;
        let side = self.read_one(&policy, &request, identity, false, kind);
        (side.decision != Decision::ImplicitDeny && side.decision != Decision::ExplicitDeny)
            .then_some(side)
    }

    /// PutKeyPolicy, or CreateGrant of Decrypt to itself, lets a principal decrypt.
    fn escalate_kms(&self, who: &RequestPrincipal, identity: &Identity, side: &mut Side) {
        // PutKeyPolicy replaces the whole key policy, its Denies included; a grant it creates
        // itself is still subject to them.
        if side.decision == Decision::Allow {
            return;
        }
        let mut decrypt_request = self.ctx.decrypt_request(who.clone());
        decrypt_request
            .context
            .set("kms:ViaService", self.via_s3.clone());
        let decrypt_eval = evaluate(self.key_policy, &decrypt_request);
        for action in ["kms:PutKeyPolicy", "kms:CreateGrant"] {
            if action == "kms:CreateGrant" && side.decision == Decision::ExplicitDeny {
                continue;
            }
            let mut request = self.ctx.administer_request(who.clone());
            request.action = action.to_owned();
            if action == "kms:CreateGrant" {
                // The grant's constraints are the grantor's choice: the encryption context
                // keys of a CreateGrant request are not known ("kms:EncryptionContext:context-key",
                // KMS Developer Guide).
                for key in [
                    "kms:EncryptionContext:aws:cloudtrail:arn",
                    "kms:EncryptionContext:aws:s3:arn",
                    "kms:EncryptionContextKeys",
                    "kms:GrantConstraintType",
                ] {
                    request.context.set(key, KeyState::Unknown);
                }
                request.context.set(
                    "kms:GrantOperations",
                    KeyState::Known(vec!["Decrypt".into()]),
                );
                request.context.set(
                    "kms:GrantIsForAWSResource",
                    KeyState::Known(vec!["false".into()]),
                );
            }
            let eval = evaluate(self.key_policy, &request);
            let c = combine(
                ResourceKind::OtherAccount,
                self.key_policy,
                &eval,
                identity,
                &request,
            );
            match c.decision {
                Decision::Allow => {
                    *side = Side {
                        decision: if action == "kms:PutKeyPolicy" {
                            Decision::Allow
                        } else {
                            // The grant's Decrypt is still subject to the key policy's Denies.
                            side_after_grant(&decrypt_eval)
                        },
                        via: c
                            .via
                            .into_iter()
                            .chain([format!("{action} (can give itself kms:Decrypt)")])
                            .collect(),
                        depends_on: side.depends_on.clone(),
                        only: None,
                    };
                    return;
                }
                Decision::Indeterminate if side.decision != Decision::Indeterminate => {
                    side.decision = Decision::Indeterminate;
                    side.depends_on.extend(c.unknown_keys);
                    side.via
                        .push(format!("{action} (may give itself kms:Decrypt)"));
                }
                _ => {}
            }
        }
    }

    /// PutBucketPolicy lets a principal give itself s3:GetObject.
    fn escalate_s3(&self, who: &RequestPrincipal, identity: &Identity, side: &mut Side) {
        // PutBucketPolicy replaces the whole bucket policy, its Denies included.
        if side.decision == Decision::Allow {
            return;
        }
        let BucketSide::Policy(policy) = self.bucket else {
            return;
        };
        let Some(bucket) = self.ctx.bucket_arn() else {
            return;
        };
        let Some(mut request) = self
            .s3_ctx
            .get_files_request(who.clone(), LogObject::Log, None)
        else {
            return;
        };
        request.action = "s3:PutBucketPolicy".into();
        request.resource = Some(bucket);
        request.resource_pattern = false;
        let eval = evaluate(policy, &request);
        let c = combine(
            ResourceKind::OtherAccount,
            policy,
            &eval,
            identity,
            &request,
        );
        match c.decision {
            Decision::Allow => {
                side.decision = Decision::Allow;
                side.via = c
                    .via
                    .into_iter()
                    .chain(["s3:PutBucketPolicy (can give itself s3:GetObject)".to_owned()])
                    .collect();
            }
            Decision::Indeterminate if side.decision != Decision::Indeterminate => {
                side.decision = Decision::Indeterminate;
                side.depends_on.extend(c.unknown_keys);
                side.via
                    .push("s3:PutBucketPolicy (may give itself s3:GetObject)".into());
            }
            _ => {}
        }
    }

    /// `s3:GetObject`, or `s3:GetObjectVersion` (a request with a version id needs only that:
    /// "If you include a versionId in your request header, you must have the
    /// s3:GetObjectVersion permission", Amazon S3 API Reference, GetObject): the better of the
    /// two.
    fn read_one(
        &self,
        policy: &Policy,
        request: &trailseal_policy::Request,
        identity: &Identity,
        in_account: bool,
        kind: RowKind,
    ) -> Side {
        let object = self.read_action(policy, request, identity, in_account, kind);
        if object.decision == Decision::Allow {
            return object;
        }
        let mut by_version = request.clone();
        by_version.action = "s3:GetObjectVersion".into();
        let version = self.read_action(policy, &by_version, identity, in_account, kind);
        match (object.decision, version.decision) {
            (_, Decision::Allow) => version,
            (Decision::Indeterminate, _) => object,
            (_, Decision::Indeterminate) => version,
            _ => object,
        }
    }

    fn read_action(
        &self,
        policy: &Policy,
        request: &trailseal_policy::Request,
        identity: &Identity,
        in_account: bool,
        kind: RowKind,
    ) -> Side {
        let mut request = request.clone();
        for_service(&mut request);
        let request = &request;
        let eval = evaluate(policy, request);
        let with = |kind| Side::from(combine(kind, policy, &eval, identity, request));
        // No IAM policies of their own: only the bucket policy can let them in.
        if matches!(kind, RowKind::Anonymous | RowKind::Service) {
            return with(ResourceKind::Other);
        }
        match (in_account, self.bucket_in_account) {
            (true, Some(true)) => with(ResourceKind::Other),
            (true, Some(false)) | (false, Some(true)) => with(ResourceKind::OtherAccount),
            (true, None) => {
                let (a, b) = (with(ResourceKind::Other), with(ResourceKind::OtherAccount));
                if a.decision == b.decision {
                    a
                } else {
                    Side::unknown("whether the bucket is in the account")
                }
            }
            // Another account, and the bucket's owner is not known to be the trail's: this
            // account may own it, and then its IAM policies alone may allow.
            (false, _) => {
                let (a, b) = (with(ResourceKind::Other), with(ResourceKind::OtherAccount));
                if a.decision == b.decision {
                    a
                } else {
                    Side::unknown("whether this account owns the bucket")
                }
            }
        }
    }
}

/// What a grant the principal may create itself gives: Decrypt, unless a Deny of the key policy
/// may apply to its Decrypt request.
fn side_after_grant(decrypt: &trailseal_policy::Evaluation) -> Decision {
    match deny_state(decrypt) {
        Tri::False => Decision::Allow,
        Tri::Unknown => Decision::Indeterminate,
        Tri::True => Decision::ExplicitDeny,
    }
}

/// Whether a Deny applies (True), may apply (Unknown) or does not (False).
fn deny_state(eval: &trailseal_policy::Evaluation) -> Tri {
    use trailseal_policy::Effect;
    eval.statements.iter().fold(Tri::False, |acc, r| {
        acc.or(match r.effect {
            Effect::Deny => r.applies,
            // Of unknown effect: a possible Deny at most.
            Effect::Unknown if r.applies != Tri::False => Tri::Unknown,
            _ => Tri::False,
        })
    })
}

/// A service principal calls for a resource of its own (a CloudFront distribution): its
/// `aws:SourceArn` and `aws:SourceAccount` are not known.
fn for_service(request: &mut trailseal_policy::Request) {
    if matches!(request.principal, RequestPrincipal::Service { .. }) {
        request.context.set("aws:SourceArn", KeyState::Unknown);
        request.context.set("aws:SourceAccount", KeyState::Unknown);
    }
}

fn allowed(d: Decision) -> Tri {
    match d {
        Decision::Allow => Tri::True,
        Decision::Indeterminate => Tri::Unknown,
        _ => Tri::False,
    }
}

fn empty_policy() -> Policy {
    Policy {
        version: Some("2012-10-17".into()),
        id: None,
        statements: Vec::new(),
    }
}

/// A session name trailseal made up (see [`RequestPrincipal::caller`]) never shows.
pub(crate) fn shown(principal: &str) -> String {
    principal.replace(FRESH, "*")
}

/// The whole analysis, for `trailseal readers`: `Err` says why it cannot run (the key policy
/// or the bucket cannot be read).
pub fn log_readers(ev: &TrailEvidence) -> Result<LogReaders, NoAnalysis> {
    let loaded = crate::support::load(&crate::checks::TS015.info, ev)
        .map_err(|f| NoAnalysis::Unknown(f.message))?;
    analyse(ev, &loaded)
}
