//! One file per check. Register new checks in `ALL`, in code order.

mod ts000_input;
mod ts001_trail_encrypted;
mod ts002_key_exists;
mod ts003_key_enabled;
mod ts004_key_customer_managed;
mod ts005_key_region;
mod ts006_key_policy_allows_cloudtrail;
mod ts007_key_policy_allows_describe;
mod ts008_log_readers;
mod ts009_delivery_healthy;
mod ts010_log_file_validation;
mod ts011_key_rotation;
mod ts012_region_covered;
mod ts013_event_data_store_encrypted;
mod ts014_bucket_allows_cloudtrail;
mod ts015_log_readers_end_to_end;
mod ts016_delivered_logs_encrypted;

use crate::{Check, CheckInfo};

pub use ts000_input::input_finding;
pub(crate) use ts014_bucket_allows_cloudtrail::regions_of;
pub(crate) use ts015_log_readers_end_to_end::CHECK as TS015;

/// TS000: not a check, the catalogue entry for input that could not be read.
pub(crate) static INPUT: CheckInfo = ts000_input::INFO;

pub(crate) static ALL: &[Check] = &[
    ts001_trail_encrypted::CHECK,
    ts002_key_exists::CHECK,
    ts003_key_enabled::CHECK,
    ts004_key_customer_managed::CHECK,
    ts005_key_region::CHECK,
    ts006_key_policy_allows_cloudtrail::CHECK,
    ts007_key_policy_allows_describe::CHECK,
    ts008_log_readers::CHECK,
    ts009_delivery_healthy::CHECK,
    ts010_log_file_validation::CHECK,
    ts011_key_rotation::CHECK,
    ts012_region_covered::CHECK,
    ts013_event_data_store_encrypted::CHECK,
    ts014_bucket_allows_cloudtrail::CHECK,
    ts015_log_readers_end_to_end::CHECK,
    ts016_delivered_logs_encrypted::CHECK,
];
