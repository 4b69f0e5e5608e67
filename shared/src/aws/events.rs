//! The AWS SDK side of [`crate::ports::events`]: `EventPublisher` for `AwsClients`.

use crate::events::SOURCE;
use crate::ports::events::*;

use super::clients::AwsClients;
use super::map_sdk_error;
use crate::ports::AwsError;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

impl EventPublisher for AwsClients {
    async fn put_events(
        &self,
        bus: Option<&str>,
        batch: &[OutEvent],
    ) -> Result<Vec<usize>, AwsError> {
        self.calls.count("events:PutEvents");
        let entries: Vec<PutEventsRequestEntry> = batch
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .source(SOURCE)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .set_resources(Some(e.resources.clone()))
                    .set_event_bus_name(bus.map(str::to_string))
                    .build()
            })
            .collect();
        let out = self
            .eventbridge()
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| map_sdk_error("events:PutEvents", &e))?;
        Ok(out
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.error_code().is_some())
            .map(|(i, _)| i)
            .collect())
    }
}
