//! Organization audits (`audit --org`, `--accounts`, `--shard`, `merge`, `collect --org`)
//! against moto in server mode: an organization whose management account owns an organization
//! trail, a member with a trail of its own, a member with none (covered by the organization
//! trail), and a member whose role cannot be assumed (refused by the loopback proxy: moto lets
//! any role be assumed).

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::moto::{moto, trailseal_at, Moto};
use support::proxy::{self, Fault};

const MANAGEMENT: &str = "123456789012";
const REGIONS: &str = "us-east-1,eu-west-1";

struct Org {
    id: String,
    /// Member with its own compliant trail, member with no trail, member whose role is refused.
    own_trail: String,
    no_trail: String,
    refused: String,
}

/// The key policy the CloudTrail console writes for a trail of `account` (organization trails
/// carry the management account's ARN, so it serves every member).
fn console_policy(account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM user permissions", "Effect": "Allow",
             "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
             "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": format!("arn:aws:cloudtrail:*:{account}:trail/*")}}},
            {"Sid": "Allow CloudTrail to describe key", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*"}
        ]
    })
    .to_string()
}

fn seed(server: &Moto) -> Org {
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let path = out.path().display().to_string();
    let management_policy = console_policy(MANAGEMENT);
    let member_policy = console_policy("ACCOUNT");
    server.python(&format!(
        r#"
org = client('organizations').create_organization(FeatureSet='ALL')['Organization']
ids = [client('organizations').create_account(Email=f'm{{i}}@example.com', AccountName=f'm{{i}}')['CreateAccountStatus']['AccountId'] for i in range(3)]

def in_account(service, account, region='us-east-1'):
    c = client('sts').assume_role(RoleArn=f'arn:aws:iam::{{account}}:role/OrganizationAccountAccessRole', RoleSessionName='seed')['Credentials']
    import boto3
    from botocore.config import Config
    return boto3.client(service, region_name=region, endpoint_url=client('sts').meta.endpoint_url,
        aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'],
        config=Config(s3={{'addressing_style': 'path'}}))

# The management account: an organization trail, encrypted, logging.
client('s3').create_bucket(Bucket='org-trail-logs')
key = client('kms').create_key(Policy='''{management_policy}''')['KeyMetadata']['Arn']
client('cloudtrail').create_trail(Name='org-trail', S3BucketName='org-trail-logs', IsMultiRegionTrail=True, IsOrganizationTrail=True, KmsKeyId=key)
client('cloudtrail').start_logging(Name='org-trail')

# The first member: a trail of its own in us-east-1, encrypted, logging.
member = ids[0]
in_account('s3', member).create_bucket(Bucket='member-logs-' + member)
mkey = in_account('kms', member).create_key(Policy='''{member_policy}'''.replace('ACCOUNT', member))['KeyMetadata']['Arn']
in_account('cloudtrail', member).create_trail(Name='own', S3BucketName='member-logs-' + member, KmsKeyId=mkey)
in_account('cloudtrail', member).start_logging(Name='own')

open('{path}', 'w').write(json.dumps({{'org': org['Id'], 'ids': ids}}))
"#
    ));
    let seeded: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path()).expect("seed output"))
            .expect("seed JSON");
    let ids: Vec<String> = seeded["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    Org {
        id: seeded["org"].as_str().expect("org id").to_owned(),
        own_trail: ids[0].clone(),
        no_trail: ids[1].clone(),
        refused: ids[2].clone(),
    }
}

fn run(cmd: &mut std::process::Command) -> (Value, i32, String) {
    let out = cmd.output().expect("run trailseal");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (doc, out.status.code().unwrap_or(-1), stderr)
}

fn findings(doc: &Value) -> &Vec<Value> {
    doc["findings"].as_array().expect("findings")
}

/// (code, account, resource, status) of every finding, but CloudTrail Lake's (moto answers its
/// calls with HTTP 500).
fn outcome(doc: &Value) -> BTreeSet<(String, String, String, String)> {
    findings(doc)
        .iter()
        .filter(|f| f["code"] != "TS013")
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("code"), s("account"), s("resource"), s("status"))
        })
        .collect()
}

/// trailseal pointed at the emulator, as a std Command.
fn ts(server: &Moto) -> std::process::Command {
    trailseal_at(&server.endpoint())
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

#[test]
fn an_organization_in_one_command() {
    let (_guard, server) = moto();
    let org = seed(server);
    let proxy = proxy::start(
        server.port,
        Fault::DenyAssumeRole {
            account: leak(&org.refused),
        },
    );
    let (doc, code, stderr) = run(trailseal_at(&proxy.endpoint()).args([
        "audit",
        "--org",
        "--regions",
        REGIONS,
        "--format",
        "json",
    ]));
    // The refused account is an error finding: a problem, so exit 1; the others are audited.
    assert_eq!(code, 1, "{stderr}");
    let org_trail = format!("arn:aws:cloudtrail:us-east-1:{MANAGEMENT}:trail/org-trail");
    let all = findings(&doc);

    // The organization trail is evaluated once, in the management account, for every member.
    let org_findings: Vec<&Value> = all.iter().filter(|f| f["resource"] == org_trail).collect();
    assert!(!org_findings.is_empty());
    assert!(org_findings.iter().all(|f| f["account"] == MANAGEMENT));
    let ts006 = org_findings
        .iter()
        .find(|f| f["code"] == "TS006")
        .expect("TS006 of the organization trail");
    assert_eq!(ts006["status"], "pass", "{ts006}");
    assert!(
        ts006["message"]
            .as_str()
            .unwrap_or_default()
            .contains("all 4 member accounts"),
        "{ts006}"
    );

    // The member without a trail is covered by the organization trail in every Region.
    for region in REGIONS.split(',') {
        let f = all
            .iter()
            .find(|f| f["code"] == "TS012" && f["account"] == org.no_trail && f["region"] == region)
            .unwrap_or_else(|| panic!("TS012 of {} in {region}", org.no_trail));
        assert_eq!(f["status"], "pass", "{f}");
        assert!(
            f["message"]
                .as_str()
                .unwrap_or_default()
                .contains(&org_trail),
            "{f}"
        );
    }
    // The member with its own trail: its trail is audited in its account.
    let own = format!("arn:aws:cloudtrail:us-east-1:{}:trail/own", org.own_trail);
    assert!(all
        .iter()
        .any(|f| f["resource"] == own && f["code"] == "TS006" && f["status"] == "pass"));

    // The refused account: an error naming the role, never a pass.
    let refused: Vec<&Value> = all.iter().filter(|f| f["account"] == org.refused).collect();
    assert!(!refused.is_empty());
    assert!(
        refused.iter().all(|f| f["status"] == "error"),
        "{refused:?}"
    );
    assert!(refused.iter().any(|f| f["message"]
        .as_str()
        .unwrap_or_default()
        .contains("OrganizationAccountAccessRole")));

    // Account verdicts and what was read.
    let verdict = |account: &str| {
        doc["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .find(|a| a["account"] == account)
            .unwrap_or_else(|| panic!("verdict of {account}"))["compliant"]
            .clone()
    };
    assert_eq!(verdict(&org.no_trail), Value::Bool(true));
    assert_eq!(verdict(&org.own_trail), Value::Bool(true));
    // Not read: not decided, never compliant.
    assert_eq!(verdict(&org.refused), Value::Null);
    assert_eq!(doc["input"]["organization"]["id"], org.id.as_str());
    assert_eq!(doc["input"]["accounts"].as_array().map(Vec::len), Some(4));

    // Checks that leave out TS012 and TS013 do not make the refused account disappear.
    let (doc, code, _) = run(trailseal_at(&proxy.endpoint()).args([
        "audit",
        "--org",
        "--regions",
        REGIONS,
        "--format",
        "json",
        "--checks",
        "TS001,TS006",
    ]));
    assert_eq!(code, 1);
    assert!(findings(&doc)
        .iter()
        .any(|f| f["account"] == org.refused && f["status"] == "error"));
    // The member with no trail has no finding of these checks: its verdict is not decided
    // (coverage did not run), never missing and never compliant.
    let verdict = doc["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account"] == org.no_trail.as_str())
        .expect("a verdict for the member without findings");
    assert_eq!(verdict["compliant"], Value::Null, "{verdict}");

    // merge --checks never drops an account that could not be read either.
    let dir = support::cli::tempdir();
    let full = dir.path().join("full.json");
    let status = trailseal_at(&proxy.endpoint())
        .args([
            "audit",
            "--org",
            "--regions",
            REGIONS,
            "--format",
            "json",
            "-o",
        ])
        .arg(&full)
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(1));
    let (merged, code, _) = run(trailseal_at(&proxy.endpoint())
        .args(["merge", "--format", "json", "--checks", "TS001,TS006"])
        .arg(&full));
    assert_eq!(code, 1);
    assert!(findings(&merged)
        .iter()
        .any(|f| f["account"] == org.refused && f["status"] == "error"));

    // The text report groups by account and counts compliant accounts.
    let out = trailseal_at(&proxy.endpoint())
        .args(["audit", "--org", "--regions", REGIONS, "--no-color"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "== Account {}: not decided (the account could not be read",
            org.refused
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("== Account {}: compliant ==", org.no_trail)),
        "{text}"
    );
    assert!(
        text.contains("Accounts: 3 compliant, 0 not compliant, 1 not decided"),
        "{text}"
    );
}

#[test]
fn shards_merge_into_the_whole_and_jsonl_streams_the_same_findings() {
    let (_guard, server) = moto();
    seed(server);
    let audit = |extra: &[&str]| {
        let mut cmd = trailseal_at(&server.endpoint());
        cmd.args(["audit", "--org", "--regions", REGIONS])
            .args(extra);
        cmd
    };
    let (whole, whole_code, _) = run(&mut audit(&["--format", "json"]));
    let dir = support::cli::tempdir();
    let mut parts = Vec::new();
    for shard in ["1/2", "2/2"] {
        let path = dir.path().join(format!("shard-{}.json", &shard[..1]));
        let status = audit(&["--shard", shard, "--format", "json", "-o"])
            .arg(&path)
            .status()
            .expect("run");
        assert!(matches!(status.code(), Some(0 | 1)), "{status}");
        parts.push(path);
    }
    // Every account is in exactly one shard.
    let accounts_of = |path: &std::path::Path| -> BTreeSet<String> {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON");
        doc["input"]["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .map(|a| a["account"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (a, b) = (accounts_of(&parts[0]), accounts_of(&parts[1]));
    assert!(a.is_disjoint(&b), "{a:?} {b:?}");
    assert_eq!(a.len() + b.len(), 4);

    let (merged, code, stderr) = run(ts(server).args(["merge", "--format", "json"]).args(&parts));
    // The exit code of the whole (moto's CloudTrail Lake errors make it 1).
    assert_eq!(code, whole_code, "{stderr}");
    assert_eq!(outcome(&merged), outcome(&whole));
    assert_eq!(merged["accounts"], whole["accounts"]);

    // JSON Lines shards carry their shard in the end record: one alone is refused too.
    let part = dir.path().join("shard-1.jsonl");
    let status = audit(&["--shard", "1/2", "--format", "jsonl", "-o"])
        .arg(&part)
        .status()
        .expect("run");
    assert!(matches!(status.code(), Some(0 | 1)));
    let out = ts(server).arg("merge").arg(&part).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2/2 missing"));

    // A shard that holds no account (more shards than accounts) is not a failure: exit 0.
    let mut codes = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = ts(server)
            .args(["audit", "--accounts", MANAGEMENT, "--regions", REGIONS])
            .args(["--shard", shard, "--format", "json", "--checks", "TS012"])
            .output()
            .expect("run");
        codes.push(out.status.code());
        if String::from_utf8_lossy(&out.stderr).contains("this shard holds none") {
            assert_eq!(out.status.code(), Some(0));
        }
    }
    assert!(codes.contains(&Some(0)), "{codes:?}");

    // Some of the shards only: refused, their accounts would silently be missing.
    let out = ts(server)
        .arg("merge")
        .arg(&parts[0])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2/2 missing"));

    // JSON Lines: one finding a line, the same findings.
    let out = audit(&["--format", "jsonl"]).output().expect("run");
    let mut lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    // The last line is the end record, with the number of findings.
    let end = lines.pop().expect("an end record");
    assert_eq!(end["end"], "trailseal.audit/v1");
    assert_eq!(end["findings"].as_u64(), Some(lines.len() as u64));
    let doc = serde_json::json!({ "findings": lines });
    assert_eq!(outcome(&doc), outcome(&whole));
    // And merge reads JSON Lines too.
    let jsonl = dir.path().join("all.jsonl");
    std::fs::write(&jsonl, &out.stdout).expect("write");
    let (merged, _, _) = run(ts(server).args(["merge", "--format", "json"]).arg(&jsonl));
    assert_eq!(outcome(&merged), outcome(&whole));
    // Cut off (a killed run, a truncated file): refused, never read as the whole.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let cut: Vec<&str> = text.lines().take(5).collect();
    std::fs::write(&jsonl, cut.join("\n") + "\n").expect("write");
    let out = ts(server).arg("merge").arg(&jsonl).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut off"));
}

#[test]
fn collect_an_organization_then_audit_it_offline() {
    let (_guard, server) = moto();
    let org = seed(server);
    let (live, _, _) =
        run(ts(server).args(["audit", "--org", "--regions", REGIONS, "--format", "json"]));
    let dir = support::cli::tempdir();
    let file = dir.path().join("org.json");
    let status = ts(server)
        .args(["collect", "--org", "--regions", REGIONS, "-o"])
        .arg(&file)
        .status()
        .expect("run");
    assert!(status.success());
    let (offline, _, stderr) = run(ts(server)
        .args(["audit", "--format", "json", "--evidence"])
        .arg(&file));
    assert_eq!(outcome(&offline), outcome(&live), "{stderr}");

    let each = dir.path().join("each");
    std::fs::create_dir(&each).expect("mkdir");
    let status = ts(server)
        .args([
            "collect",
            "--accounts",
            &format!("{MANAGEMENT},{}", org.no_trail),
            "--regions",
            REGIONS,
            "--output-dir",
        ])
        .arg(&each)
        .status()
        .expect("run");
    assert!(status.success());
    let mut files: Vec<String> = std::fs::read_dir(&each)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected = vec![
        format!("evidence-{MANAGEMENT}.json"),
        format!("evidence-{}.json", org.no_trail),
    ];
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn bad_organization_input_is_a_usage_error() {
    let (_guard, server) = moto();
    // No organization yet: --org says what to do instead.
    let out = ts(server)
        .args(["audit", "--org", "--regions", "us-east-1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--accounts"), "{stderr}");
    for (args, expected) in [
        (vec!["--accounts", "12345678901x"], "not an AWS account id"),
        (
            vec!["--accounts", "111122223333,111122223333"],
            "given twice",
        ),
        (vec!["--org", "--shard", "3/2"], "1 <= I <= N"),
        (vec!["--exclude-accounts", "111122223333"], "add --org"),
        (vec!["--org", "--role-name", ""], "not a role name"),
        (
            vec![
                "--org",
                "--role-name",
                "arn:aws:iam::111122223333:role/Audit",
            ],
            "not an ARN",
        ),
        (vec!["--org", "--external-id", ""], "2 to 1224"),
    ] {
        let out = ts(server).arg("audit").args(&args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// Throttling (HTTP 400 ThrottlingException, S3 503 SlowDown), server errors (500) and stalled
/// connections for a share of all calls: the audit ends with the same results, in bounded
/// retries.
#[test]
fn throttling_server_errors_and_stalls_do_not_change_the_results() {
    let (_guard, server) = moto();
    seed(server);
    let args = [
        "audit",
        "--org",
        "--regions",
        REGIONS,
        "--format",
        "json",
        "--call-timeout",
        "2",
    ];
    let (clean, _, _) = run(ts(server).args(args));
    let proxy = proxy::start(
        server.port,
        Fault::Chaos {
            every: 7,
            stall_secs: 5,
        },
    );
    let started = std::time::Instant::now();
    let (faulty, _, stderr) = run(trailseal_at(&proxy.endpoint()).args(args));
    let elapsed = started.elapsed();
    let (faulty, clean) = (outcome(&faulty), outcome(&clean));
    let differ: Vec<_> = faulty.symmetric_difference(&clean).collect();
    assert!(differ.is_empty(), "{differ:?}\n{stderr}");
    // Faults were injected: three of every seven distinct requests failed once.
    let seen = proxy.mutating.load(std::sync::atomic::Ordering::SeqCst);
    assert!(seen >= 30, "only {seen} requests reached the proxy");
    // Bounded: every faulted call is retried; nothing hangs.
    assert!(elapsed.as_secs() < 120, "{elapsed:?}");
}

/// Every call of an organization audit is one the README's policies allow, none is sent twice,
/// and each member costs what a single-account audit costs: AssumeRole instead of
/// GetCallerIdentity.
#[test]
fn an_organization_audit_makes_only_allowed_calls_once() {
    let (_guard, server) = moto();
    seed(server);
    server.start_recording();
    let (_, _, stderr) =
        run(ts(server).args(["audit", "--org", "--regions", REGIONS, "--format", "json"]));
    server.stop_recording();
    let calls = support::recording::parse(&server.recorded());
    let allowed: BTreeSet<&str> = trailseal_aws::READ_ONLY_ACTIONS
        .iter()
        .chain(trailseal_aws::ORGANIZATION_ACTIONS)
        .copied()
        .collect();
    let mut seen = BTreeSet::new();
    for call in &calls {
        assert!(allowed.contains(call.action.as_str()), "{call:?}");
        assert!(
            seen.insert(call.identity()),
            "sent twice: {call:?}\n{stderr}"
        );
    }
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    assert_eq!(count("organizations:DescribeOrganization"), 1);
    assert_eq!(count("organizations:ListAccounts"), 1);
    assert_eq!(count("sts:GetCallerIdentity"), 1, "the caller only");
    assert_eq!(count("sts:AssumeRole"), 3, "once per member account");
    // Every account reads both Regions' trails once.
    assert_eq!(count("cloudtrail:DescribeTrails"), 4 * 2);
}

/// The selection and limit options do what they say: --exclude-accounts leaves an account out,
/// --exclude-regions a Region, --account-concurrency and --connect-timeout are taken.
#[test]
fn exclusions_and_limits() {
    let (_guard, server) = moto();
    let org = seed(server);
    let (doc, _, stderr) = run(ts(server).args([
        "audit",
        "--org",
        "--regions",
        REGIONS,
        "--exclude-regions",
        "eu-west-1",
        "--exclude-accounts",
        &org.refused,
        "--account-concurrency",
        "2",
        "--connect-timeout",
        "3",
        "--format",
        "json",
    ]));
    let all = findings(&doc);
    assert!(!all.is_empty(), "{stderr}");
    assert!(all.iter().all(|f| f["region"] != "eu-west-1"), "{stderr}");
    assert!(all.iter().all(|f| f["account"] != org.refused.as_str()));
    assert_eq!(doc["input"]["accounts"].as_array().map(Vec::len), Some(3));
}
