//! A real AWS emulator for the integration tests: moto in server mode, one server per test
//! binary on a free loopback port, shared by the tests through a lock and reset between them.
//!
//! moto comes from `scripts/setup-moto.sh` (pinned version, venv under ~/.cache); set
//! `TRAILSEAL_MOTO_SERVER` to use another `moto_server`. Without moto these tests fail with
//! that instruction: they never pass silently.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub struct Moto {
    pub port: u16,
    pub bin_dir: PathBuf,
    pub recording: PathBuf,
    _child: Mutex<Child>,
}

static SERVER: OnceLock<Moto> = OnceLock::new();
static LOCK: Mutex<()> = Mutex::new(());

fn moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("TRAILSEAL_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let venv = home.join(".cache/trailseal-venv/bin/moto_server");
    assert!(
        venv.exists(),
        "moto is not installed: run scripts/setup-moto.sh (or set TRAILSEAL_MOTO_SERVER)"
    );
    venv
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}

impl Moto {
    fn start() -> Moto {
        let server = moto_server();
        let bin_dir = server.parent().expect("moto_server's directory").to_owned();
        let port = free_port();
        let recording = std::env::temp_dir().join(format!("trailseal-moto-{port}.jsonl"));
        // The shell keeps moto alive while our end of its stdin is open: when this test
        // process exits (however it exits), `read` returns and moto is stopped by PID.
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" -H 127.0.0.1 -p "$1" </dev/null >"$2.log" 2>&1 & pid=$!; read _; kill "$pid""#)
            .arg(&server)
            .arg(port.to_string())
            .arg(&recording)
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}; see {}.log",
                recording.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            port,
            bin_dir,
            recording,
            _child: Mutex::new(child),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `POST /moto-api/...` (reset, recorder/start-recording, ...).
    pub fn post(&self, path: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("write to moto");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("read from moto");
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
    }

    /// Seeds a scenario with scripts/seed-moto.py (boto3 from moto's venv).
    pub fn seed(&self, args: &[&str]) {
        let script = Path::new(&manifest_dir()).join("../../scripts/seed-moto.py");
        let out = Command::new(self.bin_dir.join("python"))
            .arg(script)
            .args(["--endpoint", &self.endpoint()])
            .args(args)
            .output()
            .expect("run scripts/seed-moto.py");
        assert!(
            out.status.success(),
            "seeding failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a Python snippet against the emulator; it may call `client(service, region)` for
    /// a boto3 client.
    pub fn python(&self, code: &str) {
        self.python_output(code);
    }

    /// [`Moto::python`], returning what the snippet printed.
    pub fn python_output(&self, code: &str) -> String {
        let prelude = format!(
            "import boto3, json\n\
             from botocore.config import Config\n\
             def client(service, region='us-east-1'):\n    \
                 return boto3.client(service, region_name=region, endpoint_url='{}', \
                 aws_access_key_id='testing', aws_secret_access_key='testing', \
                 config=Config(s3={{'addressing_style': 'path'}}))\n",
            self.endpoint()
        );
        let out = Command::new(self.bin_dir.join("python"))
            .arg("-c")
            .arg(prelude + code)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The requests recorded since the last `start_recording`.
    pub fn recorded(&self) -> String {
        std::fs::read_to_string(&self.recording).unwrap_or_default()
    }

    pub fn start_recording(&self) {
        self.post("/moto-api/recorder/reset-recording");
        self.post("/moto-api/recorder/start-recording");
    }

    pub fn stop_recording(&self) {
        self.post("/moto-api/recorder/stop-recording");
    }
}

/// The shared server, reset to an empty account, held exclusively until the guard drops.
pub fn moto() -> (MutexGuard<'static, ()>, &'static Moto) {
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let server = SERVER.get_or_init(Moto::start);
    server.post("/moto-api/reset");
    (guard, server)
}

/// `trailseal` pointed at the emulator with static test credentials and nothing from the
/// developer's own AWS configuration.
pub fn trailseal(server: &Moto) -> assert_cmd::Command {
    assert_cmd::Command::from_std(trailseal_at(&server.endpoint()))
}

/// The same as a `std::process::Command` (to spawn and kill), pointed at `endpoint` (the
/// emulator, or a proxy in front of it).
pub fn trailseal_at(endpoint: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("trailseal"));
    for var in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/trailseal-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/trailseal-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// The package directory of this checkout: cargo sets CARGO_MANIFEST_DIR when it runs tests
/// (the compile-time value is only a fallback: a target directory shared between checkouts at
/// different paths may hold binaries built elsewhere).
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
}
