//! Dates as IAM reads them (ISO 8601 or epoch seconds) and as the engine writes them.

/// Parse a date as IAM does: ISO 8601 (date, or date and time with `Z` or an offset) or epoch
/// seconds. Returns seconds since the epoch.
///
/// `None` for anything that is not a real instant: a day the month does not have (`2026-02-31`,
/// `2026-04-31`, `2025-02-29`), month 0 or 13, hour 24, minute 60, an offset beyond `±23:59`.
/// Such a date is never normalised into the next month. Callers treat `None` as they treat any
/// unparseable value: a policy value makes its clause unknown (the verdict fails closed), a
/// request value matches nothing.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn parse_date(s: &str) -> Option<f64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<f64>().ok();
    }
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) as f64 * 86_400.0;
    if b.len() == 10 {
        return Some(secs);
    }
    if b.get(10) != Some(&b'T') && b.get(10) != Some(&b't') {
        return None;
    }
    let hh = num(11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let mm = num(14, 2)?;
    let mut i = 16;
    let mut ss = 0.0;
    if b.get(16) == Some(&b':') {
        ss = num(17, 2)? as f64;
        i = 19;
        if b.get(19) == Some(&b'.') {
            let mut j = 20;
            while b.get(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
            let frac: f64 = s.get(19..j)?.parse().ok()?;
            ss += frac;
            i = j;
        }
    }
    if hh > 23 || mm > 59 || ss >= 61.0 {
        return None;
    }
    secs += (hh * 3600 + mm * 60) as f64 + ss;
    match s.get(i..)? {
        "" | "Z" | "z" => Some(secs),
        off => {
            let sign = match off.as_bytes().first()? {
                b'+' => 1.0,
                b'-' => -1.0,
                _ => return None,
            };
            let off = off.get(1..)?.replace(':', "");
            if off.len() != 4 || !off.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: f64 = off.get(0..2)?.parse().ok()?;
            let om: f64 = off.get(2..4)?.parse().ok()?;
            if oh > 23.0 || om > 59.0 {
                return None;
            }
            Some(secs - sign * (oh * 3600.0 + om * 60.0))
        }
    }
}

/// A leap year of the proleptic Gregorian calendar: every fourth year, but not every hundredth,
/// but every four hundredth (2000 and 2024 are, 1900 and 2025 are not).
fn is_leap_year(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// The number of days of month `m` (1 to 12) of year `y`; 0 for a month that does not exist.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Format epoch seconds as ISO 8601 UTC.
#[cfg_attr(feature = "testing", visibility::make(pub))]
pub(crate) fn format_date(secs: f64) -> String {
    let total = secs.floor() as i64;
    let days = total.div_euclid(86_400);
    let rem = total.rem_euclid(86_400);
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::condition::Clause;
    use crate::policy::tri::Tri;

    #[test]
    fn dates_round_trip() {
        let s = parse_date("2026-11-27T12:34:56Z").unwrap();
        assert_eq!(format_date(s), "2026-11-27T12:34:56Z");
        assert_eq!(parse_date("2026-11-27T12:34:56+01:00").unwrap(), s - 3600.0);
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400.0);
        assert!(parse_date("2026-13-01").is_none());
    }

    #[test]
    fn impossible_dates_are_rejected_not_normalised() {
        for bad in [
            "2026-02-31",
            "2026-02-30",
            "2026-02-29",
            "2025-02-29",
            "1900-02-29",
            "2100-02-29",
            "2026-04-31",
            "2026-06-31",
            "2026-09-31",
            "2026-11-31",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-01-32",
            "2026-02-31T00:00:00Z",
            "2026-04-31T12:00:00+02:00",
            "2026-01-01T24:00:00Z",
            "2026-01-01T25:00:00Z",
            "2026-01-01T23:60:00Z",
            "2026-01-01T12:00:61Z",
            "2026-01-01T12:00:00+24:00",
            "2026-01-01T12:00:00-01:60",
        ] {
            assert_eq!(parse_date(bad), None, "{bad} must not parse");
        }
        // Before, 2026-02-31 became 3 March.
        let march_3 = parse_date("2026-03-03").unwrap();
        assert_ne!(parse_date("2026-02-31"), Some(march_3));
    }

    #[test]
    fn leap_years_follow_the_gregorian_calendar() {
        for good in ["2024-02-29", "2000-02-29", "1600-02-29", "2028-02-29"] {
            assert!(parse_date(good).is_some(), "{good} is a real day");
        }
        for bad in ["1900-02-29", "2100-02-29", "2025-02-29", "2026-02-29"] {
            assert!(parse_date(bad).is_none(), "{bad} is not");
        }
        // The day after 28 February is 29 February in a leap year, 1 March otherwise.
        let day = 86_400.0;
        assert_eq!(
            parse_date("2024-02-29").unwrap(),
            parse_date("2024-02-28").unwrap() + day
        );
        assert_eq!(
            parse_date("2024-03-01").unwrap(),
            parse_date("2024-02-29").unwrap() + day
        );
        assert_eq!(
            parse_date("2025-03-01").unwrap(),
            parse_date("2025-02-28").unwrap() + day
        );
        assert_eq!(
            format_date(parse_date("2000-02-29").unwrap()),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn the_last_day_of_every_month_parses_and_the_next_does_not() {
        for (y, leap) in [(2023, false), (2024, true), (1900, false), (2000, true)] {
            let last = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            for (m, &d) in last.iter().enumerate() {
                let m = m + 1;
                let ok = format!("{y:04}-{m:02}-{d:02}T23:59:59Z");
                assert_eq!(format_date(parse_date(&ok).unwrap()), ok);
                let next = format!("{y:04}-{m:02}-{:02}", d + 1);
                assert!(parse_date(&next).is_none(), "{next}");
            }
        }
    }

    #[test]
    fn valid_times_and_offsets_still_parse() {
        assert!(parse_date("2026-01-01T00:00:00Z").is_some());
        assert!(parse_date("2026-01-01T23:59:59Z").is_some());
        assert!(parse_date("2026-01-01T23:59Z").is_some());
        assert!(parse_date("2026-01-01T23:59:59.999Z").is_some());
        assert!(parse_date("2026-01-01T12:00:00+23:59").is_some());
        assert!(parse_date("2026-01-01T12:00:00-0530").is_some());
        // A leap second, as before.
        assert!(parse_date("2016-12-31T23:59:60Z").is_some());
        assert_eq!(parse_date("1700000000"), Some(1_700_000_000.0));
    }

    /// Every calendar day from 1899 to 2101 (and every impossible one) agrees with the `time`
    /// crate's RFC 3339 parser, through `aws-smithy-types`, a dependency already.
    #[test]
    fn the_calendar_agrees_with_the_time_crate() {
        use aws_smithy_types::date_time::{DateTime, Format};
        for y in 1899..=2101 {
            for m in 1..=12 {
                for d in 1..=31 {
                    let text = format!("{y:04}-{m:02}-{d:02}T06:07:08Z");
                    let ours = parse_date(&text);
                    let theirs = DateTime::from_str(&text, Format::DateTime).ok();
                    assert_eq!(
                        ours,
                        theirs.map(|t| t.secs() as f64),
                        "{text}: ours {ours:?}, time's {theirs:?}"
                    );
                }
            }
        }
    }

    fn clause(op: &str, value: &str) -> Clause {
        Clause::new(op, "aws:CurrentTime", &[value.to_string()], true)
    }

    /// An impossible date in a policy is an unparseable value: the clause is unknown (the
    /// verdict fails closed), it is never read as a nearby real date.
    #[test]
    fn an_impossible_date_in_a_policy_makes_the_clause_unknown() {
        let now = vec![format_date(parse_date("2026-03-01T00:00:00Z").unwrap())];
        for op in [
            "DateLessThan",
            "DateGreaterThan",
            "DateEquals",
            "DateNotEquals",
        ] {
            let c = clause(op, "2026-02-31T00:00:00Z");
            assert!(c.operator.is_none(), "{op}");
            assert!(
                c.why.as_deref().unwrap_or("").contains("not a valid date"),
                "{:?}",
                c.why
            );
            assert_eq!(c.eval(Some(&now)), Tri::Unknown, "{op}");
            assert_eq!(c.eval(None), Tri::Unknown, "{op}, key absent");
        }
        // The same clause with a real date decides.
        assert_eq!(
            clause("DateLessThan", "2026-03-03T00:00:00Z").eval(Some(&now)),
            Tri::Yes
        );
        assert_eq!(
            clause("DateGreaterThan", "2026-02-28T00:00:00Z").eval(Some(&now)),
            Tri::Yes
        );
        // An impossible date in the request matches nothing (positive operators false).
        let bad_request = vec!["2026-02-31T00:00:00Z".to_string()];
        assert_eq!(
            clause("DateLessThan", "2030-01-01T00:00:00Z").eval(Some(&bad_request)),
            Tri::No
        );
    }

    /// End to end: a deny limited by an impossible date (which 2026-02-31 → 3 March made look
    /// like "denied until March") fails closed: S3-VPCE-DENY FAILs "cannot evaluate", and an
    /// Allow whose only condition is an impossible date grants nothing for certain.
    #[test]
    fn a_policy_with_an_impossible_date_fails_closed() {
        use crate::policy::model::PolicyDocument;
        use crate::rules::bucket::check_policy;
        use crate::rules::{BucketParams, RuleId, Status};
        let policy = |date: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyOutside","Effect":"Deny","Principal":"*","Action":"s3:*",
                "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
                "Condition":{{"StringNotEquals":{{"aws:SourceVpce":"vpce-1a2b3c4d"}},"DateLessThan":{{"aws:CurrentTime":"{date}"}}}}}}]}}"#
            )
        };
        let params = BucketParams {
            approved_vpce: vec!["vpce-1a2b3c4d".into()],
            account_id: Some("111122223333".into()),
            ..BucketParams::default()
        };
        let now = parse_date("2026-01-15T00:00:00Z").unwrap();
        let verdict = |date: &str| {
            let doc = PolicyDocument::parse(&policy(date)).unwrap();
            let e = check_policy("b", &doc, &params, now);
            e.findings
                .into_iter()
                .find(|f| f.rule == RuleId::S3VpceDeny)
                .unwrap()
        };
        let real = verdict("2026-03-03T00:00:00Z");
        assert_eq!(real.status, Status::Pass, "{}", real.reason);
        assert!(real.reason.contains("until 2026-03-03"), "{}", real.reason);
        let impossible = verdict("2026-02-31T00:00:00Z");
        assert_eq!(impossible.status, Status::Fail, "{}", impossible.reason);
        assert!(
            impossible.reason.contains("cannot evaluate"),
            "{}",
            impossible.reason
        );
        assert!(
            impossible.reason.contains("2026-02-31"),
            "{}",
            impossible.reason
        );
    }
}
