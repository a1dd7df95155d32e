//! The Lambda Runtime API loop: the `bootstrap` of a `provided.al2023` function is the
//! trailseal binary itself.
//!
//! The Runtime API (AWS Lambda Developer Guide, "Using the Lambda runtime API for custom
//! runtimes") is plain HTTP/1.1 on `AWS_LAMBDA_RUNTIME_API` (loopback inside the sandbox):
//! `GET /2018-06-01/runtime/invocation/next` blocks until an event arrives (its request id in
//! `Lambda-Runtime-Aws-Request-Id`), the answer goes to `POST .../invocation/{id}/response`,
//! a failure to `POST .../invocation/{id}/error`. Three requests, one connection each, with the
//! standard library: `lambda_runtime` (which does the same over hyper and tower) cost 11
//! crates and about 25 s of a clean debug build (bench/README.md, "Build cost"), which the
//! build budget did not have.
//!
//! Each invocation runs [`super::handle`] and answers with its [`super::Outcome`] (also logged
//! as one JSON line). An event that cannot be used is answered, not failed: Lambda retries a
//! failed asynchronous invocation, and a bad event would fail the same way every time. Only a
//! delivery that failed (PutEvaluations, sns:Publish) is returned as an error, so that Lambda
//! retries it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use aws_config::SdkConfig;
use serde_json::Value;

use super::{handle, Checks, Settings};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// A response of the Runtime API: status, the request id header, the body.
struct Answer {
    status: u16,
    request_id: Option<String>,
    body: Vec<u8>,
}

/// One HTTP/1.1 request to the Runtime API (`Connection: close`, body by Content-Length).
fn request(api: &str, method: &str, path: &str, body: &[u8]) -> Result<Answer, String> {
    let fail = |what: &str, e: std::io::Error| format!("{what} {api}{path}: {e}");
    let mut stream = TcpStream::connect(api).map_err(|e| fail("cannot connect to", e))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nUser-Agent: trailseal/{}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| fail("cannot send to", e))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| fail("no answer from", e))?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{api}{path} answered {line:?}, not HTTP"))?;
    // X-Ray's trace header (Lambda-Runtime-Trace-Id) is not passed on: setting
    // _X_AMZN_TRACE_ID would mean changing the environment of a multi-threaded process.
    let (mut length, mut request_id) = (None, None);
    loop {
        let mut header = String::new();
        reader
            .read_line(&mut header)
            .map_err(|e| fail("cut off answer from", e))?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim().to_owned();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "lambda-runtime-aws-request-id" => request_id = Some(value),
            _ => {}
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader
                .read_exact(&mut body)
                .map_err(|e| fail("cut off answer from", e))?;
        }
        None => {
            reader
                .read_to_end(&mut body)
                .map_err(|e| fail("cut off answer from", e))?;
        }
    }
    Ok(Answer {
        status,
        request_id,
        body,
    })
}

/// Serves invocations until the Runtime API goes away (Lambda stops the sandbox by killing the
/// process; an error here means it cannot be reached at all).
pub async fn run(config: SdkConfig, settings: Settings, checks: Checks<'_>) -> Result<(), String> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set".to_owned())?;
    loop {
        // The long poll blocks: off the async workers.
        let poll_api = api.clone();
        let next = tokio::task::spawn_blocking(move || request(&poll_api, "GET", NEXT, b""))
            .await
            .map_err(|e| e.to_string())??;
        if next.status != 200 {
            return Err(format!(
                "{NEXT} answered HTTP {}: {}",
                next.status,
                String::from_utf8_lossy(&next.body)
            ));
        }
        let id = next
            .request_id
            .ok_or("an invocation without Lambda-Runtime-Aws-Request-Id")?;
        let (path, answer) = match serde_json::from_slice::<Value>(&next.body) {
            Ok(event) => {
                let outcome = handle(&config, &settings, &event, checks).await;
                // Serialized once: the log line and the answer.
                let logged = serde_json::to_value(&outcome).unwrap_or_default();
                println!("{logged}");
                if outcome.delivery_failed {
                    (
                        format!("/2018-06-01/runtime/invocation/{id}/error"),
                        serde_json::json!({
                            "errorType": "DeliveryFailed",
                            "errorMessage": outcome.error.unwrap_or_default(),
                        }),
                    )
                } else {
                    (
                        format!("/2018-06-01/runtime/invocation/{id}/response"),
                        logged,
                    )
                }
            }
            // Not JSON at all: answered as unusable (retrying would not change it).
            Err(e) => (
                format!("/2018-06-01/runtime/invocation/{id}/response"),
                serde_json::json!({ "error": format!("the event is not JSON: {e}") }),
            ),
        };
        let body = answer.to_string().into_bytes();
        let post_api = api.clone();
        let posted = tokio::task::spawn_blocking(move || request(&post_api, "POST", &path, &body))
            .await
            .map_err(|e| e.to_string())?;
        match posted {
            Ok(a) if a.status < 300 => {}
            Ok(a) => eprintln!(
                "trailseal: error: the Runtime API refused the answer of {id}: HTTP {}: {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            ),
            Err(e) => eprintln!("trailseal: error: the answer of {id} was not delivered: {e}"),
        }
    }
}
