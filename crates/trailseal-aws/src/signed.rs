//! Thin AWS calls: one SigV4-signed request through the smithy orchestrator the SDK crates
//! use, for services trailseal calls once or twice (EC2 DescribeRegions, Organizations
//! DescribeOrganization and ListAccounts), without their SDK crate.
//!
//! Why: every AWS SDK crate costs minutes of build on a 2-core machine (bench/README.md,
//! "Build cost"). The rule: a full SDK crate where a service needs many operations, a [`Call`]
//! where it needs one or two.
//!
//! A [`Call`] is configured from the same [`SdkConfig`] as the SDK clients: its HTTP client,
//! its retry settings (standard retries with backoff; AWS's throttling and transient error
//! codes, 5xx and connection errors are retried), its timeouts, its sleep and time sources,
//! and its endpoint settings (`AWS_ENDPOINT_URL_<SERVICE>`, the profile's `services` section,
//! `AWS_ENDPOINT_URL`). Each attempt is signed anew with `aws-sigv4` from the configured
//! credentials provider. Errors are ordinary [`SdkError`]s, so [`crate::error::describe`]
//! words them like every other call.

use std::fmt;
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_runtime::retries::classifiers::AwsErrorCodeClassifier;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::{ErrorMetadata, ProvideErrorMetadata};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::service_config::ServiceConfigKey;
use serde::Deserialize;

/// An AWS error answer (code and message), or an answer that could not be read.
#[derive(Debug)]
pub(crate) struct ApiError {
    meta: ErrorMetadata,
}

impl ApiError {
    pub(crate) fn new(meta: ErrorMetadata) -> ApiError {
        ApiError { meta }
    }

    /// An answer that is not what the operation returns.
    pub(crate) fn unreadable(what: impl fmt::Display) -> ApiError {
        ApiError::new(ErrorMetadata::builder().message(what.to_string()).build())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.meta.code(), self.meta.message()) {
            (Some(code), Some(message)) => write!(f, "{code}: {message}"),
            (Some(code), None) => f.write_str(code),
            (None, Some(message)) => f.write_str(message),
            (None, None) => f.write_str("unrecognised answer"),
        }
    }
}

impl std::error::Error for ApiError {}

impl ProvideErrorMetadata for ApiError {
    fn meta(&self) -> &ErrorMetadata {
        &self.meta
    }
}

/// One request: where it goes, how it is signed, what it carries.
pub(crate) struct Call {
    /// SigV4 signing name (`ec2`, `organizations`).
    pub service: &'static str,
    pub operation: &'static str,
    pub endpoint: String,
    pub signing_region: String,
    pub content_type: &'static str,
    /// `X-Amz-Target` (JSON protocols).
    pub target: Option<String>,
    /// The request path (`/` for Query and JSON protocols; REST-JSON operations have their own).
    pub path: &'static str,
    pub body: String,
}

impl Call {
    /// Sends the request with the configuration's client, retries and timeouts; `parse` reads
    /// the answer (an error status included).
    pub(crate) async fn send<T: Send + Sync + fmt::Debug + 'static>(
        self,
        config: &SdkConfig,
        parse: fn(&HttpResponse) -> Result<T, OrchestratorError<ApiError>>,
    ) -> Result<T, SdkError<ApiError, HttpResponse>> {
        let credentials = match config.credentials_provider() {
            Some(provider) => provider
                .provide_credentials()
                .await
                .map_err(SdkError::construction_failure)?,
            None => {
                return Err(SdkError::construction_failure(
                    "no credentials provider is configured",
                ))
            }
        };
        let mut builder = Operation::builder()
            .service_name(self.service)
            .operation_name(self.operation)
            .endpoint_url(&self.endpoint)
            .no_auth()
            .with_connection_poisoning()
            .interceptor(Signer {
                credentials,
                region: self.signing_region.clone(),
                service: self.service,
            })
            .standard_retry(&standard_retries(config))
            .retry_classifier(AwsErrorCodeClassifier::<ApiError>::new())
            .retry_classifier(TransientErrorClassifier::<ApiError>::new())
            .retry_classifier(HttpStatusCodeClassifier::default());
        if let Some(client) = config.http_client() {
            builder = builder.http_client(client);
        }
        builder = builder.timeout_config(
            config
                .timeout_config()
                .cloned()
                .unwrap_or_else(|| TimeoutConfig::builder().build()),
        );
        if let Some(version) = config.behavior_version() {
            builder = builder.behavior_version(version);
        }
        if let Some(sleep) = config.sleep_impl() {
            builder = builder.sleep_impl(sleep);
        }
        if let Some(time) = config.time_source() {
            builder = builder.time_source(time);
        }
        let content_type = self.content_type;
        let target = self.target;
        let body = self.body;
        let path = self.path;
        let operation = builder
            .serializer(move |(): ()| {
                let mut request = http::Request::builder()
                    .method("POST")
                    .uri(path)
                    .header("content-type", content_type);
                if let Some(target) = &target {
                    request = request.header("x-amz-target", target.as_str());
                }
                let request = request.body(SdkBody::from(body.clone()))?;
                Ok(HttpRequest::try_from(request)?)
            })
            .deserializer(parse)
            .build();
        operation.invoke(()).await
    }
}

/// The configuration's retries in standard mode (the Operation builder's retry strategy is the
/// standard one; a configuration in adaptive mode keeps its attempts and backoff).
fn standard_retries(config: &SdkConfig) -> RetryConfig {
    let configured = config
        .retry_config()
        .cloned()
        .unwrap_or_else(RetryConfig::standard);
    RetryConfig::standard()
        .with_max_attempts(configured.max_attempts())
        .with_initial_backoff(configured.initial_backoff())
        .with_max_backoff(configured.max_backoff())
}

/// An endpoint override for a service, as the SDK crates resolve it: service-specific first
/// (`AWS_ENDPOINT_URL_<SERVICE_ID>`, the profile's `services` section), then `AWS_ENDPOINT_URL`
/// / `endpoint_url`. `service_id` is the SDK's service id (`EC2`, `Organizations`).
pub(crate) fn endpoint_url(config: &SdkConfig, service_id: &str) -> Option<String> {
    let key = ServiceConfigKey::builder()
        .service_id(service_id)
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build();
    key.ok()
        .and_then(|key| config.service_config()?.load_config(key))
        .or_else(|| config.endpoint_url().map(str::to_owned))
}

/// The partitions' DNS suffixes (plain, dual-stack), as in the SDK's endpoint ruleset
/// (`partitions.json`: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f,
/// aws-eusc), by Region prefix.
const PARTITION_SUFFIXES: &[(&str, &str, &str)] = &[
    ("cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
    ("us-isob-", "sc2s.sgov.gov", "api.aws.scloud"),
    ("us-iso-", "c2s.ic.gov", "api.aws.ic.gov"),
    ("eu-isoe-", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
    ("us-isof-", "csp.hci.ic.gov", "api.aws.hci.ic.gov"),
    ("eusc-", "amazonaws.eu", "api.amazonwebservices.eu"),
];

/// The DNS suffixes (plain, dual-stack) of the partition `region` is in.
pub(crate) fn partition_suffixes(region: &str) -> (&'static str, &'static str) {
    PARTITION_SUFFIXES
        .iter()
        .find(|(prefix, _, _)| region.starts_with(prefix))
        .map_or(("amazonaws.com", "api.aws"), |(_, s, d)| (*s, *d))
}

/// A JSON protocol error (JSON 1.1, REST-JSON): `{"__type": "[namespace#]Code",
/// "message"|"Message": ...}`, or the `x-amzn-ErrorType` header.
pub(crate) fn parse_json_error(response: &HttpResponse) -> ErrorMetadata {
    let body = body_text(response);
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let code = value
        .get("__type")
        .or_else(|| value.get("code"))
        .and_then(|v| v.as_str())
        .or_else(|| response.headers().get("x-amzn-errortype"))
        .map(|t| {
            let t = t.split(':').next().unwrap_or(t);
            t.rsplit('#').next().unwrap_or(t).to_owned()
        })
        .filter(|c| !c.is_empty());
    let message = value
        .get("message")
        .or_else(|| value.get("Message"))
        .and_then(|v| v.as_str());
    let mut builder = ErrorMetadata::builder();
    match code {
        Some(code) => builder = builder.code(code),
        None => {
            builder = builder.message(format!(
                "HTTP {} without an AWS error code",
                response.status().as_u16()
            ))
        }
    }
    if let Some(m) = message {
        builder = builder.message(m);
    }
    builder.build()
}

/// The text of an answer's body (empty when it is not UTF-8 or not in memory).
/// The JSON answer of a JSON-protocol call (`operation` names it in the error), or the
/// service's error when the call failed.
pub(crate) fn parse_json<T: for<'de> Deserialize<'de>>(
    response: &HttpResponse,
    operation: &str,
) -> Result<T, OrchestratorError<ApiError>> {
    let body = body_text(response);
    if !response.status().is_success() {
        return Err(OrchestratorError::operation(ApiError::new(
            parse_json_error(response),
        )));
    }
    serde_json::from_str(body).map_err(|e| {
        OrchestratorError::operation(ApiError::unreadable(format!(
            "unreadable {operation} answer: {e}"
        )))
    })
}

pub(crate) fn body_text(response: &HttpResponse) -> &str {
    response
        .body()
        .bytes()
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or_default()
}

/// Signs each attempt (after the endpoint is applied, so the Host is the real one) with SigV4.
#[derive(Debug)]
struct Signer {
    credentials: Credentials,
    region: String,
    service: &'static str,
}

impl Intercept for Signer {
    fn name(&self) -> &'static str {
        "trailseal SigV4 signer"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        sign_request(
            request,
            &self.credentials,
            self.service,
            &self.region,
            SystemTime::now(),
        )
    }
}

pub(crate) fn sign_request(
    request: &mut HttpRequest,
    credentials: &Credentials,
    service: &str,
    region: &str,
    time: SystemTime,
) -> Result<(), BoxError> {
    let identity = Identity::from(credentials.clone());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()?;
    let body = request
        .body()
        .bytes()
        .ok_or("the request body is not in memory")?;
    let signable = SignableRequest::new(
        request.method(),
        request.uri(),
        request.headers().iter(),
        SignableBody::Bytes(body),
    )?;
    let (instructions, _signature) = sign(signable, &params.into())?.into_parts();
    let (headers, _query) = instructions.into_parts();
    for header in headers {
        let mut value = http::HeaderValue::from_str(header.value())?;
        value.set_sensitive(header.sensitive());
        request.headers_mut().insert(header.name(), value);
    }
    Ok(())
}

/// The body of a Query protocol answer, or its error (read with [`parse_query_error`]) when
/// the status is not a success.
pub(crate) fn query_body(response: &HttpResponse) -> Result<&str, OrchestratorError<ApiError>> {
    let body = body_text(response);
    if response.status().is_success() {
        Ok(body)
    } else {
        Err(OrchestratorError::operation(ApiError::new(
            parse_query_error(body, response.status().as_u16()),
        )))
    }
}

/// A Query protocol error document: EC2's `<Response><Errors><Error>` or the other services'
/// `<ErrorResponse><Error>`, each with `<Code>` and `<Message>`. Without a code, the HTTP status
/// stands in.
pub(crate) fn parse_query_error(body: &str, status: u16) -> ErrorMetadata {
    use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder};
    type Fields = (Option<String>, Option<String>);
    fn read_error(error: &mut ScopedDecoder<'_, '_>, fields: &mut Fields) {
        while let Some(mut field) = error.next_tag() {
            let name = field.start_el().local().to_owned();
            if let Ok(data) = try_data(&mut field) {
                match name.as_str() {
                    "Code" => fields.0 = Some(data.into_owned()),
                    "Message" => fields.1 = Some(data.into_owned()),
                    _ => {}
                }
            }
        }
    }
    let mut fields: Fields = (None, None);
    let mut doc = Document::new(body);
    if let Ok(mut root) = doc.root_element() {
        while let Some(mut tag) = root.next_tag() {
            if tag.start_el().matches("Error") {
                read_error(&mut tag, &mut fields);
            } else if tag.start_el().matches("Errors") {
                while let Some(mut error) = tag.next_tag() {
                    if error.start_el().matches("Error") {
                        read_error(&mut error, &mut fields);
                    }
                }
            }
        }
    }
    let mut builder = ErrorMetadata::builder();
    match fields {
        (Some(code), message) => {
            builder = builder.code(code);
            if let Some(m) = message {
                builder = builder.message(m);
            }
        }
        (None, _) => builder = builder.message(format!("HTTP {status} without an AWS error code")),
    }
    builder.build()
}
