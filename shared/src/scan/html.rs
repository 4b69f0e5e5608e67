//! The report a person reads (`vpce-guard report`, `scan --format html`): one self-contained
//! HTML file — no script, no external asset, printable — with a summary by account and region,
//! per region a diagram (SVG) of VPCs → route tables → S3 endpoints → buckets coloured by
//! verdict, a bucket × rule matrix, and each failing or warning rule with its counter-example
//! and fix. Every colour is doubled by a word and a symbol, so it reads without colour.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::topology::RegionNetwork;
use super::{RegionalEvaluation, ScanReport};
use crate::rules::{Compliance, Evaluation, RuleId, Status};
use crate::usage::UsageReport;

use crate::export::{remediation, rule_doc};

/// Buckets drawn per region diagram (non-compliant first); the matrix lists them all.
const DIAGRAM_BUCKETS: usize = 60;

/// The report of a sweep (and, when given, of route usage), generated at `now` (seconds since
/// the epoch).
pub fn report_html(scan: &ScanReport, usage: Option<&UsageReport>, now: f64) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let generated = crate::policy::date::format_date(now);
    let buckets = sorted(&scan.buckets);
    let vpcs = sorted(&scan.vpcs);
    let count = |c: Compliance| {
        buckets
            .iter()
            .filter(|b| b.evaluation.compliance == c)
            .count()
    };
    let (private, open, na) = (
        count(Compliance::Compliant),
        count(Compliance::NonCompliant),
        count(Compliance::NotApplicable),
    );
    let failing: usize = buckets
        .iter()
        .chain(&vpcs)
        .map(|e| problems(&e.evaluation).count())
        .sum();
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vpce-guard report: {private} of {total} buckets private</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Which buckets are really private</h1>
<p class="meta">vpce-guard report, generated {generated}. A bucket is private when it can be reached only through the account's own S3 VPC endpoints and every rule passes.</p>
</header>
<main>
<section id="summary" aria-labelledby="summary-h">
<h2 id="summary-h">Summary</h2>
<p id="summary-counts" data-buckets="{total}" data-private="{private}" data-not-private="{open}" data-failing-rules="{failing}"><strong>{private}</strong> of <strong>{total}</strong> buckets are private, <strong>{open}</strong> are not{na_text}; {failing} failing or warning rule{s} across buckets and VPCs.</p>
"#,
        total = buckets.len(),
        na_text = if na > 0 {
            format!(", {na} not applicable (muted or gone)")
        } else {
            String::new()
        },
        s = if failing == 1 { "" } else { "s" },
    );
    if scan.incomplete {
        h.push_str(r#"<p class="alert" role="alert"><strong>Incomplete:</strong> some accounts could not be read; their buckets are judged from what could be read.</p>"#);
        h.push('\n');
    }
    summary_table(&mut h, &buckets, &vpcs);
    h.push_str("</section>\n");

    // Per region: the diagram and its table.
    let mut places: BTreeSet<(Option<&str>, &str)> = BTreeSet::new();
    for n in &scan.network {
        places.insert((n.account.as_deref(), n.region.as_str()));
    }
    for b in &buckets {
        places.insert((b.account.as_deref(), b.region.as_str()));
    }
    h.push_str("<section id=\"regions\" aria-labelledby=\"regions-h\">\n<h2 id=\"regions-h\">Network paths by region</h2>\n");
    h.push_str("<p>Each diagram reads left to right: a VPC, its route tables, the S3 endpoints they route to (interface endpoints hang off the VPC, dashed), and the buckets whose policy admits requests through each endpoint (dotted: the policy cannot be judged for it). Red and a ✗ mark what fails, amber and a ! what warns, green and a ✓ what passes.</p>\n");
    for (account, region) in places {
        let net = scan
            .network
            .iter()
            .find(|n| n.account.as_deref() == account && n.region == region);
        let here: Vec<&RegionalEvaluation> = buckets
            .iter()
            .filter(|b| b.account.as_deref() == account && b.region == region)
            .copied()
            .collect();
        let vpcs_here: Vec<&RegionalEvaluation> = vpcs
            .iter()
            .filter(|v| v.account.as_deref() == account && v.region == region)
            .copied()
            .collect();
        region_section(&mut h, account, region, net, &here, &vpcs_here);
    }
    h.push_str("</section>\n");

    matrix(
        &mut h,
        "matrix",
        "Buckets × rules",
        &buckets,
        &RuleId::BUCKET,
        "Bucket",
    );
    if !vpcs.is_empty() {
        matrix(
            &mut h,
            "vpc-matrix",
            "VPCs × rules",
            &vpcs,
            &RuleId::NETWORK,
            "VPC",
        );
    }
    failures(&mut h, &buckets, &vpcs);
    if let Some(u) = usage {
        route_usage(&mut h, u);
    }
    h.push_str("</main>\n<footer><p>Rules: docs/RULES.md in the vpce-guard repository. Produced offline from <code>vpce-guard scan --format json</code>.</p></footer>\n</body>\n</html>\n");
    h
}

const STYLE: &str = "
:root{--fail:#b42318;--fail-bg:#fdecea;--warn:#8a5a00;--warn-bg:#fff4d6;--pass:#146c2e;--pass-bg:#e6f4ea;--na:#555;--na-bg:#f1f1f1;--ink:#1b1b1b}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--ink);margin:0 auto;max-width:1200px;padding:1rem 1.5rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.3rem;border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2rem}h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
.meta{color:#444}table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}thead th{background:#f5f5f5}
.matrix td{text-align:center;white-space:nowrap}.matrix th[scope=row]{white-space:nowrap}
.s-fail{background:var(--fail-bg);color:var(--fail);font-weight:600}.s-warn{background:var(--warn-bg);color:var(--warn);font-weight:600}
.s-pass{background:var(--pass-bg);color:var(--pass)}.s-na{background:var(--na-bg);color:var(--na)}
.alert{border:2px solid var(--fail);padding:.5rem;background:var(--fail-bg)}
.diagram{overflow-x:auto;border:1px solid #ddd;margin:.5rem 0}svg text{font:12px system-ui,sans-serif}
.failure{border-left:4px solid var(--fail);padding:.1rem .8rem;margin:.6rem 0;background:#fffafa;break-inside:avoid}
.failure.warn{border-left-color:var(--warn);background:#fffdf5}.failure p{margin:.3rem 0}code{font-size:.85em;overflow-wrap:anywhere}.endpoints td{font-weight:normal}
.muted{color:#555;font-style:italic}
@media print{body{max-width:none;font-size:11pt}.diagram{overflow:visible;border:0}section{break-inside:auto}h2,h3{break-after:avoid}a{color:inherit;text-decoration:none}}
";

/// Non-compliant first, then by account, region and name.
fn sorted(v: &[RegionalEvaluation]) -> Vec<&RegionalEvaluation> {
    let mut v: Vec<&RegionalEvaluation> = v.iter().collect();
    v.sort_by(|a, b| {
        (
            a.evaluation.compliance != Compliance::NonCompliant,
            &a.account,
            &a.region,
            &a.evaluation.resource,
        )
            .cmp(&(
                b.evaluation.compliance != Compliance::NonCompliant,
                &b.account,
                &b.region,
                &b.evaluation.resource,
            ))
    });
    v
}

fn problems(e: &Evaluation) -> impl Iterator<Item = &crate::rules::Finding> {
    e.findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Warn))
}

/// Escape text for HTML and SVG (content and attribute values).
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Fail => "s-fail",
        Status::Warn => "s-warn",
        Status::Pass => "s-pass",
        Status::NotApplicable => "s-na",
    }
}

fn status_mark(s: Status) -> &'static str {
    match s {
        Status::Fail => "✗ FAIL",
        Status::Warn => "! WARN",
        Status::Pass => "✓ PASS",
        Status::NotApplicable => "– N/A",
    }
}

fn compliance_status(c: Compliance) -> Status {
    match c {
        Compliance::Compliant => Status::Pass,
        Compliance::NonCompliant => Status::Fail,
        Compliance::NotApplicable => Status::NotApplicable,
    }
}

fn compliance_word(c: Compliance) -> &'static str {
    match c {
        Compliance::Compliant => "✓ private",
        Compliance::NonCompliant => "✗ not private",
        Compliance::NotApplicable => "– not applicable",
    }
}

/// A VPC's verdict in words (a VPC is not "private": its routes, DNS and egress are right).
fn vpc_word(c: Compliance) -> &'static str {
    match c {
        Compliance::Compliant => "✓ compliant",
        Compliance::NonCompliant => "✗ non-compliant",
        Compliance::NotApplicable => "– not applicable",
    }
}

fn summary_table(h: &mut String, buckets: &[&RegionalEvaluation], vpcs: &[&RegionalEvaluation]) {
    #[derive(Default)]
    struct Row {
        buckets: usize,
        private: usize,
        open: usize,
        vpcs: usize,
        vpcs_failing: usize,
    }
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    let key = |e: &RegionalEvaluation| {
        (
            e.account.clone().unwrap_or_else(|| "this account".into()),
            e.region.clone(),
        )
    };
    for b in buckets {
        let r = rows.entry(key(b)).or_default();
        r.buckets += 1;
        match b.evaluation.compliance {
            Compliance::Compliant => r.private += 1,
            Compliance::NonCompliant => r.open += 1,
            Compliance::NotApplicable => {}
        }
    }
    for v in vpcs {
        let r = rows.entry(key(v)).or_default();
        r.vpcs += 1;
        if v.evaluation.compliance == Compliance::NonCompliant {
            r.vpcs_failing += 1;
        }
    }
    h.push_str("<table id=\"summary-table\">\n<caption>Buckets and VPCs by account and region</caption>\n<thead><tr><th scope=\"col\">Account</th><th scope=\"col\">Region</th><th scope=\"col\">Buckets</th><th scope=\"col\">Private</th><th scope=\"col\">Not private</th><th scope=\"col\">VPCs</th><th scope=\"col\">VPCs failing</th></tr></thead>\n<tbody>\n");
    for ((account, region), r) in &rows {
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(account),
            esc(region),
            r.buckets,
            r.private,
            if r.open > 0 { "s-fail" } else { "" },
            r.open,
            r.vpcs,
            if r.vpcs_failing > 0 { "s-fail" } else { "" },
            r.vpcs_failing
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

/// How a diagram edge is drawn: a route or an admission (solid), an interface endpoint in its
/// VPC (dashed), an admission the engine cannot decide (dotted, amber).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Solid,
    Dashed,
    Unknown,
}

/// One node of the diagram.
struct Node {
    id: String,
    label: String,
    status: Status,
    note: String,
}

fn region_section(
    h: &mut String,
    account: Option<&str>,
    region: &str,
    net: Option<&RegionNetwork>,
    buckets: &[&RegionalEvaluation],
    vpcs: &[&RegionalEvaluation],
) {
    let title = match account {
        Some(a) => format!("{region} — account {a}"),
        None => region.to_string(),
    };
    let anchor = format!(
        "region-{}{}",
        account.map(|a| format!("{a}-")).unwrap_or_default(),
        region
    );
    let _ = writeln!(
        h,
        "<section class=\"region\" id=\"{}\" aria-labelledby=\"{0}-h\">\n<h3 id=\"{0}-h\">{}</h3>",
        esc(&anchor),
        esc(&title)
    );
    let Some(net) = net else {
        h.push_str("<p>The network of this region was not part of the sweep (older JSON, or buckets only).</p>\n</section>\n");
        return;
    };
    if let Some(why) = &net.error {
        let _ = writeln!(
            h,
            "<p class=\"alert\">The network could not be read: {}. Buckets here cannot be confirmed reachable privately.</p>",
            esc(why)
        );
    }
    let vpc_status = |id: &str| {
        vpcs.iter()
            .find(|v| v.evaluation.resource == id)
            .map(|v| compliance_status(v.evaluation.compliance))
            .unwrap_or(Status::NotApplicable)
    };
    let mut cols: [Vec<Node>; 4] = Default::default();
    let mut edges: Vec<(String, String, Edge)> = Vec::new();
    for v in &net.vpcs {
        let st = vpc_status(&v.id);
        cols[0].push(Node {
            id: v.id.clone(),
            label: v.id.clone(),
            status: st,
            note: status_mark(st).to_string(),
        });
        for t in &v.route_tables {
            cols[1].push(Node {
                id: t.id.clone(),
                label: t.id.clone(),
                status: if t.s3_endpoints.is_empty() {
                    Status::Warn
                } else {
                    Status::Pass
                },
                note: format!(
                    "{}{} subnet{}{}",
                    if t.main { "main, " } else { "" },
                    t.subnets.len(),
                    if t.subnets.len() == 1 { "" } else { "s" },
                    if t.s3_endpoints.is_empty() {
                        ", no S3 route"
                    } else {
                        ""
                    }
                ),
            });
            edges.push((v.id.clone(), t.id.clone(), Edge::Solid));
            for e in &t.s3_endpoints {
                edges.push((t.id.clone(), e.clone(), Edge::Solid));
            }
        }
        for e in &v.endpoints {
            cols[2].push(Node {
                id: e.id.clone(),
                label: e.id.clone(),
                status: if e.state.eq_ignore_ascii_case("available") {
                    e.policy.status
                } else {
                    Status::Fail
                },
                note: format!(
                    "{} · policy {}",
                    e.endpoint_type.to_lowercase(),
                    status_mark(e.policy.status)
                ),
            });
            if !e.endpoint_type.eq_ignore_ascii_case("Gateway") {
                edges.push((v.id.clone(), e.id.clone(), Edge::Dashed));
            }
            for b in &e.admitted_by {
                edges.push((e.id.clone(), b.clone(), Edge::Solid));
            }
            for b in e.unknown.keys() {
                edges.push((e.id.clone(), b.clone(), Edge::Unknown));
            }
        }
    }
    let drawn: Vec<&&RegionalEvaluation> = buckets.iter().take(DIAGRAM_BUCKETS).collect();
    for b in &drawn {
        let st = compliance_status(b.evaluation.compliance);
        cols[3].push(Node {
            id: b.evaluation.resource.clone(),
            label: b.evaluation.resource.clone(),
            status: st,
            note: compliance_word(b.evaluation.compliance).to_string(),
        });
    }
    svg(h, &title, &cols, &edges);
    if buckets.len() > drawn.len() {
        let _ = writeln!(
            h,
            "<p>The diagram draws {} of the {} buckets of this region (non-compliant first); the matrix lists them all.</p>",
            drawn.len(),
            buckets.len()
        );
    }
    // The same facts as a table (the diagram's text alternative).
    let _ = writeln!(
        h,
        "<table class=\"endpoints\">\n<caption>S3 endpoints in {}</caption>\n<thead><tr><th scope=\"col\">Endpoint</th><th scope=\"col\">Type</th><th scope=\"col\">VPC</th><th scope=\"col\">State</th><th scope=\"col\">Endpoint policy</th><th scope=\"col\">Route tables</th><th scope=\"col\">Buckets that admit it</th></tr></thead>\n<tbody>",
        esc(&title)
    );
    let mut any = false;
    for v in &net.vpcs {
        for e in &v.endpoints {
            any = true;
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"{}\">{}: {}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.id),
                esc(&e.endpoint_type),
                esc(&v.id),
                esc(&e.state),
                status_class(e.policy.status),
                status_mark(e.policy.status),
                esc(&e.policy.reason),
                esc(&e.route_tables.join(", ")),
                if e.admitted_by.is_empty() {
                    "none".to_string()
                } else {
                    esc(&e.admitted_by.join(", "))
                }
            );
        }
    }
    if !any {
        h.push_str("<tr><td colspan=\"7\">No S3 endpoint in this region: no bucket here can be reached privately.</td></tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// Four columns of nodes, edges between them; a `<title>` and `<desc>` for screen readers.
fn svg(h: &mut String, title: &str, cols: &[Vec<Node>; 4], edges: &[(String, String, Edge)]) {
    const W: f64 = 210.0;
    const NODE_H: f64 = 38.0;
    const GAP: f64 = 12.0;
    const X: [f64; 4] = [10.0, 290.0, 570.0, 850.0];
    const TOP: f64 = 34.0;
    let rows = cols.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let height = TOP + rows as f64 * (NODE_H + GAP) + 10.0;
    let mut pos: BTreeMap<(usize, &str), (f64, f64)> = BTreeMap::new();
    for (c, nodes) in cols.iter().enumerate() {
        for (i, n) in nodes.iter().enumerate() {
            pos.insert((c, n.id.as_str()), (X[c], TOP + i as f64 * (NODE_H + GAP)));
        }
    }
    let find = |id: &str, from: usize| (from..4).find_map(|c| pos.get(&(c, id)).map(|p| (c, *p)));
    let counts: Vec<usize> = cols.iter().map(Vec::len).collect();
    let _ = writeln!(
        h,
        "<div class=\"diagram\"><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"t-{0} d-{0}\" viewBox=\"0 0 1070 {1:.0}\" width=\"1070\" height=\"{1:.0}\"><title id=\"t-{0}\">Network paths in {2}</title><desc id=\"d-{0}\">{3} VPCs, {4} route tables, {5} S3 endpoints, {6} buckets; lines show routes and which buckets admit each endpoint.</desc>",
        esc(&title.replace([' ', '—'], "")),
        height,
        esc(title),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    for (i, head) in ["VPCs", "Route tables", "S3 endpoints", "Buckets"]
        .iter()
        .enumerate()
    {
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"20\" font-weight=\"bold\">{head}</text>",
            X[i]
        );
    }
    for (from, to, kind) in edges {
        let Some((c1, (x1, y1))) = find(from, 0) else {
            continue;
        };
        let Some((_, (x2, y2))) = find(to, c1 + 1) else {
            continue;
        };
        let (sx, sy, ex, ey) = (x1 + W, y1 + NODE_H / 2.0, x2, y2 + NODE_H / 2.0);
        let mid = (sx + ex) / 2.0;
        let _ = write!(
            h,
            "<path d=\"M{sx:.0},{sy:.0} C{mid:.0},{sy:.0} {mid:.0},{ey:.0} {ex:.0},{ey:.0}\" fill=\"none\" {}/>",
            match kind {
                Edge::Solid => "stroke=\"#777\" stroke-width=\"1.4\"",
                Edge::Dashed => "stroke=\"#777\" stroke-width=\"1.4\" stroke-dasharray=\"5 4\"",
                Edge::Unknown => "stroke=\"#8a5a00\" stroke-width=\"1.4\" stroke-dasharray=\"1 3\"",
            }
        );
    }
    for (c, nodes) in cols.iter().enumerate() {
        for n in nodes {
            let Some((x, y)) = pos.get(&(c, n.id.as_str())) else {
                continue;
            };
            let (stroke, fill) = match n.status {
                Status::Fail => ("#b42318", "#fdecea"),
                Status::Warn => ("#8a5a00", "#fff4d6"),
                Status::Pass => ("#146c2e", "#e6f4ea"),
                Status::NotApplicable => ("#555", "#f1f1f1"),
            };
            let label: String = if n.label.chars().count() > 30 {
                n.label.chars().take(29).collect::<String>() + "…"
            } else {
                n.label.clone()
            };
            let _ = write!(
                h,
                "<g class=\"node {cls}\"><title>{full}: {note}</title><rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{W:.0}\" height=\"{NODE_H:.0}\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{sw}\"{dash}/><text x=\"{tx:.0}\" y=\"{ty1:.0}\">{label}</text><text x=\"{tx:.0}\" y=\"{ty2:.0}\" fill=\"{stroke}\">{note}</text></g>",
                cls = status_class(n.status),
                full = esc(&n.label),
                note = esc(&n.note),
                sw = if n.status == Status::Fail { 2.5 } else { 1.2 },
                dash = if n.status == Status::Fail {
                    " stroke-dasharray=\"6 3\""
                } else {
                    ""
                },
                tx = x + 6.0,
                ty1 = y + 15.0,
                ty2 = y + 31.0,
                label = esc(&label),
            );
        }
    }
    h.push_str("</svg></div>\n");
}

fn matrix(
    h: &mut String,
    id: &str,
    heading: &str,
    rows: &[&RegionalEvaluation],
    rules: &[RuleId],
    what: &str,
) {
    let _ = writeln!(
        h,
        "<section aria-labelledby=\"{id}-h\">\n<h2 id=\"{id}-h\">{heading}</h2>\n<div class=\"diagram\"><table class=\"matrix\" id=\"{id}\">\n<caption>Each rule's verdict per {} (hover a cell for the reason)</caption>\n<thead><tr><th scope=\"col\">{what}</th><th scope=\"col\">Region</th><th scope=\"col\">Verdict</th>",
        what.to_lowercase()
    );
    for r in rules {
        let _ = write!(h, "<th scope=\"col\"><code>{}</code></th>", r.as_str());
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for e in rows {
        let ev = &e.evaluation;
        let _ = write!(
            h,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"{}\">{}{}</td>",
            esc(&ev.resource),
            esc(&match &e.account {
                Some(a) => format!("{} ({a})", e.region),
                None => e.region.clone(),
            }),
            status_class(compliance_status(ev.compliance)),
            if what == "VPC" {
                vpc_word(ev.compliance)
            } else {
                compliance_word(ev.compliance)
            },
            ev.muted
                .as_ref()
                .map(|m| format!(" <span class=\"muted\">({})</span>", esc(m)))
                .unwrap_or_default()
        );
        for r in rules {
            match ev.findings.iter().find(|f| f.rule == *r) {
                Some(f) => {
                    let _ = write!(
                        h,
                        "<td class=\"{}\" title=\"{}\">{}</td>",
                        status_class(f.status),
                        esc(&f.reason),
                        status_mark(f.status)
                    );
                }
                None => h.push_str("<td class=\"s-na\">–</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n</section>\n");
}

fn failures(h: &mut String, buckets: &[&RegionalEvaluation], vpcs: &[&RegionalEvaluation]) {
    h.push_str("<section id=\"failing\" aria-labelledby=\"failing-h\">\n<h2 id=\"failing-h\">Failing rules, with the counter-example and the fix</h2>\n");
    let mut any = false;
    for (kind, e) in buckets
        .iter()
        .map(|b| ("Bucket", b))
        .chain(vpcs.iter().map(|v| ("VPC", v)))
    {
        let list: Vec<_> = problems(&e.evaluation).collect();
        if list.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(
            h,
            "<h3>{kind} <code>{}</code> <span class=\"meta\">({})</span></h3>",
            esc(&e.evaluation.resource),
            esc(&match &e.account {
                Some(a) => format!("{}, account {a}", e.region),
                None => e.region.clone(),
            })
        );
        if let Some(m) = &e.evaluation.muted {
            let _ = writeln!(h, "<p class=\"muted\">{}</p>", esc(m));
        }
        for f in list {
            let _ = writeln!(
                h,
                "<article class=\"failure{}\" data-rule=\"{}\"><h4><code>{}</code> {}</h4><p><strong>Why:</strong> {}</p><p><strong>Fix:</strong> {} <span class=\"meta\">({})</span></p></article>",
                if f.status == Status::Warn { " warn" } else { "" },
                f.rule.as_str(),
                f.rule.as_str(),
                status_mark(f.status),
                esc(&f.reason),
                esc(remediation(f.rule)),
                esc(&rule_doc(f.rule))
            );
        }
    }
    if !any {
        h.push_str("<p>No rule fails or warns.</p>\n");
    }
    h.push_str("</section>\n");
}

fn route_usage(h: &mut String, u: &UsageReport) {
    h.push_str("<section id=\"route-usage\" aria-labelledby=\"usage-h\">\n<h2 id=\"usage-h\">Is the private route used?</h2>\n<p>Requests to the buckets in the CloudTrail logs read by <code>vpce-guard route-usage</code>, by the route they took.</p>\n<table id=\"usage-table\">\n<caption>Requests by route</caption>\n<thead><tr><th scope=\"col\">Bucket</th><th scope=\"col\">Requests</th><th scope=\"col\">Through an approved endpoint</th><th scope=\"col\">Public route</th><th scope=\"col\">Other endpoint</th><th scope=\"col\">Refused by an endpoint policy</th></tr></thead>\n<tbody>\n");
    for b in &u.buckets {
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            esc(&b.bucket),
            b.requests,
            b.via_approved_endpoint,
            if b.public_route > 0 { "s-fail" } else { "" },
            b.public_route,
            if b.other_endpoint > 0 { "s-fail" } else { "" },
            b.other_endpoint,
            b.endpoint_policy_denied
        );
    }
    h.push_str("</tbody>\n</table>\n");
    let findings: Vec<_> = u
        .buckets
        .iter()
        .flat_map(|b| b.findings.iter().map(move |f| (b, f)))
        .collect();
    if !findings.is_empty() {
        h.push_str("<table id=\"usage-findings\">\n<caption>Requests that did not take an approved endpoint</caption>\n<thead><tr><th scope=\"col\">Bucket</th><th scope=\"col\">Principal</th><th scope=\"col\">Source</th><th scope=\"col\">Calls</th><th scope=\"col\">Count</th><th scope=\"col\">Refused</th><th scope=\"col\">Seen</th></tr></thead>\n<tbody>\n");
        for (b, f) in findings {
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\">{}</th><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td></tr>",
                esc(&b.bucket),
                esc(&f.principal),
                esc(&f.source_ip),
                esc(&f.event_names.join(", ")),
                f.count,
                f.denied,
                esc(&f.first_seen),
                esc(&f.last_seen)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

#[cfg(test)]
mod tests;
