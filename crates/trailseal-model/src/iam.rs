//! The IAM identities of one account and their policies, as `iam:GetAccountAuthorizationDetails`
//! lists them (one paginated read per account). They decide who a key policy's delegation to
//! the account (`arn:aws:iam::ACCOUNT:root`) really lets decrypt, and who may read log objects
//! through their identity policies (TS008, TS015, `trailseal readers`).
//!
//! Policy documents are kept as JSON text, URL-decoded (the API returns them URL-encoded).

use serde::{Deserialize, Serialize};

/// Users, roles, groups and managed policies of one account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IamAuthorization {
    #[serde(default)]
    pub users: Vec<IamIdentity>,
    #[serde(default)]
    pub roles: Vec<IamIdentity>,
    #[serde(default)]
    pub groups: Vec<IamGroup>,
    /// Managed policies (customer and AWS managed) with their default version.
    #[serde(default)]
    pub policies: Vec<ManagedPolicy>,
}

/// An IAM user or role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IamIdentity {
    pub arn: String,
    pub name: String,
    /// The IAM path (`/`, `/aws-service-role/...`, `/aws-reserved/sso.amazonaws.com/`).
    #[serde(default)]
    pub path: String,
    /// Inline policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline: Vec<InlinePolicy>,
    /// ARNs of the attached managed policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<String>,
    /// Names of the groups a user belongs to (empty for roles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// ARN of the managed policy set as permissions boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// A role's trust policy (who may assume it); `None` for users, or when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<String>,
}

impl IamIdentity {
    /// A service-linked role: only its AWS service assumes it (path `/aws-service-role/`).
    pub fn is_service_linked_role(&self) -> bool {
        self.path.starts_with("/aws-service-role/")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IamGroup {
    pub arn: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline: Vec<InlinePolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    pub document: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    /// The default version's document; `None` when the answer did not include it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

/// One identity policy of a principal, with where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedPolicy<'a> {
    /// `inline NAME`, `managed ARN`, `group NAME inline NAME`, `group NAME managed ARN`.
    pub source: PolicySource<'a>,
    /// `None`: a managed policy the answer did not list, or listed without its document.
    pub document: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource<'a> {
    Inline(&'a str),
    Managed(&'a str),
    GroupInline { group: &'a str, name: &'a str },
    GroupManaged { group: &'a str, arn: &'a str },
}

impl std::fmt::Display for PolicySource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::Inline(name) => write!(f, "inline policy {name}"),
            PolicySource::Managed(arn) => write!(f, "{arn}"),
            PolicySource::GroupInline { group, name } => {
                write!(f, "group {group} inline policy {name}")
            }
            PolicySource::GroupManaged { group, arn } => write!(f, "group {group} {arn}"),
        }
    }
}

impl IamAuthorization {
    /// Managed policies by ARN and groups by name, for [`IamIndex::applied_policies`].
    pub fn index(&self) -> IamIndex<'_> {
        IamIndex {
            policies: self.policies.iter().map(|p| (p.arn.as_str(), p)).collect(),
            groups: self.groups.iter().map(|g| (g.name.as_str(), g)).collect(),
        }
    }

    /// Every user and role that a person or workload can act as (service-linked roles left
    /// out: only their service assumes them).
    pub fn principals(&self) -> impl Iterator<Item = &IamIdentity> {
        self.users
            .iter()
            .chain(self.roles.iter().filter(|r| !r.is_service_linked_role()))
    }
}

/// Lookups by ARN and name over an [`IamAuthorization`] (an account may have thousands of
/// policies: a linear search per attachment would dominate).
pub struct IamIndex<'a> {
    policies: std::collections::HashMap<&'a str, &'a ManagedPolicy>,
    groups: std::collections::HashMap<&'a str, &'a IamGroup>,
}

impl<'a> IamIndex<'a> {
    pub fn policy(&self, arn: &str) -> Option<&'a ManagedPolicy> {
        self.policies.get(arn).copied()
    }

    /// The identity policies that apply to a user or role: its own inline and attached
    /// policies and, for a user, those of its groups. A group the answer does not list gives
    /// `Err(group name)`: the principal's permissions are then not known.
    pub fn applied_policies(&self, who: &'a IamIdentity) -> Result<Vec<AppliedPolicy<'a>>, String> {
        let document = |arn: &str| self.policy(arn).and_then(|p| p.document.as_deref());
        let mut out: Vec<AppliedPolicy<'a>> = who
            .inline
            .iter()
            .map(|p| AppliedPolicy {
                source: PolicySource::Inline(&p.name),
                document: Some(&p.document),
            })
            .collect();
        out.extend(who.attached.iter().map(|arn| AppliedPolicy {
            source: PolicySource::Managed(arn),
            document: document(arn),
        }));
        for name in &who.groups {
            let group = *self.groups.get(name.as_str()).ok_or_else(|| name.clone())?;
            out.extend(group.inline.iter().map(|p| AppliedPolicy {
                source: PolicySource::GroupInline {
                    group: &group.name,
                    name: &p.name,
                },
                document: Some(&p.document),
            }));
            out.extend(group.attached.iter().map(|arn| AppliedPolicy {
                source: PolicySource::GroupManaged {
                    group: &group.name,
                    arn,
                },
                document: document(arn),
            }));
        }
        Ok(out)
    }
}
