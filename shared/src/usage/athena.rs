//! Route usage past one machine: the analysis of [`super::Analysis`] written as one Athena
//! (Trino) query over AWS's standard CloudTrail table, and the query's CSV result read back
//! into the same [`UsageReport`].
//!
//! The query mirrors the Rust analysis rule for rule (the same exclusions, the same routes,
//! the same aggregates per bucket, principal, source and hour); the tests run it, transpiled
//! to DuckDB, over the records the Rust analysis reads and compare the two reports.
//!
//! Its result has one row per bucket (`kind` = `bucket`), per finding (`finding`) and per
//! endpoint denial (`denial`), in the columns of [`COLUMNS`].

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{
    BucketUsage, EndpointDenial, RouteFinding, UsageOptions, UsageReport, CONSOLE_AGENTS,
    S3_SOURCE, SERVICE_ROLE_PATH, VPCE_ACCESS_DENIED,
};
use crate::policy::glob::arn_parts;

/// The columns of the query's result, in order.
pub const COLUMNS: [&str; 17] = [
    "kind",
    "bucket",
    "principal",
    "source_ip",
    "vpc_endpoint_id",
    "principal_account",
    "event_names",
    "requests",
    "excluded",
    "via_approved_endpoint",
    "public_route",
    "other_endpoint",
    "endpoint_policy_denied",
    "count",
    "denied",
    "first_seen",
    "last_seen",
];

/// Why a table name or a CSV result cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AthenaError(String);

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn list(items: &BTreeSet<String>) -> String {
    items.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ")
}

/// A table reference: `name` or `database.name`, each part letters, digits and `_` (quoted
/// when it needs to be), or already double-quoted parts.
fn table_ref(table: &str) -> Result<String, AthenaError> {
    let parts: Vec<&str> = table.split('.').collect();
    if table.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(AthenaError(format!(
            "--athena `{table}` is not a table name (TABLE or DATABASE.TABLE)"
        )));
    }
    let mut out = Vec::new();
    for p in parts {
        if p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push(p.to_string());
        } else if p
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '`')
        {
            out.push(format!("\"{p}\""));
        } else {
            return Err(AthenaError(format!(
                "--athena `{table}` is not a table name (TABLE or DATABASE.TABLE)"
            )));
        }
    }
    Ok(out.join("."))
}

/// An `ArnLike` pattern as an anchored regular expression: a `*` or `?` matches within its
/// part of the ARN (the first five parts never span a `:`; the resource part may). `None`
/// when the pattern is not an ARN (it then matches nothing, as `ArnLike` does).
fn arn_like_regex(pattern: &str) -> Option<String> {
    let parts = arn_parts(pattern)?;
    let mut re = String::from("^");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            re.push(':');
        }
        let any = if i == 5 { "." } else { "[^:]" };
        for c in part.chars() {
            match c {
                '*' => {
                    re.push_str(any);
                    re.push('*');
                }
                '?' => re.push_str(any),
                c if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':' || c == '/' => {
                    re.push(c)
                }
                c => {
                    re.push('\\');
                    re.push(c);
                }
            }
        }
    }
    re.push('$');
    Some(re)
}

/// The Athena SQL of the analysis over `table` (AWS's CloudTrail table: docs/ROUTE-USAGE.md
/// has its DDL).
pub fn sql(table: &str, opts: &UsageOptions) -> Result<String, AthenaError> {
    let table = table_ref(table)?;
    let guarded = if opts.buckets.is_empty() {
        "bucket IS NOT NULL".to_string()
    } else {
        format!("bucket IN ({})", list(&opts.buckets))
    };
    let mut approved = Vec::new();
    if !opts.approved_vpces.is_empty() {
        approved.push(format!("vpcendpointid IN ({})", list(&opts.approved_vpces)));
    }
    if !opts.approved_owners.is_empty() {
        approved.push(format!(
            "COALESCE(vpcendpointaccountid IN ({}), FALSE)",
            list(&opts.approved_owners)
        ));
    }
    let approved = if approved.is_empty() {
        "FALSE".to_string()
    } else {
        approved.join(" OR ")
    };
    let mut exempt = Vec::new();
    for p in &opts.exempt_principals {
        if let Some(re) = arn_like_regex(p) {
            exempt.push(format!("regexp_like(principal, {})", lit(&re)));
        }
    }
    let exempt = if exempt.is_empty() {
        "FALSE".to_string()
    } else {
        exempt.join(" OR ")
    };
    let console = CONSOLE_AGENTS
        .iter()
        .map(|a| format!("strpos(COALESCE(useragent, ''), {}) > 0", lit(a)))
        .collect::<Vec<_>>()
        .join("\n          OR ");
    let mut q = String::new();
    let _ = write!(
        q,
        r#"-- vpce-guard route-usage: requests to guarded S3 buckets that did not come through an
-- approved VPC endpoint, per bucket, principal, source and hour (docs/ROUTE-USAGE.md).
-- Save the result as CSV and read it with: vpce-guard route-usage --from-athena FILE
-- To read fewer days, add a partition filter to `base`, e.g. AND "timestamp" >= '2026/12/01'.
WITH base AS (
  SELECT
    eventtime,
    eventname,
    eventcategory,
    errorcode,
    COALESCE(sourceipaddress, '') AS source_ip,
    vpcendpointid,
    vpcendpointaccountid,
    useragent,
    useridentity,
    COALESCE(
      NULLIF(json_extract_scalar(requestparameters, '$.bucketName'), ''),
      element_at(
        transform(
          filter(
            resources,
            r -> r.type = 'AWS::S3::Bucket'
              AND strpos(r.arn, ':::') > 0
              AND substr(r.arn, strpos(r.arn, ':::') + 3) <> ''
              AND strpos(substr(r.arn, strpos(r.arn, ':::') + 3), '/') = 0
          ),
          r -> substr(r.arn, strpos(r.arn, ':::') + 3)
        ),
        1
      )
    ) AS bucket
  FROM {table}
  WHERE eventsource = {source}
    AND (eventcategory = 'Data'
      OR (eventcategory = 'NetworkActivity' AND errorcode = {vpce_denied}))
),
named AS (
  SELECT
    base.*,
    CASE
      WHEN useridentity.type = 'AssumedRole'
        AND COALESCE(useridentity.sessioncontext.sessionissuer.arn, '') <> ''
        THEN useridentity.sessioncontext.sessionissuer.arn
      WHEN COALESCE(useridentity.arn, '') <> '' THEN useridentity.arn
      WHEN useridentity.accountid = 'anonymous' THEN 'anonymous'
      WHEN COALESCE(useridentity.accountid, '') <> '' THEN 'account:' || useridentity.accountid
      WHEN COALESCE(useridentity.type, '') <> '' THEN useridentity.type
      ELSE 'unknown'
    END AS principal
  FROM base
),
judged AS (
  SELECT
    named.*,
    CASE
      WHEN eventcategory = 'NetworkActivity' THEN 'endpoint_denied'
      WHEN COALESCE(useridentity.type, '') = 'AWSService'
        OR COALESCE(useridentity.invokedby, '') <> ''
        OR source_ip LIKE '%.amazonaws.com'
        OR source_ip = 'AWS Internal'
        OR strpos(principal, {service_roles}) > 0
        THEN 'excluded'
      WHEN {console}
        THEN 'excluded'
      WHEN (COALESCE(vpcendpointid, '') <> '' AND vpcendpointid NOT LIKE 'vpce-%')
        OR COALESCE(vpcendpointaccountid, '') = 'AWS Internal'
        OR COALESCE(vpcendpointaccountid, '') LIKE '%.amazonaws.com'
        THEN 'excluded'
      WHEN {exempt} THEN 'excluded'
      WHEN COALESCE(vpcendpointid, '') = '' THEN 'public'
      WHEN {approved} THEN 'approved'
      ELSE 'other'
    END AS route,
    COALESCE(errorcode IN ('AccessDenied', 'VpceAccessDenied', 'AllAccessDisabled'), FALSE) AS refused
  FROM named
)
SELECT
  'bucket' AS kind,
  bucket,
  CAST(NULL AS VARCHAR) AS principal,
  CAST(NULL AS VARCHAR) AS source_ip,
  CAST(NULL AS VARCHAR) AS vpc_endpoint_id,
  CAST(NULL AS VARCHAR) AS principal_account,
  CAST(NULL AS VARCHAR) AS event_names,
  count_if(route IN ('approved', 'public', 'other')) AS requests,
  count_if(route = 'excluded') AS excluded,
  count_if(route = 'approved') AS via_approved_endpoint,
  count_if(route = 'public') AS public_route,
  count_if(route = 'other') AS other_endpoint,
  count_if(route = 'endpoint_denied') AS endpoint_policy_denied,
  CAST(NULL AS BIGINT) AS count,
  CAST(NULL AS BIGINT) AS denied,
  CAST(NULL AS VARCHAR) AS first_seen,
  CAST(NULL AS VARCHAR) AS last_seen
FROM judged
WHERE {guarded}
GROUP BY bucket
UNION ALL
SELECT
  'finding',
  bucket,
  principal,
  source_ip,
  CAST(NULL AS VARCHAR),
  CAST(NULL AS VARCHAR),
  array_join(array_sort(array_agg(DISTINCT eventname)), ','),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  count(*),
  count_if(refused),
  min(eventtime),
  max(eventtime)
FROM judged
WHERE {guarded} AND route IN ('public', 'other')
GROUP BY bucket, principal, source_ip, substr(eventtime, 1, 13)
UNION ALL
SELECT
  'denial',
  bucket,
  CAST(NULL AS VARCHAR),
  CAST(NULL AS VARCHAR),
  COALESCE(vpcendpointid, ''),
  COALESCE(useridentity.accountid, ''),
  array_join(array_sort(array_agg(DISTINCT eventname)), ','),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  CAST(NULL AS BIGINT),
  count(*),
  CAST(NULL AS BIGINT),
  min(eventtime),
  max(eventtime)
FROM judged
WHERE route = 'endpoint_denied'
GROUP BY COALESCE(vpcendpointid, ''), COALESCE(useridentity.accountid, ''), bucket
"#,
        source = lit(S3_SOURCE),
        vpce_denied = lit(VPCE_ACCESS_DENIED),
        service_roles = lit(SERVICE_ROLE_PATH),
    );
    Ok(q)
}

/// One CSV record (RFC 4180: quoted fields may hold commas, quotes doubled, newlines);
/// `None` for an unquoted empty field (Athena's NULL).
fn csv_records(text: &str) -> Result<Vec<Vec<Option<String>>>, AthenaError> {
    let mut rows = Vec::new();
    let mut row: Vec<Option<String>> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    let end_field = |row: &mut Vec<Option<String>>, field: &mut String, quoted: &mut bool| {
        let f = std::mem::take(field);
        row.push(if f.is_empty() && !*quoted {
            None
        } else {
            Some(f)
        });
        *quoted = false;
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c)
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted => {
                in_quotes = true;
                quoted = true;
            }
            '"' => {
                return Err(AthenaError(format!(
                    "not an Athena CSV result: a stray quote on line {line}"
                )))
            }
            ',' => end_field(&mut row, &mut field, &mut quoted),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                end_field(&mut row, &mut field, &mut quoted);
                rows.push(std::mem::take(&mut row));
                line += 1;
            }
            c => field.push(c),
        }
    }
    if in_quotes {
        return Err(AthenaError(
            "not an Athena CSV result: a quoted field is not closed".into(),
        ));
    }
    if !field.is_empty() || quoted || !row.is_empty() {
        end_field(&mut row, &mut field, &mut quoted);
        rows.push(row);
    }
    Ok(rows)
}

/// Reads the CSV result of [`sql`] back into the report (`opts.buckets` adds the listed
/// buckets no row names, as the Rust analysis does).
pub fn from_csv(text: &str, opts: &UsageOptions) -> Result<UsageReport, AthenaError> {
    let rows = csv_records(text)?;
    let Some((header, body)) = rows.split_first() else {
        return Err(AthenaError(
            "not an Athena CSV result: the file is empty".into(),
        ));
    };
    let header: Vec<&str> = header
        .iter()
        .map(|h| h.as_deref().unwrap_or("").trim_start_matches('\u{feff}'))
        .collect();
    let mut at = [0usize; COLUMNS.len()];
    for (i, c) in COLUMNS.iter().enumerate() {
        at[i] = header.iter().position(|h| h == c).ok_or_else(|| {
            AthenaError(format!(
                "not the result of `route-usage --athena`: no column `{c}` in the header"
            ))
        })?;
    }
    let mut report = UsageReport::default();
    for (n, row) in body.iter().enumerate() {
        let line = n + 2;
        if row.len() == 1 && row[0].is_none() {
            continue; // a blank line
        }
        if row.len() != header.len() {
            return Err(AthenaError(format!(
                "line {line}: {} fields, the header has {}",
                row.len(),
                header.len()
            )));
        }
        let get = |col: usize| row[at[col]].as_deref();
        let text = |col: usize| -> Result<String, AthenaError> {
            get(col)
                .map(str::to_string)
                .ok_or_else(|| AthenaError(format!("line {line}: `{}` is empty", COLUMNS[col])))
        };
        let num = |col: usize| -> Result<u64, AthenaError> {
            let v = get(col)
                .ok_or_else(|| AthenaError(format!("line {line}: `{}` is empty", COLUMNS[col])))?;
            v.parse().map_err(|_| {
                AthenaError(format!(
                    "line {line}: `{}` is `{v}`, not a count",
                    COLUMNS[col]
                ))
            })
        };
        let names = |col: usize| -> Vec<String> {
            get(col)
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        match get(0) {
            Some("bucket") => {
                let b = bucket_entry(&mut report, &text(1)?);
                b.requests = num(7)?;
                b.excluded = num(8)?;
                b.via_approved_endpoint = num(9)?;
                b.public_route = num(10)?;
                b.other_endpoint = num(11)?;
                b.endpoint_policy_denied = num(12)?;
            }
            Some("finding") => {
                let source_ip = get(3).unwrap_or("").to_string();
                let f = RouteFinding {
                    principal: text(2)?,
                    ipv6: source_ip.contains(':'),
                    source_ip,
                    event_names: names(6),
                    count: num(13)?,
                    denied: num(14)?,
                    first_seen: text(15)?,
                    last_seen: text(16)?,
                };
                bucket_entry(&mut report, &text(1)?).findings.push(f);
            }
            Some("denial") => report.endpoint_denials.push(EndpointDenial {
                vpc_endpoint_id: get(4).unwrap_or("").to_string(),
                principal_account: get(5).unwrap_or("").to_string(),
                bucket: get(1).map(str::to_string),
                event_names: names(6),
                count: num(13)?,
                first_seen: text(15)?,
                last_seen: text(16)?,
            }),
            other => {
                return Err(AthenaError(format!(
                    "line {line}: `kind` is {}, not bucket, finding or denial",
                    other.map_or("empty".to_string(), |k| format!("`{k}`"))
                )))
            }
        }
    }
    report.include_listed(&opts.buckets);
    report.normalize();
    Ok(report)
}

fn bucket_entry<'r>(report: &'r mut UsageReport, name: &str) -> &'r mut BucketUsage {
    let i = match report.buckets.iter().position(|b| b.bucket == name) {
        Some(i) => i,
        None => {
            report.buckets.push(BucketUsage {
                bucket: name.to_string(),
                ..BucketUsage::default()
            });
            report.buckets.len() - 1
        }
    };
    &mut report.buckets[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_like_patterns_become_anchored_regexes() {
        assert_eq!(
            arn_like_regex("arn:aws:iam::*:role/ops-*").as_deref(),
            Some("^arn:aws:iam::[^:]*:role/ops-.*$")
        );
        assert_eq!(
            arn_like_regex("arn:aws:iam::1?3:role/a.b").as_deref(),
            Some("^arn:aws:iam::1[^:]3:role/a\\.b$")
        );
        assert_eq!(arn_like_regex("not-an-arn"), None);
    }

    #[test]
    fn table_names_are_checked() {
        assert_eq!(
            table_ref("db.cloudtrail_logs").as_deref(),
            Ok("db.cloudtrail_logs")
        );
        assert_eq!(table_ref("db.my-table").as_deref(), Ok("db.\"my-table\""));
        assert!(table_ref("x; DROP TABLE y").is_err());
        assert!(table_ref("a..b").is_err());
        assert!(table_ref("").is_err());
    }

    #[test]
    fn csv_fields_follow_rfc_4180_and_empty_unquoted_is_null() {
        let rows = csv_records("\"a\",\"b,c\",,\"\"\r\n\"x \"\"y\"\"\",\"1\n2\",3,4\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec![
                    Some("a".into()),
                    Some("b,c".into()),
                    None,
                    Some(String::new())
                ],
                vec![
                    Some("x \"y\"".into()),
                    Some("1\n2".into()),
                    Some("3".into()),
                    Some("4".into())
                ],
            ]
        );
        assert!(csv_records("\"open").is_err());
        assert!(csv_records("a\"b").is_err());
    }

    #[test]
    fn a_csv_that_is_not_the_query_result_is_refused() {
        let opts = UsageOptions::default();
        assert!(from_csv("", &opts).is_err());
        let e = from_csv("\"a\",\"b\"\n\"1\",\"2\"\n", &opts).unwrap_err();
        assert!(e.to_string().contains("no column `kind`"), "{e}");
        let header = COLUMNS.map(|c| format!("\"{c}\"")).join(",");
        let e = from_csv(&format!("{header}\n\"bucket\",\"b\"\n"), &opts).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let mut row = vec![String::new(); COLUMNS.len()];
        row[0] = "\"bucket\"".into();
        row[1] = "\"b\"".into();
        row[7] = "\"x\"".into();
        let e = from_csv(&format!("{header}\n{}\n", row.join(",")), &opts).unwrap_err();
        assert!(e.to_string().contains("not a count"), "{e}");
    }
}
