//! IAM `GetAccountAuthorizationDetails`: every user, group, role and managed policy of the
//! account, with their policies, in a few pages (one paginated read per account). A thin signed
//! Query request ([`crate::signed::Call`]) instead of the `aws-sdk-iam` crate: one operation
//! does not pay for a crate that costs minutes of every clean build (bench/README.md, "Build
//! cost").
//!
//! IAM is global, with one endpoint per partition: `iam.amazonaws.com` signed for us-east-1,
//! `iam.cn-north-1.amazonaws.com.cn` (aws-cn), `iam.us-gov.amazonaws.com` signed for
//! us-gov-west-1 (aws-us-gov). Policy documents come URL-encoded (RFC 3986): "Policies returned
//! by this operation are URL-encoded" (IAM API Reference, GetAccountAuthorizationDetails).

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder};
use trailseal_model::{IamAuthorization, IamGroup, IamIdentity, InlinePolicy, ManagedPolicy};

use crate::signed::{endpoint_url, ApiError, Call};

const IAM_API_VERSION: &str = "2010-05-08";
/// The largest page IAM serves (MaxItems, 1 to 1000).
const PAGE_SIZE: u32 = 1000;
/// Pages read at most: 100,000 entities. More is not an account trailseal can answer for; the
/// IAM facts are then unreadable, never partial.
const MAX_PAGES: usize = 100;

fn endpoint(config: &SdkConfig, region: &str) -> (String, String) {
    let (url, signing) = if region.starts_with("cn-") {
        ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1")
    } else if region.starts_with("us-gov-") {
        ("https://iam.us-gov.amazonaws.com", "us-gov-west-1")
    } else {
        ("https://iam.amazonaws.com", "us-east-1")
    };
    (
        endpoint_url(config, "IAM").unwrap_or_else(|| url.to_owned()),
        signing.to_owned(),
    )
}

/// One page of the answer.
#[derive(Debug, Default)]
pub(crate) struct Page {
    details: IamAuthorization,
    marker: Option<String>,
}

/// Every page, merged. `Err` names the call and the error.
pub(crate) async fn account_authorization_details(
    config: &SdkConfig,
) -> Result<IamAuthorization, SdkError<ApiError, HttpResponse>> {
    let region = config
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let (url, signing_region) = endpoint(config, &region);
    let mut all = IamAuthorization::default();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut body = format!(
            "Action=GetAccountAuthorizationDetails&Version={IAM_API_VERSION}&MaxItems={PAGE_SIZE}"
        );
        if let Some(m) = &marker {
            body.push_str("&Marker=");
            body.push_str(&encode(m));
        }
        let page = Call {
            service: "iam",
            operation: "GetAccountAuthorizationDetails",
            endpoint: url.clone(),
            signing_region: signing_region.clone(),
            content_type: "application/x-www-form-urlencoded; charset=utf-8",
            target: None,
            path: "/",
            body,
        }
        .send(config, parse_response)
        .await?;
        all.users.extend(page.details.users);
        all.roles.extend(page.details.roles);
        all.groups.extend(page.details.groups);
        all.policies.extend(page.details.policies);
        match page.marker {
            Some(m) => marker = Some(m),
            None => return Ok(all),
        }
    }
    Err(SdkError::construction_failure(format!(
        "the account has more than {} IAM entities ({MAX_PAGES} pages): not read",
        MAX_PAGES as u32 * PAGE_SIZE
    )))
}

/// Percent-encodes a form value (RFC 3986 unreserved characters kept).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes RFC 3986 percent-encoding; `None` for a malformed escape or text that is not UTF-8.
fn decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                // Form encoding's space (java.net.URLDecoder, which the API docs point to).
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn parse_response(response: &HttpResponse) -> Result<Page, OrchestratorError<ApiError>> {
    let body = crate::signed::query_body(response)?;
    parse_page(body).map_err(|e| {
        OrchestratorError::operation(ApiError::unreadable(format!(
            "unreadable GetAccountAuthorizationDetails answer: {e}"
        )))
    })
}

type Decoder<'a, 'b> = ScopedDecoder<'a, 'b>;

fn text(tag: &mut Decoder<'_, '_>) -> Result<String, String> {
    try_data(tag)
        .map(|d| d.into_owned())
        .map_err(|e| e.to_string())
}

fn document(tag: &mut Decoder<'_, '_>) -> Result<String, String> {
    let raw = text(tag)?;
    decode(&raw).ok_or_else(|| "a policy document that is not URL-encoded UTF-8".to_owned())
}

/// `<GetAccountAuthorizationDetailsResponse><GetAccountAuthorizationDetailsResult>...`
pub(crate) fn parse_page(body: &str) -> Result<Page, String> {
    let mut doc = Document::new(body);
    let mut root = doc.root_element().map_err(|e| e.to_string())?;
    if !root
        .start_el()
        .matches("GetAccountAuthorizationDetailsResponse")
    {
        return Err(format!("root element {}", root.start_el().local()));
    }
    let mut page = Page::default();
    let mut truncated = None;
    let mut seen_result = false;
    while let Some(mut result) = root.next_tag() {
        if !result
            .start_el()
            .matches("GetAccountAuthorizationDetailsResult")
        {
            continue;
        }
        seen_result = true;
        while let Some(mut tag) = result.next_tag() {
            let name = tag.start_el().local().to_owned();
            match name.as_str() {
                "UserDetailList" => {
                    while let Some(mut m) = tag.next_tag() {
                        page.details.users.push(identity(&mut m, "User")?);
                    }
                }
                "RoleDetailList" => {
                    while let Some(mut m) = tag.next_tag() {
                        page.details.roles.push(identity(&mut m, "Role")?);
                    }
                }
                "GroupDetailList" => {
                    while let Some(mut m) = tag.next_tag() {
                        page.details.groups.push(group(&mut m)?);
                    }
                }
                "Policies" => {
                    while let Some(mut m) = tag.next_tag() {
                        page.details.policies.push(managed_policy(&mut m)?);
                    }
                }
                "IsTruncated" => truncated = Some(text(&mut tag)? == "true"),
                "Marker" => page.marker = Some(text(&mut tag)?),
                _ => {}
            }
        }
    }
    if !seen_result {
        return Err("no GetAccountAuthorizationDetailsResult".to_owned());
    }
    match truncated {
        Some(true) if page.marker.as_deref().is_some_and(|m| !m.is_empty()) => {}
        Some(true) => return Err("a truncated answer without a Marker".to_owned()),
        Some(false) => page.marker = None,
        None => return Err("no IsTruncated".to_owned()),
    }
    Ok(page)
}

fn inline_list(tag: &mut Decoder<'_, '_>) -> Result<Vec<InlinePolicy>, String> {
    let mut out = Vec::new();
    while let Some(mut m) = tag.next_tag() {
        let mut p = InlinePolicy::default();
        while let Some(mut f) = m.next_tag() {
            if f.start_el().matches("PolicyName") {
                p.name = text(&mut f)?;
            } else if f.start_el().matches("PolicyDocument") {
                p.document = document(&mut f)?;
            }
        }
        out.push(p);
    }
    Ok(out)
}

fn attached_list(tag: &mut Decoder<'_, '_>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    while let Some(mut m) = tag.next_tag() {
        while let Some(mut f) = m.next_tag() {
            if f.start_el().matches("PolicyArn") {
                out.push(text(&mut f)?);
            }
        }
    }
    Ok(out)
}

/// A `UserDetailList` or `RoleDetailList` member.
fn identity(m: &mut Decoder<'_, '_>, kind: &str) -> Result<IamIdentity, String> {
    let mut who = IamIdentity::default();
    let name_tag = format!("{kind}Name");
    let inline_tag = format!("{kind}PolicyList");
    while let Some(mut f) = m.next_tag() {
        let name = f.start_el().local().to_owned();
        match name.as_str() {
            "Arn" => who.arn = text(&mut f)?,
            "Path" => who.path = text(&mut f)?,
            "AttachedManagedPolicies" => who.attached = attached_list(&mut f)?,
            "GroupList" => {
                while let Some(mut g) = f.next_tag() {
                    who.groups.push(text(&mut g)?);
                }
            }
            "AssumeRolePolicyDocument" => who.trust_policy = Some(document(&mut f)?),
            "PermissionsBoundary" => {
                while let Some(mut b) = f.next_tag() {
                    if b.start_el().matches("PermissionsBoundaryArn") {
                        who.permissions_boundary = Some(text(&mut b)?);
                    }
                }
            }
            n if n == name_tag => who.name = text(&mut f)?,
            n if n == inline_tag => who.inline = inline_list(&mut f)?,
            _ => {}
        }
    }
    if who.arn.is_empty() {
        return Err(format!("a {kind} without an Arn"));
    }
    Ok(who)
}

fn group(m: &mut Decoder<'_, '_>) -> Result<IamGroup, String> {
    let mut g = IamGroup::default();
    while let Some(mut f) = m.next_tag() {
        let name = f.start_el().local().to_owned();
        match name.as_str() {
            "Arn" => g.arn = text(&mut f)?,
            "GroupName" => g.name = text(&mut f)?,
            "GroupPolicyList" => g.inline = inline_list(&mut f)?,
            "AttachedManagedPolicies" => g.attached = attached_list(&mut f)?,
            _ => {}
        }
    }
    if g.name.is_empty() {
        return Err("a group without a GroupName".to_owned());
    }
    Ok(g)
}

fn managed_policy(m: &mut Decoder<'_, '_>) -> Result<ManagedPolicy, String> {
    let mut p = ManagedPolicy::default();
    let mut default_version = None;
    let mut versions: Vec<(String, bool, String)> = Vec::new();
    while let Some(mut f) = m.next_tag() {
        let name = f.start_el().local().to_owned();
        match name.as_str() {
            "Arn" => p.arn = text(&mut f)?,
            "PolicyName" => p.name = text(&mut f)?,
            "DefaultVersionId" => default_version = Some(text(&mut f)?),
            "PolicyVersionList" => {
                while let Some(mut v) = f.next_tag() {
                    let (mut id, mut is_default, mut doc) = (String::new(), false, String::new());
                    while let Some(mut vf) = v.next_tag() {
                        let field = vf.start_el().local().to_owned();
                        match field.as_str() {
                            "VersionId" => id = text(&mut vf)?,
                            "IsDefaultVersion" => is_default = text(&mut vf)? == "true",
                            "Document" => doc = document(&mut vf)?,
                            _ => {}
                        }
                    }
                    versions.push((id, is_default, doc));
                }
            }
            _ => {}
        }
    }
    if p.arn.is_empty() {
        return Err("a managed policy without an Arn".to_owned());
    }
    // The default version: flagged IsDefaultVersion, or named by DefaultVersionId.
    p.document = versions
        .into_iter()
        .find(|(id, is_default, doc)| {
            !doc.is_empty() && (*is_default || default_version.as_deref() == Some(id))
        })
        .map(|(_, _, doc)| doc);
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<GetAccountAuthorizationDetailsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
<GetAccountAuthorizationDetailsResult>
<UserDetailList><member><Path>/</Path><UserName>u1</UserName><Arn>arn:aws:iam::123456789012:user/u1</Arn>
<UserPolicyList/><GroupList><member>g1</member></GroupList><AttachedManagedPolicies/></member></UserDetailList>
<GroupDetailList><member><GroupName>g1</GroupName><Arn>arn:aws:iam::123456789012:group/g1</Arn><GroupPolicyList/>
<AttachedManagedPolicies><member><PolicyName>mp</PolicyName><PolicyArn>arn:aws:iam::123456789012:policy/mp</PolicyArn></member></AttachedManagedPolicies></member></GroupDetailList>
<RoleDetailList><member><Path>/aws-service-role/x/</Path><RoleName>r1</RoleName><Arn>arn:aws:iam::123456789012:role/r1</Arn>
<AssumeRolePolicyDocument>%7B%22Statement%22%3A%20%5B%5D%7D</AssumeRolePolicyDocument>
<RolePolicyList><member><PolicyName>p</PolicyName><PolicyDocument>%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%5D%7D</PolicyDocument></member></RolePolicyList>
<AttachedManagedPolicies/><PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType><PermissionsBoundaryArn>arn:aws:iam::123456789012:policy/mp</PermissionsBoundaryArn></PermissionsBoundary></member></RoleDetailList>
<Policies><member><PolicyName>mp</PolicyName><Arn>arn:aws:iam::123456789012:policy/mp</Arn><DefaultVersionId>v2</DefaultVersionId>
<PolicyVersionList><member><Document>%7B%22old%22%7D</Document><VersionId>v1</VersionId><IsDefaultVersion>false</IsDefaultVersion></member>
<member><Document>%7B%22new%22%3A%201%7D</Document><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion></member></PolicyVersionList></member></Policies>
<IsTruncated>true</IsTruncated><Marker>next+page/=</Marker>
</GetAccountAuthorizationDetailsResult></GetAccountAuthorizationDetailsResponse>"#;

    #[test]
    fn reads_every_kind_of_entity_and_the_default_policy_version() {
        let page = parse_page(PAGE).expect("page");
        let d = &page.details;
        assert_eq!(d.users[0].groups, ["g1"]);
        assert_eq!(
            d.groups[0].attached,
            ["arn:aws:iam::123456789012:policy/mp"]
        );
        assert!(d.roles[0].is_service_linked_role());
        assert_eq!(
            d.roles[0].inline[0].document,
            r#"{"Version": "2012-10-17", "Statement": []}"#
        );
        assert_eq!(
            d.roles[0].permissions_boundary.as_deref(),
            Some("arn:aws:iam::123456789012:policy/mp")
        );
        assert_eq!(d.policies[0].document.as_deref(), Some(r#"{"new": 1}"#));
        assert_eq!(
            d.roles[0].trust_policy.as_deref(),
            Some(r#"{"Statement": []}"#)
        );
        assert_eq!(page.marker.as_deref(), Some("next+page/="));
        assert_eq!(encode("next+page/="), "next%2Bpage%2F%3D");
    }

    #[test]
    fn a_truncated_answer_without_marker_or_without_the_flag_is_an_error() {
        let cut = PAGE.replace("<Marker>next+page/=</Marker>", "");
        assert!(parse_page(&cut).is_err());
        let no_flag = PAGE.replace("<IsTruncated>true</IsTruncated>", "");
        assert!(parse_page(&no_flag).is_err());
        let last = PAGE.replace(
            "<IsTruncated>true</IsTruncated>",
            "<IsTruncated>false</IsTruncated>",
        );
        assert_eq!(parse_page(&last).expect("page").marker, None);
    }

    #[test]
    fn malformed_percent_encoding_is_an_error_not_a_document() {
        assert_eq!(decode("%7B%22a%22%7D"), Some(r#"{"a"}"#.to_owned()));
        assert_eq!(decode("%7"), None);
        assert_eq!(decode("%ZZ"), None);
        let bad = PAGE.replace("%7B%22old%22%7D", "%G0");
        assert!(parse_page(&bad).is_err());
    }

    #[test]
    fn reads_iam_error_codes() {
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>";
        let meta = crate::signed::parse_query_error(body, 403);
        assert_eq!(meta.code(), Some("AccessDenied"));
    }
}
