//! The mute list: resources a team has decided to accept as they are (a public website bucket,
//! an artifact bucket), each with a reason and an optional expiry. A muted resource is still
//! judged — its findings stay as they are — but it is reported `NOT_APPLICABLE` with "muted:
//! <reason> (until <date>)", raises no alert and is never remediated. An expired entry stops
//! muting by itself, and the evaluation says so.
//!
//! The list is JSON, from an SSM parameter (the stack's `MutedResourcesParameter`: who changes
//! it is in CloudTrail) or `--mute-file`:
//! `{"muted": [{"resource": "acme-public-*", "reason": "public website", "until": "2027-06-30"}]}`.
//! `resource` is a bucket name or a VPC id, `*` and `?` as wildcards; `until` a date (the last
//! day muted, UTC). A tag never mutes: whoever can tag a bucket must not be able to silence its
//! compliance.

use serde::Deserialize;

use super::{truncate, Compliance, Evaluation, MAX_ANNOTATION_CHARS};
use crate::policy::date::parse_date;
use crate::policy::glob::matches;

/// Why a mute list is refused (the whole list: a typo must not mute the wrong thing, nor
/// silently fail to mute).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MuteError {
    #[error("the mute list is not valid JSON of the form {{\"muted\": [{{\"resource\", \"reason\", \"until\"}}]}}: {0}")]
    Json(String),
    #[error("mute entry {index}: {why}")]
    Entry { index: usize, why: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    muted: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    resource: String,
    reason: String,
    #[serde(default)]
    until: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    resource: String,
    reason: String,
    /// The last day muted (`YYYY-MM-DD`) and the first instant no longer muted.
    until: Option<(String, f64)>,
}

/// A parsed mute list (empty: nothing muted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MuteList {
    entries: Vec<Entry>,
}

/// What the list says of one resource at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MuteState {
    /// Not on the list.
    None,
    /// Muted: "muted: <reason> (until <date>)".
    Muted(String),
    /// On the list, but every matching entry has expired: "mute expired on <date>: <reason>".
    Expired(String),
}

impl MuteList {
    /// Parse the list. Every entry must name a resource and a reason; `until` must be a real
    /// date (`YYYY-MM-DD`); an unknown key is refused.
    pub fn parse(text: &str) -> Result<MuteList, MuteError> {
        let raw: RawList =
            serde_json::from_str(text).map_err(|e| MuteError::Json(e.to_string()))?;
        let mut entries = Vec::with_capacity(raw.muted.len());
        for (index, e) in raw.muted.into_iter().enumerate() {
            let bad = |why: &str| MuteError::Entry {
                index,
                why: why.to_string(),
            };
            let resource = e.resource.trim().to_string();
            if resource.is_empty() {
                return Err(bad("`resource` is empty"));
            }
            if resource.chars().all(|c| c == '*' || c == '?') {
                return Err(bad(
                    "`resource` matches every resource: mute resources by name, not all at once",
                ));
            }
            let reason = e.reason.trim().to_string();
            if reason.is_empty() {
                return Err(bad("`reason` is empty: say why the resource is muted"));
            }
            let until = match e.until.map(|u| u.trim().to_string()) {
                None => None,
                Some(u) => {
                    let day = (u.len() == 10)
                        .then(|| parse_date(&u))
                        .flatten()
                        .ok_or_else(|| bad(&format!("`until` `{u}` is not a date (YYYY-MM-DD)")))?;
                    Some((u, day + 86_400.0))
                }
            };
            entries.push(Entry {
                resource,
                reason,
                until,
            });
        }
        Ok(MuteList { entries })
    }

    /// The state of `resource` at `now` (seconds since the epoch): the first entry in force
    /// that matches it mutes it.
    pub(crate) fn state(&self, resource: &str, now: f64) -> MuteState {
        let mut expired = None;
        for e in self
            .entries
            .iter()
            .filter(|e| matches(&e.resource, resource, false))
        {
            match &e.until {
                Some((day, end)) if now >= *end => {
                    expired.get_or_insert_with(|| format!("mute expired on {day}: {}", e.reason));
                }
                Some((day, _)) => {
                    return MuteState::Muted(format!("muted: {} (until {day})", e.reason))
                }
                None => return MuteState::Muted(format!("muted: {}", e.reason)),
            }
        }
        expired.map_or(MuteState::None, MuteState::Expired)
    }

    /// The list applied to one verdict (its resource and annotation): `None` when no entry
    /// names the resource; else the annotation to report — the mute's text, or the expiry
    /// first (so that the cut to 256 characters never drops it) then `annotation` — and whether
    /// it mutes. The one rule the evaluations, Config's evaluations and the watcher's findings
    /// share.
    pub(crate) fn verdict(&self, resource: &str, annotation: &str, now: f64) -> Option<Muting> {
        match self.state(resource, now) {
            MuteState::None => None,
            MuteState::Muted(why) => Some(Muting {
                annotation: truncate(&why, MAX_ANNOTATION_CHARS),
                muted: Some(why),
                expired: None,
            }),
            MuteState::Expired(why) => Some(Muting {
                annotation: if annotation.is_empty() {
                    truncate(&why, MAX_ANNOTATION_CHARS)
                } else {
                    truncate(&format!("{why}; {annotation}"), MAX_ANNOTATION_CHARS)
                },
                muted: None,
                expired: Some(why),
            }),
        }
    }

    /// Apply the list to an evaluation: a muted one becomes `NOT_APPLICABLE` with the mute as
    /// its annotation (findings kept); an expired mute is noted (first in the annotation) and
    /// changes nothing else.
    pub fn apply(&self, e: &mut Evaluation, now: f64) {
        if let Some(m) = self.verdict(&e.resource, &e.annotation, now) {
            if m.muted.is_some() {
                e.compliance = Compliance::NotApplicable;
            }
            e.annotation = m.annotation;
            e.muted = m.muted;
            e.mute_expired = m.expired;
        }
    }
}

/// What the mute list does to one verdict ([`MuteList::verdict`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Muting {
    /// The annotation to report.
    pub(crate) annotation: String,
    /// "muted: <reason> (until <date>)" when the resource is muted (it is then
    /// `NOT_APPLICABLE`).
    pub(crate) muted: Option<String>,
    /// "mute expired on <date>: <reason>" when only expired entries name it.
    pub(crate) expired: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::policy::date::parse_date;
    use crate::rules::{Finding, RuleId, Status};

    const LIST: &str = r#"{"muted": [
        {"resource": "acme-public-*", "reason": "public website", "until": "2027-06-30"},
        {"resource": "acme-artifacts", "reason": "build artifacts, read by the CDN"},
        {"resource": "vpc-0a1b2c3d", "reason": "sandbox VPC", "until": "2026-01-31"},
        {"resource": "old-logs", "reason": "log delivery", "until": "2026-01-31"}
    ]}"#;

    fn at(date: &str) -> f64 {
        parse_date(date).unwrap()
    }

    fn failing(resource: &str) -> Evaluation {
        Evaluation::new(
            resource,
            vec![Finding::new(
                RuleId::S3VpceDeny,
                Status::Fail,
                "nothing denies the public route",
            )],
        )
    }

    #[test]
    fn names_patterns_and_expiry() {
        let list = MuteList::parse(LIST).unwrap();
        let now = at("2026-12-07T12:00:00Z");
        assert_eq!(
            list.state("acme-public-www", now),
            MuteState::Muted("muted: public website (until 2027-06-30)".into())
        );
        assert_eq!(
            list.state("acme-artifacts", now),
            MuteState::Muted("muted: build artifacts, read by the CDN".into())
        );
        assert_eq!(
            list.state("acme-artifacts-2", now),
            MuteState::None,
            "a name, not a prefix"
        );
        assert_eq!(
            list.state("ACME-PUBLIC-WWW", now),
            MuteState::None,
            "bucket names are case-sensitive"
        );
        assert_eq!(
            list.state("vpc-0a1b2c3d", now),
            MuteState::Expired("mute expired on 2026-01-31: sandbox VPC".into())
        );
        // `until` is the last day muted (UTC).
        assert!(matches!(
            list.state("acme-public-www", at("2027-06-30T23:59:59Z")),
            MuteState::Muted(_)
        ));
        assert!(matches!(
            list.state("acme-public-www", at("2027-07-01T00:00:00Z")),
            MuteState::Expired(_)
        ));
    }

    #[test]
    fn a_muted_evaluation_keeps_its_findings_and_is_not_applicable() {
        let list = MuteList::parse(LIST).unwrap();
        let now = at("2026-12-07T12:00:00Z");
        let mut e = failing("acme-public-www");
        let findings = e.findings.clone();
        list.apply(&mut e, now);
        assert_eq!(e.compliance, Compliance::NotApplicable);
        assert_eq!(e.annotation, "muted: public website (until 2027-06-30)");
        assert_eq!(
            e.muted.as_deref(),
            Some("muted: public website (until 2027-06-30)")
        );
        assert_eq!(e.findings, findings);
        // Expired: judged as any other, and said first in the annotation.
        let mut e = failing("old-logs");
        list.apply(&mut e, now);
        assert_eq!(e.compliance, Compliance::NonCompliant);
        assert!(
            e.annotation
                .starts_with("mute expired on 2026-01-31: log delivery; S3-VPCE-DENY"),
            "{}",
            e.annotation
        );
        assert_eq!(
            e.mute_expired.as_deref(),
            Some("mute expired on 2026-01-31: log delivery")
        );
        // Not on the list: untouched.
        let mut e = failing("other");
        let before = e.clone();
        list.apply(&mut e, now);
        assert_eq!(e, before);
    }

    #[test]
    fn a_list_with_a_mistake_is_refused_whole() {
        for (text, needle) in [
            (
                r#"{"muted": [{"resource": "a", "reason": "r", "untill": "2027-01-01"}]}"#,
                "untill",
            ),
            (
                r#"{"muted": [{"resource": "a", "reason": " "}]}"#,
                "`reason` is empty",
            ),
            (
                r#"{"muted": [{"resource": "", "reason": "r"}]}"#,
                "`resource` is empty",
            ),
            (
                r#"{"muted": [{"resource": "*", "reason": "r"}]}"#,
                "matches every resource",
            ),
            (
                r#"{"muted": [{"resource": "a", "reason": "r", "until": "2027-02-30"}]}"#,
                "not a date",
            ),
            (
                r#"{"muted": [{"resource": "a", "reason": "r", "until": "2027-02-03T00:00:00Z"}]}"#,
                "not a date",
            ),
            (r#"{"mute": []}"#, "not valid JSON of the form"),
            ("muted: a", "not valid JSON"),
        ] {
            let err = MuteList::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        assert_eq!(
            MuteList::parse(r#"{"muted": []}"#).unwrap(),
            MuteList::default()
        );
    }
}
