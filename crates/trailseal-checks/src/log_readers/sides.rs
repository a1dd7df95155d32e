//! One row's two sides: decrypting (key policy, IAM policies, grants, escalation) and reading
//! (bucket policy, IAM policies, whole folders), and who outside the account may assume a
//! reader role.

use std::rc::Rc;

use trailseal_model::IamIdentity;
use trailseal_policy::delivery::LogObject;
use trailseal_policy::{
    combine, evaluate, named_principals, Decision, Identity, KeyState, Policy, RequestPrincipal,
    ResourceKind, Tri,
};

use super::analysis::{self_granted, Analysis, Assumer, BucketSide};
use super::{Row, RowKind, Side};
use crate::grants::GrantReader;

impl Analysis<'_> {
    /// One row; `identity` is None for principals of other accounts (their IAM policies are
    /// taken as allowing: that account decides).
    pub(super) fn row(
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

    /// The bucket policy reads are evaluated against (none: an empty one); a policy that could
    /// not be read leaves every read undecided.
    fn read_policy(&self) -> Result<Rc<Policy>, Side> {
        match self.bucket {
            BucketSide::Policy(p) => Ok(p.clone()),
            BucketSide::NoPolicy => Ok(Rc::new(empty_policy())),
            BucketSide::Unknown(_) => Err(Side::unknown("the bucket policy")),
        }
    }

    /// Who outside the account may assume `role` (whose row is `row`, a reader or an undecided
    /// one), by its trust policy: each becomes a row that reads as the role does. A trust policy
    /// that was not read, or does not parse, leaves "whoever may assume it" undecided. Service
    /// principals (the account's workloads) and identity providers of the account itself are
    /// the account's own; another provider (web identity) is outside.
    pub(super) fn assumed_from_outside(&self, role: &IamIdentity, row: &Row) -> Vec<Row> {
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
        let policy = match self.read_policy() {
            Ok(p) => p,
            Err(side) => return side,
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
        let policy = match self.read_policy() {
            Ok(p) => p,
            Err(side) => return Some(side),
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
