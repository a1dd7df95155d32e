//! trailseal-aws: the only trailseal crate that talks to AWS.
//!
//! [`Collector`] reads one account, read-only, into the evidence model of `trailseal-model`;
//! everything after that (checks, reports, plans) is pure and works the same on a saved
//! evidence file. [`OrgCollector`] reads the accounts of an organization, one [`Collector`]
//! each. [`Applier`] applies a remediation plan with a journal and rolls it back.

mod apply;
mod collect;
mod config;
mod error;
mod iam;
pub mod journal;
pub mod monitor;
mod org;
mod organizations;
mod regions;
mod rollback;
pub mod securityhub;
mod signed;

pub use apply::{Applier, ApplyError, Report, RollbackOptions, TAG_JOURNAL, TAG_STEP};
pub use aws_config::SdkConfig;
pub use collect::{
    bucket_region, caller_identity, now_rfc3339, CollectOptions, Collection, Collector,
    DEFAULT_CONCURRENCY, ORGANIZATION_ACTIONS, READ_ONLY_ACTIONS,
};
pub use config::{load_config, load_config_with, Timeouts};
pub use error::CollectError;
pub use org::{AccountsPlan, OrgCollector, OrgOptions, Selection, Shard, DEFAULT_ROLE_NAME};
pub use organizations::{OrgAccount, Organization};
pub use regions::{closest_known_region, known_region};
