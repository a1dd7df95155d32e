//! Read-only collection of one account into [`AccountEvidence`].
//!
//! Phases (each one's calls run concurrently, at most `concurrency` requests in flight):
//! 1. every scanned Region: `cloudtrail:DescribeTrails` (with shadow trails) and
//!    `cloudtrail:ListEventDataStores` + `GetEventDataStore`;
//! 2. every trail, once per ARN, in its home Region: `cloudtrail:GetTrailStatus`; every distinct
//!    key reference in the key's Region: `kms:DescribeKey`; every Region holding a referenced key:
//!    `kms:ListAliases`; every distinct bucket: `s3:GetBucketLocation`;
//! 3. every distinct key: `kms:GetKeyPolicy` (policy name `default`) and
//!    `kms:GetKeyRotationStatus`.
//!
//! Nothing here mutates anything; `READ_ONLY_ACTIONS` lists every action the collector may call
//! (the README's minimal IAM policy, and the recorded-requests test, are built from it).
//! What cannot be read (AccessDenied on one Region, one key, one bucket; throttling beyond the
//! SDK's retries; a Region that does not answer) is recorded in the evidence and becomes an
//! `error` finding; the rest of the collection goes on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_sdk_sts::primitives::{DateTime, DateTimeFormat};
use futures::future::join_all;
use tokio::sync::Semaphore;
use trailseal_model::{
    key_region, usage_implied_by_spec, AccountEvidence, Bucket, EventDataStore, Fact, Key, KeyRef,
    LookupError, RegionEvidence, Trail, TrailStatus,
};

use crate::error::{code, credentials_advice, describe, human, CollectError, Trouble};
use crate::regions::{closest_region, known_region};

/// Every AWS action `collect` / `audit` may call. All are reads.
pub const READ_ONLY_ACTIONS: &[&str] = &[
    "sts:GetCallerIdentity",
    "ec2:DescribeRegions",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:ListEventDataStores",
    "cloudtrail:GetEventDataStore",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "s3:GetBucketLocation",
];

/// Default number of requests in flight.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// What to collect.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Regions to scan; `None` = every Region enabled for the account (ec2:DescribeRegions).
    pub regions: Option<Vec<String>>,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Key ARNs to read besides the trails' keys (`fix --key`).
    pub extra_keys: Vec<String>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            regions: None,
            concurrency: DEFAULT_CONCURRENCY,
            extra_keys: Vec::new(),
        }
    }
}

/// The outcome of one collection: the evidence, plus notes for the operator (e.g. "could not
/// verify Region names") that are not findings.
#[derive(Debug, Clone)]
pub struct Collection {
    pub account: AccountEvidence,
    pub notes: Vec<String>,
}

/// RFC 3339 UTC timestamp of now, e.g. `2026-11-25T10:00:00Z`.
pub fn now_rfc3339() -> String {
    DateTime::from(std::time::SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// Collects one account with the given configuration.
pub struct Collector {
    config: SdkConfig,
    /// Path-style S3 addressing: needed when an endpoint override points at an emulator.
    path_style: bool,
    permits: Arc<Semaphore>,
    clients: std::sync::Mutex<HashMap<String, RegionClients>>,
}

#[derive(Clone)]
struct RegionClients {
    cloudtrail: aws_sdk_cloudtrail::Client,
    kms: aws_sdk_kms::Client,
    s3: aws_sdk_s3::Client,
}

/// A trail as DescribeTrails returned it (any Region's copy: shadow copies carry the same
/// configuration).
type TrailMap = BTreeMap<String, Trail>;

struct RegionRead {
    evidence: RegionEvidence,
    trails: Vec<Trail>,
    stores: Vec<EventDataStore>,
}

impl Collector {
    pub fn new(config: SdkConfig, concurrency: usize) -> Collector {
        let path_style =
            config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        Collector {
            config,
            path_style,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            clients: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Runs the whole collection. Fails as a whole only when the credentials cannot be used or
    /// the Regions to scan cannot be determined.
    pub async fn collect(&self, options: &CollectOptions) -> Result<Collection, CollectError> {
        let mut notes = Vec::new();
        let (account, partition) = self.identity().await?;
        let regions = self.regions(options.regions.as_deref(), &mut notes).await?;

        // Phase 1: every Region's trails and event data stores.
        let reads = join_all(regions.iter().map(|r| self.read_region(r))).await;
        let mut trails = TrailMap::new();
        let mut region_evidence = Vec::new();
        let mut stores = Vec::new();
        for read in reads {
            region_evidence.push(read.evidence);
            stores.extend(read.stores);
            for t in read.trails {
                // One trail per ARN: a shadow copy carries the same configuration.
                trails.entry(t.arn.clone()).or_insert(t);
            }
        }

        // Phase 2: trail status, key references, aliases, buckets.
        let mut references: BTreeSet<(String, String)> = BTreeSet::new();
        for k in &options.extra_keys {
            references.insert((key_region(k, "us-east-1"), k.clone()));
        }
        for t in trails.values() {
            if let Some(r) = t.key_id() {
                references.insert((key_region(r, &t.home_region), r.to_owned()));
            }
        }
        for s in &stores {
            if let Some(r) = s
                .kms_key_id
                .known()
                .and_then(|k| k.as_deref())
                .filter(|r| !r.trim().is_empty())
            {
                references.insert((key_region(r, &s.region), r.to_owned()));
            }
        }
        let buckets: BTreeSet<(String, String)> = trails
            .values()
            .filter_map(|t| {
                t.s3_bucket_name
                    .known()
                    .filter(|b| !b.is_empty())
                    .map(|b| (b.clone(), t.home_region.clone()))
            })
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();

        let statuses = join_all(trails.values().map(|t| self.trail_status(t)));
        let locations = join_all(
            buckets
                .iter()
                .map(|(name, region)| self.bucket_location(name, region)),
        );
        let keys = self.keys(&account, &partition, &references);
        let (statuses, locations, (key_refs, keys)) = tokio::join!(statuses, locations, keys);
        for (trail, (status, error)) in trails.values_mut().zip(statuses) {
            trail.status = status;
            trail.status_error = error;
        }

        Ok(Collection {
            account: AccountEvidence {
                account,
                partition,
                regions: region_evidence,
                trails: trails.into_values().collect(),
                key_refs,
                keys: keys.into_values().collect(),
                buckets: locations,
                event_data_stores: {
                    stores.sort_by(|a, b| a.arn.cmp(&b.arn));
                    stores
                },
            },
            notes,
        })
    }

    /// Resolves every key reference and reads every distinct key once.
    ///
    /// `ListAliases` runs first, once per Region with references: an alias name or alias ARN
    /// of this account found there is resolved locally to its target key, so that a key
    /// referenced by alias and by ARN is described once. Everything else (key ARNs, bare key
    /// ids, aliases of other accounts, aliases not listed) is resolved with `DescribeKey`,
    /// once per distinct (Region, target).
    async fn keys(
        &self,
        account: &str,
        partition: &str,
        references: &BTreeSet<(String, String)>,
    ) -> (Vec<KeyRef>, BTreeMap<String, Key>) {
        let regions: BTreeSet<String> = references.iter().map(|(r, _)| r.clone()).collect();
        let listed = join_all(regions.iter().map(|r| self.aliases(r))).await;
        let aliases: HashMap<String, Result<Vec<(String, String)>, String>> =
            regions.into_iter().zip(listed).collect();

        // Each reference's lookup target: a key ARN when the alias resolved locally.
        let target = |region: &str, reference: &str| -> String {
            let name = alias_name(reference, region, account);
            let found = name.and_then(|name| match aliases.get(region) {
                Some(Ok(list)) => list.iter().find(|(n, _)| *n == name),
                _ => None,
            });
            match found {
                Some((_, key_id)) => format!("arn:{partition}:kms:{region}:{account}:key/{key_id}"),
                None => reference.to_owned(),
            }
        };
        let targets: BTreeSet<(String, String)> = references
            .iter()
            .map(|(region, reference)| (region.clone(), target(region, reference)))
            .collect();
        let described: HashMap<(String, String), (KeyRef, Option<Key>)> =
            join_all(targets.iter().map(|(region, t)| async move {
                (
                    (region.clone(), t.clone()),
                    self.describe_key(region, t).await,
                )
            }))
            .await
            .into_iter()
            .collect();

        let mut key_refs = Vec::new();
        let mut keys: BTreeMap<String, Key> = BTreeMap::new();
        for (region, reference) in references {
            let t = target(region, reference);
            let Some((found, key)) = described.get(&(region.clone(), t)) else {
                continue;
            };
            key_refs.push(KeyRef {
                region: region.clone(),
                reference: reference.clone(),
                key_arn: found.key_arn.clone(),
                error: found.error.clone(),
            });
            if let Some(k) = key {
                if let Some(arn) = k.arn.clone() {
                    keys.entry(arn).or_insert_with(|| k.clone());
                }
            }
        }

        // Each distinct key's policy and rotation status.
        let details = join_all(keys.values().map(|k| self.key_details(k))).await;
        for (key, (policy, rotation)) in keys.values_mut().zip(details) {
            key.policy = policy;
            key.rotation_enabled = rotation;
            let region = key.region.known().cloned().unwrap_or_default();
            // A failed ListAliases leaves `aliases` empty: KeyManager (DescribeKey) still says
            // whether the key is AWS-managed; the alias rule only adds to it.
            if let Some(Ok(list)) = aliases.get(&region) {
                key.aliases = list
                    .iter()
                    .filter(|(_, target)| Some(target.as_str()) == key.key_id.as_deref())
                    .map(|(name, _)| name.clone())
                    .collect();
                key.aliases.sort();
            }
        }
        (key_refs, keys)
    }

    /// One of the `concurrency` slots; held until the guard is dropped. The semaphore is never
    /// closed, so this is always `Some`.
    async fn permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.permits.acquire().await.ok()
    }

    fn region_config(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build()
    }

    /// The Region's clients, built once and shared (building a client costs as much CPU as a
    /// request).
    fn clients(&self, region: &str) -> RegionClients {
        let mut cache = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = self.region_config(region);
                RegionClients {
                    cloudtrail: aws_sdk_cloudtrail::Client::new(&config),
                    kms: aws_sdk_kms::Client::new(&config),
                    s3: aws_sdk_s3::Client::from_conf(
                        aws_sdk_s3::config::Builder::from(&config)
                            .force_path_style(self.path_style)
                            .build(),
                    ),
                }
            })
            .clone()
    }

    fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        self.clients(region).cloudtrail
    }

    fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        self.clients(region).kms
    }

    fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        self.clients(region).s3
    }

    /// The caller's account and partition. Fails when the credentials cannot be used.
    async fn identity(&self) -> Result<(String, String), CollectError> {
        let _p = self.permit().await;
        let out = aws_sdk_sts::Client::new(&self.config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                let trouble = match &e {
                    aws_sdk_sts::error::SdkError::ServiceError(_) => Trouble::Other,
                    aws_sdk_sts::error::SdkError::TimeoutError(_) => Trouble::Network,
                    other => human(other).map_or(Trouble::Other, |(t, _)| t),
                };
                CollectError::Credentials {
                    message: describe("sts:GetCallerIdentity", &e),
                    advice: credentials_advice(trouble),
                    detail: format!("{}", aws_sdk_sts::error::DisplayErrorContext(&e)),
                }
            })?;
        let account = out.account().unwrap_or_default().to_owned();
        let partition = out
            .arn()
            .and_then(|a| a.split(':').nth(1))
            .filter(|p| !p.is_empty())
            .unwrap_or("aws")
            .to_owned();
        if account.is_empty() {
            let message = "sts:GetCallerIdentity returned no account".to_owned();
            return Err(CollectError::Credentials {
                advice: credentials_advice(Trouble::Other),
                detail: message.clone(),
                message,
            });
        }
        Ok((account, partition))
    }

    /// The Regions to scan: the requested ones (checked against the partition's Regions), or
    /// every Region enabled for the account.
    async fn regions(
        &self,
        requested: Option<&[String]>,
        notes: &mut Vec<String>,
    ) -> Result<Vec<String>, CollectError> {
        if let Some(requested) = requested {
            // Known names need no call; anything else is checked with ec2:DescribeRegions
            // (AWS adds Regions faster than this list is updated).
            if requested.iter().all(|r| known_region(r)) {
                let mut out: Vec<String> = Vec::new();
                for name in requested {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
                return Ok(out);
            }
        }
        let listed = {
            let _p = self.permit().await;
            crate::regions::describe_regions(&self.config).await
        };
        match (listed, requested) {
            (Ok(listed), requested) => {
                let all: Vec<(String, bool)> =
                    listed.into_iter().map(|r| (r.name, r.enabled)).collect();
                match requested {
                    Some(requested) => {
                        let mut out = Vec::new();
                        for name in requested {
                            match all.iter().find(|(n, _)| n == name) {
                                Some((_, true)) => {}
                                Some((_, false)) => notes.push(format!(
                                    "{name} is not enabled for this account; its calls will fail"
                                )),
                                None => {
                                    let mut known: Vec<&str> =
                                        all.iter().map(|(n, _)| n.as_str()).collect();
                                    known.sort_unstable();
                                    let suggestion = closest_region(name, known.iter().copied())
                                        .map(str::to_owned);
                                    return Err(CollectError::UnknownRegion {
                                        name: name.clone(),
                                        known: known.join(", "),
                                        suggestion,
                                    });
                                }
                            }
                            if !out.contains(name) {
                                out.push(name.clone());
                            }
                        }
                        Ok(out)
                    }
                    None => {
                        let mut enabled: Vec<String> = all
                            .into_iter()
                            .filter(|(_, enabled)| *enabled)
                            .map(|(n, _)| n)
                            .collect();
                        enabled.sort();
                        // Scanning no Region would pass everything: never silently.
                        if enabled.is_empty() {
                            return Err(CollectError::Regions(
                                "ec2:DescribeRegions lists no Region enabled for the account"
                                    .into(),
                            ));
                        }
                        Ok(enabled)
                    }
                }
            }
            (Err(e), Some(requested)) => {
                notes.push(format!(
                    "could not verify the Region names ({}); scanning them as given",
                    describe("ec2:DescribeRegions", &e)
                ));
                let mut out: Vec<String> = Vec::new();
                for name in requested {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
                Ok(out)
            }
            (Err(e), None) => Err(CollectError::Regions(describe("ec2:DescribeRegions", &e))),
        }
    }

    async fn read_region(&self, region: &str) -> RegionRead {
        let (trails, stores) = tokio::join!(self.trails(region), self.event_data_stores(region));
        let mut evidence = RegionEvidence {
            region: region.to_owned(),
            ..RegionEvidence::default()
        };
        let trails = trails.unwrap_or_else(|e| {
            evidence.trails_error = Some(e);
            Vec::new()
        });
        let stores = stores.unwrap_or_else(|e| {
            evidence.event_data_stores_error = Some(e);
            Vec::new()
        });
        RegionRead {
            evidence,
            trails,
            stores,
        }
    }

    async fn trails(&self, region: &str) -> Result<Vec<Trail>, String> {
        let out = {
            let _p = self.permit().await;
            self.cloudtrail(region)
                .describe_trails()
                .include_shadow_trails(true)
                .send()
                .await
                .map_err(|e| describe("cloudtrail:DescribeTrails", &e))?
        };
        Ok(out
            .trail_list()
            .iter()
            .filter_map(|t| {
                let arn = t.trail_arn()?;
                let mut trail = Trail::from_arn(arn);
                if let Some(home) = t.home_region() {
                    trail.home_region = home.to_owned();
                }
                if let Some(name) = t.name() {
                    trail.name = name.to_owned();
                }
                // Absent optional fields mean "not set" (no prefix, no key); absent flags
                // that AWS always returns are reported as not read.
                let flag = |field: &str, v: Option<bool>| match v {
                    Some(v) => Fact::Known(v),
                    None => {
                        Fact::Unreadable(format!("cloudtrail:DescribeTrails returned no {field}"))
                    }
                };
                trail.s3_bucket_name = match t.s3_bucket_name() {
                    Some(b) => Fact::Known(b.to_owned()),
                    None => Fact::Unreadable(
                        "cloudtrail:DescribeTrails returned no S3BucketName".into(),
                    ),
                };
                trail.s3_key_prefix = Fact::Known(t.s3_key_prefix().map(str::to_owned));
                trail.kms_key_id = Fact::Known(t.kms_key_id().map(str::to_owned));
                trail.is_multi_region = flag("IsMultiRegionTrail", t.is_multi_region_trail());
                trail.is_organization_trail =
                    flag("IsOrganizationTrail", t.is_organization_trail());
                trail.log_file_validation_enabled =
                    flag("LogFileValidationEnabled", t.log_file_validation_enabled());
                Some(trail)
            })
            .collect())
    }

    async fn event_data_stores(&self, region: &str) -> Result<Vec<EventDataStore>, String> {
        let client = self.cloudtrail(region);
        let mut arns = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = {
                let _p = self.permit().await;
                client
                    .list_event_data_stores()
                    .set_next_token(token.take())
                    .customize()
                    .config_override(lake_retries())
                    .send()
                    .await
                    .map_err(|e| describe("cloudtrail:ListEventDataStores", &e))?
            };
            arns.extend(
                out.event_data_stores()
                    .iter()
                    .filter_map(|s| s.event_data_store_arn().map(str::to_owned)),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let client = &client;
        let reads = join_all(arns.iter().map(|arn| async move {
            let _p = self.permit().await;
            client
                .get_event_data_store()
                .event_data_store(arn)
                .customize()
                .config_override(lake_retries())
                .send()
                .await
                .map(|out| EventDataStore {
                    arn: arn.clone(),
                    name: out.name().unwrap_or_default().to_owned(),
                    region: region.to_owned(),
                    kms_key_id: Fact::Known(out.kms_key_id().map(str::to_owned)),
                    status: out.status().map(|s| s.as_str().to_owned()),
                })
                .map_err(|e| describe(&format!("cloudtrail:GetEventDataStore {arn}"), &e))
        }))
        .await;
        reads.into_iter().collect()
    }

    async fn trail_status(&self, trail: &Trail) -> (Option<TrailStatus>, Option<String>) {
        let result = {
            let _p = self.permit().await;
            self.cloudtrail(&trail.home_region)
                .get_trail_status()
                .name(&trail.arn)
                .send()
                .await
        };
        match result {
            Ok(out) => (
                Some(TrailStatus {
                    is_logging: out.is_logging().unwrap_or(false),
                    latest_delivery_error: out
                        .latest_delivery_error()
                        .filter(|e| !e.is_empty())
                        .map(str::to_owned),
                    latest_digest_delivery_error: out
                        .latest_digest_delivery_error()
                        .filter(|e| !e.is_empty())
                        .map(str::to_owned),
                    latest_delivery_time: out
                        .latest_delivery_time()
                        .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok()),
                }),
                None,
            ),
            Err(e) if code(&e) == Some("TrailNotFoundException") => (
                None,
                Some(format!(
                    "the trail was deleted during the scan ({})",
                    describe("cloudtrail:GetTrailStatus", &e)
                )),
            ),
            Err(e) => (None, Some(describe("cloudtrail:GetTrailStatus", &e))),
        }
    }

    /// Resolves a `KmsKeyId` (key ARN, key id, alias name or alias ARN) in `region`.
    async fn describe_key(&self, region: &str, reference: &str) -> (KeyRef, Option<Key>) {
        let mut key_ref = KeyRef {
            region: region.to_owned(),
            reference: reference.to_owned(),
            key_arn: None,
            error: None,
        };
        let result = {
            let _p = self.permit().await;
            self.kms(region)
                .describe_key()
                .key_id(reference)
                .send()
                .await
        };
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                let message = describe("kms:DescribeKey", &e);
                key_ref.error = Some(match code(&e) {
                    Some("NotFoundException") | Some("InvalidArnException") => {
                        LookupError::NotFound(message)
                    }
                    _ => LookupError::Failed(message),
                });
                return (key_ref, None);
            }
        };
        let Some(meta) = out.key_metadata() else {
            key_ref.error = Some(LookupError::Failed(
                "kms:DescribeKey returned no key metadata".into(),
            ));
            return (key_ref, None);
        };
        let arn = meta.arn().map(str::to_owned);
        key_ref.key_arn = arn.clone();
        let mut regions: Vec<String> = Vec::new();
        if let Some(conf) = meta.multi_region_configuration() {
            regions.extend(
                conf.primary_key()
                    .and_then(|k| k.region())
                    .map(str::to_owned),
            );
            regions.extend(
                conf.replica_keys()
                    .iter()
                    .filter_map(|k| k.region().map(str::to_owned)),
            );
            regions.sort();
            regions.dedup();
        }
        let returned = |field: &str, v: Option<String>| match v {
            Some(v) => Fact::Known(v),
            None => Fact::Unreadable(format!("kms:DescribeKey returned no {field}")),
        };
        let key_spec = returned("KeySpec", meta.key_spec().map(|s| s.as_str().to_owned()));
        // AWS always returns KeyUsage; some emulators omit it. A SYMMETRIC_DEFAULT key can only
        // be ENCRYPT_DECRYPT, so the spec decides it then.
        let key_usage = match meta.key_usage() {
            Some(u) => Fact::Known(u.as_str().to_owned()),
            None => match key_spec.known().and_then(|s| usage_implied_by_spec(s)) {
                Some(u) => Fact::Known(u.to_owned()),
                None => Fact::Unreadable("kms:DescribeKey returned no KeyUsage".into()),
            },
        };
        let key = Key {
            region: Fact::Known(
                arn.as_deref()
                    .and_then(|a| a.split(':').nth(3))
                    .filter(|r| !r.is_empty())
                    .unwrap_or(region)
                    .to_owned(),
            ),
            arn,
            key_id: Some(meta.key_id().to_owned()),
            state: returned("KeyState", meta.key_state().map(|s| s.as_str().to_owned())),
            manager: returned(
                "KeyManager",
                meta.key_manager().map(|s| s.as_str().to_owned()),
            ),
            key_spec,
            key_usage,
            multi_region: match meta.multi_region() {
                Some(m) => Fact::Known(m),
                None => Fact::Unreadable("kms:DescribeKey returned no MultiRegion".into()),
            },
            multi_region_regions: regions,
            ..Key::default()
        };
        (key_ref, Some(key))
    }

    /// Every alias of `region`: (alias name, target key id).
    async fn aliases(&self, region: &str) -> Result<Vec<(String, String)>, String> {
        let client = self.kms(region);
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = {
                let _p = self.permit().await;
                client
                    .list_aliases()
                    .set_marker(marker.take())
                    .send()
                    .await
                    .map_err(|e| describe("kms:ListAliases", &e))?
            };
            for a in page.aliases() {
                if let (Some(name), Some(target)) = (a.alias_name(), a.target_key_id()) {
                    out.push((name.to_owned(), target.to_owned()));
                }
            }
            match (page.truncated(), page.next_marker()) {
                (true, Some(m)) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The key policy and the rotation status.
    async fn key_details(&self, key: &Key) -> (Fact<String>, Fact<bool>) {
        let (Some(arn), Fact::Known(region)) = (key.arn.as_deref(), &key.region) else {
            let why = "the key's ARN or Region is not known".to_owned();
            return (Fact::Unreadable(why.clone()), Fact::Unreadable(why));
        };
        let client = self.kms(region);
        let policy = async {
            let _p = self.permit().await;
            client
                .get_key_policy()
                .key_id(arn)
                .policy_name("default")
                .send()
                .await
        };
        let rotation = async {
            let _p = self.permit().await;
            client.get_key_rotation_status().key_id(arn).send().await
        };
        let (policy, rotation) = tokio::join!(policy, rotation);
        let policy = match policy {
            Ok(out) => match out.policy() {
                Some(p) => Fact::Known(p.to_owned()),
                None => Fact::Unreadable("kms:GetKeyPolicy returned no policy".into()),
            },
            Err(e) => Fact::Unreadable(describe("kms:GetKeyPolicy", &e)),
        };
        let rotation = match rotation {
            Ok(out) => Fact::Known(out.key_rotation_enabled()),
            Err(e) => Fact::Unreadable(describe("kms:GetKeyRotationStatus", &e)),
        };
        (policy, rotation)
    }

    /// GetBucketLocation: empty means us-east-1, `EU` means eu-west-1.
    async fn bucket_location(&self, name: &str, region: &str) -> Bucket {
        let result = {
            let _p = self.permit().await;
            self.s3(region)
                .get_bucket_location()
                .bucket(name)
                .send()
                .await
        };
        match result {
            Ok(out) => Bucket {
                name: name.to_owned(),
                region: Fact::Known(bucket_region(out.location_constraint().map(|c| c.as_str()))),
            },
            Err(e) => Bucket {
                name: name.to_owned(),
                region: Fact::Unreadable(describe("s3:GetBucketLocation", &e)),
            },
        }
    }
}

/// CloudTrail Lake is an optional feature (TS013 only, medium): its calls are retried on
/// throttling like every other call, but not on server errors (HTTP 5xx), so that a Region whose
/// Lake API keeps failing costs one request and no backoff; the Region's TS013 is then `error`.
fn lake_retries() -> aws_sdk_cloudtrail::config::Builder {
    aws_sdk_cloudtrail::config::Builder::default().retry_classifier(NoServerErrorRetry)
}

#[derive(Debug)]
struct NoServerErrorRetry;

impl aws_sdk_cloudtrail::config::retry::ClassifyRetry for NoServerErrorRetry {
    fn classify_retry(
        &self,
        ctx: &aws_sdk_cloudtrail::config::interceptors::InterceptorContext,
    ) -> aws_sdk_cloudtrail::config::retry::RetryAction {
        use aws_sdk_cloudtrail::config::retry::RetryAction;
        match ctx.response() {
            Some(r) if r.status().is_server_error() => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "trailseal: no retry of CloudTrail Lake server errors"
    }
}

/// `alias/NAME` when `reference` names an alias of `account` in `region` (alias name, or alias
/// ARN of that account and Region).
fn alias_name<'a>(reference: &'a str, region: &str, account: &str) -> Option<&'a str> {
    if reference.starts_with("alias/") {
        return Some(reference);
    }
    let parts: Vec<&str> = reference.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "kms", r, a, resource]
            if *r == region && *a == account && resource.starts_with("alias/") =>
        {
            Some(resource)
        }
        _ => None,
    }
}

/// The Region a `LocationConstraint` stands for.
pub fn bucket_region(constraint: Option<&str>) -> String {
    match constraint.map(str::trim) {
        None | Some("") | Some("null") => "us-east-1".to_owned(),
        Some("EU") => "eu-west-1".to_owned(),
        Some(other) => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::bucket_region;

    #[test]
    fn alias_references() {
        use super::alias_name;
        let acct = "111122223333";
        assert_eq!(
            alias_name("alias/logs", "us-east-1", acct),
            Some("alias/logs")
        );
        assert_eq!(
            alias_name(
                "arn:aws:kms:us-east-1:111122223333:alias/logs",
                "us-east-1",
                acct
            ),
            Some("alias/logs")
        );
        // Another account's alias, or a key ARN, is looked up with DescribeKey.
        assert_eq!(
            alias_name(
                "arn:aws:kms:us-east-1:999999999999:alias/logs",
                "us-east-1",
                acct
            ),
            None
        );
        assert_eq!(
            alias_name(
                "arn:aws:kms:us-east-1:111122223333:key/1234",
                "us-east-1",
                acct
            ),
            None
        );
        assert_eq!(
            alias_name("1234abcd-12ab-34cd-56ef-1234567890ab", "us-east-1", acct),
            None
        );
    }

    #[test]
    fn bucket_location_constraints() {
        assert_eq!(bucket_region(None), "us-east-1");
        assert_eq!(bucket_region(Some("")), "us-east-1");
        assert_eq!(bucket_region(Some("EU")), "eu-west-1");
        assert_eq!(bucket_region(Some("eu-central-1")), "eu-central-1");
    }
}
