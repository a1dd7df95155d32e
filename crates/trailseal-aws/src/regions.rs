//! `ec2:DescribeRegions` as one SigV4-signed Query request, without `aws-sdk-ec2`.
//!
//! Why: `aws-sdk-ec2` is the largest crate of the AWS SDK (its debug rlib alone was 651 MB and
//! most of a clean build's time) and trailseal made exactly one call with it. The rule for AWS
//! services (bench/README.md, "Build cost"): a full SDK crate where many operations are used, a
//! thin signed request like this one where one or two are.
//!
//! The request goes through the same smithy orchestrator the SDK crates use, configured from the
//! same [`SdkConfig`]: its HTTP client, its retry settings (standard retries with backoff; EC2's
//! throttling and transient error codes, 5xx and connection errors are retried), its timeouts,
//! its sleep and time sources, and its endpoint settings (`AWS_ENDPOINT_URL_EC2`, the profile's
//! `services` section, `AWS_ENDPOINT_URL`, FIPS and dual-stack). Each attempt is signed anew with
//! `aws-sigv4` from the configured credentials provider. Errors are ordinary [`SdkError`]s, so
//! [`crate::error::describe`] words them like every other call.

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder};

use crate::signed::{endpoint_url, partition_suffixes, ApiError, Call};

/// Region names of the partitions other than `aws` (as of 2026). With the `aws` partition's
/// ([`trailseal_model::AWS_REGIONS`]) they are the names `--regions` accepts without asking
/// ec2:DescribeRegions. A name not listed is looked up; an unknown one is a usage error.
const OTHER_PARTITION_REGIONS: &[&str] = &[
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "eusc-de-east-1",
];

/// Whether `name` is a Region trailseal knows without asking AWS (every partition's, as of
/// 2026).
pub fn known_region(name: &str) -> bool {
    trailseal_model::AWS_REGIONS.contains(&name) || OTHER_PARTITION_REGIONS.contains(&name)
}

/// The known Region closest to a mistyped name (`eu-west1` -> `eu-west-1`), if one is close.
pub fn closest_region<'a>(name: &str, among: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    among
        .into_iter()
        .map(|r| (strsim::damerau_levenshtein(name, r), r))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, r)| r)
}

/// [`closest_region`] among every Region trailseal knows.
pub fn closest_known_region(name: &str) -> Option<&'static str> {
    closest_region(
        name,
        trailseal_model::AWS_REGIONS
            .iter()
            .chain(OTHER_PARTITION_REGIONS)
            .copied(),
    )
}

/// The Query API version of EC2 that DescribeRegions is sent with.
const EC2_API_VERSION: &str = "2016-11-15";

/// One Region as DescribeRegions lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedRegion {
    pub name: String,
    /// `opt-in-not-required` or `opted-in` (or no status, as older answers and moto give).
    pub enabled: bool,
}

/// Every Region of the caller's partition, with whether it is enabled for the account
/// (`DescribeRegions` with `AllRegions=true`), asked in the configuration's Region.
pub(crate) async fn describe_regions(
    config: &SdkConfig,
) -> Result<Vec<ListedRegion>, SdkError<ApiError, HttpResponse>> {
    let region = config
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let endpoint = endpoint_url(config, "EC2").unwrap_or_else(|| {
        default_endpoint(
            &region,
            config.use_fips().unwrap_or(false),
            config.use_dual_stack().unwrap_or(false),
        )
    });
    Call {
        service: "ec2",
        operation: "DescribeRegions",
        endpoint,
        signing_region: region,
        content_type: "application/x-www-form-urlencoded; charset=utf-8",
        target: None,
        path: "/",
        body: format!("Action=DescribeRegions&Version={EC2_API_VERSION}&AllRegions=true"),
    }
    .send(config, parse_response)
    .await
}

fn default_endpoint(region: &str, fips: bool, dual_stack: bool) -> String {
    let (suffix, dual_suffix) = partition_suffixes(region);
    // EC2's FIPS endpoints in GovCloud are its ordinary ones (the ruleset's special case).
    let host = if fips && !region.starts_with("us-gov-") {
        "ec2-fips"
    } else {
        "ec2"
    };
    let suffix = if dual_stack { dual_suffix } else { suffix };
    format!("https://{host}.{region}.{suffix}")
}

fn parse_response(
    response: &HttpResponse,
) -> Result<Vec<ListedRegion>, OrchestratorError<ApiError>> {
    let body = crate::signed::query_body(response)?;
    parse_regions(body).map_err(|e| {
        OrchestratorError::operation(ApiError::unreadable(format!(
            "unreadable DescribeRegions answer: {e}"
        )))
    })
}

/// `<DescribeRegionsResponse><regionInfo><item><regionName>..</regionName><optInStatus>..`
fn parse_regions(body: &str) -> Result<Vec<ListedRegion>, String> {
    let mut doc = Document::new(body);
    let mut root = doc.root_element().map_err(|e| e.to_string())?;
    if !root.start_el().matches("DescribeRegionsResponse") {
        return Err(format!("root element {}", root.start_el().local()));
    }
    let mut out = Vec::new();
    let mut listed = false;
    while let Some(mut tag) = root.next_tag() {
        if !tag.start_el().matches("regionInfo") {
            continue;
        }
        listed = true;
        while let Some(mut item) = tag.next_tag() {
            if item.start_el().matches("item") {
                out.push(parse_item(&mut item)?);
            }
        }
    }
    // An answer without a Region list, or with an empty one, is not "no Regions to scan":
    // every account has Regions. Scanning nothing would pass everything.
    if !listed || out.is_empty() {
        return Err("the answer lists no Region".to_owned());
    }
    Ok(out)
}

fn parse_item(item: &mut ScopedDecoder<'_, '_>) -> Result<ListedRegion, String> {
    let mut name = None;
    let mut status = None;
    while let Some(mut field) = item.next_tag() {
        if field.start_el().matches("regionName") {
            name = Some(
                try_data(&mut field)
                    .map_err(|e| e.to_string())?
                    .into_owned(),
            );
        } else if field.start_el().matches("optInStatus") {
            status = Some(
                try_data(&mut field)
                    .map_err(|e| e.to_string())?
                    .into_owned(),
            );
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or("a Region without regionName")?;
    let enabled = matches!(
        status.as_deref(),
        None | Some("opt-in-not-required") | Some("opted-in")
    );
    Ok(ListedRegion { name, enabled })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_types::body::SdkBody;
    use std::time::SystemTime;

    #[test]
    fn reads_regions_and_their_opt_in_status() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <regionInfo>
    <item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>
    <item><regionName>af-south-1</regionName><regionEndpoint>ec2.af-south-1.amazonaws.com</regionEndpoint><optInStatus>not-opted-in</optInStatus></item>
    <item><regionName>me-central-1</regionName><optInStatus>opted-in</optInStatus></item>
    <item><regionName>eu-west-1</regionName></item>
  </regionInfo>
</DescribeRegionsResponse>"#;
        let regions = parse_regions(body).expect("parses");
        let got: Vec<(&str, bool)> = regions
            .iter()
            .map(|r| (r.name.as_str(), r.enabled))
            .collect();
        assert_eq!(
            got,
            vec![
                ("us-east-1", true),
                ("af-south-1", false),
                ("me-central-1", true),
                ("eu-west-1", true)
            ]
        );
    }

    #[test]
    fn an_answer_that_is_not_a_region_list_is_an_error_not_an_empty_list() {
        assert!(parse_regions("<Other/>").is_err());
        assert!(parse_regions("not xml").is_err());
        let nameless = "<DescribeRegionsResponse><regionInfo><item><optInStatus>opted-in</optInStatus></item></regionInfo></DescribeRegionsResponse>";
        assert!(parse_regions(nameless).is_err());
        // No list, or an empty one: an error, never "nothing to scan".
        assert!(parse_regions(
            "<DescribeRegionsResponse><requestId>x</requestId></DescribeRegionsResponse>"
        )
        .is_err());
        assert!(
            parse_regions("<DescribeRegionsResponse><regionInfo/></DescribeRegionsResponse>")
                .is_err()
        );
    }

    #[test]
    fn reads_ec2_error_codes() {
        let body = "<?xml version=\"1.0\"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>abc</RequestID></Response>";
        let meta = crate::signed::parse_query_error(body, 403);
        assert_eq!(meta.code(), Some("UnauthorizedOperation"));
        assert_eq!(
            meta.message(),
            Some("You are not authorized to perform this operation.")
        );
        let meta = crate::signed::parse_query_error("<html>bad gateway</html>", 502);
        assert_eq!(meta.code(), None);
        assert_eq!(meta.message(), Some("HTTP 502 without an AWS error code"));
    }

    #[test]
    fn default_endpoints_follow_the_partition() {
        assert_eq!(
            default_endpoint("eu-west-1", false, false),
            "https://ec2.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            default_endpoint("cn-north-1", false, false),
            "https://ec2.cn-north-1.amazonaws.com.cn"
        );
        // GovCloud's EC2 endpoints are FIPS already (aws-sdk-ec2's endpoint tests).
        assert_eq!(
            default_endpoint("us-gov-west-1", true, false),
            "https://ec2.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            default_endpoint("us-east-1", true, false),
            "https://ec2-fips.us-east-1.amazonaws.com"
        );
        assert_eq!(
            default_endpoint("us-isof-south-1", false, false),
            "https://ec2.us-isof-south-1.csp.hci.ic.gov"
        );
        assert_eq!(
            default_endpoint("eusc-de-east-1", false, true),
            "https://ec2.eusc-de-east-1.api.amazonwebservices.eu"
        );
        assert_eq!(
            default_endpoint("us-east-1", false, true),
            "https://ec2.us-east-1.api.aws"
        );
    }

    /// The signature of a fixed request, time and key: computed independently with botocore
    /// (`botocore.auth.SigV4Auth`, see the comment in the test body) so that a wrong service
    /// name, Region, body hash or header set fails here, not only against real AWS.
    #[test]
    fn signs_like_botocore() {
        let body = format!("Action=DescribeRegions&Version={EC2_API_VERSION}&AllRegions=true");
        let request = http::Request::builder()
            .method("POST")
            .uri("https://ec2.eu-west-1.amazonaws.com/")
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .header("host", "ec2.eu-west-1.amazonaws.com")
            .body(SdkBody::from(body))
            .expect("request");
        let mut request = HttpRequest::try_from(request).expect("request");
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        crate::signed::sign_request(&mut request, &credentials, "ec2", "eu-west-1", time)
            .expect("signs");
        let auth = request
            .headers()
            .get("authorization")
            .expect("an Authorization header");
        assert_eq!(auth, BOTOCORE_AUTHORIZATION);
    }

    /// From:
    /// ```python
    /// from botocore.awsrequest import AWSRequest; from botocore.auth import SigV4Auth
    /// from botocore.credentials import Credentials; import datetime, unittest.mock as m
    /// body = "Action=DescribeRegions&Version=2016-11-15&AllRegions=true"
    /// r = AWSRequest("POST", "https://ec2.eu-west-1.amazonaws.com/", data=body,
    ///     headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"})
    /// with m.patch("botocore.auth.get_current_datetime",
    ///              return_value=datetime.datetime(2023, 11, 14, 22, 13, 20)):
    ///     SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    ///               "ec2", "eu-west-1").add_auth(r)
    /// print(r.headers["Authorization"])
    /// ```
    const BOTOCORE_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=4b88fab9486f9da4328c89426bf9dfb7aeba2d010a4940cee311224fb064e281";
}
