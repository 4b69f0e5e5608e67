//! Condition clauses with IAM semantics, evaluated three-valued: a clause the engine cannot
//! understand is `Unknown`, never silently true or false. The operator grammar lives in
//! [`super::operator`], dates in [`super::date`], networks in [`super::cidr`].

use std::net::IpAddr;

use super::cidr::Cidr;
use super::glob;
use super::operator::{Base, Family, Operator, SetQualifier};
use super::tri::Tri;

use super::date::parse_date;

/// A policy value prepared for its operator.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prepared {
    Text(String),
    Number(f64),
    /// Seconds since the epoch.
    Date(f64),
    Bool(bool),
    Net(Cidr),
    /// An ARN pattern, split into its six parts once (`None`: not an ARN, it matches nothing).
    Arn(Option<Box<[String; 6]>>),
}

/// Does the text contain a policy variable other than the escapes `${*}`, `${?}`, `${$}`?
pub(crate) fn has_variable(s: &str) -> bool {
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
pub(crate) fn unescape(s: &str) -> String {
    s.replace("${*}", "*")
        .replace("${?}", "?")
        .replace("${$}", "$")
}

/// A condition clause ready to evaluate: one operator on one key.
#[cfg_attr(feature = "testing", visibility::make(pub))]
#[derive(Debug, Clone)]
pub(crate) struct Clause {
    /// The key as written.
    pub(crate) key: String,
    /// The key lower-cased (keys are case-insensitive).
    pub(crate) key_lc: String,
    /// The operator as written.
    pub(crate) operator_name: String,
    /// `None` when the clause cannot be evaluated; `why` says what is wrong.
    pub(crate) operator: Option<Operator>,
    pub(crate) values: Vec<Prepared>,
    pub(crate) raw_values: Vec<String>,
    pub(crate) why: Option<String>,
}

impl Clause {
    /// Prepare a clause; it becomes unknown (with a reason) if anything is not understood.
    pub(crate) fn new(operator_name: &str, key: &str, raw: &[String], variables: bool) -> Clause {
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
                Family::String => Some(Prepared::Text(v.clone())),
                Family::Arn => Some(Prepared::Arn(
                    glob::arn_parts(&v).map(|parts| Box::new(parts.map(str::to_string))),
                )),
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
    pub(crate) fn eval(&self, request: Option<&[String]>) -> Tri {
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
            (ArnEquals, Prepared::Arn(p)) | (ArnLike, Prepared::Arn(p)) => {
                match (p, glob::arn_parts(r)) {
                    (Some(p), Some(a)) => p
                        .iter()
                        .zip(a.iter())
                        .all(|(p, a)| glob::matches(p, a, false)),
                    _ => false,
                }
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
}
