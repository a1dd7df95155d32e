//! `trailseal readers TRAIL`: who can read the trail's log files end to end, as a table or JSON
//! (the analysis of TS015, `trailseal_checks::log_readers`).

use std::io::Write;

use serde_json::{json, Value};
use trailseal_checks::log_readers::{log_readers, shown, LogReaders, Row};
use trailseal_model::{Evidence, TrailEvidence};
use trailseal_policy::{Decision, Tri};

use crate::cli::ReadersArgs;
use crate::UsageError;

pub fn run(args: ReadersArgs) -> anyhow::Result<u8> {
    let trusted = crate::org_cmd::account_list("--trusted-accounts", &args.trusted_accounts)?;
    let evidence = match &args.evidence {
        Some(path) => crate::audit_cmd::read_evidence(path)?,
        None => crate::collect_cmd::collect_live(&args.aws)?,
    };
    let mut ev = trail_evidence(&evidence, &args.trail)?;
    ev.trusted_accounts = trusted;
    let table = log_readers(&ev).map_err(|why| {
        anyhow::anyhow!("cannot tell who reads the logs of {}: {why}", ev.trail.arn)
    })?;
    let mut out = std::io::stdout().lock();
    if args.format == "json" {
        serde_json::to_writer_pretty(&mut out, &to_json(&ev, &table))?;
        writeln!(out)?;
    } else {
        write!(out, "{}", to_text(&ev, &table))?;
    }
    Ok(0)
}

/// The trail named `name` (its name or ARN), in whichever account holds it.
fn trail_evidence(evidence: &Evidence, name: &str) -> anyhow::Result<TrailEvidence> {
    let mut found = Vec::new();
    for account in &evidence.accounts {
        for trail in &account.trails {
            if trail.arn == name || trail.name == name {
                found.push((account, trail));
            }
        }
    }
    match found.as_slice() {
        [(account, trail)] => Ok(account.trail_evidence(trail)),
        [] => {
            let names: Vec<&str> = evidence
                .accounts
                .iter()
                .flat_map(|a| a.trails.iter().map(|t| t.name.as_str()))
                .collect();
            Err(UsageError(format!(
                "no trail named {name:?}; the trails are: {}",
                if names.is_empty() {
                    "(none)".to_owned()
                } else {
                    names.join(", ")
                }
            ))
            .into())
        }
        many => Err(UsageError(format!(
            "{name:?} names {} trails (in several Regions or accounts); give its ARN: {}",
            many.len(),
            many.iter()
                .map(|(_, t)| t.arn.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into()),
    }
}

fn row_json(ev: &TrailEvidence, t: &LogReaders, r: &Row) -> Value {
    json!({
        "principal": shown(&r.principal),
        "account": r.account,
        "kind": r.kind,
        "trusted": t.trusted(r, &ev.trusted_accounts),
        "via": r.via(),
        "decrypt": r.decrypt,
        "read": r.read,
    })
}

fn to_json(ev: &TrailEvidence, t: &LogReaders) -> Value {
    json!({
        "trail": t.trail,
        "account": t.account,
        "trusted_accounts": ev.trusted_accounts,
        "readers": t.readers().map(|r| row_json(ev, t, r)).collect::<Vec<_>>(),
        "conditional": t.conditional().map(|r| {
            let mut v = row_json(ev, t, r);
            v["depends_on"] = json!(r.depends_on());
            v
        }).collect::<Vec<_>>(),
        "partial": t.partial().map(|r| {
            let mut v = row_json(ev, t, r);
            v["can"] = json!(if r.decrypt.decision == Decision::Allow { "decrypt" } else { "read" });
            v
        }).collect::<Vec<_>>(),
        "not_read": t.notes,
    })
}

fn to_text(ev: &TrailEvidence, t: &LogReaders) -> String {
    let mut s = format!("Who can read the log files of {}\n", t.trail);
    let mark = |r: &Row| {
        if t.trusted(r, &ev.trusted_accounts) {
            ""
        } else if r.kind.is_public() {
            "  [PUBLIC]"
        } else if r.account.is_some() {
            "  [OTHER ACCOUNT]"
        } else {
            "  [OUTSIDE THE ACCOUNT]"
        }
    };
    let section = |s: &mut String, title: &str, rows: Vec<&Row>, extra: &dyn Fn(&Row) -> String| {
        s.push_str(&format!("\n{title} ({}):\n", rows.len()));
        if rows.is_empty() {
            s.push_str("  (none)\n");
        }
        for r in rows {
            s.push_str(&format!("  {}{}\n", shown(&r.principal), mark(r)));
            let via = r.via();
            if !via.is_empty() {
                s.push_str(&format!("      via {via}\n"));
            }
            let more = extra(r);
            if !more.is_empty() {
                s.push_str(&format!("      {more}\n"));
            }
        }
    };
    section(
        &mut s,
        "Can read (decrypt and download)",
        t.readers().collect(),
        &|_| String::new(),
    );
    section(
        &mut s,
        "May read, depending on values trailseal cannot know",
        t.conditional().collect(),
        &|r| format!("depends on {}", r.depends_on().join(", ")),
    );
    section(
        &mut s,
        "Only part of the way",
        t.partial().collect(),
        &|r| {
            if r.decrypt.allowed() == Tri::True {
                "can decrypt, cannot download the objects".to_owned()
            } else {
                "can download the objects, cannot decrypt them".to_owned()
            }
        },
    );
    if !t.notes.is_empty() {
        s.push_str("\nNot read:\n");
        for n in &t.notes {
            s.push_str(&format!("  - {n}\n"));
        }
    }
    s.push_str(
        "\nNot evaluated: service control and resource control policies, session policies and VPC \
         endpoint policies (they can only take access away: a listed reader may be refused); \
         object ACLs (CloudTrail writes its files with bucket-owner-full-control; with ACLs \
         enabled a later PutObjectAcl could grant more); other copies of the logs (S3 \
         replication, CloudWatch Logs).\n",
    );
    s
}
