//! Read-only collection of one account into [`AccountEvidence`].
//!
//! Phases (each one's calls run concurrently, at most `concurrency` requests in flight):
//! 1. every scanned Region: `cloudtrail:DescribeTrails` (with shadow trails) and
//!    `cloudtrail:ListEventDataStores` + `GetEventDataStore`;
//! 2. every trail, once per ARN, in its home Region: `cloudtrail:GetTrailStatus`; every distinct
//!    key reference in the key's Region: `kms:DescribeKey`; every Region holding a referenced key:
//!    `kms:ListAliases`; every distinct bucket: `s3:GetBucketLocation`, then `s3:GetBucketPolicy`
//!    in the bucket's Region;
//! 3. every distinct key: `kms:GetKeyPolicy` (policy name `default`),
//!    `kms:GetKeyRotationStatus` and `kms:ListGrants`;
//! 4. every distinct log folder: its latest log file of the last two hours (`s3:ListObjectsV2`,
//!    then `s3:HeadObject`: metadata only), in the bucket's Region.
//!
//! Nothing here mutates anything; `READ_ONLY_ACTIONS` lists every action the collector may call
//! (the README's minimal IAM policy, and the recorded-requests test, are built from it).
//! What cannot be read (AccessDenied on one Region, one key, one bucket; throttling beyond the
//! SDK's retries; a Region that does not answer) is recorded in the evidence and becomes an
//! `error` finding; the rest of the collection goes on.

mod delivered;
mod reads;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_sdk_sts::primitives::{DateTime, DateTimeFormat};
use futures::future::join_all;
use tokio::sync::Semaphore;
use trailseal_model::{
    key_region, AccountEvidence, EventDataStore, Fact, Key, KeyRef, OrganizationInfo,
    RegionEvidence, Trail,
};

use crate::error::{credentials_advice, describe, human, CollectError, Trouble};
use crate::regions::{closest_region, known_region};
use reads::alias_name;
pub use reads::bucket_region;

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
    "kms:ListGrants",
    "s3:GetBucketLocation",
    "s3:GetBucketPolicy",
    // ListObjectsV2 under each trail's log path, for the latest log file's name.
    "s3:ListBucket",
    // HeadObject on that one file (its encryption metadata; HEAD needs s3:GetObject, and
    // trailseal never reads an object's contents).
    "s3:GetObject",
    // GetBucketEncryption: whether the bucket uses S3 Bucket Keys (TS006).
    "s3:GetEncryptionConfiguration",
    // GetBucketOwnershipControls: whether object ACLs are disabled (TS015, `readers`).
    "s3:GetBucketOwnershipControls",
    // Which buckets the account owns (a trail's bucket in the account or in another one).
    "s3:ListAllMyBuckets",
    // Who can read the logs (TS008, TS015): users, roles, groups and their policies, one
    // paginated read per account.
    "iam:GetAccountAuthorizationDetails",
];

/// What an organization audit (`--org`, `--accounts`) adds, with the caller's credentials:
/// listing the accounts, and assuming the role in each (whose reads are [`READ_ONLY_ACTIONS`]).
pub const ORGANIZATION_ACTIONS: &[&str] = &[
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "sts:AssumeRole",
];

/// Default number of requests in flight.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// What to collect.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Regions to scan; `None` = every Region enabled for the account (ec2:DescribeRegions).
    pub regions: Option<Vec<String>>,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Key ARNs to read besides the trails' keys (`fix --key`).
    pub extra_keys: Vec<String>,
    /// Regions never to scan (`--exclude-regions`), also when they are enabled.
    pub exclude_regions: Vec<String>,
    /// The account and partition, when already known (an assumed role in an organization
    /// audit): no sts:GetCallerIdentity then.
    pub identity: Option<(String, String)>,
    /// The account's organization, recorded in the evidence.
    pub organization: Option<OrganizationInfo>,
    /// Organization trails of another account of the same collection (read there): when
    /// DescribeTrails lists one of them here it is not read again, and they are recorded as
    /// covering the account ([`AccountEvidence::organization_trails`]).
    pub organization_trails: Vec<Trail>,
    /// The account is known to be a member of the organization that owns
    /// `organization_trails` (ListAccounts lists it): they cover it even when DescribeTrails
    /// here does not list them.
    pub member_of_organization: bool,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            regions: None,
            concurrency: DEFAULT_CONCURRENCY,
            extra_keys: Vec::new(),
            exclude_regions: Vec::new(),
            identity: None,
            organization: None,
            organization_trails: Vec::new(),
            member_of_organization: false,
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

/// The account and partition of the configured credentials (sts:GetCallerIdentity). Fails when
/// the credentials cannot be used.
pub async fn caller_identity(config: &SdkConfig) -> Result<(String, String), CollectError> {
    Collector::new(config.clone(), 1).identity().await
}

/// RFC 3339 UTC timestamp of now, e.g. `2026-11-25T10:00:00Z`.
pub fn now_rfc3339() -> String {
    now_rfc3339_of(std::time::SystemTime::now())
}

pub(crate) fn now_rfc3339_of(t: std::time::SystemTime) -> String {
    DateTime::from(t)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// Collects one account with the given configuration.
pub struct Collector {
    config: SdkConfig,
    /// Path-style S3 addressing: needed when an endpoint override points at an emulator.
    path_style: bool,
    /// Requests in flight for this account.
    permits: Arc<Semaphore>,
    /// Calls off the longest chain (trail status, bucket location) take at most half of the
    /// slots, so that the key reads (DescribeKey, then GetKeyPolicy) are never queued behind
    /// all of them.
    side: Arc<Semaphore>,
    /// Requests in flight over every account of an organization audit.
    global: Option<Arc<Semaphore>>,
    clients: std::sync::Mutex<HashMap<String, RegionClients>>,
}

#[derive(Clone)]
struct RegionClients {
    cloudtrail: aws_sdk_cloudtrail::Client,
    kms: aws_sdk_kms::Client,
    s3: aws_sdk_s3::Client,
}

/// A key reference: (the Region it is resolved in, the `KmsKeyId` or lookup target).
type Reference = (String, String);
/// How a reference resolved, and the key when it did.
type Described = (KeyRef, Option<Key>);
/// A key's policy, rotation status and grants.
type Details = (Fact<String>, Fact<bool>, Fact<Vec<trailseal_model::Grant>>);

/// A request slot: this account's, and the global one of an organization audit.
struct Permit<'a> {
    _own: tokio::sync::SemaphorePermit<'a>,
    _global: Option<tokio::sync::SemaphorePermit<'a>>,
}

/// A trail as DescribeTrails returned it (any Region's copy: shadow copies carry the same
/// configuration).
pub(super) type TrailMap = BTreeMap<String, Trail>;

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
            side: Arc::new(Semaphore::new((concurrency / 2).max(1))),
            global: None,
            clients: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Shares a limit of requests in flight with other collectors (an organization audit: one
    /// collector per account, one global limit).
    pub fn with_global_limit(mut self, global: Arc<Semaphore>) -> Collector {
        self.global = Some(global);
        self
    }

    /// Runs the whole collection. Fails as a whole only when the credentials cannot be used or
    /// the Regions to scan cannot be determined.
    pub async fn collect(&self, options: &CollectOptions) -> Result<Collection, CollectError> {
        let mut notes = Vec::new();
        let (account, partition) = match &options.identity {
            Some(known) => known.clone(),
            None => self.identity().await?,
        };
        let mut regions = self.regions(options.regions.as_deref(), &mut notes).await?;
        regions.retain(|r| !options.exclude_regions.contains(r));
        if regions.is_empty() {
            return Err(CollectError::Regions(
                "--exclude-regions leaves no Region to scan".into(),
            ));
        }

        // Account-wide reads, beside the three phases of Region reads.
        let (mut collection, iam, owned_buckets) = tokio::join!(
            self.collect_regions(options, account, partition, regions, notes),
            self.iam_details(),
            self.owned_buckets()
        );
        collection.account.iam = iam;
        collection.account.owned_buckets = owned_buckets;
        Ok(collection)
    }

    /// The three phases of Region reads: trails, then their status, keys and buckets, then
    /// their latest log files.
    async fn collect_regions(
        &self,
        options: &CollectOptions,
        account: String,
        partition: String,
        regions: Vec<String>,
        notes: Vec<String>,
    ) -> Collection {
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
        // An organization trail of the management account, listed here as a shadow: it was
        // read (and is evaluated) in its owner account, and it covers this one.
        let before = trails.len();
        trails.retain(|arn, _| !options.organization_trails.iter().any(|o| &o.arn == arn));
        let organization_trails = if options.member_of_organization || trails.len() < before {
            options.organization_trails.clone()
        } else {
            Vec::new()
        };

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
                .map(|(name, region)| self.bucket(name, region)),
        );
        let keys = self.keys(&account, &partition, &references);
        // The key reads first: they are the longest chain.
        let ((key_refs, keys), statuses, locations) = tokio::join!(keys, statuses, locations);
        for (trail, (status, error)) in trails.values_mut().zip(statuses) {
            trail.status = status;
            trail.status_error = error;
        }

        // Phase 3: each trail's latest log file, in its bucket's Region (TS016).
        let org_id = options.organization.as_ref().map(|o| o.id.as_str());
        self.latest_log_files(&mut trails, &locations, org_id).await;

        Collection {
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
                error: None,
                organization: options.organization.clone(),
                organization_trails,
                iam: Fact::not_collected(),
                owned_buckets: Fact::not_collected(),
                trusted_accounts: Vec::new(),
            },
            notes,
        }
    }

    /// Resolves every key reference and reads every distinct key once.
    ///
    /// `ListAliases` runs once per Region with references: an alias name or alias ARN of this
    /// account found there is resolved locally to its target key, so that a key referenced by
    /// alias and by ARN is described once; and it names each key's aliases (an `alias/aws/...`
    /// one makes the key AWS-managed). References that need no alias list (key ARNs, bare key
    /// ids, aliases of other accounts) are described at the same time, not after it, and each
    /// key's policy and rotation are read as soon as it is described: the longest chain of
    /// calls is DescribeKey then GetKeyPolicy (bench/README.md, "Organization audits").
    async fn keys(
        &self,
        account: &str,
        partition: &str,
        references: &BTreeSet<(String, String)>,
    ) -> (Vec<KeyRef>, BTreeMap<String, Key>) {
        let regions: BTreeSet<String> = references.iter().map(|(r, _)| r.clone()).collect();
        let (direct, via_alias): (Vec<&Reference>, Vec<&Reference>) = references
            .iter()
            .partition(|(region, reference)| alias_name(reference, region, account).is_none());
        // Described once per distinct (Region, target); a key's details once per key ARN.
        let described: tokio::sync::Mutex<HashMap<Reference, Described>> =
            tokio::sync::Mutex::new(HashMap::new());
        let detailed: std::sync::Mutex<BTreeSet<String>> = std::sync::Mutex::new(BTreeSet::new());
        // Describes a target; returns the key when it is the first lookup that found it (whose
        // policy and rotation are then read).
        let describe = |region: String, target: String| {
            let (described, detailed) = (&described, &detailed);
            async move {
                if described
                    .lock()
                    .await
                    .contains_key(&(region.clone(), target.clone()))
                {
                    return None;
                }
                let (found, key) = self.describe_key(&region, &target).await;
                let first = key.as_ref().and_then(|k| k.arn.clone()).filter(|arn| {
                    detailed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(arn.clone())
                });
                described
                    .lock()
                    .await
                    .insert((region, target), (found, key.clone()));
                first.and(key)
            }
        };
        let details_of = |key: Key| async move {
            let read = self.key_details(&key).await;
            (key.arn.unwrap_or_default(), read)
        };
        // Level 1: the alias lists, and every reference that needs none.
        let (listed, direct_keys) = tokio::join!(
            join_all(regions.iter().map(|r| self.aliases(r))),
            join_all(
                direct
                    .iter()
                    .map(|(region, reference)| describe(region.clone(), reference.clone())),
            )
        );
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
        let targets: BTreeSet<(String, String)> = via_alias
            .iter()
            .map(|(region, reference)| (region.clone(), target(region, reference)))
            .collect();
        // Level 2: the direct keys' details, and the aliases' keys; level 3: their details.
        let (direct_details, alias_details) = tokio::join!(
            join_all(direct_keys.into_iter().flatten().map(details_of)),
            async {
                let keys =
                    join_all(targets.into_iter().map(|(region, t)| describe(region, t))).await;
                join_all(keys.into_iter().flatten().map(details_of)).await
            }
        );
        let described = described.into_inner();
        let details: HashMap<String, Details> =
            direct_details.into_iter().chain(alias_details).collect();

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

        // Each distinct key's policy and rotation status, and its aliases.
        for key in keys.values_mut() {
            let why = || "the key's ARN or Region is not known".to_owned();
            let (policy, rotation, grants) = key
                .arn
                .as_ref()
                .and_then(|arn| details.get(arn).cloned())
                .unwrap_or_else(|| {
                    (
                        Fact::Unreadable(why()),
                        Fact::Unreadable(why()),
                        Fact::Unreadable(why()),
                    )
                });
            key.policy = policy;
            key.rotation_enabled = rotation;
            key.grants = grants;
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
    /// A slot for a call off the longest chain: one of half the slots, then a slot.
    async fn side_permit(&self) -> Option<(tokio::sync::SemaphorePermit<'_>, Permit<'_>)> {
        let side = self.side.acquire().await.ok()?;
        Some((side, self.permit().await?))
    }

    async fn permit(&self) -> Option<Permit<'_>> {
        let own = self.permits.acquire().await.ok()?;
        let global = match &self.global {
            Some(g) => Some(g.acquire().await.ok()?),
            None => None,
        };
        Some(Permit {
            _own: own,
            _global: global,
        })
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
    pub(crate) async fn identity(&self) -> Result<(String, String), CollectError> {
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
}
