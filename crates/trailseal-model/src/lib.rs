//! # trailseal-model
//!
//! The evidence trailseal collects (trails, keys, key policies, buckets) and the findings its
//! checks produce. Pure data: serde only, no AWS SDK, no async. Evidence flows one way:
//! collect -> evidence -> evaluate -> findings -> render.

pub mod evidence;
pub mod fact;
pub mod finding;
pub mod iam;

pub use evidence::{
    key_region, AccountEvidence, Bucket, DeliveredObject, EventDataStore, Evidence, Grant, Key,
    KeyRef, LookupError, OrganizationInfo, RegionEvidence, ToolInfo, Trail, TrailEvidence,
    TrailStatus, EVIDENCE_SCHEMA,
};
pub use evidence::{
    names_aws_managed_alias, usage_implied_by_spec, AWS_REGIONS, LOG_FILE_WINDOW_HOURS,
    SYMBOLIC_ACCOUNT, SYMBOLIC_REGION,
};
pub use fact::{Fact, NotKnown};
pub use finding::{Finding, Muted, Severity, Status, Summary};
pub use iam::{
    AppliedPolicy, IamAuthorization, IamGroup, IamIdentity, IamIndex, InlinePolicy, ManagedPolicy,
    PolicySource,
};
