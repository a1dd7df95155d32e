//! Reads moto's request recording (MOTO_RECORDER_FILEPATH, one JSON object per request:
//! headers, method, url, body, body_encoded) into `service:Action` calls.

use base64::Engine as _;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Call {
    /// `kms:DescribeKey`, `s3:GetBucketLocation`, ...
    pub action: String,
    /// From the SigV4 credential scope.
    pub region: String,
    /// The access key id that signed it (an assumed role's differs per account).
    pub key: String,
    pub url: String,
    pub body: String,
}

impl Call {
    /// What makes two requests the same request.
    pub fn identity(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.key, self.action, self.region, self.url, self.body
        )
    }
}

fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// (service, region, access key) from `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...`
fn scope(headers: &Value) -> (String, String, String) {
    let auth = header(headers, "Authorization").unwrap_or_default();
    let credential = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .unwrap_or_default();
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [key, _, region, service, ..] => (
            (*service).to_owned(),
            (*region).to_owned(),
            (*key).to_owned(),
        ),
        _ => ("unsigned".to_owned(), String::new(), String::new()),
    }
}

fn query_action(body: &str) -> Option<String> {
    body.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_owned)
}

pub fn parse(recording: &str) -> Vec<Call> {
    recording
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let entry: Value = serde_json::from_str(line).expect("a recorded request");
            let headers = &entry["headers"];
            let url = entry["url"].as_str().unwrap_or_default().to_owned();
            let raw = entry["body"].as_str().unwrap_or_default();
            let body = if entry["body_encoded"] == true {
                base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            } else {
                raw.to_owned()
            };
            let (service, region, key) = scope(headers);
            let name = if let Some(target) = header(headers, "X-Amz-Target") {
                target.rsplit('.').next().unwrap_or(target).to_owned()
            } else if let Some(action) = query_action(&body) {
                action
            } else if service == "s3" {
                let method = entry["method"].as_str().unwrap_or_default();
                // The path without scheme, host and query: "/" is the service itself.
                let path = url
                    .split_once("://")
                    .map_or(url.as_str(), |(_, rest)| rest)
                    .split_once('/')
                    .map_or("", |(_, p)| p)
                    .split('?')
                    .next()
                    .unwrap_or_default();
                match (method, url.split_once('?').map(|(_, q)| q)) {
                    // ListBuckets is authorized as s3:ListAllMyBuckets.
                    ("GET", _) if path.is_empty() => "ListAllMyBuckets".to_owned(),
                    ("GET", Some(q))
                        if q.split('&').any(|p| p == "location" || p == "location=") =>
                    {
                        "GetBucketLocation".to_owned()
                    }
                    ("GET", Some(q)) if q.split('&').any(|p| p == "policy" || p == "policy=") => {
                        "GetBucketPolicy".to_owned()
                    }
                    ("GET", Some(q))
                        if q.split('&')
                            .any(|p| p == "ownershipControls" || p == "ownershipControls=") =>
                    {
                        "GetBucketOwnershipControls".to_owned()
                    }
                    // GetBucketEncryption is authorized as s3:GetEncryptionConfiguration.
                    ("GET", Some(q))
                        if q.split('&')
                            .any(|p| p == "encryption" || p == "encryption=") =>
                    {
                        "GetEncryptionConfiguration".to_owned()
                    }
                    // ListObjectsV2 is authorized as s3:ListBucket.
                    ("GET", Some(q)) if q.split('&').any(|p| p == "list-type=2") => {
                        "ListBucket".to_owned()
                    }
                    // HeadObject is authorized as s3:GetObject; a GET of an object (reading
                    // a log file's contents) stays unnamed and fails the allow-list.
                    ("HEAD", _) => "GetObject".to_owned(),
                    _ => format!("{method} {url}"),
                }
            } else {
                format!("{} {url}", entry["method"].as_str().unwrap_or_default())
            };
            Call {
                action: format!("{service}:{name}"),
                region,
                key,
                url,
                body,
            }
        })
        .collect()
}
