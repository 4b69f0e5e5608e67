//! The module graph of the library (`shared/src`): which top-level module's production code
//! names which other (`crate::x` paths; test modules and `tests.rs` files left out), and the
//! cycles in it. The layers are meant to point one way: pure modules (`policy`, `facts`,
//! `rules`, `events`) below the handlers, adapters (`aws`) implementing ports without naming a
//! handler. A new cycle fails this test; so does a known one that is gone (then strike it
//! from `KNOWN_CYCLES`, so it cannot come back). `cargo test -p vpce-guard-shared --test
//! module_graph -- --nocapture` prints the graph.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Cycles that exist today, each as its sorted set of modules, until the I/O half is split
/// into one-way layers (issue 18: ports and errors in homes of their own, adapters that name
/// no handler). Only ever shrinks.
const KNOWN_CYCLES: &[&[&str]] = &[];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The production part of a file: without comments, without an inline
/// `#[cfg(test)] mod … { … }` (by the project's convention the last item of a file), and
/// nothing of a `tests.rs`.
fn production(path: &Path, text: &str) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if l.trim() == "#[cfg(test)]" {
            if let Some(next) = lines.peek() {
                let n = next.trim();
                if n.starts_with("mod ") && n.ends_with('{') {
                    break;
                }
            }
            continue;
        }
        // Comments and doc comments name modules without depending on them.
        if !l.trim_start().starts_with("//") {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// The module paths a text names: `crate::a::b`, `super::x` and `self::x` paths (in `use`
/// lines and expressions alike, `{a, b::c}` groups expanded), resolved from module `me`
/// (`[]` is the crate root).
fn named_paths(text: &str, me: &[String]) -> Vec<Vec<String>> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            // A whole word only (`mycrate::` is not `crate::`).
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            // Where the path starts: the crate root, this module's parent, or this module.
            let mut base: Vec<String> = match start {
                "crate::" => Vec::new(),
                "super::" => {
                    // In `a/b.rs` (module a::b) and in `a/mod.rs` (module a), super is a's
                    // parent or a: the module path without its last part.
                    let mut p = me.to_vec();
                    p.pop();
                    p
                }
                _ => me.to_vec(),
            };
            let mut rest = &text[from..];
            // `super::super::…`
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            let mut segs = Vec::new();
            loop {
                if let Some(group) = rest.strip_prefix('{') {
                    let inner = group.split('}').next().unwrap_or_default();
                    for part in inner.split(',') {
                        let mut p = base.clone();
                        p.extend(segs.iter().cloned());
                        p.extend(part.trim().split("::").map(ident).filter(|s| !s.is_empty()));
                        out.push(p);
                    }
                    break;
                }
                let seg = ident(rest);
                if seg.is_empty() {
                    let mut p = base.clone();
                    p.extend(segs.iter().cloned());
                    out.push(p);
                    break;
                }
                rest = &rest[seg.len()..];
                segs.push(seg);
                match rest.strip_prefix("::") {
                    Some(r) => rest = r,
                    None => {
                        let mut p = base.clone();
                        p.extend(segs.iter().cloned());
                        out.push(p);
                        break;
                    }
                }
            }
        }
    }
    out
}

/// The module of a file: `aws/mod.rs` is `aws`, `aws/s3.rs` is `aws::s3`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    parts
}

/// The graph of the library's modules (one node a file; `lib.rs`, the crate root, and test
/// files left out): an edge for each module another names, at the longest module prefix of
/// the path named.
fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeMap<Vec<String>, &PathBuf> = files
        .iter()
        .map(|f| (module_of(src, f), f))
        .filter(|(m, f)| {
            !m.is_empty()
                && m.last().is_some_and(|l| l != "tests")
                && f.file_name().is_some_and(|n| n != "tests.rs")
        })
        .collect();
    let mut g = Graph::new();
    for (me, f) in &modules {
        let text = production(f, &std::fs::read_to_string(f).unwrap());
        let name = me.join("::");
        let entry = g.entry(name.clone()).or_default();
        for path in named_paths(&text, me) {
            let target = (1..=path.len())
                .rev()
                .map(|k| &path[..k])
                .find(|p| modules.contains_key(*p));
            if let Some(t) = target {
                let t = t.join("::");
                if t != name {
                    entry.insert(t);
                }
            }
        }
    }
    g
}

/// The graph folded to the top-level modules (`aws`, `config`, `rules`, …).
fn top_level(g: &Graph) -> Graph {
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_string();
    let mut out = Graph::new();
    for (m, to) in g {
        let e = out.entry(top(m)).or_default();
        for t in to {
            if top(t) != top(m) {
                e.insert(top(t));
            }
        }
    }
    out
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<BTreeSet<String>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = BTreeSet::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_new_cycle_among_the_librarys_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = graph(&src);
    let g = top_level(&files);
    println!("module graph of shared/src (production code, top-level modules):");
    for (m, to) in &g {
        println!(
            "  {m} -> {}",
            to.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    println!("module graph, one node a file:");
    for (m, to) in &files {
        println!(
            "  {m} -> {}",
            to.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let mut found = cycles(&g);
    found.extend(cycles(&files));
    println!("cycles: {found:?}");
    let known: Vec<BTreeSet<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let new: Vec<_> = found.iter().filter(|c| !known.contains(c)).collect();
    assert!(new.is_empty(), "new module cycles: {new:?}");
    let gone: Vec<_> = known.iter().filter(|c| !found.contains(c)).collect();
    assert!(
        gone.is_empty(),
        "these known cycles are gone (or changed): strike them from KNOWN_CYCLES: {gone:?}"
    );
    // The pure modules name no I/O module at all.
    for pure in ["policy", "facts", "rules", "events"] {
        for io in [
            "aws", "config", "notify", "remedy", "watcher", "scan", "ports",
        ] {
            assert!(
                !g.get(pure).is_some_and(|to| to.contains(io)),
                "{pure} (pure) names {io}"
            );
        }
    }
    // Production code never names the test doubles (`testing`, behind a feature).
    for (m, to) in &g {
        assert!(
            m == "testing" || !to.contains("testing"),
            "{m} names the test doubles (testing)"
        );
    }
    // Handlers and ports name no adapter (`aws`).
    for layer in [
        "ports", "config", "notify", "remedy", "watcher", "scan", "events", "rules",
    ] {
        assert!(
            !g.get(layer).is_some_and(|to| to.contains("aws")),
            "{layer} names the adapters (aws)"
        );
    }
}

#[test]
fn the_check_sees_a_cycle() {
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    let c = cycles(&g);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].len(), 3);
    let me = vec!["aws".to_string(), "memory".to_string()];
    let paths = named_paths(
        "use crate::{config::port, rules};\nuse super::events::X;\nfn f() { crate::events::A; }",
        &me,
    );
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert!(joined.contains(&"config::port".to_string()), "{joined:?}");
    assert!(joined.contains(&"rules".to_string()), "{joined:?}");
    assert!(joined.contains(&"aws::events::X".to_string()), "{joined:?}");
    assert!(joined.contains(&"events::A".to_string()), "{joined:?}");
}

/// The library's public surface: production items declared plain `pub` (functions and
/// methods included; fields and enum variants not). Items only the tests reach are
/// `pub(crate)` with `#[cfg_attr(feature = "testing", visibility::make(pub))]` and modules
/// only the tests reach are `testing_pub_mod!`: neither counts. Ratchet: lower `PUB_BUDGET`
/// when the surface shrinks. (185 after issue 18; +6 for issue 19's `EndpointScope`,
/// `parse_endpoint_scope`, `Rcp`, `RcpError`, `Rcp::from_text` and their re-export; +5 for the
/// organization-policy source: `OrgLayer`, `OrgPolicySource`, their re-export,
/// `AwsClients::with_org_policy_role`, `WatcherSettings::org_policy_role`; +23 for issue 20's
/// route usage: the `usage` module (`Analysis` and its four methods, `UsageOptions`,
/// `UsageReport`, `has_findings`, `BucketUsage`, `RouteFinding`, `EndpointDenial`,
/// `NotCloudTrail`), `usage::athena` (`COLUMNS`, `sql`, `from_csv`, `AthenaError`) and the log
/// readers `LogObject`, `list_log_objects`, `read_log_object`, `organization_accounts`; +10 for
/// the route-usage function's `watcher::route_usage`: `RouteUsageSettings` (`from_env`,
/// `with_long_settings`), `RouteUsageContext` (`load`, `needs_org_accounts`,
/// `with_org_accounts`), `RouteUsageSummary` and `handle`; +8 for issue 21: `ScanSource`, the
/// aggregated sweep (`scan::aggregate`, `AggregatorOptions`, `AccountSummary`,
/// `scan_aggregator`) and its ports (`AggregateResource`, `AggregatorReader`, `AccountAccess`);
/// +3 for issue 22's severity: `Severity`, `Severity::as_str`, `RuleId::fail_severity`; +4 for
/// its OCSF output: `export`, `export::ocsf`, `scan_events` and `policy_events`; +7 for its mute
/// list: `rules::mute` (`MuteList`, `parse`, `apply`, `MuteError`), the `MuteSource` port and
/// `AwsClients::with_mute_parameter`; +6 for its Security Hub export: `export::asff`
/// (`AsffFinding`), `export::securityhub` (`SecurityHubPort`, `OpenFinding`) and
/// `AwsClients::with_security_hub` (`scan_events` became `ScanReport::ocsf_events`); +6 for
/// issue 23's network section of a sweep: `scan::topology` (`RegionNetwork`, `VpcNode`,
/// `RouteTableNode`, `EndpointNode`, `PolicyVerdict`), which the report draws, +2 for its
/// report (`scan::html`, `report_html`), +1 for `check-iac`'s `check_policy_readings` and +1
/// for `ScanReport::mute` (per-account counts after muting).)
const PUB_BUDGET: usize = 267;

fn public_declarations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap().to_string_lossy().to_string();
        if rel.starts_with("testing") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let mut test_only = false;
        for l in production(&f, &text).lines() {
            let t = l.trim_start();
            // An item behind `#[cfg(feature = "testing")]` exists only for the tests.
            let gated = std::mem::replace(
                &mut test_only,
                t.starts_with("#[cfg(") && t.contains("feature = \"testing\""),
            );
            let Some(rest) = t.strip_prefix("pub ") else {
                continue;
            };
            if gated {
                continue;
            }
            let rest = rest
                .trim_start_matches("async ")
                .trim_start_matches("const ")
                .trim_start_matches("unsafe ");
            let kind = rest.split_whitespace().next().unwrap_or_default();
            // `pub mod $name` is the body of `testing_pub_mod!`, not a declaration.
            if matches!(
                kind,
                "fn" | "struct" | "enum" | "trait" | "const" | "static" | "type" | "mod" | "use"
            ) && !rest.contains('$')
            {
                out.push(format!("{rel}: {}", t.trim_end_matches('{').trim()));
            }
        }
    }
    out
}

#[test]
fn the_public_surface_stays_small() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let decls = public_declarations(&src);
    println!("{} public declarations:", decls.len());
    for d in &decls {
        println!("  {d}");
    }
    assert!(
        decls.len() <= PUB_BUDGET,
        "{} public declarations, over the budget of {PUB_BUDGET}: make what only the crate uses \
         pub(crate), and what only the tests use test-only (see docs/ARCHITECTURE.md)",
        decls.len()
    );
}
