//! KMS grants that let a principal decrypt a trail's log files (TS008, TS015).

use serde_json::json;
use trailseal_model::{Fact, Grant, TrailEvidence};
use trailseal_policy::{evaluate, Decision, Effect, Policy, RequestPrincipal, TrailContext, Tri};

/// A principal a KMS grant lets decrypt this trail's log files.
#[derive(Debug, Clone)]
pub(crate) struct GrantReader {
    pub principal: String,
    pub grant_id: String,
    /// No Deny of the key policy can apply to it ("No AWS principal has any permissions to a
    /// KMS key unless that permission is provided explicitly and never denied": KMS Developer
    /// Guide, "KMS key access and permissions"); false when one may (undecided).
    pub definite: bool,
    /// Covers every log file (false: only some, by its encryption context constraints).
    pub all_files: bool,
    /// Another account than the trail's.
    pub cross_account: bool,
}

impl GrantReader {
    /// Every log file, and no Deny of the key policy can apply.
    pub fn certain(&self) -> bool {
        self.definite && self.all_files
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "all_files": self.all_files,
            "principal": self.principal,
            "grant_id": self.grant_id,
            "definite": self.definite,
            "cross_account": self.cross_account,
        })
    }

    pub fn describe(&self) -> String {
        let who = match self.principal.strip_suffix(":root") {
            Some(account) => format!(
                "IAM principals of account {} whose IAM policies allow kms:Decrypt",
                account.rsplit(':').next().unwrap_or(account)
            ),
            None => self.principal.clone(),
        };
        format!(
            "{}{} via grant {}{}",
            who,
            if self.cross_account {
                " (another account)"
            } else {
                ""
            },
            self.grant_id,
            match (self.definite, self.all_files) {
                (true, true) => "",
                (false, true) => " (unless a Deny of the key policy applies)",
                (_, false) => " (only some log files, by its encryption context constraints)",
            }
        )
    }
}

/// The key's grants that let a principal decrypt this trail's log files: `Decrypt` among the
/// operations, and constraints that every log file's encryption context meets (none, or
/// `EncryptionContextSubset` on `aws:cloudtrail:arn` = this trail). A grant whose grantee the
/// key policy explicitly denies is left out. `Unknown`/`Unreadable` when the grants were not
/// read.
pub(crate) fn grant_readers(
    ev: &TrailEvidence,
    policy: &Policy,
    ctx: &TrailContext,
) -> Fact<Vec<GrantReader>> {
    let Some(key) = &ev.key else {
        return Fact::Known(Vec::new());
    };
    let grants = match &key.grants {
        Fact::Known(g) => g,
        Fact::Unknown(why) => return Fact::Unknown(why.clone()),
        Fact::Unreadable(why) => return Fact::Unreadable(why.clone()),
    };
    let account = ev.trail.account.as_str();
    // Which log files a grant covers (grant constraint keys are not case sensitive:
    // GrantConstraints, KMS API Reference). A log file's encryption context is exactly
    // {aws:cloudtrail:arn: the trail, aws:s3:arn: the object (the bucket with S3 Bucket Keys)}.
    // A SourceArn constraint never matches a reader (a reader's request is on behalf of no
    // resource: "Creating grants", KMS Developer Guide). True: every file; Unknown: some (one
    // object's, or all with Bucket Keys); False: none.
    let coverage = |g: &Grant| -> Tri {
        if !g.operations.iter().any(|o| o == "Decrypt") || g.source_arn.is_some() {
            return Tri::False;
        }
        let pair = |k: &str, v: &str| -> Tri {
            if k.eq_ignore_ascii_case("aws:cloudtrail:arn") {
                if !ctx.name_known {
                    Tri::Unknown
                } else {
                    Tri::from_bool(v == ctx.trail_arn)
                }
            } else if k.eq_ignore_ascii_case("aws:s3:arn") {
                // One object's files, or every file when the bucket ARN is the context.
                let bucket = ctx.bucket_arn();
                let under = bucket
                    .as_deref()
                    .is_none_or(|b| v == b || v.starts_with(&format!("{b}/")));
                if under {
                    Tri::Unknown
                } else {
                    Tri::False
                }
            } else {
                Tri::False
            }
        };
        let all_pairs = |pairs: &std::collections::BTreeMap<String, String>| {
            pairs
                .iter()
                .fold(Tri::True, |acc, (k, v)| acc.and(pair(k, v)))
        };
        let mut t = Tri::True;
        if let Some(pairs) = &g.encryption_context_equals {
            let has = |key: &str| pairs.keys().any(|k| k.eq_ignore_ascii_case(key));
            t = t
                .and(Tri::from_bool(
                    has("aws:cloudtrail:arn") && has("aws:s3:arn"),
                ))
                .and(all_pairs(pairs));
        }
        if let Some(pairs) = &g.encryption_context_subset {
            t = t.and(all_pairs(pairs));
        }
        t
    };
    // A person or workload that can read logs: an IAM account, user or role (not a
    // service-linked role, which only its service assumes), or an assumed-role session. A
    // service grantee acts for resources of the service, not as a log reader; anything else is
    // no principal trailseal can evaluate.
    let reader_principal = |g: &Grant| -> Option<RequestPrincipal> {
        if g.grantee_service_principal.is_some() {
            return None;
        }
        let arn = g.grantee_principal.as_str();
        let resource = arn.split(':').nth(5)?;
        let iam = arn
            .split(':')
            .nth(2)
            .is_some_and(|s| s == "iam" || s == "sts");
        let person = resource == "root"
            || resource.starts_with("user/")
            || (resource.starts_with("role/") && !resource.starts_with("role/aws-service-role/"))
            || resource.starts_with("assumed-role/");
        (arn.starts_with("arn:") && iam && person).then(|| RequestPrincipal::caller(arn))
    };
    let candidates: Vec<(&Grant, RequestPrincipal, bool)> = grants
        .iter()
        .filter_map(|g| {
            let covers = coverage(g);
            (covers != Tri::False).then_some(())?;
            Some((g, reader_principal(g)?, covers == Tri::True))
        })
        .collect();
    if candidates.is_empty() {
        return Fact::Known(Vec::new());
    }
    // The key policy's Deny statements alone, next to an Allow of everything: Allow means no
    // Deny applies to the grantee.
    let denies: Option<Policy> = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
    )
    .ok()
    .map(|mut allow_all| {
        allow_all.version = policy.version.clone();
        allow_all.statements.extend(
            policy
                .statements
                .iter()
                .filter(|st| st.effect == Effect::Deny)
                .cloned(),
        );
        allow_all
    });
    let readers = candidates
        .into_iter()
        .filter_map(|(g, principal, all_files)| {
            let decision = denies
                .as_ref()
                .map(|p| evaluate(p, &ctx.decrypt_request(principal)).decision);
            let definite = match decision {
                Some(Decision::ExplicitDeny) => return None,
                Some(Decision::Allow) => true,
                _ => false,
            };
            let grantee_account = g.grantee_principal.split(':').nth(4).unwrap_or_default();
            Some(GrantReader {
                principal: g.grantee_principal.clone(),
                grant_id: g.grant_id.clone(),
                definite,
                all_files,
                cross_account: !grantee_account.is_empty() && grantee_account != account,
            })
        })
        .collect();
    Fact::Known(readers)
}
