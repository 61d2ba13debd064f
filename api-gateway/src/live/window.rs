//! The event window: the last `WINDOW` ticket events of the stream this replica has read, so
//! a subscriber that passes `after` (the id of the last event it saw) first gets what followed
//! it, with no gap and no duplicate; and how far the stream has been read.

use super::WINDOW;
use common::TicketEventMessage;
use std::{
    collections::{HashSet, VecDeque},
    sync::Arc,
};

/// One ticket event of the stream.
#[derive(Debug)]
pub struct Event {
    /// Its stream entry id.
    pub stream_id: String,
    /// What the relay published.
    pub message: TicketEventMessage,
}

/// The latest ticket events, and the last entry read.
#[derive(Debug, Default)]
pub(super) struct Window {
    /// The latest ticket events, oldest first.
    events: VecDeque<Arc<Event>>,
    /// The event ids in the window (an event the relay sent twice is handed out once).
    seen: HashSet<i64>,
    /// The last ticket-events entry read.
    position: Option<String>,
}

impl Window {
    /// Adds an event to the window; `None` when the window has it already (sent twice).
    pub(super) fn push(
        &mut self,
        stream_id: String,
        message: TicketEventMessage,
    ) -> Option<Arc<Event>> {
        if !self.seen.insert(message.event_id) {
            return None;
        }
        let event = Arc::new(Event { stream_id, message });
        self.events.push_back(event.clone());
        while self.events.len() > WINDOW {
            if let Some(old) = self.events.pop_front() {
                self.seen.remove(&old.message.event_id);
            }
        }
        Some(event)
    }

    /// Records that the stream was read up to entry `stream_id`.
    pub(super) fn read_to(&mut self, stream_id: String) {
        self.position = Some(stream_id);
    }

    /// The last entry read, if any.
    pub(super) fn position(&self) -> Option<&str> {
        self.position.as_deref()
    }

    /// Whether event `event_id` is in the window.
    pub(super) fn contains(&self, event_id: i64) -> bool {
        self.seen.contains(&event_id)
    }

    /// The events that followed event `event_id`, oldest first; `None` when it is not in
    /// the window.
    pub(super) fn after(&self, event_id: i64) -> Option<impl Iterator<Item = &Arc<Event>>> {
        let at = self
            .events
            .iter()
            .rposition(|e| e.message.event_id == event_id)?;
        Some(self.events.iter().skip(at + 1))
    }

    /// How many events it holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }
}
