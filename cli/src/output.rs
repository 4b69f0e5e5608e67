//! Rendering evaluations as JSON (the contract) or as a table for people.

use std::io::Write;

use vpce_guard::rules::{Evaluation, Status};

use crate::ReportFormat;

/// Print evaluations; one JSON object for a single evaluation.
pub fn print_evaluations(evals: &[Evaluation], format: ReportFormat) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let text = match format {
        ReportFormat::Ocsf | ReportFormat::Html => {
            return Err("OCSF and HTML are printed by the command itself".into())
        }
        ReportFormat::Json => {
            let v = match evals {
                [one] => serde_json::to_string_pretty(one),
                many => serde_json::to_string_pretty(many),
            };
            v.map_err(|e| format!("cannot render JSON: {e}"))? + "\n"
        }
        ReportFormat::Text => evals.iter().map(render_text).collect::<Vec<_>>().join("\n"),
    };
    out.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the output: {e}"))
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Warn => 1,
        Status::Pass => 2,
        Status::NotApplicable => 3,
    }
}

/// A readable table: failures first, then warnings, passes and not-applicable rules.
pub fn render_text(e: &Evaluation) -> String {
    let mut s = format!("{}: {}\n", e.resource, e.compliance.as_str());
    for note in e.muted.iter().chain(&e.mute_expired) {
        s.push_str(&format!("  {note}\n"));
    }
    let mut findings: Vec<_> = e.findings.iter().collect();
    findings.sort_by_key(|f| rank(f.status));
    let width = findings
        .iter()
        .map(|f| f.rule.as_str().len())
        .max()
        .unwrap_or(0);
    for f in findings {
        let status = match f.status {
            Status::NotApplicable => "N/A",
            other => other.as_str(),
        };
        s.push_str(&format!(
            "  {status:<4}  {:<width$}  {}\n",
            f.rule.as_str(),
            f.reason
        ));
        if !f.exemptions.is_empty() {
            s.push_str(&format!(
                "  {:<4}  {:<width$}  exemptions: {}\n",
                "",
                "",
                f.exemptions.join(", ")
            ));
        }
    }
    s
}

/// Print JSON values one per line (OCSF events).
pub fn print_lines(values: &[serde_json::Value]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    for v in values {
        let line = serde_json::to_string(v).map_err(|e| format!("cannot render JSON: {e}"))?;
        writeln!(out, "{line}").map_err(|e| format!("cannot write the output: {e}"))?;
    }
    Ok(())
}
