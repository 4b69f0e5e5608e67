//! docs/RULES.md, the rule reference, against the rule catalog in code: every rule id has its
//! section (`### ID`, in catalog order) and every section is a rule; each section names the
//! Config rule and the resource type that report it and the verdicts it can give; the status
//! names, the Config rule parameters and the guard's exempted actions are the code's. Drift in
//! either direction fails, and `the_check_finds_drift` shows that it does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use vpce_guard::config::{parse_rule_parameters, EventError, ResourceType};
use vpce_guard::rules::guard::{GuardKind, CONFIG_CHECKED};
use vpce_guard::rules::{RuleId, RuleResource, Status};

/// The default of the template's `RuleNamePrefix`: the Config rules are `<prefix>-bucket` and
/// `<prefix>-network`.
const RULE_NAME_PREFIX: &str = "vpce-guard";

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/RULES.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every status. Exhaustive for the same reason.
fn statuses() -> Vec<Status> {
    let all = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::NotApplicable,
    ];
    for s in all {
        match s {
            Status::Pass | Status::Fail | Status::Warn | Status::NotApplicable => {}
        }
    }
    all.to_vec()
}

/// The catalog, in order: the bucket rules, then the network rules.
fn catalog() -> Vec<RuleId> {
    RuleId::BUCKET.into_iter().chain(RuleId::NETWORK).collect()
}

/// The `### ` sections: heading text and body (up to the next heading of any level).
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    let mut fenced = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with('#') {
            if let Some(done) = current.take() {
                out.push(done);
            }
            if let Some(h) = line.strip_prefix("### ") {
                current = Some((h.trim().to_string(), String::new()));
            }
            continue;
        }
        if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.extend(current);
    out
}

/// The body of the `## ` section whose heading starts with `title`.
fn chapter<'a>(doc: &'a str, title: &str) -> Option<&'a str> {
    let start = doc.find(&format!("\n## {title}"))? + 1;
    let rest = &doc[start..];
    let body_start = rest.find('\n')? + 1;
    let body = &rest[body_start..];
    let end = body.find("\n## ").map_or(body.len(), |i| i + 1);
    Some(&body[..end])
}

/// The Config rule parameters the code accepts, from its own "unknown parameter" error.
fn accepted_parameters() -> Vec<String> {
    let err = parse_rule_parameters(Some(r#"{"NoSuchParameter": ""}"#))
        .expect_err("an unknown parameter is an error");
    let EventError::Param(p) = err else {
        panic!("not a parameter error: {err:?}")
    };
    let list = p
        .why
        .split_once("(expected ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list)
        .unwrap_or_else(|| {
            panic!(
                "the unknown-parameter error no longer lists the parameters: {}",
                p.why
            )
        });
    list.split(',').map(|s| s.trim().to_string()).collect()
}

/// Everything in which `doc` and the catalog disagree (empty: none).
/// The rows of the table under `## Severity`: (the rule ids of the first cell, the severity of
/// the second).
fn severity_rows(doc: &str) -> Vec<(Vec<String>, String)> {
    let Some(start) = doc.find("\n## Severity\n") else {
        return Vec::new();
    };
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    rest[..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let ids = cells
                .get(1)?
                .split(',')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            Some((ids, cells.get(2)?.trim_matches('`').to_string()))
        })
        .collect()
}

fn problems(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let catalog = catalog();
    let secs = sections(doc);
    let headings: Vec<&str> = secs.iter().map(|(h, _)| h.as_str()).collect();
    // Both directions: each rule once, each `###` a rule, in catalog order.
    for r in &catalog {
        match headings.iter().filter(|h| **h == r.as_str()).count() {
            1 => {}
            0 => out.push(format!("no `### {}` section", r.as_str())),
            n => out.push(format!("`### {}` appears {n} times", r.as_str())),
        }
    }
    for h in &headings {
        if RuleId::parse(h).is_none() {
            out.push(format!(
                "`### {h}` is not a rule id of the catalog (only rule sections use `###`)"
            ));
        }
    }
    let documented: Vec<RuleId> = headings.iter().filter_map(|h| RuleId::parse(h)).collect();
    if out.is_empty() && documented != catalog {
        out.push(format!(
            "the sections are not in catalog order: {:?}, expected {:?}",
            headings,
            catalog.iter().map(|r| r.as_str()).collect::<Vec<_>>()
        ));
    }
    // The severity table: every rule in exactly one row, with its registry severity.
    let rows = severity_rows(doc);
    for r in &catalog {
        let found: Vec<&String> = rows
            .iter()
            .filter(|(ids, _)| ids.iter().any(|i| i == r.as_str()))
            .map(|(_, sev)| sev)
            .collect();
        match found.as_slice() {
            [sev] if sev.as_str() == r.fail_severity().as_str() => {}
            [sev] => out.push(format!(
                "the severity table gives {} `{sev}`, the registry `{}`",
                r.as_str(),
                r.fail_severity().as_str()
            )),
            [] => out.push(format!("the severity table has no row for {}", r.as_str())),
            _ => out.push(format!("the severity table lists {} twice", r.as_str())),
        }
    }
    // Each section: its Config rule and resource type, and the verdicts it can give.
    let bucket_rule = format!("Config rule `{RULE_NAME_PREFIX}-bucket`");
    let network_rule = format!("Config rule `{RULE_NAME_PREFIX}-network`");
    for (h, body) in &secs {
        let Some(r) = RuleId::parse(h) else { continue };
        // The registry says which resource a rule judges (RuleId::spec).
        let (rule, other, rtype) = match r.spec().resource {
            RuleResource::Bucket => (&bucket_rule, &network_rule, ResourceType::S3Bucket),
            RuleResource::Network => (&network_rule, &bucket_rule, ResourceType::Ec2Vpc),
        };
        if !body.contains(rule.as_str()) || body.contains(other.as_str()) {
            out.push(format!("`### {h}` does not say it is reported by {rule}"));
        }
        if !body.contains(&format!("`{}`", rtype.as_str())) {
            out.push(format!(
                "`### {h}` does not name its resource type `{}`",
                rtype.as_str()
            ));
        }
        for needed in ["**PASS**", "**NOT_APPLICABLE**"] {
            if !body.contains(needed) {
                out.push(format!("`### {h}` does not say when it is {needed}"));
            }
        }
        if !body.contains("**FAIL**") && !body.contains("**WARN**") {
            out.push(format!(
                "`### {h}` says neither when it FAILs nor when it WARNs"
            ));
        }
    }
    // The status names.
    match chapter(doc, "Verdicts") {
        None => out.push("no `## Verdicts` section".into()),
        Some(v) => {
            for s in statuses() {
                if !v.contains(&format!("| `{}` |", s.as_str())) {
                    out.push(format!("the verdict table lacks `{}`", s.as_str()));
                }
            }
        }
    }
    // The parameters, both ways.
    match chapter(doc, "Parameters") {
        None => out.push("no `## Parameters` section".into()),
        Some(p) => {
            for name in accepted_parameters() {
                if !p.contains(&format!("| `{name}` |")) {
                    out.push(format!("the parameter table lacks `{name}`"));
                }
            }
            for row in p.lines().filter(|l| l.starts_with("| `")) {
                let name = row
                    .trim_start_matches("| `")
                    .split('`')
                    .next()
                    .unwrap_or_default();
                let json = format!("{{\"{name}\": \"\"}}");
                if parse_rule_parameters(Some(&json)).is_err() {
                    out.push(format!(
                        "the parameter table lists `{name}`, which the Config rule refuses"
                    ));
                }
            }
        }
    }
    // The guard's exemption: every action each of the guard's principals is exempted for.
    match chapter(doc, "The guard's exemption") {
        None => out.push("no `## The guard's exemption …` section".into()),
        Some(g) => {
            for kind in [
                GuardKind::Guard,
                GuardKind::Remediator,
                GuardKind::ConfigRecorder,
            ] {
                for a in kind.actions() {
                    if !g.contains(&format!("`{a}`")) {
                        out.push(format!(
                            "the guard's exemption does not list `{a}` ({})",
                            kind.label()
                        ));
                    }
                }
            }
        }
    }
    if let Some((_, body)) = secs
        .iter()
        .find(|(h, _)| h == RuleId::S3GuardAccess.as_str())
    {
        for a in CONFIG_CHECKED {
            if !body.contains(&format!("`{a}`")) {
                out.push(format!(
                    "`### S3-GUARD-ACCESS` does not list `{a}`, which it asks of AWS Config's recorder"
                ));
            }
        }
    }
    out
}

#[test]
fn the_catalog_is_consistent() {
    let catalog = catalog();
    assert_eq!(catalog.len(), RuleId::BUCKET.len() + RuleId::NETWORK.len());
    for (i, r) in catalog.iter().enumerate() {
        assert_eq!(RuleId::parse(r.as_str()), Some(*r), "{r}");
        assert!(!catalog[..i].contains(r), "{r} listed twice");
    }
}

#[test]
fn rules_md_documents_exactly_the_catalog() {
    let problems = problems(&doc());
    assert!(
        problems.is_empty(),
        "docs/RULES.md and the rule catalog disagree:\n- {}",
        problems.join("\n- ")
    );
}

/// The check is not vacuous: doctored copies of the page fail it, each for the reason given.
#[test]
fn the_check_finds_drift() {
    let doc = doc();
    let expect = |what: &str, edited: &str, needle: &str| {
        assert_ne!(edited, doc, "{what}: the edit changed nothing");
        let p = problems(edited);
        assert!(
            p.iter().any(|m| m.contains(needle)),
            "{what}: expected a problem mentioning {needle:?}, got {p:?}"
        );
    };
    expect(
        "a rule left out",
        &doc.replace("### NET-DNS\n", "#### NET-DNS\n"),
        "no `### NET-DNS` section",
    );
    expect(
        "a severity the registry does not give",
        &doc.replace(
            "| `S3-NO-PUBLIC-GRANT` | `CRITICAL` |",
            "| `S3-NO-PUBLIC-GRANT` | `LOW` |",
        ),
        "the severity table gives S3-NO-PUBLIC-GRANT `LOW`, the registry `CRITICAL`",
    );
    expect(
        "a rule the catalog does not have",
        &format!("{doc}\n### S3-MADE-UP\n\nConfig rule `vpce-guard-bucket`.\n"),
        "`### S3-MADE-UP` is not a rule id",
    );
    expect(
        "a rule twice",
        &format!("{doc}\n### S3-TLS\n"),
        "`### S3-TLS` appears 2 times",
    );
    let tls = doc.find("### S3-TLS\n").unwrap();
    let sigv4 = doc.find("### S3-SIGV4\n").unwrap();
    let swapped = format!(
        "{}{}{}",
        &doc[..tls],
        &doc[sigv4..doc.find("### S3-TLS-VERSION\n").unwrap()],
        &doc[tls..sigv4]
    ) + &doc[doc.find("### S3-TLS-VERSION\n").unwrap()..];
    expect("two rules swapped", &swapped, "not in catalog order");
    let net_dns = doc.find("### NET-DNS\n").unwrap();
    let mut wrong_rule = doc.clone();
    wrong_rule.replace_range(
        net_dns..,
        &doc[net_dns..].replacen(
            "Config rule `vpce-guard-network`",
            "Config rule `vpce-guard-bucket`",
            1,
        ),
    );
    expect(
        "the wrong Config rule",
        &wrong_rule,
        "`### NET-DNS` does not say it is reported by Config rule `vpce-guard-network`",
    );
    expect(
        "a status missing",
        &doc.replace("| `WARN` |", "| WARN |"),
        "the verdict table lacks `WARN`",
    );
    expect(
        "a parameter missing",
        &doc.replace("| `RequireSigV4` |", "| RequireSigV4 |"),
        "the parameter table lacks `RequireSigV4`",
    );
    expect(
        "a parameter the code does not take",
        &doc.replace(
            "| `ApprovedVpcIds` |",
            "| `ApprovedRegions` | `--approved-region` | x |\n| `ApprovedVpcIds` |",
        ),
        "lists `ApprovedRegions`, which the Config rule refuses",
    );
    expect(
        "a guard action missing",
        &doc.replace("`s3:DeleteBucketPolicy`", "s3:DeleteBucketPolicy"),
        "does not list `s3:DeleteBucketPolicy`",
    );
}
