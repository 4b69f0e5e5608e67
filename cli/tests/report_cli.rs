//! The report as a manager gets it: `scan --format json` of the demo account on moto (its
//! additive `network` section), `vpce-guard report` and `scan --format html`, and the page
//! rendered in headless Chromium (Debian's package, installed by scripts/setup-chromium): the
//! DOM's numbers checked and a screenshot taken.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use vpce_guard_tests::block_on;
use vpce_guard_tests::moto::Moto;
use vpce_guard_tests::offline_command_with_credentials;
use vpce_guard_tests::seed::Seed;

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn guard(args: &[&str]) -> Output {
    offline_command_with_credentials(env!("CARGO_BIN_EXE_vpce-guard"))
        .args(args)
        .output()
        .unwrap()
}

/// The demo account on a fresh moto, and its sweep in `format`.
fn demo_scan(moto: &Moto, format: &str) -> Output {
    let endpoint = moto.endpoint();
    let mut args = vec![
        "scan",
        "--endpoint-url",
        endpoint.as_str(),
        "--format",
        format,
    ];
    for r in REGIONS {
        args.extend(["--region", r]);
    }
    guard(&args)
}

fn seeded() -> (Moto, String) {
    let moto = Moto::start();
    let demo = block_on(async {
        Seed::new(&moto.endpoint(), "us-east-1")
            .await
            .demo_account()
            .await
    });
    (moto, demo.vpce)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vpce-guard-report-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// FAIL and WARN findings of every bucket and VPC of a sweep's JSON.
fn failing_rules(scan: &Value) -> usize {
    ["buckets", "vpcs"]
        .iter()
        .flat_map(|k| scan[k].as_array().unwrap())
        .flat_map(|e| e["findings"].as_array().unwrap())
        .filter(|f| f["status"] == "FAIL" || f["status"] == "WARN")
        .count()
}

/// (region, type, policy verdict, route tables, admitted by, denied by).
type EndpointSummary = (String, String, String, usize, Vec<String>, Vec<String>);

#[test]
fn the_sweep_gains_a_network_section_that_says_which_buckets_admit_each_endpoint() {
    let (moto, vpce) = seeded();
    let out = demo_scan(&moto, "json");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Additive: the old fields are all there.
    for k in ["buckets", "vpcs", "api_calls"] {
        assert!(v.get(k).is_some(), "{k}");
    }
    let net = v["network"].as_array().unwrap();
    let regions: Vec<&str> = net.iter().map(|n| n["region"].as_str().unwrap()).collect();
    assert_eq!(regions, ["ap-southeast-2", "eu-west-1", "us-east-1"]);
    // Every VPC of the sweep appears once in the topology.
    let in_net: usize = net
        .iter()
        .map(|n| n["vpcs"].as_array().unwrap().len())
        .sum();
    assert_eq!(in_net, v["vpcs"].as_array().unwrap().len());
    // Per endpoint: (region, type, policy verdict, route tables, admitted by, denied by).
    let mut endpoints: BTreeMap<String, EndpointSummary> = BTreeMap::new();
    for n in net {
        for vpc in n["vpcs"].as_array().unwrap() {
            for t in vpc["route_tables"].as_array().unwrap() {
                // The main table lists the subnets no other table has.
                if t["main"] == true && vpc["route_tables"].as_array().unwrap().len() == 1 {
                    assert!(!t["subnets"].as_array().unwrap().is_empty(), "{t}");
                }
            }
            for e in vpc["endpoints"].as_array().unwrap() {
                let names = |k: &str| {
                    e[k].as_array()
                        .unwrap()
                        .iter()
                        .map(|b| b.as_str().unwrap().to_string())
                        .collect::<Vec<_>>()
                };
                endpoints.insert(
                    e["id"].as_str().unwrap().to_string(),
                    (
                        n["region"].as_str().unwrap().to_string(),
                        e["type"].as_str().unwrap().to_string(),
                        e["policy"]["status"].as_str().unwrap().to_string(),
                        e["route_tables"].as_array().unwrap().len(),
                        names("admitted_by"),
                        names("denied_by"),
                    ),
                );
            }
        }
    }
    assert_eq!(endpoints.len(), 2, "{endpoints:?}");
    let (region, ty, policy, tables, admitted, denied) = &endpoints[&vpce];
    assert_eq!(
        (region.as_str(), ty.as_str(), policy.as_str()),
        ("us-east-1", "Gateway", "PASS")
    );
    assert_eq!(*tables, 1);
    // Buckets without a policy and the one whose deny names this endpoint admit it.
    assert_eq!(
        admitted,
        &[
            "acme-analytics",
            "acme-build-logs",
            "acme-prod-data",
            "acme-public-site"
        ]
    );
    assert!(denied.is_empty());
    // The eu-west-1 endpoint (default allow-all policy) is denied by the archive bucket, whose
    // deny names the us-east-1 endpoint only.
    let eu = endpoints.values().find(|e| e.0 == "eu-west-1").unwrap();
    assert_eq!((eu.1.as_str(), eu.2.as_str()), ("Gateway", "FAIL"));
    assert!(eu.4.is_empty());
    assert_eq!(eu.5, ["acme-eu-archive"]);
}

#[test]
fn report_and_scan_html_write_one_self_contained_page() {
    let (moto, _) = seeded();
    let dir = scratch("files");
    let out = demo_scan(&moto, "json");
    let json = dir.join("scan.json");
    std::fs::write(&json, &out.stdout).unwrap();
    let scan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let html = dir.join("report.html");
    let r = guard(&[
        "report",
        json.to_str().unwrap(),
        "--output",
        html.to_str().unwrap(),
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&format!(
        "data-buckets=\"6\" data-private=\"1\" data-not-private=\"5\" data-failing-rules=\"{}\"",
        failing_rules(&scan)
    )));
    for external in ["src=", "href=\"http", "<script", "@import", "url("] {
        assert!(!page.contains(external), "{external}");
    }
    // scan --format html: the same page on standard output (but for its time).
    let direct = demo_scan(&moto, "html");
    assert_eq!(direct.status.code(), Some(1));
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("generated"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&String::from_utf8_lossy(&direct.stdout)),
        strip(&page)
    );
    // With route usage.
    let usage = dir.join("usage.json");
    std::fs::write(
        &usage,
        r#"{"buckets":[{"bucket":"acme-prod-data","requests":10,"excluded":1,"via_approved_endpoint":7,"public_route":3,"other_endpoint":0,"endpoint_policy_denied":0,"findings":[{"principal":"arn:aws:sts::123456789012:assumed-role/ci/x","source_ip":"198.51.100.7","ipv6":false,"event_names":["GetObject"],"count":3,"denied":0,"first_seen":"2026-12-01T10:00:00Z","last_seen":"2026-12-01T10:20:00Z"}]}],"endpoint_denials":[]}"#,
    )
    .unwrap();
    let r = guard(&[
        "report",
        json.to_str().unwrap(),
        "--route-usage",
        usage.to_str().unwrap(),
        "--output",
        "-",
    ]);
    assert_eq!(r.status.code(), Some(0));
    let page = String::from_utf8_lossy(&r.stdout);
    assert!(page.contains("Is the private route used?"));
    assert!(page.contains("arn:aws:sts::123456789012:assumed-role/ci/x"));
    // Bad input: one line, exit 2.
    std::fs::write(dir.join("bad.json"), "{\"buckets\": 3}").unwrap();
    for (args, says) in [
        (
            vec!["report", "missing.json", "--output", "x.html"],
            "cannot read `missing.json`",
        ),
        (
            vec![
                "report",
                dir.join("bad.json").to_str().unwrap(),
                "--output",
                "x.html",
            ],
            "is not the JSON of `vpce-guard scan --format json`",
        ),
        (vec!["report", json.to_str().unwrap()], "--output"),
    ] {
        let r = guard(&args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Headless Chromium with the flags this machine's closed network needs.
fn chromium(user_data: &Path) -> Command {
    let mut c = Command::new("/usr/bin/chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1280,2400",
    ])
    .arg(format!("--user-data-dir={}", user_data.display()));
    c
}

/// The width and height of a PNG (its IHDR chunk).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20))
}

#[test]
fn the_report_renders_in_chromium_with_the_expected_numbers() {
    if !Path::new("/usr/bin/chromium").exists() {
        assert!(
            std::env::var_os("VPCE_GUARD_REQUIRE_CHROMIUM").is_none(),
            "scripts/setup-chromium installed Chromium, yet /usr/bin/chromium is missing"
        );
        eprintln!(
            "skipped: Chromium is not installed (scripts/setup-chromium could not install it here)"
        );
        return;
    }
    let (moto, _) = seeded();
    let out = demo_scan(&moto, "json");
    let scan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = scratch("browser");
    let json = dir.join("scan.json");
    std::fs::write(&json, &out.stdout).unwrap();
    let html = dir.join("report.html");
    let r = guard(&[
        "report",
        json.to_str().unwrap(),
        "--output",
        html.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(0));
    // The DOM as Chromium built it: a copy of the page with a probe that counts elements and
    // writes its findings into the page, read back with --dump-dom.
    let page = std::fs::read_to_string(&html).unwrap();
    let probe = r#"<script>
const q = s => document.querySelectorAll(s).length;
const counts = document.getElementById('summary-counts').dataset;
const svg = document.querySelector('svg').getBoundingClientRect();
const out = {
  buckets: Number(counts.buckets),
  failing_declared: Number(counts.failingRules),
  matrix_rows: q('#matrix tbody tr'),
  matrix_columns: q('#matrix thead th'),
  vpc_rows: q('#vpc-matrix tbody tr'),
  failing_rules: q('#failing article.failure'),
  diagrams: q('svg[role=img]'),
  bucket_nodes: q('svg g.node'),
  h1: q('h1'),
  tables_without_headers: [...document.querySelectorAll('table')].filter(t => !t.querySelector('th')).length,
  tables_without_caption: [...document.querySelectorAll('table')].filter(t => !t.querySelector('caption')).length,
  external: q('[src]') + q('link') + q('a[href^=http]'),
  svg_width: Math.round(svg.width),
  title: document.title,
  lang: document.documentElement.lang
};
const pre = document.createElement('pre');
pre.id = 'dom-check';
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"#;
    let probed = dir.join("probed.html");
    std::fs::write(&probed, page.replace("</body>", &format!("{probe}</body>"))).unwrap();
    let dom = chromium(&dir.join("profile-dom"))
        .arg("--dump-dom")
        .arg(format!("file://{}", probed.display()))
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dump = String::from_utf8_lossy(&dom.stdout);
    let got = dump
        .split("<pre id=\"dom-check\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("the probe did not run: {}", &dump[..dump.len().min(400)]));
    let got: Value =
        serde_json::from_str(&got.replace("&quot;", "\"").replace("&amp;", "&")).unwrap();
    let buckets = scan["buckets"].as_array().unwrap().len();
    let vpcs = scan["vpcs"].as_array().unwrap().len();
    assert_eq!(got["buckets"], buckets);
    assert_eq!(got["matrix_rows"], buckets);
    // Bucket, region, verdict and the ten bucket rules.
    assert_eq!(got["matrix_columns"], 13);
    assert_eq!(got["vpc_rows"], vpcs);
    assert_eq!(got["failing_rules"], failing_rules(&scan));
    assert_eq!(got["failing_declared"], failing_rules(&scan));
    assert_eq!(got["diagrams"], 3);
    // VPCs, route tables, endpoints and buckets of the three regions.
    let tables: usize = scan["network"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["vpcs"].as_array().unwrap())
        .map(|v| {
            v["route_tables"].as_array().unwrap().len() + v["endpoints"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(got["bucket_nodes"], vpcs + tables + buckets);
    assert_eq!(got["h1"], 1);
    assert_eq!(got["tables_without_headers"], 0);
    assert_eq!(got["tables_without_caption"], 0);
    assert_eq!(got["external"], 0);
    assert_eq!(got["svg_width"], 1070);
    assert_eq!(got["lang"], "en");
    assert!(got["title"]
        .as_str()
        .unwrap()
        .contains("1 of 6 buckets private"));
    // A screenshot of the page itself (no probe), kept for people to look at.
    let shots = root().join("target/report-browser");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("report.png");
    std::fs::remove_file(&png).ok();
    let shot = chromium(&dir.join("profile-shot"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(png_size(&bytes), (1280, 2400));
    assert!(bytes.len() > 50_000, "a blank page? {} bytes", bytes.len());
    eprintln!("report screenshot: {}", png.display());
    std::fs::remove_dir_all(&dir).ok();
}
