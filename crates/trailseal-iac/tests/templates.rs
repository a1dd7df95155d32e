//! Terraform string templates: `%{if}` / `%{for}` directives with the `~` strip markers give
//! exactly Terraform's text, in heredocs, quoted strings and templatefile().

mod support;

/// The key policy text the module gives `aws_kms_key.k`.
fn policy(files: &[(&str, &str)], vars: &[(&str, &str)]) -> Option<String> {
    let scan = support::scan_with(files, vars);
    let key = scan.account.keys.first()?;
    key.policy.known().cloned()
}

fn key_with(policy_expr: &str) -> String {
    format!(
        r#"
variable "names" {{
  default = ["a", "b", "c"]
}}
variable "on" {{
  default = true
}}
resource "aws_kms_key" "k" {{
  policy = {policy_expr}
}}
"#
    )
}

#[test]
fn for_directive_with_strip_markers() {
    let p = policy(
        &[(
            "main.tf",
            &key_with(r#""%{ for n in var.names ~} ${n}, %{~ endfor }""#),
        )],
        &[],
    );
    assert_eq!(p.as_deref(), Some("a,b,c,"));
}

#[test]
fn for_directive_without_strip_keeps_whitespace() {
    let p = policy(
        &[(
            "main.tf",
            &key_with(r#""[%{ for i, n in var.names }${i}=${n} %{ endfor }]""#),
        )],
        &[],
    );
    assert_eq!(p.as_deref(), Some("[0=a 1=b 2=c ]"));
}

#[test]
fn if_else_directive_follows_the_variable() {
    let expr = r#""x%{ if var.on }yes%{ else }no%{ endif }y""#;
    assert_eq!(
        policy(&[("main.tf", &key_with(expr))], &[]).as_deref(),
        Some("xyesy")
    );
    assert_eq!(
        policy(&[("main.tf", &key_with(expr))], &[("on", "false")]).as_deref(),
        Some("xnoy")
    );
}

// (hcl-edit does not dedent the literals inside directives of an indented `<<-` heredoc:
// whitespace that does not matter in a JSON policy.)
#[test]
fn heredoc_with_directives() {
    let expr = "<<EOT\n%{ for n in var.names ~}\n${n}\n%{ endfor ~}\nEOT";
    assert_eq!(
        policy(&[("main.tf", &key_with(expr))], &[]).as_deref(),
        Some("a\nb\nc\n")
    );
}

#[test]
fn templatefile_with_directives_and_path_module() {
    let main = key_with(
        r#"templatefile("${path.module}/t/policy.tpl", { names = var.names, on = var.on })"#,
    );
    let files = [
        ("main.tf", main.as_str()),
        (
            "t/policy.tpl",
            "%{ if on }[%{ for n in names }\"${n}\"%{ endfor }]%{ endif }",
        ),
    ];
    assert_eq!(policy(&files, &[]).as_deref(), Some("[\"a\"\"b\"\"c\"]"));
    // An empty policy is no policy: KMS applies its default key policy.
    let default = policy(&files, &[("on", "false")]).unwrap_or_default();
    assert!(default.contains("key-default-1"), "{default}");
}

#[test]
fn an_unknown_condition_is_never_a_known_policy() {
    let expr = r#""%{ if var.missing }a%{ endif }""#;
    let text = key_with(expr).replace(
        "variable \"on\"",
        "variable \"missing\" {}\nvariable \"on\"",
    );
    assert_eq!(policy(&[("main.tf", &text)], &[]), None);
}

/// An indented heredoc whose first line is not indented and with interpolations on two
/// lines (a JSON policy with the account id): Terraform strips the smallest indentation of
/// all lines (none here), so the policy is valid JSON and is evaluated, never an error
/// (https://developer.hashicorp.com/terraform/language/expressions/strings#indented-heredocs).
#[test]
fn an_indented_heredoc_policy_with_interpolations_is_read_as_terraform_reads_it() {
    let main = r#"
data "aws_caller_identity" "current" {}
resource "aws_kms_key" "k" {
  policy = <<-EOT
{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"}, "Action": "kms:*", "Resource": "*"},
    {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
     "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:${data.aws_caller_identity.current.account_id}:trail/*"}}}]
}
  EOT
}
resource "aws_cloudtrail" "t" {
  name           = "t"
  s3_bucket_name = "b"
  kms_key_id     = aws_kms_key.k.arn
}
"#;
    let scan = support::hcl(main);
    assert_eq!(
        support::status(&scan, "aws_cloudtrail.t", "TS006"),
        trailseal_model::Status::Pass
    );
}
