//! `vpce-guard report`: a sweep's JSON (and route usage's) as one self-contained HTML file.

use std::io::Write;

use vpce_guard::scan::html::report_html;
use vpce_guard::scan::ScanReport;
use vpce_guard::usage::UsageReport;

use crate::ReportArgs;

/// Run the command; `Err` is a one-line message for exit status 2.
pub fn run(args: &ReportArgs) -> Result<u8, String> {
    let text = crate::check::read_input(&args.file, "sweep")?;
    let scan: ScanReport = serde_json::from_str(&text).map_err(|e| {
        format!(
            "`{}` is not the JSON of `vpce-guard scan --format json`: {e}",
            args.file
        )
    })?;
    let usage: Option<UsageReport> = match &args.route_usage {
        Some(f) => {
            let t = crate::check::read_input(f, "route usage")?;
            Some(serde_json::from_str(&t).map_err(|e| {
                format!("`{f}` is not the JSON of `vpce-guard route-usage --format json`: {e}")
            })?)
        }
        None => None,
    };
    let html = report_html(&scan, usage.as_ref(), vpce_guard::now_epoch_seconds());
    if args.output == "-" {
        std::io::stdout()
            .lock()
            .write_all(html.as_bytes())
            .map_err(|e| format!("cannot write the output: {e}"))?;
    } else {
        std::fs::write(&args.output, html)
            .map_err(|e| format!("cannot write `{}`: {e}", args.output))?;
        eprintln!(
            "vpce-guard: wrote {} ({} buckets, {} VPCs)",
            args.output,
            scan.buckets.len(),
            scan.vpcs.len()
        );
    }
    Ok(0)
}
