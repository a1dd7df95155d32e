//! The most recent log file a trail delivered, for TS016: metadata only (ListObjectsV2, then
//! HeadObject), never the contents.
//!
//! CloudTrail writes a trail's log files under
//! `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/` (organization trails:
//! `AWSLogs/ORG_ID/ACCOUNT/...`), named with the delivery time, so the greatest key of a day's
//! folder is its latest file. The look-back window is today and yesterday (UTC) in the trail's
//! home Region: a logging trail delivers about every five minutes when there are events, and a
//! home Region always has some (the trail's own reads, the auditor's included).

use std::time::{Duration, SystemTime};

use aws_sdk_sts::primitives::{DateTime, DateTimeFormat};
use trailseal_model::{DeliveredObject, Fact, Trail};

use super::Collector;
use crate::error::describe;

/// Days searched, newest first (today and yesterday, UTC).
pub const LOOK_BACK_DAYS: u64 = 2;
/// Pages of 1,000 keys read per day's folder at most (a day of one Region holds a few hundred
/// files; a bucket that holds more is read up to this bound, and the newest key seen is used).
const MAX_PAGES: usize = 5;

/// `YYYY/MM/DD` of the day `days_ago` days before `now`, in UTC.
pub fn day_folder(now: SystemTime, days_ago: u64) -> String {
    let then = now
        .checked_sub(Duration::from_secs(days_ago * 86_400))
        .unwrap_or(now);
    let text = DateTime::from(then)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default();
    text.get(..10).unwrap_or_default().replace('-', "/")
}

/// The folders of the look-back window for a trail, newest first; Err when the log path is not
/// known (the S3 key prefix was not read, or an organization trail without its organization).
pub fn search_prefixes(
    trail: &Trail,
    org_id: Option<&str>,
    now: SystemTime,
) -> Result<Vec<String>, String> {
    let prefix = match &trail.s3_key_prefix {
        Fact::Known(Some(p)) if !p.trim_matches('/').is_empty() => {
            format!("{}/", p.trim_end_matches('/'))
        }
        Fact::Known(_) => String::new(),
        Fact::Unknown(why) | Fact::Unreadable(why) => {
            return Err(format!("the trail's S3 key prefix is not known: {why}"))
        }
    };
    let path = match trail.is_organization_trail {
        Fact::Known(false) => trail.account.clone(),
        Fact::Known(true) => match org_id {
            Some(org) => format!("{org}/{}", trail.account),
            None => {
                return Err(
                    "an organization trail writes under AWSLogs/ORG_ID/ACCOUNT/ and the organization is not known here (audit with --org)"
                        .into(),
                )
            }
        },
        Fact::Unknown(ref why) | Fact::Unreadable(ref why) => {
            return Err(format!("whether it is an organization trail is not known: {why}"))
        }
    };
    Ok((0..LOOK_BACK_DAYS)
        .map(|days| {
            format!(
                "{prefix}AWSLogs/{path}/CloudTrail/{}/{}/",
                trail.home_region,
                day_folder(now, days)
            )
        })
        .collect())
}

impl Collector {
    /// The latest log file of `trail` in its bucket (in `bucket_region`), and the prefixes
    /// searched.
    pub(super) async fn latest_log_file(
        &self,
        trail: &Trail,
        bucket: &str,
        bucket_region: &str,
        org_id: Option<&str>,
    ) -> (Fact<Option<DeliveredObject>>, Vec<String>) {
        let prefixes = match search_prefixes(trail, org_id, SystemTime::now()) {
            Ok(p) => p,
            Err(why) => return (Fact::Unreadable(why), Vec::new()),
        };
        let s3 = self.s3(bucket_region);
        for prefix in &prefixes {
            let mut newest: Option<String> = None;
            let mut token: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let page = {
                    let _p = self.side_permit().await;
                    s3.list_objects_v2()
                        .bucket(bucket)
                        .prefix(prefix)
                        .set_continuation_token(token.clone())
                        .send()
                        .await
                };
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        return (
                            Fact::Unreadable(describe("s3:ListObjectsV2", &e)),
                            prefixes.clone(),
                        )
                    }
                };
                for object in page.contents() {
                    if let Some(key) = object.key() {
                        if newest.as_deref().is_none_or(|n| key > n) {
                            newest = Some(key.to_owned());
                        }
                    }
                }
                token = page.next_continuation_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            let Some(key) = newest else { continue };
            let head = {
                let _p = self.side_permit().await;
                s3.head_object().bucket(bucket).key(&key).send().await
            };
            return match head {
                Ok(h) => (
                    Fact::Known(Some(DeliveredObject {
                        last_modified: h
                            .last_modified()
                            .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok()),
                        server_side_encryption: h
                            .server_side_encryption()
                            .map(|s| s.as_str().to_owned()),
                        kms_key_id: h.ssekms_key_id().map(str::to_owned),
                        bucket_key_enabled: h.bucket_key_enabled(),
                        key,
                    })),
                    prefixes.clone(),
                ),
                Err(e) => (
                    Fact::Unreadable(format!("{} ({key})", describe("s3:HeadObject", &e))),
                    prefixes.clone(),
                ),
            };
        }
        (Fact::Known(None), prefixes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_utc_days_newest_first() {
        // 2026-03-01T00:30:00Z: yesterday is in February.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_325_000);
        assert_eq!(day_folder(now, 0), "2026/03/01");
        assert_eq!(day_folder(now, 1), "2026/02/28");
        let mut trail = Trail::from_arn("arn:aws:cloudtrail:eu-west-1:111122223333:trail/t");
        trail.s3_key_prefix = Fact::Known(Some("logs/".into()));
        let prefixes = search_prefixes(&trail, None, now).expect("prefixes");
        assert_eq!(
            prefixes,
            vec![
                "logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/01/",
                "logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/02/28/",
            ]
        );
        trail.is_organization_trail = Fact::Known(true);
        assert!(search_prefixes(&trail, None, now).is_err());
        let org = search_prefixes(&trail, Some("o-abc"), now).expect("org");
        assert!(org[0].starts_with("logs/AWSLogs/o-abc/111122223333/CloudTrail/"));
    }
}
