//! The most recent log file a trail delivered, for TS016: metadata only (ListObjectsV2, then
//! HeadObject), never the contents.
//!
//! CloudTrail writes a trail's log files under
//! `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/` (organization trails:
//! `AWSLogs/ORG_ID/ACCOUNT/...`), named
//! `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz` with the delivery time
//! ("CloudTrail log file examples", CloudTrail User Guide), and "typically delivers logs within
//! an average of about 5 minutes of an API call". The window searched is the last
//! [`WINDOW_HOURS`] hours of the trail's home Region folder: listed from the window's first hour
//! on (`StartAfter`), only names of that form count (a stray object in the folder is no log
//! file), and the newest by `LastModified` is described.

use std::time::{Duration, SystemTime};

use aws_sdk_sts::primitives::{DateTime, DateTimeFormat};
use futures::future::join_all;
use trailseal_model::{Bucket, DeliveredObject, Fact, Trail};

use super::Collector;
use crate::error::describe;

/// Hours of delivery searched back from the collection time.
use trailseal_model::LOG_FILE_WINDOW_HOURS as WINDOW_HOURS;
/// Pages of 1,000 keys read per folder at most; a window that holds more leaves the newest
/// file unknown (said in the evidence, never guessed).
const MAX_PAGES: usize = 5;

/// `YYYY-MM-DDTHH:MM:SSZ` of a time.
fn rfc3339(t: SystemTime) -> String {
    DateTime::from(t)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// One folder of the window: its key prefix, where the listing starts, and what a log file
/// name there starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub folder: String,
    pub start_after: String,
    /// `ACCOUNT_CloudTrail_REGION_YYYYMMDDT`.
    pub name_start: String,
}

/// The folders of the window for a trail (one, or two across midnight UTC); Err when the log
/// path is not known (the S3 key prefix was not read, or an organization trail without its
/// organization).
pub fn searches(
    trail: &Trail,
    org_id: Option<&str>,
    now: SystemTime,
) -> Result<Vec<Search>, String> {
    let prefix = match &trail.s3_key_prefix {
        Fact::Known(p) => trailseal_policy::delivery::log_prefix(p.as_deref())?,
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
    let from = now
        .checked_sub(Duration::from_secs(WINDOW_HOURS * 3_600))
        .unwrap_or(now);
    let (start, end) = (rfc3339(from), rfc3339(now));
    let mut days = vec![start.get(..10).unwrap_or_default().to_owned()];
    let last = end.get(..10).unwrap_or_default().to_owned();
    if last != days[0] {
        days.push(last);
    }
    let region = &trail.home_region;
    Ok(days
        .iter()
        .rev()
        .map(|day| {
            let folder = format!(
                "{prefix}AWSLogs/{path}/CloudTrail/{region}/{}/",
                day.replace('-', "/")
            );
            let name_start = format!(
                "{}_CloudTrail_{region}_{}T",
                trail.account,
                day.replace('-', "")
            );
            // The window's first day is listed from its first hour on.
            let start_after = if *day == start.get(..10).unwrap_or_default() {
                format!("{folder}{name_start}{}", start.get(11..13).unwrap_or("00"))
            } else {
                folder.clone()
            };
            Search {
                folder,
                start_after,
                name_start,
            }
        })
        .collect())
}

/// Whether `key` in `search`'s folder is named as CloudTrail names a log file:
/// `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`.
pub fn is_log_file(search: &Search, key: &str) -> bool {
    let Some(rest) = key
        .strip_prefix(&search.folder)
        .and_then(|name| name.strip_prefix(&search.name_start))
    else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() > 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && &b[4..6] == b"Z_"
        && rest.ends_with(".json.gz")
        && !rest[6..].contains('/')
}

impl Collector {
    /// Each trail's latest log file (`latest_log_file`, `log_file_search`,
    /// `log_file_searched_at`): every distinct folder is searched once, and trails writing into
    /// the same folder share the answer. `buckets`: the trails' buckets as read (their Regions).
    pub(super) async fn latest_log_files(
        &self,
        trails: &mut super::TrailMap,
        buckets: &[Bucket],
        org_id: Option<&str>,
    ) {
        let now = SystemTime::now();
        // (bucket, folders) of each trail; None when its log path is not known.
        let folders: Vec<(Option<String>, Option<Vec<Search>>)> = trails
            .values()
            .map(|t| {
                (
                    t.s3_bucket_name.known().cloned(),
                    searches(t, org_id, now).ok(),
                )
            })
            .collect();
        // The first trail of each distinct folder is searched (and every trail whose path is
        // not known, which says why).
        let mut first: Vec<usize> = Vec::new();
        for (i, f) in folders.iter().enumerate() {
            if f.1.is_none() || !first.iter().any(|&j| folders[j] == *f) {
                first.push(i);
            }
        }
        let list: Vec<&Trail> = trails.values().collect();
        let read = join_all(first.iter().map(|&i| {
            let t = list[i];
            let bucket = t
                .s3_bucket_name
                .known()
                .and_then(|name| buckets.iter().find(|b| &b.name == name));
            async move {
                match bucket.map(|b| (b, b.region.known())) {
                    Some((b, Some(region))) => {
                        self.latest_log_file(t, &b.name, region, org_id).await
                    }
                    Some((b, None)) => (
                        Fact::Unreadable(format!("the bucket {} could not be located", b.name)),
                        Vec::new(),
                    ),
                    None => (
                        Fact::Unreadable("the trail's bucket is not known".into()),
                        Vec::new(),
                    ),
                }
            }
        }))
        .await;
        let searched_at = super::now_rfc3339_of(now);
        for (i, trail) in trails.values_mut().enumerate() {
            let source = first.iter().position(|&j| j == i).or_else(|| {
                folders[i].1.as_ref()?;
                first.iter().position(|&j| folders[j] == folders[i])
            });
            if let Some(k) = source {
                let (latest, searched) = &read[k];
                trail.latest_log_file = latest.clone();
                trail.log_file_search = searched.clone();
                trail.log_file_searched_at = Some(searched_at.clone());
            }
        }
    }

    /// The latest log file of `trail` in its bucket (in `bucket_region`) in the window, and what
    /// was searched.
    pub(super) async fn latest_log_file(
        &self,
        trail: &Trail,
        bucket: &str,
        bucket_region: &str,
        org_id: Option<&str>,
    ) -> (Fact<Option<DeliveredObject>>, Vec<String>) {
        let searches = match searches(trail, org_id, SystemTime::now()) {
            Ok(s) => s,
            // The log path is not known: nothing was read, nothing can be said.
            Err(why) => return (Fact::Unknown(why), Vec::new()),
        };
        let described: Vec<String> = searches
            .iter()
            .map(|s| format!("s3://{bucket}/{} (after {})", s.folder, s.start_after))
            .collect();
        let s3 = self.s3(bucket_region);
        // The newest log file: (LastModified, key).
        let mut newest: Option<(DateTime, String)> = None;
        for search in &searches {
            let mut token: Option<String> = None;
            let mut pages = 0;
            loop {
                let page = {
                    let _p = self.side_permit().await;
                    s3.list_objects_v2()
                        .bucket(bucket)
                        .prefix(&search.folder)
                        .start_after(&search.start_after)
                        .set_continuation_token(token.clone())
                        .send()
                        .await
                };
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        return (
                            Fact::Unreadable(describe("s3:ListObjectsV2", &e)),
                            described,
                        )
                    }
                };
                for object in page.contents() {
                    let (Some(key), Some(modified)) = (object.key(), object.last_modified()) else {
                        continue;
                    };
                    if !is_log_file(search, key) {
                        continue;
                    }
                    let newer = newest.as_ref().is_none_or(|(t, k)| {
                        (modified.secs(), modified.subsec_nanos(), key)
                            > (t.secs(), t.subsec_nanos(), k.as_str())
                    });
                    if newer {
                        newest = Some((*modified, key.to_owned()));
                    }
                }
                token = page.next_continuation_token().map(str::to_owned);
                pages += 1;
                if token.is_none() {
                    break;
                }
                if pages == MAX_PAGES {
                    return (
                        Fact::Unknown(format!(
                            "more than {} objects in s3://{bucket}/{} in the last {WINDOW_HOURS} hours: the newest log file was not found",
                            MAX_PAGES * 1000,
                            search.folder
                        )),
                        described,
                    );
                }
            }
        }
        let Some((_, key)) = newest else {
            return (Fact::Known(None), described);
        };
        let head = {
            let _p = self.side_permit().await;
            s3.head_object().bucket(bucket).key(&key).send().await
        };
        match head {
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
                described,
            ),
            Err(e) => (
                Fact::Unreadable(format!("{} ({key})", describe("s3:HeadObject", &e))),
                described,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail() -> Trail {
        let mut trail = Trail::from_arn("arn:aws:cloudtrail:eu-west-1:111122223333:trail/t");
        trail.s3_key_prefix = Fact::Known(Some("logs".into()));
        trail
    }

    #[test]
    fn the_window_is_the_last_hours_across_midnight() {
        // 2026-03-01T01:30:00Z: the window starts 2026-02-28T23:30Z.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_328_600);
        let s = searches(&trail(), None, now).expect("searches");
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0].folder,
            "logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/01/"
        );
        assert_eq!(s[0].start_after, s[0].folder);
        assert_eq!(
            s[1].folder,
            "logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/02/28/"
        );
        assert_eq!(
            s[1].start_after,
            "logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/02/28/111122223333_CloudTrail_eu-west-1_20260228T23"
        );
        // Within one day: one folder, listed from the window's first hour.
        let noon = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_366_400);
        let s = searches(&trail(), None, noon).expect("searches");
        assert_eq!(s.len(), 1);
        assert!(
            s[0].start_after.ends_with("_20260301T10"),
            "{}",
            s[0].start_after
        );
    }

    #[test]
    fn only_log_file_names_count() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_366_400);
        let s = &searches(&trail(), None, now).expect("searches")[0];
        let name = |rest: &str| format!("{}{}{rest}", s.folder, s.name_start);
        assert!(is_log_file(s, &name("1155Z_a1b2c3d4e5f6a7b8.json.gz")));
        assert!(!is_log_file(s, &format!("{}zz-test.txt", s.folder)));
        assert!(!is_log_file(s, &name("1155Z_x.txt")));
        assert!(!is_log_file(s, &name("11Z_a.json.gz")));
        assert!(!is_log_file(s, &name("1155Z_a/b.json.gz")));
    }

    #[test]
    fn organization_trails_need_the_organization() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_366_400);
        let mut t = trail();
        t.is_organization_trail = Fact::Known(true);
        assert!(searches(&t, None, now).is_err());
        let s = searches(&t, Some("o-abc"), now).expect("org");
        assert!(s[0]
            .folder
            .starts_with("logs/AWSLogs/o-abc/111122223333/CloudTrail/"));
    }
}
