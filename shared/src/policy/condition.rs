//! Condition operators with IAM semantics, evaluated three-valued: a clause the engine cannot
//! understand is `Unknown`, never silently true or false.

use std::net::IpAddr;

use super::glob;
use super::tri::Tri;

/// The operator family, without qualifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnEquals,
    ArnLike,
    Null,
}

/// How the values of a multi-valued request key are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// A parsed condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    pub qualifier: Option<SetQualifier>,
    pub base: Base,
    /// `StringNotEquals`, `NotIpAddress`, `ArnNotLike`, …
    pub negated: bool,
    pub if_exists: bool,
}

impl Operator {
    /// Parse an operator name as AWS spells it (case-sensitive). `None` for an unknown one.
    pub fn parse(name: &str) -> Option<Operator> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else {
            (None, name)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        use Base::*;
        let (base, negated) = match rest {
            "StringEquals" => (StringEquals, false),
            "StringNotEquals" => (StringEquals, true),
            "StringEqualsIgnoreCase" => (StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (StringEqualsIgnoreCase, true),
            "StringLike" => (StringLike, false),
            "StringNotLike" => (StringLike, true),
            "NumericEquals" => (NumericEquals, false),
            "NumericNotEquals" => (NumericEquals, true),
            "NumericLessThan" => (NumericLessThan, false),
            "NumericLessThanEquals" => (NumericLessThanEquals, false),
            "NumericGreaterThan" => (NumericGreaterThan, false),
            "NumericGreaterThanEquals" => (NumericGreaterThanEquals, false),
            "DateEquals" => (DateEquals, false),
            "DateNotEquals" => (DateEquals, true),
            "DateLessThan" => (DateLessThan, false),
            "DateLessThanEquals" => (DateLessThanEquals, false),
            "DateGreaterThan" => (DateGreaterThan, false),
            "DateGreaterThanEquals" => (DateGreaterThanEquals, false),
            "Bool" => (Bool, false),
            "BinaryEquals" => (BinaryEquals, false),
            "IpAddress" => (IpAddress, false),
            "NotIpAddress" => (IpAddress, true),
            "ArnEquals" => (ArnEquals, false),
            "ArnNotEquals" => (ArnEquals, true),
            "ArnLike" => (ArnLike, false),
            "ArnNotLike" => (ArnLike, true),
            "Null" => (Null, false),
            _ => return None,
        };
        if base == Null && (if_exists || qualifier.is_some()) {
            return None;
        }
        Some(Operator {
            qualifier,
            base,
            negated,
            if_exists,
        })
    }

    pub fn family(self) -> Family {
        use Base::*;
        match self.base {
            StringEquals | StringEqualsIgnoreCase | StringLike | BinaryEquals => Family::String,
            NumericEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Numeric,
            DateEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            IpAddress => Family::Ip,
            ArnEquals | ArnLike => Family::Arn,
            Null => Family::Null,
        }
    }
}

/// What kind of values an operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Ip,
    Arn,
    Null,
}

/// A policy value prepared for its operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    Text(String),
    Number(f64),
    /// Seconds since the epoch.
    Date(f64),
    Bool(bool),
    Net(Cidr),
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok()?,
            None => max,
        };
        if prefix > max {
            return None;
        }
        Some(Cidr { addr, prefix })
    }

    /// First and last address as integers, and whether it is IPv4.
    pub fn range(&self) -> (u128, u128, bool) {
        let (v, bits, v4) = match self.addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32, true),
            IpAddr::V6(a) => (u128::from(a), 128u32, false),
        };
        let host_bits = bits - u32::from(self.prefix);
        let mask: u128 = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        (v & !mask, (v & !mask) | mask, v4)
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        let (lo, hi, v4) = self.range();
        match ip {
            IpAddr::V4(a) if v4 => {
                let x = u128::from(u32::from(*a));
                lo <= x && x <= hi
            }
            IpAddr::V6(a) if !v4 => {
                let x = u128::from(*a);
                lo <= x && x <= hi
            }
            _ => false,
        }
    }
}

/// Turn an integer back into an address of the given family.
pub fn ip_from(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(std::net::Ipv4Addr::from(
            u32::try_from(v & 0xffff_ffff).unwrap_or(0),
        ))
    } else {
        IpAddr::V6(std::net::Ipv6Addr::from(v))
    }
}

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

/// Does the text contain a policy variable other than the escapes `${*}`, `${?}`, `${$}`?
pub fn has_variable(s: &str) -> bool {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = rest.get(i + 2..).unwrap_or("");
        if !(after.starts_with("*}") || after.starts_with("?}") || after.starts_with("$}")) {
            return true;
        }
        rest = after;
    }
    false
}

/// Replace the escapes `${*}`, `${?}`, `${$}` by the literal characters.
pub fn unescape(s: &str) -> String {
    s.replace("${*}", "*")
        .replace("${?}", "?")
        .replace("${$}", "$")
}

/// A condition clause ready to evaluate: one operator on one key.
#[derive(Debug, Clone)]
pub struct Clause {
    /// The key as written.
    pub key: String,
    /// The key lower-cased (keys are case-insensitive).
    pub key_lc: String,
    /// The operator as written.
    pub operator_name: String,
    /// `None` when the clause cannot be evaluated; `why` says what is wrong.
    pub operator: Option<Operator>,
    pub values: Vec<Prepared>,
    pub raw_values: Vec<String>,
    pub why: Option<String>,
}

impl Clause {
    /// Prepare a clause; it becomes unknown (with a reason) if anything is not understood.
    pub fn new(operator_name: &str, key: &str, raw: &[String], variables: bool) -> Clause {
        let mut clause = Clause {
            key: key.to_string(),
            key_lc: key.to_ascii_lowercase(),
            operator_name: operator_name.to_string(),
            operator: None,
            values: Vec::new(),
            raw_values: raw.to_vec(),
            why: None,
        };
        let Some(op) = Operator::parse(operator_name) else {
            clause.why = Some(format!("unknown condition operator `{operator_name}`"));
            return clause;
        };
        let mut values = Vec::with_capacity(raw.len());
        for v in raw {
            if variables && has_variable(v) {
                clause.why = Some(format!(
                    "policy variable in `{operator_name}` `{key}` value `{v}`"
                ));
                return clause;
            }
            let v = if variables { unescape(v) } else { v.clone() };
            let prepared = match op.family() {
                Family::String | Family::Arn => Some(Prepared::Text(v.clone())),
                Family::Numeric => v.trim().parse::<f64>().ok().map(Prepared::Number),
                Family::Date => parse_date(&v).map(Prepared::Date),
                Family::Bool | Family::Null => match v.to_ascii_lowercase().as_str() {
                    "true" => Some(Prepared::Bool(true)),
                    "false" => Some(Prepared::Bool(false)),
                    _ => None,
                },
                Family::Ip => Cidr::parse(&v).map(Prepared::Net),
            };
            match prepared {
                Some(p) => values.push(p),
                None => {
                    clause.why = Some(format!(
                        "`{operator_name}` `{key}` has value `{v}`, which is not a valid {}",
                        match op.family() {
                            Family::Numeric => "number",
                            Family::Date => "date",
                            Family::Bool | Family::Null => "boolean",
                            Family::Ip => "IP address or CIDR",
                            _ => "value",
                        }
                    ));
                    return clause;
                }
            }
        }
        clause.operator = Some(op);
        clause.values = values;
        clause
    }

    /// Evaluate against the request's values for the key (`None`: the key is absent).
    pub fn eval(&self, request: Option<&[String]>) -> Tri {
        let Some(op) = self.operator else {
            return Tri::Unknown;
        };
        if op.base == Base::Null {
            // `Null: true` holds when the key is absent; values of one key are ORed.
            let absent = request.is_none();
            return Tri::from(self.values.iter().any(|v| match v {
                Prepared::Bool(b) => *b == absent,
                _ => false,
            }));
        }
        let Some(req) = request else {
            return Tri::from(match op.qualifier {
                Some(SetQualifier::ForAnyValue) => false,
                Some(SetQualifier::ForAllValues) => true,
                None => op.if_exists || op.negated,
            });
        };
        // Per request value: does it satisfy the (possibly negated) operator?
        let one = |r: &str| {
            let any = self.values.iter().any(|p| self.compare(op.base, p, r));
            if op.negated {
                !any
            } else {
                any
            }
        };
        Tri::from(match op.qualifier {
            Some(SetQualifier::ForAnyValue) => req.iter().any(|r| one(r)),
            Some(SetQualifier::ForAllValues) => req.iter().all(|r| one(r)),
            None => {
                let any = req
                    .iter()
                    .any(|r| self.values.iter().any(|p| self.compare(op.base, p, r)));
                if op.negated {
                    !any
                } else {
                    any
                }
            }
        })
    }

    /// Does the request value `r` match the policy value `p` (positive form of the operator)?
    fn compare(&self, base: Base, p: &Prepared, r: &str) -> bool {
        use Base::*;
        match (base, p) {
            (StringEquals, Prepared::Text(p)) | (BinaryEquals, Prepared::Text(p)) => p == r,
            (StringEqualsIgnoreCase, Prepared::Text(p)) => p.eq_ignore_ascii_case(r),
            (StringLike, Prepared::Text(p)) => glob::matches(p, r, false),
            (ArnEquals, Prepared::Text(p)) | (ArnLike, Prepared::Text(p)) => {
                glob::arn_matches(p, r)
            }
            (Bool, Prepared::Bool(p)) => r.eq_ignore_ascii_case(if *p { "true" } else { "false" }),
            (IpAddress, Prepared::Net(c)) => r
                .parse::<IpAddr>()
                .ok()
                .or_else(|| Cidr::parse(r).map(|c| c.addr))
                .is_some_and(|ip| c.contains(&ip)),
            (_, Prepared::Number(p)) => match r.trim().parse::<f64>() {
                Ok(x) => match base {
                    NumericEquals => x == *p,
                    NumericLessThan => x < *p,
                    NumericLessThanEquals => x <= *p,
                    NumericGreaterThan => x > *p,
                    NumericGreaterThanEquals => x >= *p,
                    _ => false,
                },
                Err(_) => false,
            },
            (_, Prepared::Date(p)) => match parse_date(r) {
                Some(x) => match base {
                    DateEquals => x == *p,
                    DateLessThan => x < *p,
                    DateLessThanEquals => x <= *p,
                    DateGreaterThan => x > *p,
                    DateGreaterThanEquals => x >= *p,
                    _ => false,
                },
                None => false,
            },
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(op: &str, key: &str, vals: &[&str]) -> Clause {
        let v: Vec<String> = vals.iter().map(|s| s.to_string()).collect();
        Clause::new(op, key, &v, true)
    }
    fn r(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn missing_keys() {
        assert_eq!(c("StringNotEquals", "k", &["a"]).eval(None), Tri::Yes);
        assert_eq!(c("StringEquals", "k", &["a"]).eval(None), Tri::No);
        assert_eq!(c("StringEqualsIfExists", "k", &["a"]).eval(None), Tri::Yes);
        assert_eq!(
            c("ForAnyValue:StringNotEquals", "k", &["a"]).eval(None),
            Tri::No
        );
        assert_eq!(
            c("ForAllValues:StringEquals", "k", &["a"]).eval(None),
            Tri::Yes
        );
        assert_eq!(c("Null", "k", &["true"]).eval(None), Tri::Yes);
        assert_eq!(c("Null", "k", &["false"]).eval(Some(&r(&["x"]))), Tri::Yes);
    }

    #[test]
    fn negation_over_several_values() {
        let cl = c("StringNotEquals", "k", &["a", "b"]);
        assert_eq!(cl.eval(Some(&r(&["a"]))), Tri::No);
        assert_eq!(cl.eval(Some(&r(&["c"]))), Tri::Yes);
        assert_eq!(
            c("StringEquals", "k", &["a", "b"]).eval(Some(&r(&["b"]))),
            Tri::Yes
        );
    }

    #[test]
    fn typed_operators() {
        assert_eq!(
            c("NumericLessThan", "s3:TlsVersion", &["1.2"]).eval(Some(&r(&["1.1"]))),
            Tri::Yes
        );
        assert_eq!(
            c("Bool", "aws:SecureTransport", &["false"]).eval(Some(&r(&["false"]))),
            Tri::Yes
        );
        assert_eq!(
            c("IpAddress", "aws:SourceIp", &["10.0.0.0/8"]).eval(Some(&r(&["10.1.2.3"]))),
            Tri::Yes
        );
        assert_eq!(
            c("NotIpAddress", "aws:SourceIp", &["2001:db8::/32"]).eval(Some(&r(&["2001:db8::1"]))),
            Tri::No
        );
        assert_eq!(
            c(
                "DateGreaterThan",
                "aws:CurrentTime",
                &["2020-01-01T00:00:00Z"]
            )
            .eval(Some(&r(&["2026-11-27T00:00:00Z"]))),
            Tri::Yes
        );
        assert_eq!(
            c("Bool", "k", &["maybe"]).eval(Some(&r(&["true"]))),
            Tri::Unknown
        );
        assert_eq!(c("StringEqualz", "k", &["a"]).eval(None), Tri::Unknown);
        assert_eq!(
            c("StringEquals", "k", &["${aws:username}"]).eval(None),
            Tri::Unknown
        );
        assert_eq!(
            c("StringLike", "k", &["a${*}"]).eval(Some(&r(&["a*"]))),
            Tri::Yes
        );
    }

    #[test]
    fn dates_round_trip() {
        let s = parse_date("2026-11-27T12:34:56Z").unwrap();
        assert_eq!(format_date(s), "2026-11-27T12:34:56Z");
        assert_eq!(parse_date("2026-11-27T12:34:56+01:00").unwrap(), s - 3600.0);
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400.0);
        assert!(parse_date("2026-13-01").is_none());
    }
}
