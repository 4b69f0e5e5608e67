//! Dates as IAM reads them (ISO 8601 or epoch seconds) and as the engine writes them.

/// Parse a date as IAM does: ISO 8601 (date, or date and time with `Z` or an offset) or epoch
/// seconds. Returns seconds since the epoch.
pub fn parse_date(s: &str) -> Option<f64> {
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
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
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
            Some(secs - sign * (oh * 3600.0 + om * 60.0))
        }
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
pub fn format_date(secs: f64) -> String {
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

    #[test]
    fn dates_round_trip() {
        let s = parse_date("2026-11-27T12:34:56Z").unwrap();
        assert_eq!(format_date(s), "2026-11-27T12:34:56Z");
        assert_eq!(parse_date("2026-11-27T12:34:56+01:00").unwrap(), s - 3600.0);
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400.0);
        assert!(parse_date("2026-13-01").is_none());
    }
}
