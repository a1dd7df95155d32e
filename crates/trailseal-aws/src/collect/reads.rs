//! The collector's reads, one AWS call each: trails, event data stores, trail status, keys,
//! aliases, key policy and rotation, bucket location and policy. Each records what it could not read
//! instead of failing the collection.

use aws_sdk_sts::primitives::DateTimeFormat;
use futures::future::join_all;
use trailseal_model::{
    usage_implied_by_spec, Bucket, EventDataStore, Fact, Grant, Key, KeyRef, LookupError,
    RegionEvidence, Trail, TrailStatus,
};

use super::{Collector, RegionRead};
use crate::error::{code, describe};

impl Collector {
    pub(super) async fn read_region(&self, region: &str) -> RegionRead {
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

    pub(super) async fn trails(&self, region: &str) -> Result<Vec<Trail>, String> {
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
                trail.has_insight_selectors =
                    flag("HasInsightSelectors", t.has_insight_selectors());
                Some(trail)
            })
            .collect())
    }

    pub(super) async fn event_data_stores(
        &self,
        region: &str,
    ) -> Result<Vec<EventDataStore>, String> {
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

    pub(super) async fn trail_status(
        &self,
        trail: &Trail,
    ) -> (Option<TrailStatus>, Option<String>) {
        let result = {
            let _p = self.side_permit().await;
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
    pub(super) async fn describe_key(
        &self,
        region: &str,
        reference: &str,
    ) -> (KeyRef, Option<Key>) {
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
    pub(super) async fn aliases(&self, region: &str) -> Result<Vec<(String, String)>, String> {
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
    pub(super) async fn key_details(&self, key: &Key) -> super::Details {
        let (Some(arn), Fact::Known(region)) = (key.arn.as_deref(), &key.region) else {
            let why = "the key's ARN or Region is not known".to_owned();
            return (
                Fact::Unreadable(why.clone()),
                Fact::Unreadable(why.clone()),
                Fact::Unreadable(why),
            );
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
        let (policy, rotation, grants) = tokio::join!(policy, rotation, self.grants(region, arn));
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
        (policy, rotation, grants)
    }

    /// The key's grants (ListGrants, every page).
    async fn grants(&self, region: &str, arn: &str) -> Fact<Vec<Grant>> {
        let client = self.kms(region);
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = {
                let _p = self.permit().await;
                client
                    .list_grants()
                    .key_id(arn)
                    .set_marker(marker.take())
                    .send()
                    .await
            };
            let page = match page {
                Ok(p) => p,
                Err(e) => return Fact::Unreadable(describe("kms:ListGrants", &e)),
            };
            for g in page.grants() {
                let constraints = g.constraints();
                let map = |m: Option<&std::collections::HashMap<String, String>>| {
                    m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                };
                out.push(Grant {
                    grant_id: g.grant_id().unwrap_or_default().to_owned(),
                    name: g.name().filter(|n| !n.is_empty()).map(str::to_owned),
                    grantee_principal: g.grantee_principal().unwrap_or_default().to_owned(),
                    grantee_service_principal: g
                        .grantee_service_principal()
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned),
                    source_arn: constraints.and_then(|c| c.source_arn()).map(str::to_owned),
                    operations: g
                        .operations()
                        .iter()
                        .map(|o| o.as_str().to_owned())
                        .collect(),
                    encryption_context_equals: map(
                        constraints.and_then(|c| c.encryption_context_equals())
                    ),
                    encryption_context_subset: map(
                        constraints.and_then(|c| c.encryption_context_subset())
                    ),
                });
            }
            match page.next_marker() {
                Some(m) if page.truncated() => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        Fact::Known(out)
    }

    /// The account's IAM users, roles, groups and managed policies (one paginated read).
    pub(super) async fn iam_details(
        &self,
    ) -> Fact<std::sync::Arc<trailseal_model::IamAuthorization>> {
        let _p = self.side_permit().await;
        match crate::iam::account_authorization_details(&self.config).await {
            Ok(details) => Fact::Known(std::sync::Arc::new(details)),
            Err(e) => Fact::Unreadable(describe("iam:GetAccountAuthorizationDetails", &e)),
        }
    }

    /// The names of the buckets the account owns (ListBuckets, every page).
    pub(super) async fn owned_buckets(&self) -> Fact<Vec<String>> {
        let _p = self.side_permit().await;
        let region = self
            .config
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .s3(&region)
                .list_buckets()
                .max_buckets(1000)
                .set_continuation_token(token.take())
                .send()
                .await;
            match out {
                Ok(out) => {
                    names.extend(
                        out.buckets()
                            .iter()
                            .filter_map(|b| b.name().map(str::to_owned)),
                    );
                    match out.continuation_token() {
                        Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                        _ => return Fact::Known(names),
                    }
                }
                Err(e) => return Fact::Unreadable(describe("s3:ListBuckets", &e)),
            }
        }
    }

    /// A trail's bucket: its Region (GetBucketLocation, asked in the trail's home Region), then
    /// its policy (GetBucketPolicy, asked in the bucket's own Region: S3 answers a request in
    /// another Region with a redirect).
    pub(super) async fn bucket(&self, name: &str, region: &str) -> Bucket {
        let located = {
            let _p = self.side_permit().await;
            self.s3(region)
                .get_bucket_location()
                .bucket(name)
                .send()
                .await
        };
        let location = match located {
            Ok(out) => bucket_region(out.location_constraint().map(|c| c.as_str())),
            Err(e) => {
                let why = describe("s3:GetBucketLocation", &e);
                let missing = code(&e) == Some("NoSuchBucket");
                return Bucket {
                    name: name.to_owned(),
                    region: Fact::Unreadable(why.clone()),
                    exists: if missing {
                        Fact::Known(false)
                    } else {
                        Fact::Unreadable(why.clone())
                    },
                    policy: Fact::Unreadable(if missing {
                        "the bucket does not exist".to_owned()
                    } else {
                        format!("the bucket could not be located: {why}")
                    }),
                    bucket_key: Fact::Unreadable(format!("the bucket could not be located: {why}")),
                    object_ownership: Fact::Unreadable(format!(
                        "the bucket could not be located: {why}"
                    )),
                };
            }
        };
        let read = {
            let _p = self.side_permit().await;
            self.s3(&location)
                .get_bucket_policy()
                .bucket(name)
                .send()
                .await
        };
        let (exists, policy) = match read {
            Ok(out) => (
                Fact::Known(true),
                Fact::Known(Some(out.policy().unwrap_or_default().to_owned())),
            ),
            Err(e) if code(&e) == Some("NoSuchBucketPolicy") => {
                (Fact::Known(true), Fact::Known(None))
            }
            Err(e) if code(&e) == Some("NoSuchBucket") => (
                Fact::Known(false),
                Fact::Unreadable("the bucket does not exist".to_owned()),
            ),
            Err(e) => (
                Fact::Known(true),
                Fact::Unreadable(describe("s3:GetBucketPolicy", &e)),
            ),
        };
        let (bucket_key, object_ownership) = if exists.is(&false) == Some(true) {
            let gone = || "the bucket does not exist".to_owned();
            (Fact::Unreadable(gone()), Fact::Unreadable(gone()))
        } else {
            tokio::join!(
                self.bucket_key(name, &location),
                self.object_ownership(name, &location)
            )
        };
        Bucket {
            name: name.to_owned(),
            region: Fact::Known(location),
            exists,
            policy,
            bucket_key,
            object_ownership,
        }
    }

    /// The bucket's Object Ownership setting (whether ACLs are disabled).
    async fn object_ownership(&self, name: &str, region: &str) -> Fact<String> {
        let read = {
            let _p = self.side_permit().await;
            self.s3(region)
                .get_bucket_ownership_controls()
                .bucket(name)
                .send()
                .await
        };
        match read {
            Ok(out) => match out
                .ownership_controls()
                .and_then(|c| c.rules().first())
                .map(|r| r.object_ownership().as_str().to_owned())
            {
                Some(o) => Fact::Known(o),
                None => Fact::Known("ObjectWriter".to_owned()),
            },
            Err(e) if code(&e) == Some("OwnershipControlsNotFoundError") => {
                Fact::Known("ObjectWriter".to_owned())
            }
            Err(e) => Fact::Unreadable(describe("s3:GetBucketOwnershipControls", &e)),
        }
    }

    /// Whether S3 Bucket Keys are on for the bucket's SSE-KMS objects: `BucketKeyEnabled` in
    /// any rule of its default encryption (GetBucketEncryption). No configuration
    /// (`ServerSideEncryptionConfigurationNotFoundError`) is off.
    async fn bucket_key(&self, name: &str, region: &str) -> Fact<bool> {
        let read = {
            let _p = self.side_permit().await;
            self.s3(region)
                .get_bucket_encryption()
                .bucket(name)
                .send()
                .await
        };
        match read {
            Ok(out) => Fact::Known(out.server_side_encryption_configuration().is_some_and(|c| {
                c.rules()
                    .iter()
                    .any(|r| r.bucket_key_enabled() == Some(true))
            })),
            Err(e) if code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => {
                Fact::Known(false)
            }
            Err(e) => Fact::Unreadable(describe("s3:GetEncryptionConfiguration", &e)),
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
pub(super) fn alias_name<'a>(reference: &'a str, region: &str, account: &str) -> Option<&'a str> {
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
