//! One file per check. Register new checks in `ALL`, in code order.

mod ts006_key_policy_allows_cloudtrail;
mod ts007_key_policy_allows_describe;
mod ts008_log_readers;

use crate::Check;

pub(crate) static ALL: &[Check] = &[
    ts006_key_policy_allows_cloudtrail::CHECK,
    ts007_key_policy_allows_describe::CHECK,
    ts008_log_readers::CHECK,
];
