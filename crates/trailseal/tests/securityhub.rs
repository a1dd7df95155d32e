//! `audit --security-hub` against moto's Security Hub (server mode): every finding imported in
//! its Region (BatchImportFindings, batches of 100), failures FAILED and active, passes
//! archived; a Region where Security Hub is not enabled (refused by the loopback proxy: moto
//! does not emulate that) is named, the others are still imported, and the run exits 2.

mod support;

use serde_json::Value;
use support::moto::{moto, trailseal, trailseal_at, Moto};
use support::proxy::{self, Fault};

const REGIONS: &str = "us-east-1,eu-west-1,ap-southeast-2";

/// Security Hub's findings per Region, as GetFindings pages them.
fn imported(server: &Moto) -> Value {
    let out = tempfile::NamedTempFile::new().expect("temp file");
    server.python(&format!(
        r#"
found = {{}}
for region in "{REGIONS}".split(","):
    hub = client("securityhub", region)
    items, token = [], None
    while True:
        page = hub.get_findings(MaxResults=100, **({{"NextToken": token}} if token else {{}}))
        items += page["Findings"]
        token = page.get("NextToken")
        if not token:
            break
    found[region] = [{{"Id": f["Id"], "Region": f.get("Region"), "Compliance": f.get("Compliance", {{}}).get("Status"), "RecordState": f.get("RecordState"), "GeneratorId": f.get("GeneratorId")}} for f in items]
open("{}", "w").write(json.dumps(found))
"#,
        out.path().display()
    ));
    serde_json::from_str(&std::fs::read_to_string(out.path()).expect("read")).expect("JSON")
}

#[test]
fn findings_are_imported_in_their_region_and_passes_archived() {
    let (_guard, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let out = trailseal(server)
        .args([
            "audit",
            "--regions",
            REGIONS,
            "--format",
            "json",
            "--security-hub",
        ])
        .output()
        .expect("run");
    // Findings fail (exit 1); the import itself succeeded.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("security hub 123456789012 us-east-1: imported"),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = report["findings"].as_array().expect("findings");
    let hub = imported(server);
    let total: usize = hub
        .as_object()
        .expect("regions")
        .values()
        .map(|v| v.as_array().map_or(0, Vec::len))
        .sum();
    // More than 100 in a Region: batches.
    assert!(findings.len() > 100);
    assert_eq!(total, findings.len(), "{stderr}");
    for (region, items) in hub.as_object().expect("regions") {
        for f in items.as_array().expect("items") {
            assert_eq!(f["Region"], region.as_str(), "{f}");
        }
    }
    let all: Vec<&Value> = hub
        .as_object()
        .expect("regions")
        .values()
        .flat_map(|v| v.as_array().expect("items"))
        .collect();
    let failing = all
        .iter()
        .find(|f| {
            f["Id"]
                .as_str()
                .is_some_and(|id| id.contains("/TS006/") && id.ends_with("trail/policy-root-only"))
        })
        .expect("the TS006 failure");
    assert_eq!(failing["Compliance"], "FAILED");
    assert_eq!(failing["RecordState"], "ACTIVE");
    let passing = all
        .iter()
        .find(|f| {
            f["Id"]
                .as_str()
                .is_some_and(|id| id.contains("/TS006/") && id.ends_with("trail/main"))
        })
        .expect("the TS006 pass");
    assert_eq!(passing["Compliance"], "PASSED");
    assert_eq!(passing["RecordState"], "ARCHIVED");
}

#[test]
fn a_region_without_security_hub_is_named_and_the_others_are_imported() {
    let (_guard, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let proxy = proxy::start(
        server.port,
        Fault::NoSecurityHub {
            region: "eu-west-1",
        },
    );
    let out = trailseal_at(&proxy.endpoint())
        .args([
            "audit",
            "--regions",
            REGIONS,
            "--format",
            "json",
            "--security-hub",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("security hub 123456789012 eu-west-1")
            && stderr.contains("InvalidAccessException"),
        "{stderr}"
    );
    let hub = imported(server);
    assert!(hub["eu-west-1"].as_array().is_some_and(Vec::is_empty));
    assert!(hub["us-east-1"].as_array().is_some_and(|v| !v.is_empty()));
    assert!(hub["ap-southeast-2"]
        .as_array()
        .is_some_and(|v| !v.is_empty()));
}

/// An organization audit imports each account's findings as that account (its role): Security
/// Hub takes an account's findings only from that account.
#[test]
fn an_organization_imports_each_accounts_findings_as_that_account() {
    let (_guard, server) = moto();
    let out = tempfile::NamedTempFile::new().expect("temp file");
    server.python(&format!(
        r#"
client("organizations").create_organization(FeatureSet="ALL")
member = client("organizations").create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"]["AccountId"]
open("{}", "w").write(member)
"#,
        out.path().display()
    ));
    let member = std::fs::read_to_string(out.path()).expect("member id");
    let run = trailseal(server)
        .args([
            "audit",
            "--org",
            "--regions",
            "us-east-1",
            "--format",
            "json",
            "--security-hub",
        ])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!("security hub {member} us-east-1: imported")),
        "{stderr}"
    );
    let found = tempfile::NamedTempFile::new().expect("temp file");
    server.python(&format!(
        r#"
import boto3
c = client("sts").assume_role(RoleArn="arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="check")["Credentials"]
hub = boto3.client("securityhub", region_name="us-east-1", endpoint_url=client("sts").meta.endpoint_url,
    aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
items = hub.get_findings(MaxResults=100)["Findings"]
open("{}", "w").write(json.dumps(sorted({{f["AwsAccountId"] for f in items}})))
"#,
        found.path().display()
    ));
    let accounts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(found.path()).expect("read")).expect("JSON");
    assert_eq!(accounts, vec![member]);
}

/// A finding the run no longer reports (its trail was deleted) is archived, not left active.
#[test]
fn findings_no_longer_reported_are_archived() {
    let (_guard, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let audit = || {
        trailseal(server)
            .args([
                "audit",
                "--regions",
                REGIONS,
                "--format",
                "json",
                "--security-hub",
            ])
            .output()
            .expect("run")
    };
    assert_eq!(audit().status.code(), Some(1));
    server.python(r#"client("cloudtrail").delete_trail(Name="use1-no-validation")"#);
    let out = audit();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("archived"), "{stderr}");
    let hub = imported(server);
    let gone: Vec<&Value> = hub["us-east-1"]
        .as_array()
        .expect("us-east-1")
        .iter()
        .filter(|f| {
            f["Id"]
                .as_str()
                .is_some_and(|id| id.ends_with("trail/use1-no-validation"))
        })
        .collect();
    assert!(!gone.is_empty());
    assert!(
        gone.iter().all(|f| f["RecordState"] == "ARCHIVED"),
        "{gone:?}"
    );
    // A run of some Regions archives nothing in the others: their trails were not read.
    let before = hub["us-east-1"].clone();
    let out = trailseal(server)
        .args([
            "audit",
            "--regions",
            "eu-west-1",
            "--format",
            "json",
            "--security-hub",
        ])
        .output()
        .expect("run");
    assert!(matches!(out.status.code(), Some(0 | 1)));
    let after = imported(server);
    let active = |v: &Value| {
        v.as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["RecordState"] == "ACTIVE")
            .count()
    };
    // (It may activate more: a trail homed in an unscanned Region is less certain, e.g. TS016
    // cannot tell who writes its log folder.)
    assert!(active(&after["us-east-1"]) >= active(&before));
    // A trail still there keeps its failing findings active.
    assert!(hub["us-east-1"]
        .as_array()
        .expect("us-east-1")
        .iter()
        .any(|f| {
            f["Id"]
                .as_str()
                .is_some_and(|id| id.ends_with("trail/policy-root-only"))
                && f["Compliance"] == "FAILED"
                && f["RecordState"] == "ACTIVE"
        }));
}
