//! AWS Organizations: `DescribeOrganization` and `ListAccounts`, as thin signed JSON 1.1
//! requests ([`crate::signed::Call`]) instead of the `aws-sdk-organizations` crate (two
//! operations do not pay for a crate that costs a minute of every clean build).
//!
//! Organizations is a global service with one endpoint per partition: `organizations.
//! us-east-1.amazonaws.com` (signed for us-east-1), `organizations.cn-northwest-1.amazonaws.
//! com.cn` (aws-cn), `organizations.us-gov-west-1.amazonaws.com` (aws-us-gov): the SDK's
//! endpoint ruleset for Organizations. DescribeOrganization works from any account of the
//! organization; ListAccounts from the management account or a delegated administrator (any
//! other account gets `AccessDeniedException`); outside an organization both answer
//! `AWSOrganizationsNotInUseException`.

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use serde::Deserialize;

use crate::signed::{endpoint_url, parse_json, ApiError, Call};

/// The organization of the caller's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// `o-...`
    pub id: String,
    pub management_account: String,
}

/// One account as ListAccounts lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED` (the `State` field; the older
    /// `Status` when `State` is absent).
    pub state: String,
}

impl OrgAccount {
    /// ACTIVE accounts are audited (a suspended or closed account cannot be signed into), and
    /// so is an account whose state ListAccounts does not give: unknown is not "inactive", and
    /// if it cannot be read the audit says so (an `error` finding) instead of leaving it out.
    pub fn is_active(&self) -> bool {
        self.state == "ACTIVE" || self.state.is_empty()
    }
}

const TARGET_PREFIX: &str = "AWSOrganizationsV20161128";

/// The endpoint and signing Region of Organizations in the partition of `region`.
fn endpoint(config: &SdkConfig, region: &str) -> (String, String) {
    let signing = if region.starts_with("cn-") {
        "cn-northwest-1"
    } else if region.starts_with("us-gov-") {
        "us-gov-west-1"
    } else {
        "us-east-1"
    };
    let url = endpoint_url(config, "Organizations").unwrap_or_else(|| {
        let (suffix, _) = crate::signed::partition_suffixes(signing);
        format!("https://organizations.{signing}.{suffix}")
    });
    (url, signing.to_owned())
}

async fn call<T: Send + Sync + std::fmt::Debug + 'static>(
    config: &SdkConfig,
    operation: &'static str,
    body: String,
    parse: fn(&HttpResponse) -> Result<T, OrchestratorError<ApiError>>,
) -> Result<T, SdkError<ApiError, HttpResponse>> {
    let region = config
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let (endpoint, signing_region) = endpoint(config, &region);
    Call {
        service: "organizations",
        operation,
        endpoint,
        signing_region,
        content_type: "application/x-amz-json-1.1",
        target: Some(format!("{TARGET_PREFIX}.{operation}")),
        path: "/",
        body,
    }
    .send(config, parse)
    .await
}

/// The caller's organization (its id and management account).
pub(crate) async fn describe_organization(
    config: &SdkConfig,
) -> Result<Organization, SdkError<ApiError, HttpResponse>> {
    call(
        config,
        "DescribeOrganization",
        "{}".to_owned(),
        parse_organization,
    )
    .await
}

/// Every account of the organization (all pages), whatever its state.
pub(crate) async fn list_accounts(
    config: &SdkConfig,
) -> Result<Vec<OrgAccount>, SdkError<ApiError, HttpResponse>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    // A paging loop that never ends (a token that repeats) is an error, not a hang.
    for _ in 0..10_000 {
        let body = match &token {
            Some(t) => serde_json::json!({ "NextToken": t }).to_string(),
            None => "{}".to_owned(),
        };
        let page = call(config, "ListAccounts", body, parse_accounts).await?;
        out.extend(page.accounts);
        match page.next_token {
            Some(t) if !t.is_empty() && Some(&t) != token.as_ref() => token = Some(t),
            Some(t) if !t.is_empty() => {
                return Err(SdkError::construction_failure(format!(
                    "organizations:ListAccounts returned the same NextToken twice ({t})"
                )))
            }
            _ => return Ok(out),
        }
    }
    Err(SdkError::construction_failure(
        "organizations:ListAccounts returned more than 10000 pages",
    ))
}

#[derive(Debug)]
struct AccountsPage {
    accounts: Vec<OrgAccount>,
    next_token: Option<String>,
}

fn parse_organization(
    response: &HttpResponse,
) -> Result<Organization, OrchestratorError<ApiError>> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Organization")]
        organization: Org,
    }
    #[derive(Deserialize)]
    struct Org {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "MasterAccountId")]
        management_account: String,
    }
    let answer: Answer = parse_json(response, "DescribeOrganization")?;
    let org = answer.organization;
    if org.id.is_empty() || org.management_account.is_empty() {
        return Err(OrchestratorError::operation(ApiError::unreadable(
            "DescribeOrganization returned no organization id or management account",
        )));
    }
    Ok(Organization {
        id: org.id,
        management_account: org.management_account,
    })
}

fn parse_accounts(response: &HttpResponse) -> Result<AccountsPage, OrchestratorError<ApiError>> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Accounts")]
        accounts: Vec<Account>,
        #[serde(rename = "NextToken", default)]
        next_token: Option<String>,
    }
    #[derive(Deserialize)]
    struct Account {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Name", default)]
        name: String,
        #[serde(rename = "State", default)]
        state: Option<String>,
        #[serde(rename = "Status", default)]
        status: Option<String>,
    }
    let answer: Answer = parse_json(response, "ListAccounts")?;
    let accounts = answer
        .accounts
        .into_iter()
        .map(|a| OrgAccount {
            id: a.id,
            name: a.name,
            // `State` replaces the deprecated `Status`; either may be absent.
            state: a.state.or(a.status).unwrap_or_default(),
        })
        .collect();
    Ok(AccountsPage {
        accounts,
        next_token: answer.next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::parse_json_error;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(
            StatusCode::try_from(status).expect("status"),
            SdkBody::from(body.to_owned()),
        )
    }

    #[test]
    fn reads_accounts_with_state_or_status() {
        // The answer of the Organizations API Reference (ListAccounts), with `State`, and an
        // older one with `Status` only.
        let page = parse_accounts(&answer(
            200,
            r#"{"Accounts":[
              {"Id":"111111111111","Name":"Prod","Status":"ACTIVE","State":"ACTIVE"},
              {"Id":"222222222222","Name":"Old","Status":"SUSPENDED","State":"CLOSED"},
              {"Id":"333333333333","Name":"Legacy","Status":"ACTIVE"},
              {"Id":"444444444444","Name":"Closing","State":"PENDING_CLOSURE"},
              {"Id":"555555555555","Name":"No state given"}],
              "NextToken":"abc"}"#,
        ))
        .expect("parses");
        let active: Vec<&str> = page
            .accounts
            .iter()
            .filter(|a| a.is_active())
            .map(|a| a.id.as_str())
            .collect();
        // An account without a state is audited, never silently left out.
        assert_eq!(active, ["111111111111", "333333333333", "555555555555"]);
        assert_eq!(page.next_token.as_deref(), Some("abc"));
    }

    #[test]
    fn reads_errors_and_refuses_other_answers() {
        let err = parse_accounts(&answer(
            400,
            r#"{"__type":"com.amazonaws.organizations#AccessDeniedException","Message":"You don't have permissions"}"#,
        ))
        .expect_err("an error");
        let text = format!("{:?}", err);
        assert!(text.contains("AccessDeniedException"), "{text}");
        let meta = parse_json_error(&answer(400, r#"{"__type":"TooManyRequestsException"}"#));
        assert_eq!(meta.code(), Some("TooManyRequestsException"));
        // Not an account list: an error, never "no accounts".
        assert!(parse_accounts(&answer(200, r#"{"Other":1}"#)).is_err());
        assert!(parse_organization(&answer(200, r#"{"Organization":{"Id":""}}"#)).is_err());
    }
}
