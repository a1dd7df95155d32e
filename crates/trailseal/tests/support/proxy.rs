//! A loopback HTTP proxy in front of moto that injects faults into *mutating* calls (any
//! `x-amz-target` action that is not a read: not `Describe*`, `Get*`, `List*`, `Lookup*`):
//! the k-th one is answered with a non-retryable AWS error instead of reaching moto, or is
//! forwarded and then held (no answer) so that the test can kill the caller mid-call. It can
//! also refuse AssumeRole into one account, or answer a share of all calls with throttling,
//! server errors and stalls (organization audits).
//!
//! One request per connection (`Connection: close` both ways): the SDK opens a new connection
//! for the next request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// Requests the chaos fault has already seen (one fault per request at most).
static FAULTED: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// The k-th mutating call fails with AccessDeniedException (HTTP 400).
    Fail(usize),
    /// The k-th mutating call reaches moto, then the proxy never answers.
    Hold(usize),
    /// The first `times` Query-protocol requests with `Action=action` in their body are
    /// answered with EC2's throttling error (HTTP 503 RequestLimitExceeded).
    ThrottleQuery { action: &'static str, times: usize },
    /// sts:AssumeRole into a role of `account` is refused (HTTP 403 AccessDenied).
    DenyAssumeRole { account: &'static str },
    /// Security Hub is not enabled in `region`: its calls are answered with HTTP 400
    /// InvalidAccessException.
    NoSecurityHub { region: &'static str },
    /// Of every `every` requests (counted over all, reads included, each request once): the
    /// first is answered with a throttling error in its protocol's form (HTTP 400
    /// ThrottlingException, S3's 503 SlowDown), the second with HTTP 500, the third is held
    /// without an answer for `stall_secs` and then dropped. The rest, and every retry of a
    /// faulted request, reach moto.
    Chaos { every: usize, stall_secs: u64 },
}

pub struct Proxy {
    pub port: u16,
    /// Mutating calls seen so far.
    pub mutating: Arc<AtomicUsize>,
    /// Signalled when a held call has reached moto.
    pub held: mpsc::Receiver<()>,
}

impl Proxy {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn is_mutating(target: &str) -> bool {
    let action = target.rsplit('.').next().unwrap_or_default();
    !["Describe", "Get", "List", "Lookup"]
        .iter()
        .any(|p| action.starts_with(p))
}

/// Starts a proxy to moto on `upstream` (port) with `fault`; it serves until the test process
/// ends.
pub fn start(upstream: u16, fault: Fault) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let port = listener.local_addr().expect("address").port();
    let mutating = Arc::new(AtomicUsize::new(0));
    let (tx, held) = mpsc::channel();
    let count = Arc::clone(&mutating);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let count = Arc::clone(&count);
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = serve(client, upstream, fault, &count, &tx);
            });
        }
    });
    Proxy {
        port,
        mutating,
        held,
    }
}

fn serve(
    mut client: TcpStream,
    upstream: u16,
    fault: Fault,
    count: &AtomicUsize,
    held: &mpsc::Sender<()>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut length = 0usize;
    let mut target = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("x-amz-target:") {
            target = line["x-amz-target:".len()..].trim().to_owned();
        }
        if lower.starts_with("connection:") {
            continue;
        }
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        head.extend_from_slice(line.as_bytes());
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if let Fault::ThrottleQuery { action, times } = fault {
        let wanted = format!("Action={action}&");
        if String::from_utf8_lossy(&body).contains(&wanted)
            && count.fetch_add(1, Ordering::SeqCst) < times
        {
            let error = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded (injected by the test proxy).</Message></Error></Errors><RequestID>test</RequestID></Response>";
            write!(
                client,
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{error}",
                error.len()
            )?;
            return Ok(());
        }
    }
    if let Fault::NoSecurityHub { region } = fault {
        if String::from_utf8_lossy(&head).contains(&format!("/{region}/securityhub/aws4_request")) {
            let error = r#"{"__type":"InvalidAccessException","Message":"Account 123456789012 is not subscribed to AWS Security Hub (injected by the test proxy)"}"#;
            write!(
                client,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nx-amzn-ErrorType: InvalidAccessException\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{error}",
                error.len()
            )?;
            return Ok(());
        }
    }
    if let Fault::DenyAssumeRole { account } = fault {
        let body = String::from_utf8_lossy(&body);
        if body.contains("Action=AssumeRole&") && body.contains(&format!("%3A{account}%3Arole")) {
            let error = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole (injected by the test proxy)</Message></Error><RequestId>test</RequestId></ErrorResponse>";
            write!(
                client,
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{error}",
                error.len()
            )?;
            return Ok(());
        }
    }
    if let Fault::Chaos { every, stall_secs } = fault {
        // Each request (by its first line, signing key, target and body) is faulted on one
        // attempt at most: its retry reaches moto, so the results must equal a clean run's.
        let head_text = String::from_utf8_lossy(&head);
        // The credential scope without its date: access key, Region, service.
        let signer: Vec<&str> = head_text
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split(',').next())
            .unwrap_or_default()
            .split('/')
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, part)| part)
            .collect();
        let signer = signer.join("/");
        let identity = format!(
            "{} {signer} {target} {}",
            head_text.lines().next().unwrap_or_default(),
            String::from_utf8_lossy(&body)
        );
        let first_time = FAULTED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(identity);
        let n = if first_time {
            count.fetch_add(1, Ordering::SeqCst) % every.max(4)
        } else {
            0
        };
        let (status, content_type, error) = if !target.is_empty() {
            (
                "400 Bad Request",
                "application/x-amz-json-1.1",
                r#"{"__type":"ThrottlingException","message":"Rate exceeded (injected by the test proxy)"}"#
                    .to_owned(),
            )
        } else if String::from_utf8_lossy(&body).contains("Action=") {
            (
                "400 Bad Request",
                "text/xml",
                "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded (injected by the test proxy)</Message></Error><RequestId>test</RequestId></ErrorResponse>".to_owned(),
            )
        } else {
            (
                "503 Slow Down",
                "application/xml",
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate (injected by the test proxy).</Message></Error>".to_owned(),
            )
        };
        match n {
            1 => {
                write!(
                    client,
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{error}",
                    error.len()
                )?;
                return Ok(());
            }
            2 => {
                let error = "<Error><Code>InternalError</Code><Message>injected by the test proxy</Message></Error>";
                let error = if target.is_empty() {
                    error.to_owned()
                } else {
                    r#"{"__type":"InternalFailure","message":"injected by the test proxy"}"#
                        .to_owned()
                };
                write!(
                    client,
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{error}",
                    error.len()
                )?;
                return Ok(());
            }
            3 => {
                std::thread::sleep(Duration::from_secs(stall_secs));
                return Ok(());
            }
            _ => {}
        }
    }
    let n = if !target.is_empty() && is_mutating(&target) {
        count.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        0
    };
    if let Fault::Fail(k) = fault {
        if n == k {
            let error =
                r#"{"__type":"AccessDeniedException","message":"injected by the test proxy"}"#;
            write!(
                client,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{error}",
                error.len()
            )?;
            return Ok(());
        }
    }
    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
    server.write_all(&head)?;
    server.write_all(&body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    if let Fault::Hold(k) = fault {
        if n == k {
            let _ = held.send(());
            std::thread::sleep(Duration::from_secs(3600));
            return Ok(());
        }
    }
    client.write_all(&answer)?;
    Ok(())
}
