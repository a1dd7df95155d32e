//! Running both evaluators: trailseal in process, iam-simulate through one node run.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sim {
    Decision(String),
    /// iam-simulate refused the input (its policy validation, usually).
    Rejected(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    /// `None` when trailseal could not parse the policy.
    pub(crate) trailseal: Option<Decision>,
    pub(crate) via_iam: Vec<String>,
    /// For each statement, whether it applies in trailseal (`None`: undecided).
    pub(crate) applies: Vec<Option<bool>>,
    pub(crate) simulate: Sim,
    pub(crate) ignored_keys: Vec<String>,
    /// For each statement, whether it applies in iam-simulate; asked only on disagreement.
    pub(crate) sim_applies: Option<Vec<bool>>,
}

impl Outcome {
    /// The iam-simulate result trailseal's decision maps to, per the module doc.
    pub(crate) fn expected(&self, case: &Case) -> Option<&'static str> {
        Some(match self.trailseal? {
            Decision::Allow
                if case.identity == Identity::NoPolicies
                    && matches!(case.caller, Caller::Iam { .. })
                    && !self.via_iam.is_empty() =>
            {
                "ImplicitlyDenied"
            }
            Decision::Allow => "Allowed",
            Decision::ExplicitDeny => "ExplicitlyDenied",
            Decision::ImplicitDeny => "ImplicitlyDenied",
            Decision::Indeterminate => return None,
        })
    }

    pub(crate) fn agrees(&self, case: &Case) -> bool {
        match &self.simulate {
            Sim::Decision(d) => self.expected(case) == Some(d.as_str()),
            // A policy iam-simulate refuses is not compared (counted and reported instead).
            Sim::Rejected(_) => true,
        }
    }
}

pub(crate) type Applies = Vec<Option<bool>>;

pub(crate) fn trailseal(case: &Case) -> (Option<Decision>, Vec<String>, Applies) {
    match Policy::parse(&case.policy.to_string()) {
        Ok(p) => {
            let e = evaluate(&p, &case.request());
            let applies: Applies = e
                .statements
                .iter()
                .map(|r| match r.applies {
                    Tri::True => Some(true),
                    Tri::False => Some(false),
                    Tri::Unknown => None,
                })
                .collect();
            if let Some(identity) = &case.identity_policy {
                // The key policy and the caller's identity policy, joined as IAM does for a
                // KMS key of the caller's account.
                let Ok(parsed) = trailseal_policy::parse_identity_policy(&identity.to_string())
                else {
                    return (None, Vec::new(), Vec::new());
                };
                let who = trailseal_policy::Identity {
                    policies: vec![("identity".into(), std::sync::Arc::new(parsed))],
                    ..trailseal_policy::Identity::default()
                };
                let request = case.request();
                let combined = trailseal_policy::combine(
                    trailseal_policy::ResourceKind::KmsKey,
                    &p,
                    &e,
                    &who,
                    &request,
                );
                return (Some(combined.decision), Vec::new(), applies);
            }
            (Some(e.decision), e.via_iam_accounts, applies)
        }
        Err(_) => (None, Vec::new(), Vec::new()),
    }
}

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn simulate_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TRAILSEAL_IAM_SIMULATE_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/trailseal-iam-simulate")
}

/// Fails (never skips) when node or the npm package is missing.
pub(crate) fn check_installed() -> (String, PathBuf) {
    let node = std::env::var("TRAILSEAL_NODE").unwrap_or_else(|_| "node".to_owned());
    let dir = simulate_dir();
    let fix = "run scripts/differential/setup.sh (needs Node.js >= 18 and npm), \
               or set TRAILSEAL_IAM_SIMULATE_DIR / TRAILSEAL_NODE";
    let version = Command::new(&node).arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "the differential test needs Node.js (`{node}` did not run): {fix}"
    );
    let package = dir.join("node_modules/@cloud-copilot/iam-simulate/package.json");
    assert!(
        package.exists(),
        "@cloud-copilot/iam-simulate is not installed ({} is missing): {fix}",
        package.display()
    );
    (node, dir)
}

/// Runs iam-simulate once on every case; answers are returned in case order.
pub(crate) fn run_simulate(node: &str, dir: &PathBuf, cases: &[Case]) -> Vec<(Sim, Vec<String>)> {
    let script = repo_root().join("scripts/differential/simulate.mjs");
    let mut child = Command::new(node)
        .arg(&script)
        .arg("--modules")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node scripts/differential/simulate.mjs");
    let mut input = String::new();
    for c in cases {
        input.push_str(&c.to_simulate_json().to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("node's stdin");
    // Write from a thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("wait for node");
    writer
        .join()
        .expect("writer thread")
        .expect("write cases to node");
    assert!(
        out.status.success(),
        "simulate.mjs failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("simulate.mjs prints UTF-8");
    let answers: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("simulate.mjs prints JSON lines"))
        .collect();
    assert_eq!(answers.len(), cases.len(), "one answer per case");
    cases
        .iter()
        .zip(answers)
        .map(|(c, a)| {
            assert_eq!(a["id"], json!(c.id), "answers in case order");
            let ignored = a["ignoredContextKeys"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let sim = match a["result"].as_str() {
                Some(r) => Sim::Decision(r.to_owned()),
                None => Sim::Rejected(a["error"].clone()),
            };
            (sim, ignored)
        })
        .collect()
}

/// Both evaluators on every case; on each disagreement, iam-simulate also says which
/// statements apply (a second node run for all of them).
pub(crate) fn outcomes(node: &str, dir: &PathBuf, cases: &[Case]) -> Vec<Outcome> {
    let mut results: Vec<Outcome> = run_simulate(node, dir, cases)
        .into_iter()
        .zip(cases)
        .map(|((simulate, ignored_keys), case)| {
            let (trailseal, via_iam, applies) = trailseal(case);
            Outcome {
                trailseal,
                via_iam,
                applies,
                simulate,
                ignored_keys,
                sim_applies: None,
            }
        })
        .collect();
    let mut probes = Vec::new();
    let mut owners = Vec::new();
    for (n, (c, o)) in cases.iter().zip(&results).enumerate() {
        if o.agrees(c) {
            continue;
        }
        for (i, s) in c.statements().iter().enumerate() {
            let mut statement = s.clone();
            statement["Effect"] = json!("Deny");
            let mut probe = c.clone();
            probe.id = probes.len();
            probe.policy["Statement"] = json!([statement]);
            probe.identity = Identity::NoPolicies;
            probe.identity_policy = None;
            probes.push(probe);
            owners.push((n, i));
        }
    }
    if probes.is_empty() {
        return results;
    }
    for (n, c) in cases.iter().enumerate() {
        if !results[n].agrees(c) {
            results[n].sim_applies = Some(vec![false; c.statements().len()]);
        }
    }
    for ((sim, _), (n, i)) in run_simulate(node, dir, &probes).into_iter().zip(owners) {
        if let Some(applies) = results[n].sim_applies.as_mut() {
            applies[i] = sim == Sim::Decision("ExplicitlyDenied".into());
        }
    }
    results
}

// ---------------------------------------------------------------------------------------------
// Shrinking a disagreement to a minimal repro.
// ---------------------------------------------------------------------------------------------
