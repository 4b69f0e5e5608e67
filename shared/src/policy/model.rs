//! The IAM policy document model: every shape AWS accepts, validated with messages that name
//! the statement and the element.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::err::{json_type, PolicyError, MAX_POLICY_BYTES};

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// A list-valued element that may be negated (`Action`/`NotAction`, `Resource`/`NotResource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Patterns {
    pub(crate) negated: bool,
    pub(crate) values: Vec<String>,
}

/// The principal kinds of a `Principal` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum PrincipalKind {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

impl PrincipalKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principals {
    pub(crate) negated: bool,
    /// `"*"` as the whole element.
    pub(crate) any: bool,
    pub(crate) entries: Vec<(PrincipalKind, String)>,
}

impl Principals {
    /// True when the element names everyone: `"*"` or `{"AWS": "*"}`.
    pub(crate) fn names_everyone(&self) -> bool {
        self.any
            || self
                .entries
                .iter()
                .any(|(k, v)| *k == PrincipalKind::Aws && v == "*")
    }
}

/// One value of a condition: AWS accepts strings, numbers and booleans.
pub(crate) type ConditionValue = String;

/// One `operator → key → values` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConditionEntry {
    pub(crate) operator: String,
    pub(crate) key: String,
    pub(crate) values: Vec<ConditionValue>,
    /// Values as written, to tell a JSON boolean from a string in messages.
    pub(crate) raw_types: Vec<&'static str>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the `Statement` list (0-based).
    pub index: usize,
    pub(crate) sid: Option<String>,
    pub effect: Effect,
    pub(crate) principal: Principals,
    pub(crate) action: Patterns,
    pub(crate) resource: Patterns,
    pub(crate) conditions: Vec<ConditionEntry>,
    /// The statement as written, so a rewrite never loses anything.
    pub(crate) raw: Value,
    /// The layer it comes from when it is not the bucket policy's own: a resource control
    /// policy's id and the statement's position in it.
    pub(crate) layer: Option<(String, usize)>,
}

impl Statement {
    /// `Sid `X` (#2)` or `#2`, and `RCP p-1 statement `X` (#0)` for a resource control
    /// policy's: how messages name a statement.
    pub(crate) fn label(&self) -> String {
        let (prefix, index) = match &self.layer {
            Some((id, i)) => (format!("RCP {id} statement "), *i),
            None => (String::new(), self.index),
        };
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("{prefix}`{sid}` (#{index})"),
            _ => format!("{prefix}#{index}"),
        }
    }
}

/// A validated IAM policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    pub(crate) version: Option<String>,
    pub(crate) id: Option<String>,
    pub statements: Vec<Statement>,
    /// The document as written.
    pub(crate) raw: Value,
}

impl PolicyDocument {
    /// Parse policy text as S3 receives it: size limit first, then JSON, then the grammar.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge { size: text.len() });
        }
        let value = strict_json(text)?;
        Self::from_value(value)
    }

    /// Validate an already parsed JSON value.
    #[cfg_attr(feature = "testing", visibility::make(pub))]
    pub(crate) fn from_value(value: Value) -> Result<Self, PolicyError> {
        let obj = match &value {
            Value::Object(o) => o,
            other => {
                return Err(PolicyError::NotAnObject {
                    found: json_type(other),
                })
            }
        };
        let mut version = None;
        let mut id = None;
        let mut statement = None;
        for (k, v) in obj {
            match k.as_str() {
                "Version" => match v {
                    Value::String(s) if s == "2012-10-17" || s == "2008-10-17" => {
                        version = Some(s.clone())
                    }
                    Value::String(s) => return Err(PolicyError::BadVersion(s.clone())),
                    other => {
                        return Err(PolicyError::TopLevelType {
                            element: "Version",
                            found: json_type(other),
                        })
                    }
                },
                "Id" => match v {
                    Value::String(s) => id = Some(s.clone()),
                    other => {
                        return Err(PolicyError::TopLevelType {
                            element: "Id",
                            found: json_type(other),
                        })
                    }
                },
                "Statement" => statement = Some(v),
                other => return Err(PolicyError::UnknownTopLevel(other.to_string())),
            }
        }
        let statement = statement.ok_or(PolicyError::NoStatement)?;
        let raw_statements: Vec<&Value> = match statement {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![statement],
            other => {
                return Err(PolicyError::at(
                    "`Statement`",
                    format!(
                        "must be a statement object or a list of them, found {}",
                        json_type(other)
                    ),
                ))
            }
        };
        let mut statements = Vec::with_capacity(raw_statements.len());
        for (index, raw) in raw_statements.into_iter().enumerate() {
            statements.push(parse_statement(index, raw)?);
        }
        Ok(PolicyDocument {
            version,
            id,
            statements,
            raw: value,
        })
    }

    /// Policy variables (`${aws:username}`) are only interpreted in Version 2012-10-17.
    pub(crate) fn supports_variables(&self) -> bool {
        self.version.as_deref() == Some("2012-10-17")
    }
}

fn parse_statement(index: usize, raw: &Value) -> Result<Statement, PolicyError> {
    let obj = match raw {
        Value::Object(o) => o,
        other => {
            return Err(PolicyError::at(
                &format!("statement #{index}"),
                format!("must be an object, found {}", json_type(other)),
            ))
        }
    };
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(PolicyError::at(
                &format!("statement #{index}"),
                format!("`Sid` must be a string, found {}", json_type(other)),
            ))
        }
    };
    let at = match &sid {
        Some(s) => format!("statement #{index} (Sid `{s}`)"),
        None => format!("statement #{index}"),
    };
    for k in obj.keys() {
        if !matches!(
            k.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(PolicyError::at(&at, format!("unknown element `{k}`")));
        }
    }
    let effect = match obj.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(Value::String(s)) => {
            return Err(PolicyError::at(
                &at,
                format!("`Effect` must be `Allow` or `Deny`, found `{s}`"),
            ))
        }
        Some(other) => {
            return Err(PolicyError::at(
                &at,
                format!(
                    "`Effect` must be `Allow` or `Deny`, found {}",
                    json_type(other)
                ),
            ))
        }
        None => return Err(PolicyError::at(&at, "`Effect` is missing")),
    };
    let action = patterns(obj, &at, "Action", "NotAction")?;
    let resource = patterns(obj, &at, "Resource", "NotResource")?;
    let principal = principals(obj, &at)?;
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(c) => conditions(c, &at)?,
    };
    Ok(Statement {
        index,
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
        raw: raw.clone(),
        layer: None,
    })
}

/// Exactly one of `pos` / `neg`, as a string or a list of strings.
fn patterns(
    obj: &Map<String, Value>,
    at: &str,
    pos: &str,
    neg: &str,
) -> Result<Patterns, PolicyError> {
    let (negated, value) = match (obj.get(pos), obj.get(neg)) {
        (Some(_), Some(_)) => {
            return Err(PolicyError::at(
                at,
                format!("has both `{pos}` and `{neg}`; exactly one is allowed"),
            ))
        }
        (None, None) => {
            return Err(PolicyError::at(
                at,
                format!("needs `{pos}` or `{neg}`; neither is present"),
            ))
        }
        (Some(v), None) => (false, v),
        (None, Some(v)) => (true, v),
    };
    let name = if negated { neg } else { pos };
    let values = string_or_list(value).map_err(|found| {
        PolicyError::at(
            at,
            format!("`{name}` must be a string or a list of strings, found {found}"),
        )
    })?;
    Ok(Patterns { negated, values })
}

fn string_or_list(v: &Value) -> Result<Vec<String>, &'static str> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(json_type(other)),
            })
            .collect(),
        other => Err(json_type(other)),
    }
}

fn principals(obj: &Map<String, Value>, at: &str) -> Result<Principals, PolicyError> {
    let (negated, value) = match (obj.get("Principal"), obj.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(PolicyError::at(
                at,
                "has both `Principal` and `NotPrincipal`; exactly one is allowed",
            ))
        }
        (None, None) => {
            return Err(PolicyError::at(
                at,
                "needs `Principal` or `NotPrincipal` (a bucket policy is resource-based); neither is present",
            ))
        }
        (Some(v), None) => (false, v),
        (None, Some(v)) => (true, v),
    };
    let name = if negated { "NotPrincipal" } else { "Principal" };
    match value {
        Value::String(s) if s == "*" => Ok(Principals {
            negated,
            any: true,
            entries: Vec::new(),
        }),
        Value::String(s) => Err(PolicyError::at(
            at,
            format!("`{name}` as a string must be `*`, found `{s}`; name principals in a map such as {{\"AWS\": \"{s}\"}}"),
        )),
        Value::Object(map) => {
            let mut entries = Vec::new();
            for (kind, vals) in map {
                let kind = match kind.as_str() {
                    "AWS" => PrincipalKind::Aws,
                    "Service" => PrincipalKind::Service,
                    "Federated" => PrincipalKind::Federated,
                    "CanonicalUser" => PrincipalKind::CanonicalUser,
                    other => {
                        return Err(PolicyError::at(
                            at,
                            format!("`{name}` has unknown principal type `{other}` (expected `AWS`, `Service`, `Federated`, `CanonicalUser`)"),
                        ))
                    }
                };
                let list = string_or_list(vals).map_err(|found| {
                    PolicyError::at(
                        at,
                        format!("`{name}.{}` must be a string or a list of strings, found {found}", kind.as_str()),
                    )
                })?;
                for v in list {
                    validate_principal(kind, &v).map_err(|m| {
                        PolicyError::at(at, format!("`{name}.{}` value `{v}`: {m}", kind.as_str()))
                    })?;
                    entries.push((kind, v));
                }
            }
            if entries.is_empty() {
                return Err(PolicyError::at(at, format!("`{name}` names no principal")));
            }
            Ok(Principals {
                negated,
                any: false,
                entries,
            })
        }
        other => Err(PolicyError::at(
            at,
            format!("`{name}` must be `*` or a map of principal types, found {}", json_type(other)),
        )),
    }
}

fn validate_principal(kind: PrincipalKind, v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("empty principal");
    }
    if v == "*" {
        return if kind == PrincipalKind::Aws {
            Ok(())
        } else {
            Err("`*` is only allowed as the whole principal or under `AWS`")
        };
    }
    if v.contains('*') || v.contains('?') {
        return Err("wildcards are not allowed in a principal except `*` alone (use a condition on `aws:PrincipalArn`)");
    }
    if kind == PrincipalKind::Aws {
        let is_account = v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit());
        let is_arn = v.starts_with("arn:");
        // Unique ids (AIDA…, AROA…) appear when a named principal was deleted.
        let is_unique_id = v.len() >= 16
            && v.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !(is_account || is_arn || is_unique_id) {
            return Err("not an account id, an ARN or `*`");
        }
        if is_arn && v.split(':').count() < 6 {
            return Err("not a valid ARN");
        }
    }
    Ok(())
}

fn conditions(c: &Value, at: &str) -> Result<Vec<ConditionEntry>, PolicyError> {
    let map = match c {
        Value::Object(m) => m,
        other => {
            return Err(PolicyError::at(
                at,
                format!(
                    "`Condition` must map operators to {{key: value(s)}}, found {}",
                    json_type(other)
                ),
            ))
        }
    };
    let mut out = Vec::new();
    for (op, block) in map {
        let keys = match block {
            Value::Object(k) => k,
            other => {
                return Err(PolicyError::at(
                    at,
                    format!(
                        "`Condition.{op}` must map condition keys to values, found {}",
                        json_type(other)
                    ),
                ))
            }
        };
        for (key, vals) in keys {
            let items: Vec<&Value> = match vals {
                Value::Array(a) => a.iter().collect(),
                v => vec![v],
            };
            let mut values = Vec::with_capacity(items.len());
            let mut raw_types = Vec::with_capacity(items.len());
            for item in items {
                let s = match item {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        return Err(PolicyError::at(
                            at,
                            format!(
                                "`Condition.{op}.{key}` values must be strings, numbers or booleans, found {}",
                                json_type(other)
                            ),
                        ))
                    }
                };
                raw_types.push(json_type(item));
                values.push(s);
            }
            out.push(ConditionEntry {
                operator: op.clone(),
                key: key.clone(),
                values,
                raw_types,
            });
        }
    }
    Ok(out)
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        PolicyDocument::from_value(value).map_err(serde::de::Error::custom)
    }
}

/// JSON text to a value, refusing an object that names a key twice.
fn strict_json(text: &str) -> Result<Value, PolicyError> {
    match serde_json::from_str::<Strict>(text) {
        Ok(Strict(v)) => Ok(v),
        Err(e) => {
            let msg = e.to_string();
            match msg.strip_prefix(DUPLICATE) {
                Some(rest) => Err(PolicyError::DuplicateKey(
                    rest.split('\u{1}').next().unwrap_or(rest).to_string(),
                )),
                None => Err(PolicyError::NotJson(msg)),
            }
        }
    }
}

/// The marker of the duplicate-key error inside serde's message.
const DUPLICATE: &str = "vpce-guard duplicate key: ";

/// A JSON value whose objects have distinct keys.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("{DUPLICATE}{key}\u{1}")));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match PolicyDocument::parse(text) {
            Ok(_) => String::from("<accepted>"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepts_string_or_list_everywhere() {
        let doc = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:TlsVersion":1.2}}}}"#,
        )
        .unwrap();
        let st = &doc.statements[0];
        assert!(st.principal.any);
        assert_eq!(st.action.values, vec!["s3:*"]);
        assert_eq!(st.conditions[0].values, vec!["false"]);
        assert_eq!(st.conditions[1].values, vec!["1.2"]);
    }

    #[test]
    fn rejects_with_the_element_named() {
        assert!(err("[]").contains("must be a JSON object"));
        assert!(err(r#"{"Version":"2012-10-17"}"#).contains("no `Statement`"));
        assert!(err(r#"{"Statement":[1]}"#).contains("statement #0: must be an object"));
        assert!(err(r#"{"Statement":[{"Sid":"A","Effect":"Permit","Principal":"*","Action":"*","Resource":"*"}]}"#)
            .contains("(Sid `A`): `Effect` must be `Allow` or `Deny`, found `Permit`"));
        assert!(err(r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","NotAction":"s3:x","Resource":"*"}]}"#)
            .contains("both `Action` and `NotAction`"));
        assert!(
            err(r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*"}]}"#)
                .contains("`Resource` or `NotResource`")
        );
        assert!(
            err(r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#)
                .contains("`Principal` or `NotPrincipal`")
        );
        assert!(err(r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":"x"}}]}"#)
            .contains("`Condition.StringEquals` must map condition keys"));
        assert!(err(r#"{"Version":"2013-01-01","Statement":[]}"#).contains("`Version` must be"));
        assert!(err(r#"{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::*:role/x"},"Action":"*","Resource":"*"}]}"#)
            .contains("wildcards are not allowed"));
        let big = format!(
            r#"{{"Statement":[],"Id":"{}"}}"#,
            "x".repeat(MAX_POLICY_BYTES)
        );
        assert!(err(&big).contains("20 KB"));
    }

    #[test]
    fn round_trips_the_raw_document() {
        let text = r#"{"Version":"2012-10-17","Id":"p","Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":["111122223333"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        let doc = PolicyDocument::parse(text).unwrap();
        let back = serde_json::to_value(&doc).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
    }
}
