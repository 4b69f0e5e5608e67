//! SSM Parameter Store: the long settings ([`LongSettings`]) a function reads once at init, for
//! lists that do not fit Config's 1,024-character `InputParameters`.

use super::AwsError;
use crate::rules::mute::MuteList;
use crate::rules::params::{LongSettings, ParamError};

/// Why the long settings could not be loaded (the function then fails its init: fail closed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LongSettingsError {
    /// A parameter the environment names cannot be read.
    #[error("{var}: cannot read the SSM parameter `{name}` ({setting}): {source}")]
    Unreadable {
        var: &'static str,
        name: String,
        setting: &'static str,
        source: AwsError,
    },
    /// A parameter holds an invalid entry.
    #[error("an SSM parameter named by the *_PARAMETER variables is invalid: {0}")]
    Invalid(ParamError),
}

/// Port: one parameter's value (`SecureString` decrypted).
#[allow(async_fn_in_trait)]
pub trait ParameterReader {
    async fn parameter(&self, name: &str) -> Result<String, AwsError>;
}

/// Port: the mute list in force (`rules::mute`), read at each invocation so that a change
/// takes effect at once. `Ok(None)`: no list configured; `Err`: why it cannot be used.
#[allow(async_fn_in_trait)]
pub trait MuteSource {
    async fn mute_list(&self) -> Result<Option<MuteList>, String>;
}

/// The mute list to apply: a list that cannot be read or is invalid mutes nothing (fail
/// closed: more findings, never fewer) and is logged as an error.
pub(crate) async fn mutes_in_force<M: MuteSource>(m: &M) -> MuteList {
    match m.mute_list().await {
        Ok(list) => list.unwrap_or_default(),
        Err(e) => {
            tracing::error!(error = %e, "the mute list is not applied: nothing is muted");
            MuteList::default()
        }
    }
}

/// Read the parameters the environment names (`*_PARAMETER`; unset or empty: none). A named
/// parameter that cannot be read, or holds an invalid entry, is an error naming it: the
/// function then fails its init rather than judge with a shorter list (fail closed).
pub async fn load_long_settings<R: ParameterReader>(
    reader: &R,
    get: impl Fn(&str) -> Option<String>,
) -> Result<LongSettings, LongSettingsError> {
    let mut values: Vec<Option<String>> = Vec::new();
    for (var, setting) in LongSettings::ENV {
        let name = get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        values.push(match name {
            None => None,
            Some(name) => Some(reader.parameter(&name).await.map_err(|source| {
                LongSettingsError::Unreadable {
                    var,
                    name: name.clone(),
                    setting,
                    source,
                }
            })?),
        });
    }
    let v = |i: usize| values.get(i).and_then(|x| x.as_deref());
    LongSettings::from_values(v(0), v(1), v(2)).map_err(LongSettingsError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ErrorKind;
    use std::sync::Mutex;

    struct Params(Vec<(&'static str, &'static str)>, Mutex<usize>);

    impl ParameterReader for Params {
        async fn parameter(&self, name: &str) -> Result<String, AwsError> {
            if let Ok(mut n) = self.1.lock() {
                *n += 1;
            }
            self.0
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .ok_or_else(|| AwsError {
                    call: "ssm:GetParameter",
                    kind: ErrorKind::NotFound,
                    code: Some("ParameterNotFound".into()),
                    message: format!("{name} not found"),
                })
        }
    }

    #[tokio::test]
    async fn reads_only_the_named_parameters() {
        let r = Params(
            vec![(
                "/vg/exempt",
                "arn:aws:iam::111122223333:role/a,arn:aws:iam::111122223333:role/b",
            )],
            Mutex::new(0),
        );
        let env =
            |k: &str| (k == "EXEMPT_PRINCIPAL_ARNS_PARAMETER").then(|| "/vg/exempt".to_string());
        let s = load_long_settings(&r, env).await.unwrap();
        assert_eq!(s.exempt_principals.len(), 2);
        assert_eq!(*r.1.lock().unwrap(), 1);
        let none = load_long_settings(&r, |_| None).await.unwrap();
        assert!(none.is_empty());
        let missing =
            |k: &str| (k == "APPROVED_VPCE_IDS_PARAMETER").then(|| "/vg/nope".to_string());
        let e = load_long_settings(&r, missing)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("APPROVED_VPCE_IDS_PARAMETER") && e.contains("/vg/nope"),
            "{e}"
        );
    }
}
