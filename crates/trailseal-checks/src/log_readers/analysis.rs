//! Building the readers table: what is known about the trail, its key, its bucket and the
//! account's IAM identities, and one row per principal.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use trailseal_model::{Fact, IamAuthorization, IamIdentity, IamIndex, PolicySource, TrailEvidence};
use trailseal_policy::delivery::LogObject;
use trailseal_policy::{
    named_principals, parse_identity_policy, Decision, Identity, KeyState, Policy,
    RequestPrincipal, TrailContext, Tri,
};

use super::{LogReaders, RowKind, Side};
use crate::grants::{grant_readers, GrantReader};
use crate::support::Loaded;

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
pub(super) enum BucketSide {
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
    // Object ACLs are not evaluated: said when the bucket has them enabled (or may).
    match ev.bucket.as_ref().map(|b| &b.object_ownership) {
        Some(Fact::Known(o)) if o == "BucketOwnerEnforced" => {}
        Some(Fact::Known(o)) => notes.push(format!(
            "object ACLs are enabled on the bucket (Object Ownership {o}) and not evaluated: \
             CloudTrail writes each log file with bucket-owner-full-control, but a later \
             PutObjectAcl could grant more"
        )),
        Some(Fact::Unknown(why) | Fact::Unreadable(why)) => notes.push(format!(
            "whether object ACLs are enabled on the bucket is not known ({why}); they are not \
             evaluated"
        )),
        None => {}
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

pub(super) struct Analysis<'a> {
    pub(super) account: &'a str,
    pub(super) key_account: &'a str,
    pub(super) key_policy: &'a Policy,
    pub(super) bucket: &'a BucketSide,
    pub(super) bucket_in_account: Option<bool>,
    /// KMS: every log file's encryption context.
    pub(super) ctx: &'a TrailContext,
    /// S3: every log file's object ARN.
    pub(super) s3_ctx: &'a TrailContext,
    /// S3, one folder at a time: each member's (organization trail), or the trail account's.
    pub(super) folders: &'a [TrailContext],
    /// The Regions whose folders certainly hold log files.
    pub(super) regions: &'a [String],
    /// CloudTrail Insights is on, or not known to be off: its files may be in the bucket.
    pub(super) insights: bool,
    pub(super) via_s3: KeyState,
    pub(super) grants: &'a [GrantReader],
    pub(super) grants_known: bool,
    /// Evaluate the S3 side too (false: decrypt only).
    pub(super) with_read: bool,
    /// Trust policies already read: who outside the account they let assume their role.
    pub(super) trusts: std::cell::RefCell<HashMap<String, Rc<Vec<Assumer>>>>,
}

/// Who may assume a role, as its trust policy says.
#[derive(Debug, Clone)]
pub(super) struct Assumer {
    pub(super) principal: String,
    /// None: any account, or an identity provider's users.
    pub(super) account: Option<String>,
    pub(super) decision: Decision,
    pub(super) depends_on: Vec<String>,
}

impl Assumer {
    /// Whoever may assume it is not known.
    pub(super) fn anyone(why: String) -> Assumer {
        Assumer {
            principal: "whoever may assume it".into(),
            account: None,
            decision: Decision::Indeterminate,
            depends_on: vec![why],
        }
    }
}

/// A principal of another account controls its own IAM policies: taken as allowing.
pub(super) fn self_granted() -> Identity {
    Identity {
        root: true,
        ..Identity::default()
    }
}
