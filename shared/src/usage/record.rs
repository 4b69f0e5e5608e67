//! Reading CloudTrail records as they stream past: the log-file format (`{"Records": [...]}`,
//! as CloudTrail delivers to S3), the EventBridge envelope ("AWS API Call via CloudTrail", its
//! `detail` one record), and a JSON array of either.
//!
//! Records are deserialized one at a time, straight from the file's bytes, into a view that
//! borrows its strings (no allocation unless a string has escapes) and skips every field the
//! analysis does not read; nothing of a record outlives its visit, so memory stays flat however
//! many records a file holds.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// The fields of a CloudTrail record the route-usage analysis reads. `eventTime`,
/// `eventSource` and `eventName` are required: every CloudTrail record has them, and a file
/// whose records lack them is not CloudTrail.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record<'a> {
    #[serde(borrow)]
    pub(crate) event_time: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) event_source: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) event_name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) event_category: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "sourceIPAddress")]
    pub(crate) source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) vpc_endpoint_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) vpc_endpoint_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) user_identity: Option<Identity<'a>>,
    #[serde(borrow, default)]
    pub(crate) request_parameters: Option<RequestParameters<'a>>,
    #[serde(borrow, default)]
    pub(crate) resources: Option<BucketResource<'a>>,
}

/// `userIdentity`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Identity<'a> {
    #[serde(borrow, default, rename = "type")]
    pub(crate) kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) session_context: Option<SessionContext<'a>>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionContext<'a> {
    #[serde(borrow, default)]
    pub(crate) session_issuer: Option<SessionIssuer<'a>>,
}

/// `userIdentity.sessionContext.sessionIssuer`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SessionIssuer<'a> {
    #[serde(borrow, default)]
    pub(crate) arn: Option<Cow<'a, str>>,
}

/// `requestParameters`: only the bucket. Any other shape (CloudTrail writes objects or `null`
/// here, but a record of another service could hold anything) reads as "no bucket named".
#[derive(Debug, Default)]
pub(crate) struct RequestParameters<'a> {
    pub(crate) bucket_name: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RequestParameters<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = RequestParameters<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("requestParameters")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut out = RequestParameters::default();
                while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                    if k == "bucketName" {
                        out.bucket_name = m.next_value::<Option<Lenient<'de>>>()?.and_then(|l| l.0);
                    } else {
                        m.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Self::Value, S::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RequestParameters::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(RequestParameters::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(RequestParameters::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RequestParameters::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RequestParameters::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RequestParameters::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RequestParameters::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string, or nothing for any other JSON value.
struct Lenient<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Lenient<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(s.to_string()))))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Self::Value, S::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// One of `resources`.
#[derive(Debug, Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "ARN")]
    arn: Option<Cow<'a, str>>,
}

/// `resources`, read for the ARN of its first `AWS::S3::Bucket`: the list is walked as it
/// streams past, and nothing is kept of the other entries (no allocation per record).
#[derive(Debug, Default)]
pub(crate) struct BucketResource<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for BucketResource<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = BucketResource<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of resources")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Self::Value, S::Error> {
                let mut out = BucketResource(None);
                while let Some(r) = s.next_element::<Resource<'de>>()? {
                    if out.0.is_none()
                        && r.kind.as_deref() == Some("AWS::S3::Bucket")
                        && r.arn.as_deref().and_then(bucket_of_arn).is_some()
                    {
                        out.0 = r.arn;
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

impl Record<'_> {
    /// The bucket the record names: `requestParameters.bucketName`, else the ARN of an
    /// `AWS::S3::Bucket` resource. Nothing is guessed from object keys or hosts.
    pub(crate) fn bucket(&self) -> Option<&str> {
        if let Some(b) = self
            .request_parameters
            .as_ref()
            .and_then(|p| p.bucket_name.as_deref())
            .filter(|b| !b.is_empty())
        {
            return Some(b);
        }
        bucket_of_arn(self.resources.as_ref()?.0.as_deref()?)
    }
}

/// `arn:aws:s3:::NAME` → `NAME` (an object's ARN, `NAME/KEY`, is not a bucket's).
fn bucket_of_arn(arn: &str) -> Option<&str> {
    let name = arn.split_once(":::")?.1;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// Why a file is not CloudTrail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotCloudTrail(pub(crate) String);

/// Calls `sink` with every record of `bytes` (a CloudTrail log file, an EventBridge event, or
/// a JSON array of either) as it is read; returns how many. A file of any other shape, or a
/// record without `eventTime`/`eventSource`/`eventName`, is [`NotCloudTrail`] (records read
/// before the error have been passed to `sink`: callers that must not report half a file
/// analyse into a scratch state first, or stop at the error).
pub(crate) fn for_each_record<F>(bytes: &[u8], sink: &mut F) -> Result<u64, NotCloudTrail>
where
    F: for<'r> FnMut(&Record<'r>),
{
    let mut count = 0u64;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Top {
        sink,
        count: &mut count,
    };
    seed.deserialize(&mut de)
        .map_err(|e| NotCloudTrail(describe(&e)))?;
    de.end().map_err(|e| NotCloudTrail(describe(&e)))?;
    if count == 0 && !bytes_mention_records(bytes) {
        // `{}` or an unrelated object with neither `Records` nor `detail`.
        return Err(NotCloudTrail(
            "not CloudTrail: neither a log file ({\"Records\": [...]}) nor an EventBridge event with a `detail`".into(),
        ));
    }
    Ok(count)
}

/// An empty log file (`{"Records":[]}`) is CloudTrail; `{}` is not.
fn bytes_mention_records(bytes: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    #[derive(Deserialize)]
    struct Shape {
        #[serde(rename = "Records")]
        records: Option<IgnoredAny>,
        detail: Option<IgnoredAny>,
    }
    match Shape::deserialize(&mut de) {
        Ok(s) => s.records.is_some() || s.detail.is_some(),
        Err(_) => bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'['),
    }
}

fn describe(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "truncated JSON".to_string(),
        serde_json::error::Category::Syntax => "not JSON".to_string(),
        _ => {
            let msg = e.to_string();
            // serde_json appends " at line L column C": the position is added below once.
            msg.rsplit_once(" at line ")
                .map(|(m, _)| m.to_string())
                .unwrap_or(msg)
        }
    };
    format!(
        "not CloudTrail: {what} (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// The file's top level: an object (a log file or an EventBridge event) or an array of them.
struct Top<'s, F> {
    sink: &'s mut F,
    count: &'s mut u64,
}

impl<'de, F> DeserializeSeed<'de> for Top<'_, F>
where
    F: for<'r> FnMut(&Record<'r>),
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F> Visitor<'de> for Top<'_, F>
where
    F: for<'r> FnMut(&Record<'r>),
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail log file ({\"Records\": [...]}) or an EventBridge event")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<(), M::Error> {
        let mut seen = false;
        while let Some(k) = m.next_key::<Cow<'de, str>>()? {
            match &*k {
                "Records" => {
                    m.next_value_seed(Records {
                        sink: &mut *self.sink,
                        count: &mut *self.count,
                    })?;
                    seen = true;
                }
                "detail" => {
                    let r: Record<'de> = m.next_value()?;
                    (self.sink)(&r);
                    *self.count += 1;
                    seen = true;
                }
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen {
            return Err(de::Error::custom(
                "neither a log file ({\"Records\": [...]}) nor an EventBridge event with a `detail`",
            ));
        }
        Ok(())
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<(), S::Error> {
        while s
            .next_element_seed(Top {
                sink: &mut *self.sink,
                count: &mut *self.count,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// The `Records` array, each record handed to the sink as it is read.
struct Records<'s, F> {
    sink: &'s mut F,
    count: &'s mut u64,
}

impl<'de, F> DeserializeSeed<'de> for Records<'_, F>
where
    F: for<'r> FnMut(&Record<'r>),
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F> Visitor<'de> for Records<'_, F>
where
    F: for<'r> FnMut(&Record<'r>),
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of CloudTrail records")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<(), S::Error> {
        while let Some(r) = s.next_element::<Record<'de>>()? {
            (self.sink)(&r);
            *self.count += 1;
        }
        Ok(())
    }
}
