//! `trailseal audit` / `collect` against a real AWS emulator (moto in server mode, see
//! support/moto.rs). The demo account of scripts/seed-moto.py has 28 trails in 3 Regions, 13 of
//! them broken in ways that "KmsKeyId is set" checks miss; every one must come out right.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use support::moto::{moto, trailseal, Moto};

const REGIONS: &str = "us-east-1,eu-west-1,ap-southeast-2";

/// Broken trails and the check (TS001-TS006) that must fail for each.
const BROKEN: &[(&str, &str)] = &[
    ("no-key", "TS001"),
    ("key-missing", "TS002"),
    ("alias-missing", "TS002"),
    ("key-disabled", "TS003"),
    ("key-pending-deletion", "TS003"),
    ("aws-managed-key", "TS004"),
    ("asymmetric-key", "TS004"),
    ("key-wrong-region", "TS005"),
    ("policy-root-only", "TS006"),
    ("policy-explicit-deny", "TS006"),
    ("policy-wrong-account", "TS006"),
    ("policy-other-trail", "TS006"),
    ("policy-encrypt-only", "TS006"),
];

/// Compliant trails (TS001-TS006 pass), some with a lesser failure.
const COMPLIANT: &[(&str, Option<&str>)] = &[
    ("main", None),
    ("by-alias-name", None),
    ("by-alias-arn", None),
    ("by-bare-key-id", None),
    ("mrk-replica", None),
    ("apse2-multi-region", None),
    ("euw1-app", None),
    ("euw1-data-events", Some("TS014")),
    ("apse2-app", None),
    ("apse2-data-events", None),
    ("use1-security", None),
    ("use1-logging-stopped", Some("TS009")),
    ("use1-no-validation", Some("TS010")),
    ("euw1-no-rotation", Some("TS011")),
    ("use1-no-describe", Some("TS007")),
];

fn audit_json(server: &Moto, args: &[&str]) -> (Value, i32) {
    let out = trailseal(server)
        .args(["audit", "--format", "json"])
        .args(args)
        .output()
        .expect("run trailseal");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "audit did not print JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (doc, out.status.code().unwrap_or(-1))
}

fn trail_name(resource: &str) -> &str {
    resource.rsplit_once(":trail/").map_or(resource, |(_, n)| n)
}

/// (trail name, code) -> statuses, for trail findings.
fn by_trail(doc: &Value) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for f in doc["findings"].as_array().expect("findings") {
        let resource = f["resource"].as_str().unwrap_or_default();
        if resource.contains(":trail/") {
            out.entry((
                trail_name(resource).to_owned(),
                f["code"].as_str().unwrap_or_default().to_owned(),
            ))
            .or_default()
            .push(f["status"].as_str().unwrap_or_default().to_owned());
        }
    }
    out
}

fn status<'a>(
    table: &'a BTreeMap<(String, String), Vec<String>>,
    trail: &str,
    code: &str,
) -> &'a str {
    let statuses = table
        .get(&(trail.to_owned(), code.to_owned()))
        .unwrap_or_else(|| panic!("no {code} finding for trail {trail}"));
    assert_eq!(statuses.len(), 1, "{trail} {code}: {statuses:?}");
    &statuses[0]
}

#[test]
fn audit_gets_every_broken_trail_right_once_per_trail_and_code() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let (doc, code) = audit_json(server, &["--regions", REGIONS]);
    assert_eq!(code, 1, "failures must give exit code 1");
    assert_eq!(doc["schema"], "trailseal.audit/v1");

    let table = by_trail(&doc);
    // Exactly one finding per trail and code, shadow copies of multi-Region trails included.
    for ((trail, code), statuses) in &table {
        assert_eq!(statuses.len(), 1, "{trail} {code}: {statuses:?}");
    }
    let trails: BTreeSet<&str> = table.keys().map(|(t, _)| t.as_str()).collect();
    assert_eq!(trails.len(), 28, "{trails:?}");

    for (trail, failing) in BROKEN {
        assert_eq!(status(&table, trail, failing), "fail", "{trail} {failing}");
    }
    for (trail, lesser) in COMPLIANT {
        for code in ["TS001", "TS002", "TS003", "TS004", "TS005", "TS006"] {
            assert_eq!(status(&table, trail, code), "pass", "{trail} {code}");
        }
        if let Some(code) = lesser {
            assert_eq!(status(&table, trail, code), "fail", "{trail} {code}");
        }
    }

    // The trail verdicts: exactly the 13 broken trails are non-compliant.
    let noncompliant: BTreeSet<&str> = doc["trails"]
        .as_array()
        .expect("trails")
        .iter()
        .filter(|t| t["compliant"] == false)
        .map(|t| trail_name(t["arn"].as_str().unwrap_or_default()))
        .collect();
    let expected: BTreeSet<&str> = BROKEN.iter().map(|(t, _)| *t).collect();
    assert_eq!(noncompliant, expected);

    // A KMS grant to another account's role makes it a reader of the apse2 trails' logs.
    let ts008 = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| {
            f["code"] == "TS008"
                && trail_name(f["resource"].as_str().unwrap_or_default()) == "apse2-app"
        })
        .expect("TS008 of apse2-app");
    let grant = &ts008["evidence"]["grant_readers"][0];
    assert_eq!(
        grant["principal"],
        "arn:aws:iam::210987654321:role/ExternalAuditor"
    );
    assert_eq!(grant["cross_account"], true);
    assert!(ts008["message"]
        .as_str()
        .unwrap_or_default()
        .contains("(another account)"));

    // Every (trail, check) status, as a reviewable table.
    let lines: Vec<String> = table
        .iter()
        .map(|((t, c), s)| format!("{t:24} {c} {}", s.join(",")))
        .collect();
    insta::assert_snapshot!("broken_account_statuses", lines.join("\n"));
}

#[test]
fn collected_evidence_gives_the_same_findings_offline() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let dir = tempdir();
    let file = dir.join("evidence.json");
    trailseal(server)
        .args(["collect", "--regions", REGIONS, "--output"])
        .arg(&file)
        .assert()
        .code(0);
    let evidence: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("evidence file"))
            .expect("evidence JSON");
    assert_eq!(evidence["schema"], "trailseal.evidence/v1");
    assert_eq!(evidence["tool"]["name"], "trailseal");
    assert_eq!(evidence["accounts"][0]["account"], "123456789012");
    assert!(evidence["collected_at"]
        .as_str()
        .unwrap_or_default()
        .ends_with('Z'));

    let (live, live_code) = audit_json(server, &["--regions", REGIONS]);
    let offline = trailseal(server)
        .args(["audit", "--format", "json", "--evidence"])
        .arg(&file)
        .output()
        .expect("offline audit");
    let offline_doc: Value = serde_json::from_slice(&offline.stdout).expect("offline JSON");
    assert_eq!(offline.status.code(), Some(live_code));
    // Two collections of the same state differ only in moto's delivery time ("now") and in the
    // window TS016 searched (the clock).
    let strip = |doc: &Value| -> Vec<Value> {
        let mut findings = doc["findings"].as_array().cloned().unwrap_or_default();
        for f in &mut findings {
            if let Some(e) = f["evidence"].as_object_mut() {
                e.remove("latest_delivery_time");
                // TS016: when the log folders were searched (the window moves with the clock).
                e.remove("searched");
                e.remove("searched_at");
            }
            // TS016's message names the window and moto's delivery time ("now").
            if f["code"] == "TS016" {
                if let Some(o) = f.as_object_mut() {
                    o.remove("message");
                }
            }
        }
        findings
    };
    let (a, b) = (strip(&live), strip(&offline_doc));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(live["trails"], offline_doc["trails"]);
    assert_eq!(live["summary"], offline_doc["summary"]);
}

#[test]
fn a_trail_is_evaluated_in_its_home_region_when_only_another_region_is_scanned() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let (doc, _) = audit_json(server, &["--regions", "eu-west-1"]);
    let table = by_trail(&doc);
    // Multi-Region trails homed elsewhere are seen as shadow copies and read at home.
    for trail in ["main", "apse2-multi-region"] {
        assert_eq!(status(&table, trail, "TS001"), "pass");
        assert_eq!(
            status(&table, trail, "TS009"),
            "pass",
            "{trail} read at home"
        );
    }
    let main_region = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| {
            f["resource"]
                .as_str()
                .is_some_and(|r| r.ends_with(":trail/main"))
        })
        .map(|f| f["region"].clone());
    assert_eq!(main_region, Some(Value::from("us-east-1")));
    // Single-Region trails of unscanned Regions are not seen at all.
    assert!(!table.keys().any(|(t, _)| t == "use1-security"));
    // TS012 covers exactly the scanned Region.
    let ts012: Vec<&Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "TS012")
        .collect();
    assert_eq!(ts012.len(), 1);
    assert_eq!(ts012[0]["region"], "eu-west-1");
    assert_eq!(ts012[0]["status"], "pass");
}

#[test]
fn an_account_without_trails_fails_region_coverage_never_silently_empty() {
    let (_lock, server) = moto();
    let (doc, code) = audit_json(server, &["--regions", "us-east-1,eu-west-1"]);
    assert_eq!(code, 1);
    let ts012: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "TS012")
        .map(|f| {
            (
                f["region"].as_str().unwrap_or_default(),
                f["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(ts012, vec![("us-east-1", "fail"), ("eu-west-1", "fail")]);
    assert_eq!(doc["trails"].as_array().map(Vec::len), Some(0));
}

#[test]
fn audit_makes_only_read_calls_and_none_twice() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    server.start_recording();
    let (_, code) = audit_json(server, &["--regions", REGIONS]);
    server.stop_recording();
    assert_eq!(code, 1);

    let calls = support::recording::parse(&server.recorded());
    let allowed: BTreeSet<&str> = trailseal_aws::READ_ONLY_ACTIONS.iter().copied().collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for call in &calls {
        assert!(
            allowed.contains(call.action.as_str()),
            "audit called {} ({call:?})",
            call.action
        );
        *seen.entry(call.identity()).or_default() += 1;
    }
    for (call, n) in &seen {
        assert_eq!(*n, 1, "{call} was sent {n} times");
    }
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    assert_eq!(count("sts:GetCallerIdentity"), 1);
    // Known Region names are not looked up.
    assert_eq!(count("ec2:DescribeRegions"), 0);
    // moto answers CloudTrail Lake with HTTP 500: not retried (TS013 reports the error).
    assert_eq!(count("cloudtrail:ListEventDataStores"), 3);
    assert_eq!(count("cloudtrail:DescribeTrails"), 3, "one per Region");
    assert_eq!(count("cloudtrail:GetTrailStatus"), 28, "one per trail ARN");
    assert_eq!(count("kms:ListAliases"), 3, "one per Region with keys");
    // 15 distinct keys, each read once. Aliases of the account resolve through ListAliases;
    // DescribeKey runs once per key plus the bare key id, the missing key and the missing alias.
    assert_eq!(count("kms:GetKeyPolicy"), 15);
    assert_eq!(count("kms:GetKeyRotationStatus"), 15);
    assert_eq!(count("kms:ListGrants"), 15);
    assert_eq!(count("kms:DescribeKey"), 18);
    // Three Regions' buckets and the hardened one in eu-west-1.
    assert_eq!(count("s3:GetBucketLocation"), 4, "one per bucket");
    assert_eq!(count("s3:GetBucketPolicy"), 4, "one per bucket");
    assert_eq!(count("s3:GetEncryptionConfiguration"), 4, "one per bucket");
    assert_eq!(count("s3:GetBucketOwnershipControls"), 4, "one per bucket");
    // TS016: each trail's log folder (its own prefix) listed for the last two hours (two
    // folders when they cross midnight UTC); HeadObject on each newest file (14 trails
    // delivered, 14 did not).
    assert!(
        matches!(count("s3:ListBucket"), 28 | 56),
        "{}",
        count("s3:ListBucket")
    );
    assert_eq!(count("s3:GetObject"), 14, "HeadObject, never a download");
    assert_eq!(count("s3:ListAllMyBuckets"), 1, "one per account");
    assert_eq!(
        count("iam:GetAccountAuthorizationDetails"),
        1,
        "one page per account"
    );
    let mut per_action: BTreeMap<&str, usize> = BTreeMap::new();
    for call in &calls {
        *per_action.entry(call.action.as_str()).or_default() += 1;
    }
    eprintln!("audit made {} API calls: {per_action:?}", calls.len());
    // Prowler 5.46 made 90 calls on this state before its buckets had policies and the
    // hardened bucket was added, and checks far less (bench/README.md); trailseal made 89 then.
    // Since: the 4th bucket's location, one bucket policy read per bucket (TS014), and the
    // delivered-file reads of TS016 (28 listings, 56 across midnight, 14 HeadObject), and one
    // ListGrants per key (TS008), one IAM authorization-details page and one ListBuckets
    // (TS015), one GetBucketEncryption per bucket (TS006: S3 Bucket Keys) and one
    // GetBucketOwnershipControls per bucket (TS015: whether object ACLs are enabled).
    assert!(
        calls.len() <= 89 + 1 + 4 + 56 + 14 + 15 + 2 + 4 + 4,
        "{} calls",
        calls.len()
    );
}

/// The actions the collector may call are reads, and the README's minimal IAM policy grants
/// exactly those.
#[test]
fn minimal_iam_policy_in_the_readme_is_the_read_only_action_list() {
    for action in trailseal_aws::READ_ONLY_ACTIONS {
        let verb = action.split(':').nth(1).unwrap_or_default();
        assert!(
            ["Describe", "Get", "List"]
                .iter()
                .any(|p| verb.starts_with(p)),
            "{action} is not a read"
        );
    }
    let readme =
        std::fs::read_to_string(format!("{}/../../README.md", manifest_dir())).expect("README.md");
    let start = readme
        .find("\"Sid\": \"TrailsealAudit\"")
        .expect("the README's IAM policy");
    let block = &readme[start..];
    let block = &block[..block.find("```").expect("end of the policy block")];
    let mut listed: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix('"'))
        .filter_map(|l| l.split('"').next())
        .filter(|a| a.contains(':') && !a.starts_with("Sid"))
        .collect();
    listed.sort_unstable();
    let mut expected: Vec<&str> = trailseal_aws::READ_ONLY_ACTIONS.to_vec();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    // And the organization policy lists what --org adds.
    assert_eq!(
        policy_actions(&readme, "TrailsealOrganization"),
        trailseal_aws::ORGANIZATION_ACTIONS
    );
}

/// The actions of the README's IAM policy block whose Sid is `sid`.
fn policy_actions<'a>(readme: &'a str, sid: &str) -> Vec<&'a str> {
    let start = readme
        .find(&format!("\"Sid\": \"{sid}\""))
        .unwrap_or_else(|| panic!("the README's {sid} policy"));
    let block = &readme[start..];
    let block = &block[..block.find("```").expect("end of the policy block")];
    block
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix('"'))
        .filter_map(|l| l.split('"').next())
        .filter(|a| a.contains(':') && !a.starts_with("Sid"))
        .collect()
}

/// A Region name trailseal does not know is looked up with ec2:DescribeRegions (one SigV4-signed
/// Query request, without aws-sdk-ec2): a typo is a usage error with a suggestion.
#[test]
fn unknown_region_is_a_usage_error_with_a_suggestion() {
    let (_lock, server) = moto();
    server.start_recording();
    trailseal(server)
        .args(["audit", "--regions", "us-east-1,eu-west1"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown Region \"eu-west1\""))
        .stderr(predicates::str::contains("did you mean eu-west-1?"));
    server.stop_recording();
    let calls = support::recording::parse(&server.recorded());
    let listed: Vec<_> = calls
        .iter()
        .filter(|c| c.action == "ec2:DescribeRegions")
        .collect();
    assert_eq!(listed.len(), 1, "{calls:?}");
    // Signed for EC2 in the configured Region, asking for every Region of the partition.
    assert_eq!(listed[0].region, "us-east-1");
    assert!(
        listed[0].body.contains("AllRegions=true"),
        "{:?}",
        listed[0]
    );
}

/// Without --regions, every Region DescribeRegions lists as enabled is read.
#[test]
fn without_regions_every_enabled_region_is_collected() {
    let (_lock, server) = moto();
    let dir = tempdir();
    let evidence = dir.join("evidence.json");
    trailseal(server)
        .args(["collect", "--output"])
        .arg(&evidence)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .code(0);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&evidence).expect("evidence")).expect("JSON");
    let regions: Vec<&str> = doc["accounts"][0]["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .filter_map(|r| r["region"].as_str())
        .collect();
    for expected in ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"] {
        assert!(regions.contains(&expected), "{expected} in {regions:?}");
    }
    assert!(regions.len() >= 15, "{regions:?}");
}

/// The message a user gets when AWS cannot be used: one or two lines saying what was tried and
/// what to do, never the SDK's provider-chain dump (that only with -v).
fn assert_human(stderr: &str, says: &str, advice: &str) {
    assert!(stderr.contains("could not use AWS: "), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(stderr.contains(advice), "{stderr}");
    assert!(stderr.lines().count() <= 2, "{stderr}");
    assert!(stderr.len() < 500, "{} characters: {stderr}", stderr.len());
    assert!(!stderr.contains("dispatch failure"), "{stderr}");
}

/// Runs `cmd` (at most two minutes), asserts exit code 2, and returns its standard error.
fn fails_with_2(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unusable_credentials_are_a_clear_error_with_exit_2() {
    let (_lock, server) = moto();
    // Nothing listens on this endpoint: no identity can be established.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let stderr = fails_with_2(
        trailseal(server)
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
            .args(["audit", "--regions", "us-east-1"]),
    );
    assert_human(&stderr, "the connection was refused", "Check the network");

    // Credentials removed.
    let no_credentials = |extra: &[&str]| {
        fails_with_2(
            trailseal(server)
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .args(["collect", "--regions", "us-east-1"])
                .args(extra),
        )
    };
    assert_human(
        &no_credentials(&[]),
        "no AWS credentials were found",
        "scripts/demo.sh --emulator",
    );
    // -v adds the SDK's detail.
    assert!(no_credentials(&["-v"]).contains("AWS SDK detail: "));

    // A profile that does not exist, with the profiles that do.
    let dir = tempdir();
    let config = dir.join("config");
    std::fs::write(&config, "[profile dev]\nregion = us-east-1\n").expect("write");
    let stderr = fails_with_2(trailseal(server).env("AWS_CONFIG_FILE", &config).args([
        "audit",
        "--regions",
        "us-east-1",
        "--profile",
        "prod",
    ]));
    assert_human(
        &stderr,
        "profile \"prod\" is not in the AWS config or credentials files (profiles there: dev)",
        "--profile",
    );
}

#[test]
fn unreadable_keys_and_bad_policies_are_errors_and_the_scan_goes_on() {
    let (_lock, server) = moto();
    server.python(
        r#"
s3 = client('s3'); s3.create_bucket(Bucket='logs')
kms = client('kms')
# moto refuses DescribeKey to everyone once a Deny covers kms:Describe*: an unreadable key.
deny = {"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"},
  {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:role/Admin"}, "Action": "kms:Describe*", "Resource": "*"}]}
locked = kms.create_key(Policy=json.dumps(deny))['KeyMetadata']['Arn']
broken = kms.create_key()['KeyMetadata']['Arn']
kms.put_key_policy(KeyId=broken, PolicyName='default', Policy='{"Version": "2012-10-17", "Statement": [')
ct = client('cloudtrail')
for name, key in [('locked-key', locked), ('bad-policy-json', broken)]:
    ct.create_trail(Name=name, S3BucketName='logs', KmsKeyId=key)
    ct.start_logging(Name=name)
"#,
    );
    let (doc, code) = audit_json(server, &["--regions", "us-east-1"]);
    assert_eq!(code, 1);
    let table = by_trail(&doc);
    assert_eq!(status(&table, "locked-key", "TS001"), "pass");
    assert_eq!(status(&table, "locked-key", "TS002"), "error");
    assert_eq!(status(&table, "bad-policy-json", "TS003"), "pass");
    assert_eq!(status(&table, "bad-policy-json", "TS006"), "error");
    let message = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "TS002" && f["status"] == "error")
        .and_then(|f| f["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("AccessDenied"), "{message}");
}

/// The delivery path against moto (CloudTrail User Guide, "Amazon S3 bucket policy for
/// CloudTrail"): a bucket without a policy, a deleted bucket, a Deny requiring SSE-S3, a
/// delivered file under SSE-S3 and one under another key. moto's CloudTrail delivers nothing,
/// so the test puts the files CloudTrail would write.
#[test]
fn the_delivery_path_breaks_in_every_documented_way() {
    let (_lock, server) = moto();
    server.python(
        r#"
import datetime
s3 = client('s3'); kms = client('kms'); ct = client('cloudtrail')
acct = '123456789012'
def policy(bucket, extra=()):
    return json.dumps({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
       "Resource": f"arn:aws:s3:::{bucket}"},
      {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
       "Resource": f"arn:aws:s3:::{bucket}/*/AWSLogs/{acct}/*",
       "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}] + list(extra)})
good = json.dumps({"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"}, "Action": "kms:*", "Resource": "*"},
  {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"}]})
key = kms.create_key(Policy=good)['KeyMetadata']['Arn']
other = kms.create_key(Policy=good)['KeyMetadata']['Arn']
s3.create_bucket(Bucket='no-policy')
s3.create_bucket(Bucket='gone')
s3.create_bucket(Bucket='sse-s3-only')
s3.put_bucket_policy(Bucket='sse-s3-only', Policy=policy('sse-s3-only', [
  {"Sid": "RequireAES256", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::sse-s3-only/*",
   "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}}]))
s3.create_bucket(Bucket='good-logs')
s3.put_bucket_policy(Bucket='good-logs', Policy=policy('good-logs'))
now = datetime.datetime.now(datetime.timezone.utc)
def deliver(prefix, **sse):
    k = (f"{prefix}/AWSLogs/{acct}/CloudTrail/us-east-1/{now:%Y/%m/%d}/"
         f"{acct}_CloudTrail_us-east-1_{now:%Y%m%dT%H%MZ}_{prefix[:16]:0>16}.json.gz")
    s3.put_object(Bucket='good-logs', Key=k, Body=b'{}', **sse)
deliver('sse-s3-file', ServerSideEncryption='AES256')
deliver('other-key-file', ServerSideEncryption='aws:kms', SSEKMSKeyId=other)
deliver('right-key-file', ServerSideEncryption='aws:kms', SSEKMSKeyId=key)
for name, bucket in [('no-policy', 'no-policy'), ('gone', 'gone'), ('sse-s3-only', 'sse-s3-only'),
                     ('sse-s3-file', 'good-logs'), ('other-key-file', 'good-logs'), ('right-key-file', 'good-logs')]:
    ct.create_trail(Name=name, S3BucketName=bucket, S3KeyPrefix=name, KmsKeyId=key)
    ct.start_logging(Name=name)
s3.delete_bucket(Bucket='gone')
"#,
    );
    let (doc, code) = audit_json(server, &["--regions", "us-east-1"]);
    assert_eq!(code, 1);
    let table = by_trail(&doc);
    for (trail, ts014, ts016) in [
        ("no-policy", "fail", None),
        ("gone", "fail", None),
        ("sse-s3-only", "fail", None),
        ("sse-s3-file", "pass", Some("fail")),
        ("other-key-file", "pass", Some("fail")),
        ("right-key-file", "pass", Some("pass")),
    ] {
        assert_eq!(status(&table, trail, "TS014"), ts014, "{trail} TS014");
        if let Some(ts016) = ts016 {
            assert_eq!(status(&table, trail, "TS016"), ts016, "{trail} TS016");
        }
    }
    let message = |trail: &str, code: &str| {
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| {
                f["code"] == code && trail_name(f["resource"].as_str().unwrap_or_default()) == trail
            })
            .and_then(|f| f["message"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(message("no-policy", "TS014").contains("no bucket policy"));
    assert!(message("gone", "TS014").contains("does not exist"));
    assert!(message("sse-s3-only", "TS014").contains("explicitly denied"));
    assert!(message("sse-s3-file", "TS016").contains("AES256"));
    assert!(message("other-key-file", "TS016").contains("not under the trail's key"));
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "trailseal-live-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The package directory of this checkout: cargo sets CARGO_MANIFEST_DIR when it runs tests
/// (the compile-time value is only a fallback: a target directory shared between checkouts at
/// different paths may hold binaries built elsewhere).
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
}

/// The thin DescribeRegions request keeps the SDK's standard retries: EC2 throttling
/// (HTTP 503 RequestLimitExceeded) twice, then the answer.
#[test]
fn describe_regions_is_retried_on_throttling() {
    let (_lock, server) = moto();
    let proxy = support::proxy::start(
        server.port,
        support::proxy::Fault::ThrottleQuery {
            action: "DescribeRegions",
            times: 2,
        },
    );
    let out = assert_cmd::Command::from_std(support::moto::trailseal_at(&proxy.endpoint()))
        .args(["audit", "--regions", "us-east-1,eu-west1"])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("did you mean eu-west-1?"), "{stderr}");
    assert_eq!(
        proxy.mutating.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "two throttled attempts and the one that got through"
    );
}

/// Who can read the logs, end to end, from what `collect` reads: IAM users, groups, roles and
/// managed policies (GetAccountAuthorizationDetails, URL-encoded documents), ListBuckets, the
/// bucket and key policies and the key's grants.
#[test]
fn readers_are_found_through_iam_bucket_and_key_policies_and_grants() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let out = trailseal(server)
        .args([
            "readers",
            "apse2-app",
            "--regions",
            REGIONS,
            "--format",
            "json",
        ])
        .output()
        .expect("run trailseal");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names = |list: &str| -> BTreeSet<String> {
        doc[list]
            .as_array()
            .expect(list)
            .iter()
            .map(|r| r["principal"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let acct = "arn:aws:iam::123456789012";
    let expected: BTreeSet<String> = [
        format!("{acct}:root"),
        // Through the group security-auditors and its managed policy.
        format!("{acct}:user/alice"),
        format!("{acct}:role/Investigator"),
        // s3:* in its IAM policy; the key policy lets every principal of the account decrypt.
        format!("{acct}:role/Builder"),
        // The bucket policy and a KMS grant: another account.
        "arn:aws:iam::210987654321:role/ExternalAuditor".to_owned(),
    ]
    .into_iter()
    .collect();
    assert_eq!(names("readers"), expected, "{doc:#}");
    let external = doc["readers"]
        .as_array()
        .expect("readers")
        .iter()
        .find(|r| r["account"] == "210987654321")
        .expect("external");
    assert_eq!(external["trusted"], false);
    assert!(external["via"]
        .as_str()
        .unwrap_or_default()
        .contains("ExternalAuditorRead"));
    assert!(
        doc["not_read"].as_array().expect("notes").is_empty(),
        "{doc:#}"
    );
    // The roles' trust policies were read (they trust the account itself): nobody outside may
    // assume a reader role, so nothing is left undecided.
    assert!(
        doc["conditional"]
            .as_array()
            .expect("conditional")
            .is_empty(),
        "{doc:#}"
    );

    // TS015 fails for the apse2 trails only, and not when the auditor's account is trusted.
    let (doc, _) = audit_json(server, &["--regions", REGIONS, "--checks", "TS015"]);
    let table = by_trail(&doc);
    for trail in ["apse2-app", "apse2-data-events", "apse2-multi-region"] {
        assert_eq!(status(&table, trail, "TS015"), "fail", "{trail}");
    }
    assert_eq!(status(&table, "main", "TS015"), "pass");
    let (doc, _) = audit_json(
        server,
        &[
            "--regions",
            REGIONS,
            "--checks",
            "TS015",
            "--trusted-accounts",
            "210987654321",
        ],
    );
    assert_eq!(status(&by_trail(&doc), "apse2-app", "TS015"), "pass");

    // An unknown trail is a usage error naming the trails.
    let out = trailseal(server)
        .args(["readers", "nope", "--regions", "us-east-1"])
        .output()
        .expect("run trailseal");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no trail named"));
}
