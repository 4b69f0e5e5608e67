//! Candidate request values for a condition key, from the clauses that test it.

use super::cidr::{ip_from, Cidr};
use super::condition::Clause;
use super::date::{format_date, parse_date};
use super::glob;
use super::operator::{Base, Family};

/// Candidate request values for a key, from the clauses that test it: every constant, a
/// witness of each wildcard pattern (and of each overlap of two), both sides of every numeric,
/// date and IP boundary, and a fresh value.
pub(crate) fn witnesses(clauses: &[&Clause], fresh: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    fn add(out: &mut Vec<String>, s: String) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    let mut likes: Vec<&str> = Vec::new();
    let mut numbers: Vec<f64> = Vec::new();
    let mut dates: Vec<f64> = Vec::new();
    let mut nets: Vec<Cidr> = Vec::new();
    let mut want_fresh = false;
    for c in clauses {
        let family = c.operator.map(|o| o.family());
        for raw in &c.raw_values {
            match family {
                Some(Family::String) => {
                    let like = c.operator.is_some_and(|o| o.base == Base::StringLike);
                    if like && glob::is_pattern(raw) {
                        add(&mut out, glob::fill(raw, "", 'z'));
                        add(&mut out, glob::fill(raw, "zz9", 'z'));
                        likes.push(raw);
                    } else {
                        add(&mut out, raw.clone());
                        if c.operator
                            .is_some_and(|o| o.base == Base::StringEqualsIgnoreCase)
                        {
                            add(&mut out, raw.to_ascii_uppercase());
                            add(&mut out, raw.to_ascii_lowercase());
                        }
                    }
                    want_fresh = true;
                }
                Some(Family::Arn) => {
                    if glob::is_pattern(raw) {
                        add(&mut out, glob::fill(raw, "", '0'));
                        add(&mut out, glob::fill(raw, "zz9", 'z'));
                        likes.push(raw);
                    } else {
                        add(&mut out, raw.clone());
                    }
                    want_fresh = true;
                }
                Some(Family::Numeric) => {
                    if let Ok(n) = raw.trim().parse::<f64>() {
                        numbers.push(n);
                    }
                }
                Some(Family::Date) => {
                    if let Some(d) = parse_date(raw) {
                        dates.push(d);
                    }
                }
                Some(Family::Bool) => {
                    add(&mut out, "true".into());
                    add(&mut out, "false".into());
                }
                Some(Family::Ip) => {
                    if let Some(n) = Cidr::parse(raw) {
                        nets.push(n);
                    }
                }
                Some(Family::Null) => want_fresh = true,
                // An operator the engine does not know: try the raw constants and a fresh value.
                None => {
                    add(&mut out, raw.clone());
                    want_fresh = true;
                }
            }
        }
    }
    for (i, a) in likes.iter().enumerate() {
        for b in likes.iter().skip(i + 1) {
            // An overlap some candidate already lies in needs no new witness.
            if out
                .iter()
                .any(|o| glob::matches(a, o, false) && glob::matches(b, o, false))
            {
                continue;
            }
            if let Some(w) = glob::intersect(a, b, false, 'z') {
                add(&mut out, w);
            }
        }
    }
    if !numbers.is_empty() {
        numbers.sort_by(|a, b| a.total_cmp(b));
        numbers.dedup();
        let mut pts = Vec::new();
        for (i, &n) in numbers.iter().enumerate() {
            let eps = 1e-3 * n.abs().max(1.0);
            pts.extend([n - eps, n, n + eps]);
            if let Some(&m) = numbers.get(i + 1) {
                pts.push((n + m) / 2.0);
            }
        }
        for p in pts {
            add(&mut out, format_number(p));
        }
    }
    if !dates.is_empty() {
        for d in dates {
            for p in [d - 1.0, d, d + 1.0] {
                add(&mut out, format_date(p));
            }
        }
    }
    for n in nets {
        let (lo, hi, v4) = n.range();
        let max = if v4 { u128::from(u32::MAX) } else { u128::MAX };
        add(&mut out, ip_from(lo, v4).to_string());
        add(&mut out, ip_from(hi, v4).to_string());
        if lo > 0 {
            add(&mut out, ip_from(lo - 1, v4).to_string());
        }
        if hi < max {
            add(&mut out, ip_from(hi + 1, v4).to_string());
        }
    }
    if want_fresh {
        add(&mut out, fresh.to_string());
    }
    out
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
