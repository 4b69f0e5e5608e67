//! EventBridge: publishing the guard's own events (findings, remediations), in batches of ten,
//! failed entries retried, and a loud error when some still fail — never an event silently lost.

use super::{AwsError, ErrorKind};

/// `PutEvents` takes at most this many entries a call.
pub(crate) const MAX_ENTRIES: usize = 10;
/// Attempts for entries EventBridge reports as failed.
pub(crate) const FAILED_ATTEMPTS: usize = 3;

/// One event to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutEvent {
    pub(crate) detail_type: String,
    /// The detail, as JSON text.
    pub detail: String,
    /// ARNs of the resources the event is about.
    pub(crate) resources: Vec<String>,
}

/// Port: put events on a bus.
#[allow(async_fn_in_trait)]
pub trait EventPublisher {
    /// Put up to ten events on `bus` (`None`: the default bus); returns the indices of the
    /// entries EventBridge reports as failed.
    async fn put_events(
        &self,
        bus: Option<&str>,
        batch: &[OutEvent],
    ) -> Result<Vec<usize>, AwsError>;
}

/// Publish events ten at a time; failed entries are retried, then the whole publish fails.
pub(crate) async fn publish<P: EventPublisher>(
    port: &P,
    bus: Option<&str>,
    events: &[OutEvent],
) -> Result<usize, AwsError> {
    let mut calls = 0;
    for chunk in events.chunks(MAX_ENTRIES) {
        let mut pending: Vec<OutEvent> = chunk.to_vec();
        for attempt in 1..=FAILED_ATTEMPTS {
            calls += 1;
            let failed = port.put_events(bus, &pending).await?;
            pending = failed
                .into_iter()
                .filter_map(|i| pending.get(i).cloned())
                .collect();
            if pending.is_empty() {
                break;
            }
            if attempt < FAILED_ATTEMPTS {
                tokio::time::sleep(std::time::Duration::from_millis(100 * attempt as u64)).await;
            }
        }
        if !pending.is_empty() {
            return Err(AwsError {
                call: "events:PutEvents",
                kind: ErrorKind::Other,
                code: Some("FailedEntries".into()),
                message: format!(
                    "EventBridge rejected {} event(s) after {FAILED_ATTEMPTS} attempts",
                    pending.len()
                ),
            });
        }
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Fails the first entry of every first attempt.
    struct Flaky {
        calls: Mutex<Vec<usize>>,
        always: bool,
    }

    impl EventPublisher for Flaky {
        async fn put_events(
            &self,
            _: Option<&str>,
            batch: &[OutEvent],
        ) -> Result<Vec<usize>, AwsError> {
            let mut c = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            c.push(batch.len());
            Ok(if self.always || c.len() == 1 {
                vec![0]
            } else {
                Vec::new()
            })
        }
    }

    fn ev(i: usize) -> OutEvent {
        OutEvent {
            detail_type: "vpce-guard Finding".into(),
            detail: format!("{{\"n\":{i}}}"),
            resources: Vec::new(),
        }
    }

    #[test]
    fn batches_of_ten_and_failed_entries_retried_or_loud() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let events: Vec<OutEvent> = (0..23).map(ev).collect();
        let p = Flaky {
            calls: Mutex::new(Vec::new()),
            always: false,
        };
        let calls = rt.block_on(publish(&p, None, &events)).unwrap();
        assert_eq!(*p.calls.lock().unwrap(), vec![10, 1, 10, 3]);
        assert_eq!(calls, 4);
        let p = Flaky {
            calls: Mutex::new(Vec::new()),
            always: true,
        };
        let e = rt.block_on(publish(&p, None, &events[..2])).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("FailedEntries"));
        assert_eq!(p.calls.lock().unwrap().len(), FAILED_ATTEMPTS);
    }
}
