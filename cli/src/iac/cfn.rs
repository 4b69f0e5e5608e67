//! CloudFormation (and SAM, and CDK's output): every `AWS::S3::BucketPolicy`, its bucket, and
//! its document with the intrinsic functions resolved as far as the template allows.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Found, IacOptions, Pending};

/// Marks a value removed by `AWS::NoValue`.
const NO_VALUE: &str = "\u{2}AWS::NoValue\u{2}";

/// The bucket policies of a template (its JSON form; `lines`: each resource's line).
pub fn policies(
    root: &Value,
    lines: &dyn Fn(&str) -> usize,
    opts: &IacOptions,
) -> Result<Vec<Found>, String> {
    let empty = Map::new();
    let resources = match root.get("Resources") {
        Some(Value::Object(m)) => m,
        Some(_) => return Err("`Resources` is not a mapping".into()),
        None => return Err("no `Resources`: not a CloudFormation template".into()),
    };
    let obj = |k: &str| root.get(k).and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Vec::new();
    for (id, r) in resources {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::S3::BucketPolicy") {
            continue;
        }
        let mut cx = Resolver {
            resources,
            parameters: obj("Parameters"),
            mappings: obj("Mappings"),
            opts,
            pending: Pending::default(),
        };
        let props = r.get("Properties").cloned().unwrap_or(Value::Null);
        let bucket = match props.get("Bucket") {
            None => {
                cx.pending.whole("the policy names no `Bucket`");
                String::new()
            }
            Some(b) => {
                let v = cx.resolve(b);
                match v.as_str() {
                    Some(s) if !s.contains(super::MARK) => s.to_string(),
                    _ => {
                        // Unknown bucket: one symbolic name, used for its ARN too.
                        let name = symbolic(id);
                        cx.pending.bucket_unknown = Some(name.clone());
                        name
                    }
                }
            }
        };
        let doc = match props.get("PolicyDocument") {
            None => {
                cx.pending.whole("the policy has no `PolicyDocument`");
                Value::Null
            }
            Some(d) => {
                let v = cx.resolve(d);
                match v {
                    // A document written as a JSON string.
                    Value::String(s) if !s.starts_with(super::MARK) => {
                        match serde_json::from_str::<Value>(&s) {
                            Ok(v) => v,
                            Err(_) => Value::String(s),
                        }
                    }
                    other => other,
                }
            }
        };
        out.push(Found {
            line: lines(id),
            resource: id.clone(),
            bucket,
            doc,
            pending: cx.pending,
        });
    }
    Ok(out)
}

/// The name a bucket without a resolvable `BucketName` is judged under: the same for every
/// reference to it, so it never changes a verdict.
pub fn symbolic(logical_id: &str) -> String {
    let base: String = logical_id
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    format!("{base}-symbolic")
}

struct Resolver<'a> {
    resources: &'a Map<String, Value>,
    parameters: &'a Map<String, Value>,
    mappings: &'a Map<String, Value>,
    opts: &'a IacOptions,
    pending: Pending,
}

impl Resolver<'_> {
    /// `AWS::URLSuffix` of the partition.
    fn url_suffix(&self) -> &'static str {
        if self.opts.partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }

    fn resolve(&mut self, v: &Value) -> Value {
        match v {
            Value::Object(m) if m.len() == 1 => {
                let Some((k, arg)) = m.iter().next() else {
                    return Value::Object(Map::new());
                };
                match k.as_str() {
                    "Ref" => match arg.as_str() {
                        Some(name) => self.reference(name),
                        None => self.pending.mark("a `Ref` whose argument is not a name"),
                    },
                    "Fn::GetAtt" => self.get_att(arg),
                    "Fn::Sub" => self.sub(arg),
                    "Fn::Join" => self.join(arg),
                    "Fn::Select" => self.select(arg),
                    "Fn::Split" => self.split(arg),
                    "Fn::FindInMap" => self.find_in_map(arg),
                    f if f.starts_with("Fn::") => {
                        let shown = serde_json::to_string(v).unwrap_or_default();
                        self.pending.mark(&format!(
                            "{f} is not resolved by check-iac: {}",
                            clip(&shown)
                        ))
                    }
                    _ => Value::Object(self.resolve_map(m)),
                }
            }
            Value::Object(m) => Value::Object(self.resolve_map(m)),
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.resolve(x))
                    .filter(|x| x.as_str() != Some(NO_VALUE))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn resolve_map(&mut self, m: &Map<String, Value>) -> Map<String, Value> {
        m.iter()
            .map(|(k, x)| (k.clone(), self.resolve(x)))
            .filter(|(_, x)| x.as_str() != Some(NO_VALUE))
            .collect()
    }

    fn reference(&mut self, name: &str) -> Value {
        if let Some(v) = self.opts.parameters.get(name) {
            return Value::String(v.clone());
        }
        match name {
            "AWS::AccountId" => return Value::String(self.opts.account_id.clone()),
            "AWS::Region" => return Value::String(self.opts.region.clone()),
            "AWS::Partition" => return Value::String(self.opts.partition.clone()),
            "AWS::URLSuffix" => return Value::String(self.url_suffix().into()),
            "AWS::StackName" => return Value::String(self.opts.stack_name.clone()),
            "AWS::NoValue" => return Value::String(NO_VALUE.into()),
            "AWS::StackId" | "AWS::NotificationARNs" => {
                return self
                    .pending
                    .mark(&format!("{name} is known only when the stack exists"))
            }
            _ => {}
        }
        if let Some(p) = self.parameters.get(name) {
            let ty = p.get("Type").and_then(Value::as_str).unwrap_or("String");
            if ty.starts_with("AWS::SSM::Parameter::Value") {
                return self.pending.mark(&format!(
                    "parameter {name} is read from SSM at deploy time (give --parameter {name}=VALUE)"
                ));
            }
            return match p.get("Default") {
                Some(d) => {
                    let s = match d {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if ty.starts_with("List<") || ty == "CommaDelimitedList" {
                        Value::Array(s.split(',').map(|x| x.trim().into()).collect())
                    } else {
                        Value::String(s)
                    }
                }
                None => self.pending.mark(&format!(
                    "parameter {name} has no default (give --parameter {name}=VALUE)"
                )),
            };
        }
        match self.resources.get(name) {
            Some(r) if type_of(r) == "AWS::S3::Bucket" => Value::String(self.bucket_name(name, r)),
            Some(r) => {
                let ty = type_of(r);
                self.pending.mark(&format!(
                    "Ref {name} ({ty}) is known only after deploy (give --parameter {name}=VALUE)"
                ))
            }
            None => self
                .pending
                .mark(&format!("Ref {name} names no parameter or resource")),
        }
    }

    /// A bucket resource's name: its `BucketName` resolved, else its symbolic name.
    fn bucket_name(&mut self, id: &str, r: &Value) -> String {
        let Some(n) = r.pointer("/Properties/BucketName") else {
            return symbolic(id);
        };
        let v = self.resolve(n);
        match v.as_str() {
            Some(s) if !s.contains(super::MARK) => s.to_string(),
            _ => symbolic(id),
        }
    }

    fn get_att(&mut self, arg: &Value) -> Value {
        let (id, attr) = match arg {
            Value::Array(a) if a.len() == 2 => match (a[0].as_str(), a[1].as_str()) {
                (Some(i), Some(t)) => (i.to_string(), t.to_string()),
                _ => {
                    return self
                        .pending
                        .mark("a `Fn::GetAtt` that is not [resource, attribute]")
                }
            },
            Value::String(s) => match s.split_once('.') {
                Some((i, t)) => (i.to_string(), t.to_string()),
                None => {
                    return self
                        .pending
                        .mark("a `Fn::GetAtt` that is not resource.attribute")
                }
            },
            _ => {
                return self
                    .pending
                    .mark("a `Fn::GetAtt` that is not [resource, attribute]")
            }
        };
        match self.resources.get(&id) {
            Some(r) if type_of(r) == "AWS::S3::Bucket" => {
                let name = self.bucket_name(&id, r);
                let suffix = self.url_suffix();
                match attr.as_str() {
                    "Arn" => Value::String(format!("arn:{}:s3:::{name}", self.opts.partition)),
                    "DomainName" => Value::String(format!("{name}.s3.{suffix}")),
                    "RegionalDomainName" => {
                        Value::String(format!("{name}.s3.{}.{suffix}", self.opts.region))
                    }
                    other => self
                        .pending
                        .mark(&format!("GetAtt {id}.{other} is not resolved by check-iac")),
                }
            }
            Some(r) => {
                let ty = type_of(r);
                self.pending.mark(&format!(
                    "GetAtt {id}.{attr} ({ty}) is known only after deploy"
                ))
            }
            None => self
                .pending
                .mark(&format!("GetAtt {id}.{attr} names no resource")),
        }
    }

    /// A resolved value as text; arrays and objects cannot be spliced into a string.
    fn text(&mut self, v: &Value) -> String {
        match self.resolve(v) {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                let shown = serde_json::to_string(&other).unwrap_or_default();
                match self
                    .pending
                    .mark(&format!("not a string: {}", clip(&shown)))
                {
                    Value::String(s) => s,
                    _ => String::new(),
                }
            }
        }
    }

    fn sub(&mut self, arg: &Value) -> Value {
        let (template, vars) = match arg {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Array(a) if a.len() == 2 => match (&a[0], &a[1]) {
                (Value::String(s), Value::Object(m)) => (s.clone(), m.clone()),
                _ => {
                    return self
                        .pending
                        .mark("a `Fn::Sub` that is not [string, {variables}]")
                }
            },
            _ => return self.pending.mark("a `Fn::Sub` that is not a string"),
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let var = &after[..end];
            if let Some(lit) = var.strip_prefix('!') {
                // `${!Literal}` is the text `${Literal}`.
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
            } else if let Some(v) = vars.get(var) {
                let t = self.text(v);
                out.push_str(&t);
            } else if let Some((id, attr)) = var.split_once('.') {
                let v = self.get_att(&Value::Array(vec![id.into(), attr.into()]));
                let t = self.text(&v);
                out.push_str(&t);
            } else {
                let v = self.reference(var);
                let t = self.text(&v);
                out.push_str(&t);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Value::String(out)
    }

    fn join(&mut self, arg: &Value) -> Value {
        let Value::Array(a) = arg else {
            return self
                .pending
                .mark("a `Fn::Join` that is not [delimiter, [values]]");
        };
        let (Some(Value::String(delim)), Some(list)) = (a.first(), a.get(1)) else {
            return self
                .pending
                .mark("a `Fn::Join` that is not [delimiter, [values]]");
        };
        match self.resolve(list) {
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().map(|x| self.text(x)).collect();
                Value::String(parts.join(delim))
            }
            Value::String(s) if s.contains(super::MARK) => Value::String(s),
            _ => self
                .pending
                .mark("a `Fn::Join` whose values are not a list"),
        }
    }

    fn select(&mut self, arg: &Value) -> Value {
        let Value::Array(a) = arg else {
            return self
                .pending
                .mark("a `Fn::Select` that is not [index, [values]]");
        };
        let (Some(i), Some(list)) = (a.first(), a.get(1)) else {
            return self
                .pending
                .mark("a `Fn::Select` that is not [index, [values]]");
        };
        let index = match self.resolve(i) {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse::<u64>().ok(),
            _ => None,
        };
        match (index, self.resolve(list)) {
            (Some(i), Value::Array(items)) => match items.get(i as usize) {
                Some(v) => v.clone(),
                None => self
                    .pending
                    .mark("a `Fn::Select` index past the list's end"),
            },
            _ => self
                .pending
                .mark("a `Fn::Select` over values check-iac cannot resolve"),
        }
    }

    fn split(&mut self, arg: &Value) -> Value {
        let Value::Array(a) = arg else {
            return self
                .pending
                .mark("a `Fn::Split` that is not [delimiter, string]");
        };
        let (Some(Value::String(delim)), Some(s)) = (a.first(), a.get(1)) else {
            return self
                .pending
                .mark("a `Fn::Split` that is not [delimiter, string]");
        };
        let s = self.text(s);
        if s.contains(super::MARK) || delim.is_empty() {
            return self
                .pending
                .mark("a `Fn::Split` of a value check-iac cannot resolve");
        }
        Value::Array(s.split(delim.as_str()).map(|x| x.into()).collect())
    }

    fn find_in_map(&mut self, arg: &Value) -> Value {
        let Value::Array(a) = arg else {
            return self
                .pending
                .mark("a `Fn::FindInMap` that is not [map, key, key]");
        };
        if a.len() < 3 {
            return self
                .pending
                .mark("a `Fn::FindInMap` that is not [map, key, key]");
        }
        let keys: Vec<String> = a[..3].iter().map(|k| self.text(k)).collect();
        match self
            .mappings
            .get(&keys[0])
            .and_then(|m| m.get(&keys[1]))
            .and_then(|m| m.get(&keys[2]))
        {
            Some(v) => self.resolve(v),
            None => self.pending.mark(&format!(
                "FindInMap {} / {} / {} is not in the template's Mappings",
                keys[0], keys[1], keys[2]
            )),
        }
    }
}

/// A resource's `Type` ("a resource" when it has none).
fn type_of(r: &Value) -> &str {
    r.get("Type")
        .and_then(Value::as_str)
        .unwrap_or("a resource")
}

fn clip(s: &str) -> String {
    if s.chars().count() > 80 {
        s.chars().take(79).collect::<String>() + "…"
    } else {
        s.to_string()
    }
}

/// The line of a logical id in a JSON template: its first `"Id":` after `"Resources"`.
pub fn json_lines(text: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let start = text.find("\"Resources\"").unwrap_or(0);
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(text) else {
        return out;
    };
    let Some(Value::Object(res)) = root.get("Resources") else {
        return out;
    };
    for id in res.keys() {
        let needle = format!("\"{id}\"");
        let mut from = start;
        while let Some(i) = text[from..].find(&needle) {
            let at = from + i;
            let after = text[at + needle.len()..].trim_start();
            if after.starts_with(':') {
                out.insert(id.clone(), text[..at].matches('\n').count() + 1);
                break;
            }
            from = at + needle.len();
        }
    }
    out
}
