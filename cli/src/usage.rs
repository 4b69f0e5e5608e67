//! `vpce-guard route-usage`: is the private route actually used? Reads CloudTrail log files
//! (local files, folders, `s3://bucket/prefix`), or prints the Athena SQL of the same analysis,
//! or reads that query's CSV result; reports per guarded bucket which requests did not come
//! through an approved endpoint.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use vpce_guard::aws::{AwsClients, LogObject};
use vpce_guard::ports::NetworkReader;
use vpce_guard::rules::params::EndpointScope;
use vpce_guard::rules::BucketParams;
use vpce_guard::usage::{athena, Analysis, UsageOptions, UsageReport};

use crate::{Format, RouteUsageArgs, EXIT_NON_COMPLIANT};

/// Run the command; `Err` is a one-line message for exit status 2.
pub fn run(args: &RouteUsageArgs) -> Result<u8, String> {
    check_args(args)?;
    if let Some(table) = &args.athena {
        let opts = options(args, None)?;
        let sql = athena::sql(table, &opts).map_err(|e| e.to_string())?;
        print!("{sql}");
        return Ok(0);
    }
    let needs_aws = !args.approved_vpc.is_empty()
        || (scope(args)? == EndpointScope::Organization && args.org_account.is_empty())
        || args.inputs.iter().any(|i| i.starts_with("s3://"));
    let runtime = if needs_aws {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?,
        )
    } else {
        None
    };
    let clients = runtime.as_ref().map(|rt| {
        rt.block_on(AwsClients::load(
            args.endpoint_url.as_deref(),
            args.region.first().map(String::as_str),
        ))
    });
    let aws = runtime.as_ref().zip(clients.as_ref());
    let opts = options(args, aws)?;
    let report = if let Some(file) = &args.from_athena {
        let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        athena::from_csv(&text, &opts).map_err(|e| format!("{file}: {e}"))?
    } else {
        analyse(args, opts, aws)?
    };
    print_report(&report, args.format)?;
    Ok(if report.has_findings() {
        EXIT_NON_COMPLIANT
    } else {
        0
    })
}

fn check_args(args: &RouteUsageArgs) -> Result<(), String> {
    let given = [
        !args.inputs.is_empty(),
        args.athena.is_some(),
        args.from_athena.is_some(),
    ];
    match given.iter().filter(|g| **g).count() {
        0 => return Err("name CloudTrail log files, folders or s3://bucket/prefix (or --athena TABLE, or --from-athena FILE)".into()),
        1 => {}
        _ => return Err("give log files, --athena or --from-athena, one of them".into()),
    }
    if let Some(url) = &args.endpoint_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "--endpoint-url `{url}` must start with http:// or https://"
            ));
        }
    }
    for id in &args.approved_vpce {
        if !is_id(id, "vpce-") {
            return Err(format!(
                "--approved-vpce `{id}` is not an endpoint id (vpce-…)"
            ));
        }
    }
    for id in &args.approved_vpc {
        if !is_id(id, "vpc-") {
            return Err(format!("--approved-vpc `{id}` is not a VPC id (vpc-…)"));
        }
    }
    for a in args.account_id.iter().chain(&args.org_account) {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{a}` is not an account id (12 digits)"));
        }
    }
    if let Some(o) = &args.org_id {
        if !o.starts_with("o-") || o.len() < 12 {
            return Err(format!("--org-id `{o}` is not an organization id (o-…)"));
        }
    }
    for p in &args.exempt_principal {
        if !p.starts_with("arn:") || p.split(':').count() < 6 {
            return Err(format!(
                "--exempt-principal `{p}` is not an ARN pattern (arn:partition:service:region:account:resource)"
            ));
        }
    }
    Ok(())
}

fn is_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        (8..=17).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn scope(args: &RouteUsageArgs) -> Result<EndpointScope, String> {
    BucketParams::parse_endpoint_scope(&args.approved_endpoint_scope).map_err(|e| e.to_string())
}

/// What counts as guarded and approved. The approved VPCs' endpoints are read from EC2, and
/// the organization's accounts from Organizations (unless `--org-account` lists them).
fn options(
    args: &RouteUsageArgs,
    aws: Option<(&tokio::runtime::Runtime, &AwsClients)>,
) -> Result<UsageOptions, String> {
    let mut opts = UsageOptions {
        buckets: args.bucket.iter().cloned().collect(),
        approved_vpces: args.approved_vpce.iter().cloned().collect(),
        approved_owners: BTreeSet::new(),
        exempt_principals: args.exempt_principal.clone(),
    };
    match scope(args)? {
        EndpointScope::Endpoints => {}
        EndpointScope::Account => match &args.account_id {
            Some(a) => {
                opts.approved_owners.insert(a.clone());
            }
            None => {
                return Err(
                    "--approved-endpoint-scope account needs --account-id (the buckets' owner)"
                        .into(),
                )
            }
        },
        EndpointScope::Organization => {
            if !args.org_account.is_empty() {
                opts.approved_owners
                    .extend(args.org_account.iter().cloned());
            } else if let Some((rt, clients)) = aws {
                let (org, accounts) = rt
                    .block_on(clients.organization_accounts())
                    .map_err(|e| {
                        format!("--approved-endpoint-scope organization: cannot list the organization's accounts ({e}); name them with --org-account")
                    })?;
                if let Some(want) = &args.org_id {
                    if want != &org {
                        return Err(format!(
                            "--org-id {want}, but these credentials are in organization {org}"
                        ));
                    }
                }
                opts.approved_owners.extend(accounts);
            } else if args.athena.is_some() {
                return Err(
                    "--approved-endpoint-scope organization with --athena needs --org-account (the organization's accounts)"
                        .into(),
                );
            }
            if let Some(a) = &args.account_id {
                opts.approved_owners.insert(a.clone());
            }
        }
    }
    if !args.approved_vpc.is_empty() {
        let Some((rt, clients)) = aws else {
            return Err(
                "--approved-vpc with --athena: name the VPCs' endpoints with --approved-vpce"
                    .into(),
            );
        };
        let regions = if args.region.is_empty() {
            clients.default_region().into_iter().collect()
        } else {
            args.region.clone()
        };
        if regions.is_empty() {
            return Err("--approved-vpc: no region; pass --region or set AWS_REGION".into());
        }
        let wanted: BTreeSet<&String> = args.approved_vpc.iter().collect();
        let mut found = BTreeSet::new();
        for region in &regions {
            let endpoints = rt.block_on(clients.s3_endpoints(region)).map_err(|e| {
                format!("--approved-vpc: cannot read the S3 endpoints of {region} ({e})")
            })?;
            for e in endpoints.into_iter().filter(|e| wanted.contains(&e.vpc_id)) {
                found.insert(e.vpc_id.clone());
                opts.approved_vpces.insert(e.id);
            }
        }
        // A VPC without an S3 endpoint (or a mistyped id) approves nothing: say so rather
        // than report its traffic as unapproved without a word.
        if let Some(missing) = wanted.iter().find(|v| !found.contains(v.as_str())) {
            return Err(format!(
                "--approved-vpc {missing}: no S3 endpoint in {} (is the VPC id right, and the region?)",
                regions.join(", ")
            ));
        }
    }
    if opts.approved_vpces.is_empty() && opts.approved_owners.is_empty() {
        return Err("no approved endpoints: name them with --approved-vpce, --approved-vpc (read from EC2) or --approved-endpoint-scope account|organization".into());
    }
    Ok(opts)
}

/// Where the log files are.
enum Source {
    File(PathBuf),
    Object {
        bucket: String,
        region: String,
        object: LogObject,
    },
}

fn collect(
    args: &RouteUsageArgs,
    aws: Option<(&tokio::runtime::Runtime, &AwsClients)>,
) -> Result<(Vec<Source>, u64), String> {
    let mut out = Vec::new();
    let mut bytes = 0u64;
    for input in &args.inputs {
        if let Some(rest) = input.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("`{input}` names no bucket (s3://bucket/prefix)"));
            }
            let Some((rt, clients)) = aws else {
                return Err(format!("`{input}`: no AWS client"));
            };
            let (region, objects) = rt
                .block_on(clients.list_log_objects(bucket, prefix))
                .map_err(|e| format!("cannot list {input}: {e}"))?;
            if objects.is_empty() {
                return Err(format!("no log files under {input}"));
            }
            for object in objects {
                bytes += object.size;
                out.push(Source::Object {
                    bucket: bucket.to_string(),
                    region: region.clone(),
                    object,
                });
            }
            continue;
        }
        let path = Path::new(input);
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {input}: {e}"))?;
        if meta.is_dir() {
            let before = out.len();
            walk(path, &mut out, &mut bytes)?;
            if out.len() == before {
                return Err(format!("no log files (.json, .json.gz) under {input}"));
            }
        } else {
            bytes += meta.len();
            out.push(Source::File(path.to_path_buf()));
        }
    }
    Ok((out, bytes))
}

/// A folder's log files, recursively, in name order; CloudTrail's digest files and anything
/// but `.json` / `.json.gz` are left out.
fn walk(dir: &Path, out: &mut Vec<Source>, bytes: &mut u64) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        let kind = e
            .file_type()
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        if kind.is_dir() {
            if name != "CloudTrail-Digest" {
                walk(&path, out, bytes)?;
            }
        } else if name.ends_with(".json") || name.ends_with(".json.gz") {
            *bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(Source::File(path));
        }
    }
    Ok(())
}

/// gzip (by its magic bytes, whatever the name) or plain.
fn decode(raw: Vec<u8>, buf: &mut Vec<u8>) -> Result<bool, String> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        buf.clear();
        // The trailer holds the (last member's) size mod 2^32: a hint that spares the buffer's
        // regrowth, capped so that a forged trailer cannot reserve much.
        if let Some(t) = raw
            .get(raw.len().saturating_sub(4)..)
            .filter(|t| t.len() == 4)
        {
            let size = u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize;
            buf.reserve(size.min(256 << 20));
        }
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(buf)
            .map_err(|e| format!("not CloudTrail: a damaged gzip file ({e})"))?;
        Ok(true)
    } else {
        *buf = raw;
        Ok(false)
    }
}

fn analyse(
    args: &RouteUsageArgs,
    opts: UsageOptions,
    aws: Option<(&tokio::runtime::Runtime, &AwsClients)>,
) -> Result<UsageReport, String> {
    let (sources, total) = collect(args, aws)?;
    let mut analysis = Analysis::new(opts);
    let progress = std::io::stderr().is_terminal();
    let mut done = 0u64;
    let mut buf = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let (name, raw) = match src {
            Source::File(p) => (
                p.display().to_string(),
                std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
            ),
            Source::Object {
                bucket,
                region,
                object,
            } => {
                let Some((rt, clients)) = aws else {
                    return Err("no AWS client".into());
                };
                let name = format!("s3://{bucket}/{}", object.key);
                let raw = rt
                    .block_on(clients.read_log_object(bucket, region, &object.key))
                    .map_err(|e| format!("cannot read {name}: {e}"))?;
                (name, raw)
            }
        };
        done += raw.len() as u64;
        decode(raw, &mut buf).map_err(|e| format!("{name}: {e}"))?;
        analysis.feed(&buf).map_err(|e| format!("{name}: {e}"))?;
        if progress {
            bar(i + 1, sources.len(), done, total, analysis.records());
        }
    }
    if progress {
        eprintln!();
    }
    Ok(analysis.report())
}

/// One line on the terminal, redrawn: files, bytes read and records.
fn bar(files: usize, of: usize, done: u64, total: u64, records: u64) {
    const WIDTH: usize = 28;
    let share = if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    };
    let filled = (share * WIDTH as f64).round() as usize;
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[{}{}] {:>3}%  {files}/{of} files  {records} records",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled),
        (share * 100.0).round() as u64,
    );
    let _ = err.flush();
}

fn print_report(report: &UsageReport, format: Format) -> Result<(), String> {
    let text = match format {
        Format::Json => {
            serde_json::to_string_pretty(report).map_err(|e| format!("cannot render JSON: {e}"))?
                + "\n"
        }
        Format::Text => render_text(report),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(format!("cannot write the report: {e}"))
            }
        })
}

fn render_text(report: &UsageReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if report.buckets.is_empty() {
        s.push_str("no requests to guarded buckets in these records\n");
    }
    for b in &report.buckets {
        let share = if b.requests == 0 {
            "no requests".to_string()
        } else {
            format!(
                "{:.1}% of {} requests through an approved endpoint",
                100.0 * b.via_approved_endpoint as f64 / b.requests as f64,
                b.requests
            )
        };
        let _ = writeln!(
            s,
            "{}: {share} ({} public route, {} another endpoint; {} excluded; {} refused by an endpoint policy)",
            b.bucket, b.public_route, b.other_endpoint, b.excluded, b.endpoint_policy_denied
        );
        for f in &b.findings {
            let route = if f.denied == f.count {
                "refused"
            } else if f.denied > 0 {
                "partly refused"
            } else {
                "SUCCEEDED"
            };
            let _ = writeln!(
                s,
                "  {} from {}{}: {} × {} ({route}{}), {} – {}",
                f.principal,
                if f.source_ip.is_empty() {
                    "?"
                } else {
                    &f.source_ip
                },
                if f.ipv6 { " (IPv6)" } else { "" },
                f.count,
                f.event_names.join(", "),
                if f.denied > 0 && f.denied < f.count {
                    format!(": {} of {}", f.denied, f.count)
                } else {
                    String::new()
                },
                f.first_seen,
                f.last_seen
            );
        }
    }
    if !report.endpoint_denials.is_empty() {
        s.push_str("refused by an endpoint policy:\n");
        for d in &report.endpoint_denials {
            let _ = writeln!(
                s,
                "  {} refused account {} {} × {}{}, {} – {}",
                d.vpc_endpoint_id,
                if d.principal_account.is_empty() {
                    "?"
                } else {
                    &d.principal_account
                },
                d.count,
                d.event_names.join(", "),
                d.bucket
                    .as_deref()
                    .map(|b| format!(" on {b}"))
                    .unwrap_or_default(),
                d.first_seen,
                d.last_seen
            );
        }
    }
    s
}
