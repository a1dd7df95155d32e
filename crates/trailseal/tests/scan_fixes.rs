//! `scan`'s fixes are written in the scanned file's own language, at the resource to edit, and
//! pasted back as they say, the rescan passes: Terraform (jsonencode, a key without a policy,
//! data "aws_iam_policy_document", keys shared by trails, GovCloud) and CloudFormation YAML.

mod support;

use support::cli::{
    assert_scanned_status, finding, scan_json, suggested, tempdir, TF_KEY_AND_TRAIL,
};

#[test]
fn terraform_fixes_are_hcl_that_makes_the_rescan_pass() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    let admin = r#"{ Sid = "Admin", Effect = "Allow", Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }, Action = "kms:*", Resource = "*" }"#;
    let policy =
        format!("policy = jsonencode({{ Version = \"2012-10-17\", Statement = [{admin}] }})");
    std::fs::write(
        &main,
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", &policy)
        ),
    )
    .expect("write");
    let doc = scan_json(dir.path());
    let ts006 = finding(&doc, "aws_cloudtrail.main", "TS006");
    assert_eq!(ts006["status"], "fail", "{ts006}");
    let fix = ts006["remediation"].as_str().expect("remediation");
    assert!(
        fix.contains("the key policy of aws_kms_key.logs ("),
        "{fix}"
    );
    assert!(fix.contains("main.tf:3)"), "the key's line: {fix}");
    assert!(
        !fix.contains("AWS::"),
        "no CloudFormation placeholders in Terraform: {fix}"
    );
    let statement = suggested(fix, "{\n");
    assert!(
        statement.contains("data.aws_caller_identity.current.account_id"),
        "{statement}"
    );
    // TS010 is an attribute of the trail, written as the attribute.
    let ts010 = finding(&doc, "aws_cloudtrail.main", "TS010");
    assert_eq!(
        ts010["remediation"],
        format!(
            "Set `enable_log_file_validation = true` in aws_cloudtrail.main ({}:8).",
            main.display()
        )
    );
    let ts011 = finding(&doc, "aws_cloudtrail.main", "TS011");
    assert!(
        ts011["remediation"].as_str().is_some_and(
            |r| r.starts_with("Set `enable_key_rotation = true` in aws_kms_key.logs (")
        ),
        "{ts011}"
    );

    // Pasted as told, the rescan parses and passes.
    let policy = format!(
        "policy = jsonencode({{ Version = \"2012-10-17\", Statement = [{admin}, {statement}] }})"
    );
    std::fs::write(
        &main,
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", &policy)
        ),
    )
    .expect("write");
    assert_scanned_status(dir.path(), "aws_cloudtrail.main", "TS006", "pass");
}

#[test]
fn cloudformation_fixes_are_yaml_with_sub_that_makes_the_rescan_pass() {
    let template = |extra: &str| {
        format!(
            r#"AWSTemplateFormatVersion: '2010-09-09'
Resources:
  LogKey:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Version: '2012-10-17'
        Statement:
          - Sid: Admin
            Effect: Allow
            Principal:
              AWS: !Sub 'arn:aws:iam::${{AWS::AccountId}}:root'
            Action: 'kms:*'
            Resource: '*'
{extra}
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      TrailName: main
      IsLogging: true
      S3BucketName: logs-bucket
      KMSKeyId: !GetAtt LogKey.Arn
"#
        )
    };
    let dir = tempdir();
    let file = dir.path().join("stack.yaml");
    std::fs::write(&file, template("")).expect("write");
    let doc = scan_json(dir.path());
    let ts006 = finding(&doc, "Trail", "TS006");
    assert_eq!(ts006["status"], "fail", "{ts006}");
    let fix = ts006["remediation"].as_str().expect("remediation");
    assert!(fix.contains("the key policy of LogKey ("), "{fix}");
    assert!(fix.contains("!Sub '"), "{fix}");
    let statement = suggested(fix, "- Sid: ");
    // Indented as an item of the Statement list above, pasted: the rescan passes.
    let pasted: String = statement
        .lines()
        .map(|l| format!("          {l}\n"))
        .collect();
    std::fs::write(&file, template(pasted.trim_end())).expect("write");
    let doc = scan_json(dir.path());
    assert_eq!(finding(&doc, "Trail", "TS006")["status"], "pass", "{doc}");
    let ts010 = finding(&doc, "Trail", "TS010");
    assert!(
        ts010["remediation"]
            .as_str()
            .is_some_and(|r| r
                .starts_with("Set `EnableLogFileValidation: true` in the Properties of Trail (")),
        "{ts010}"
    );
}

/// A key without a policy argument has KMS's default policy: the fix is a whole policy (the
/// default statement and CloudTrail's), which pasted as told passes and can be administered.
#[test]
fn terraform_key_without_a_policy_gets_a_whole_policy() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    std::fs::write(
        &main,
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", "")
        ),
    )
    .expect("write");
    let doc = scan_json(dir.path());
    let ts006 = finding(&doc, "aws_cloudtrail.main", "TS006");
    assert_eq!(ts006["status"], "fail", "{ts006}");
    let fix = ts006["remediation"].as_str().expect("remediation");
    assert!(fix.contains("has no policy argument"), "{fix}");
    let start = fix.find("policy = jsonencode(").expect("a policy argument");
    let end = fix[start..]
        .find("\n(")
        .map(|e| start + e)
        .expect("its end");
    let policy = &fix[start..end];
    assert!(policy.contains("Enable IAM User Permissions"), "{policy}");
    std::fs::write(
        &main,
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", policy)
        ),
    )
    .expect("write");
    assert_scanned_status(dir.path(), "aws_cloudtrail.main", "TS006", "pass");
}

/// A policy built from data "aws_iam_policy_document" gets a statement block for it.
#[test]
fn terraform_policy_document_gets_a_statement_block() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    let write = |extra: &str| {
        std::fs::write(
            &main,
            format!(
                r#"data "aws_caller_identity" "current" {{}}
data "aws_iam_policy_document" "key" {{
  statement {{
    sid       = "Admin"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {{
      type        = "AWS"
      identifiers = ["arn:aws:iam::${{data.aws_caller_identity.current.account_id}}:root"]
    }}
  }}
{extra}
}}
{}"#,
                TF_KEY_AND_TRAIL
                    .replace("POLICY", "policy = data.aws_iam_policy_document.key.json")
            ),
        )
        .expect("write");
    };
    write("");
    let doc = scan_json(dir.path());
    let ts006 = finding(&doc, "aws_cloudtrail.main", "TS006");
    assert_eq!(ts006["status"], "fail", "{ts006}");
    let fix = ts006["remediation"].as_str().expect("remediation");
    assert!(
        fix.contains("add this statement block to data.aws_iam_policy_document.key"),
        "{fix}"
    );
    let start = fix.find("statement {\n").expect("a statement block");
    let end = fix[start..]
        .find("\n}")
        .map(|e| start + e + 2)
        .expect("its end");
    write(&fix[start..end]);
    assert_scanned_status(dir.path(), "aws_cloudtrail.main", "TS006", "pass");
}

/// Two trails share a key with KMS's default policy: every fix gives the same whole policy,
/// which holds both trails' statements with distinct Sids; pasted once, both pass, and the
/// policy is one AWS accepts.
#[test]
fn trails_sharing_a_key_get_one_policy_with_distinct_sids() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    let config = |policy: &str| {
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}\nresource \"aws_cloudtrail\" \"other\" {{\n  name           = \"main_\"\n  s3_bucket_name = \"logs-bucket\"\n  kms_key_id     = aws_kms_key.logs.arn\n}}\n",
            TF_KEY_AND_TRAIL.replace("POLICY", policy).replace("\"main\"\n", "\"main-\"\n")
        )
    };
    std::fs::write(&main, config("")).expect("write");
    let doc = scan_json(dir.path());
    let policies: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| (f["code"] == "TS006" || f["code"] == "TS007") && f["status"] == "fail")
        .filter_map(|f| {
            let fix = f["remediation"].as_str()?;
            let start = fix.find("policy = jsonencode(")?;
            let end = start + fix[start..].find("\n(")?;
            Some(fix[start..end].to_owned())
        })
        .collect();
    assert_eq!(policies.len(), 4, "{doc}");
    assert!(policies.iter().all(|p| *p == policies[0]), "{policies:#?}");
    std::fs::write(&main, config(&policies[0])).expect("write");
    let doc = scan_json(dir.path());
    for trail in ["aws_cloudtrail.main", "aws_cloudtrail.other"] {
        for code in ["TS006", "TS007"] {
            assert_eq!(
                finding(&doc, trail, code)["status"],
                "pass",
                "{trail} {code}"
            );
        }
    }
    // Distinct Sids although the names differ only by punctuation.
    let sids: Vec<&str> = policies[0]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Sid = "))
        .collect();
    let mut unique = sids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(sids.len(), 5, "{sids:?}");
    assert_eq!(unique.len(), sids.len(), "{sids:?}");
}

/// A GovCloud provider puts the trail, the key and the fix in the aws-us-gov partition (a
/// statement for arn:aws:... would never match the real trail).
#[test]
fn govcloud_fixes_use_the_govcloud_partition() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    let config = |policy: &str| {
        format!(
            "provider \"aws\" {{\n  region = \"us-gov-west-1\"\n}}\ndata \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", policy)
        )
    };
    std::fs::write(&main, config("")).expect("write");
    let doc = scan_json(dir.path());
    let fix = finding(&doc, "aws_cloudtrail.main", "TS006")["remediation"]
        .as_str()
        .expect("remediation")
        .to_owned();
    assert!(
        fix.contains("arn:aws-us-gov:cloudtrail:us-gov-west-1:"),
        "{fix}"
    );
    assert!(fix.contains("arn:aws-us-gov:iam::"), "{fix}");
    assert!(!fix.contains("arn:aws:"), "{fix}");
    let start = fix.find("policy = jsonencode(").expect("a policy");
    let end = start + fix[start..].find("\n(").expect("its end");
    std::fs::write(&main, config(&fix[start..end])).expect("write");
    assert_scanned_status(dir.path(), "aws_cloudtrail.main", "TS006", "pass");
}
