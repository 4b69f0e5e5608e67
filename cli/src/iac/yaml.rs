//! CloudFormation YAML to JSON: the short-form tags (`!Sub`, `!Ref`, `!GetAtt a.b`, …) become
//! their long form (`{"Fn::Sub": …}`), and the line of every key of `Resources` is kept.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A template read from YAML: its JSON form and the line of each resource's logical id.
#[derive(Debug)]
pub struct YamlTemplate {
    pub root: Value,
    pub resource_lines: BTreeMap<String, usize>,
}

/// Parse a CloudFormation YAML template (one document).
pub fn parse(text: &str) -> Result<YamlTemplate, String> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut b, true)
        .map_err(|e| format!("not valid YAML: {e}"))?;
    if let Some(e) = b.error {
        return Err(e);
    }
    let root = b.done.ok_or("an empty YAML document")?;
    Ok(YamlTemplate {
        root,
        resource_lines: b.resource_lines,
    })
}

/// A container being built: a sequence, or a mapping with its pending key.
#[derive(Debug)]
enum Frame {
    Seq {
        items: Vec<Value>,
        tag: Option<Tag>,
        anchor: usize,
    },
    Map {
        map: Map<String, Value>,
        key: Option<(String, usize)>,
        tag: Option<Tag>,
        anchor: usize,
    },
}

#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: BTreeMap<usize, Value>,
    done: Option<Value>,
    resource_lines: BTreeMap<String, usize>,
    error: Option<String>,
}

impl Builder {
    /// Is the mapping being filled the template's `Resources` (depth 2, under the root)?
    fn in_resources(&self) -> bool {
        matches!(
            self.stack.as_slice(),
            [Frame::Map { key: Some((k, _)), .. }, Frame::Map { .. }] if k == "Resources"
        )
    }

    fn push_value(&mut self, v: Value, line: usize) {
        let in_resources = self.in_resources();
        match self.stack.last_mut() {
            None => self.done = Some(v),
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                None => {
                    let k = match v {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    if in_resources {
                        self.resource_lines.insert(k.clone(), line);
                    }
                    *key = Some((k, line));
                }
                Some((k, _)) => {
                    map.insert(k, v);
                }
            },
        }
    }
}

/// A plain scalar's YAML type (CloudFormation reads `true`, numbers and `null` as such).
fn plain(s: String) -> Value {
    match s.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => {
            if let Ok(i) = s.parse::<i64>() {
                return Value::Number(i.into());
            }
            if s.contains('.') && !s.ends_with('.') {
                if let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64) {
                    return Value::Number(n);
                }
            }
            Value::String(s)
        }
    }
}

/// The long form of a short-form tag applied to `v`; `None`: not a CloudFormation tag.
fn long_form(tag: &Tag, v: Value) -> Result<Value, String> {
    if tag.handle != "!" {
        // `!!str` and the other core tags: the value as is.
        return Ok(v);
    }
    let name = tag.suffix.as_str();
    let key = match name {
        "Ref" => "Ref".to_string(),
        "Condition" => "Condition".to_string(),
        "GetAtt" => {
            // `!GetAtt Bucket.Arn` is `{"Fn::GetAtt": ["Bucket", "Arn"]}`.
            let v = match v {
                Value::String(s) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                    None => Value::String(s),
                },
                other => other,
            };
            return Ok(single("Fn::GetAtt", v));
        }
        "Sub" | "Join" | "Select" | "Split" | "FindInMap" | "If" | "ImportValue" | "Base64"
        | "GetAZs" | "Cidr" | "Equals" | "And" | "Or" | "Not" | "Transform" | "Length"
        | "ToJsonString" | "ForEach" => format!("Fn::{name}"),
        other => return Err(format!("unknown tag !{other}")),
    };
    Ok(single(&key, v))
}

fn single(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), v);
    Value::Object(m)
}

impl Builder {
    /// A complete node: its tag applied, its anchor kept, and it placed in its parent.
    fn finish(&mut self, v: Value, tag: Option<Tag>, anchor: usize, line: usize) {
        let v = match tag {
            Some(t) => match long_form(&t, v) {
                Ok(v) => v,
                Err(e) => {
                    self.error = Some(format!("line {line}: {e}"));
                    return;
                }
            },
            None => v,
        };
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        self.push_value(v, line);
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let line = mark.line();
        match ev {
            Event::Scalar(s, style, anchor, tag) => {
                let v = if style == TScalarStyle::Plain {
                    plain(s)
                } else {
                    Value::String(s)
                };
                self.finish(v, tag, anchor, line);
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                tag,
                anchor,
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Map {
                map: Map::new(),
                key: None,
                tag,
                anchor,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, tag, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { items, tag, anchor }) => (Value::Array(items), tag, anchor),
                    Some(Frame::Map {
                        map, tag, anchor, ..
                    }) => (Value::Object(map), tag, anchor),
                    None => return,
                };
                self.finish(v, tag, anchor, line);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(v) => self.push_value(v, line),
                None => self.error = Some(format!("line {line}: an alias to an unknown anchor")),
            },
            Event::DocumentStart => {
                if self.done.is_some() {
                    self.error =
                        Some("more than one YAML document: a template is one document".to_string());
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn short_tags_become_the_long_form_and_resource_lines_are_kept() {
        let t = parse(
            "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Data:\n    Type: AWS::S3::Bucket\n  Policy:\n    Type: AWS::S3::BucketPolicy\n    Properties:\n      Bucket: !Ref Data\n      Arn: !GetAtt Data.Arn\n      Name: !Sub '${AWS::StackName}-x'\n      Both: !Join ['', [a, !Ref Data]]\n      Flag: true\n      Count: 3\n",
        )
        .unwrap();
        assert_eq!(t.resource_lines.get("Data"), Some(&3));
        assert_eq!(t.resource_lines.get("Policy"), Some(&5));
        assert_eq!(
            t.root["Resources"]["Policy"]["Properties"],
            json!({"Bucket": {"Ref": "Data"}, "Arn": {"Fn::GetAtt": ["Data", "Arn"]},
                   "Name": {"Fn::Sub": "${AWS::StackName}-x"},
                   "Both": {"Fn::Join": ["", ["a", {"Ref": "Data"}]]}, "Flag": true, "Count": 3})
        );
    }

    #[test]
    fn bad_yaml_and_unknown_tags_are_errors() {
        assert!(parse("a: [").unwrap_err().contains("not valid YAML"));
        assert!(parse("a: !Bogus x\n").unwrap_err().contains("!Bogus"));
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }
}
