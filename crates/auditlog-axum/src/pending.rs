//! [`PendingEvent`]: the per-request guard that emits exactly one event,
//! whether the exchange ends, fails, or is dropped half way.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use http::StatusCode;

use crate::capture::Capture;
use crate::config::Config;
use crate::context::AuditContext;
use crate::identity::AuditIdentity;
use crate::queue::EventQueue;
use crate::record::{End, Record};
use crate::request_text::RequestText;
use crate::write_ahead::setting::WriteAhead;

/// An event waiting for its request to end. Dropping it emits the event as
/// cut short (or panicked), so every audited request yields exactly one.
pub(crate) struct PendingEvent {
    /// Boxed: the response future and body, and every future around them,
    /// move a pointer instead of the whole record at each step (about a
    /// dozen moves of ~370 bytes). Freed on the request's own thread when
    /// the record is made from it.
    exchange: Option<Box<Exchange>>,
}

struct Exchange {
    queue: Arc<EventQueue>,
    config: Arc<Config>,
    /// The identity the request arrived with; `None` when it says nothing
    /// (no allocation). The event itself is made on the background task, so
    /// that it is allocated and freed on the same thread.
    identity: Option<Box<AuditIdentity>>,
    text: RequestText,
    at: SystemTime,
    context: AuditContext,
    request_capture: Option<Arc<Mutex<Capture>>>,
    status: Option<StatusCode>,
    bodiless: bool,
}

impl std::fmt::Debug for PendingEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingEvent")
            .field("emitted", &self.exchange.is_none())
            .finish_non_exhaustive()
    }
}

impl PendingEvent {
    pub(crate) fn new(
        queue: Arc<EventQueue>,
        config: Arc<Config>,
        identity: Option<Box<AuditIdentity>>,
        text: RequestText,
        at: SystemTime,
        context: AuditContext,
        request_capture: Option<Arc<Mutex<Capture>>>,
    ) -> Self {
        PendingEvent {
            exchange: Some(Box::new(Exchange {
                queue,
                config,
                identity,
                text,
                at,
                context,
                request_capture,
                status: None,
                bodiless: false,
            })),
        }
    }

    /// Records the response head. `bodiless` responses (to HEAD, 1xx, 204,
    /// 304) end when their body is dropped, polled or not.
    pub(crate) fn responded(&mut self, status: StatusCode, bodiless: bool) {
        if let Some(exchange) = &mut self.exchange {
            exchange.status = Some(status);
            exchange.bodiless = bodiless;
        }
    }

    pub(crate) fn is_bodiless(&self) -> bool {
        self.exchange.as_ref().is_some_and(|i| i.bodiless)
    }

    pub(crate) fn capture_limit(&self) -> Option<usize> {
        let config = &self.exchange.as_ref()?.config;
        config.capture.then_some(config.capture_limit)
    }

    /// Emits the event now.
    pub(crate) fn finish(mut self, end: End, response: Option<Capture>) {
        if let Some(exchange) = self.exchange.take() {
            exchange.emit(end, response);
        }
    }

    /// The write-ahead this request requires, if any: its own (route or
    /// handler), else the layer's.
    pub(crate) fn write_ahead(&self) -> Option<WriteAhead> {
        let exchange = self.exchange.as_ref()?;
        let write_ahead = exchange
            .context
            .write_ahead()
            .unwrap_or(exchange.config.write_ahead);
        write_ahead.is_required().then_some(write_ahead)
    }

    /// Finishes the exchange at its response head, for a write-ahead: the
    /// record, or `None` when the handler suppressed the event.
    pub(crate) fn into_write_ahead(mut self) -> Option<(Arc<EventQueue>, Record)> {
        let exchange = self.exchange.take()?;
        let queue = exchange.queue.clone();
        let record = exchange.record(End::Complete, None, true)?;
        Some((queue, record))
    }
}

impl Drop for PendingEvent {
    fn drop(&mut self) {
        if let Some(exchange) = self.exchange.take() {
            let end = if std::thread::panicking() {
                End::Panicked
            } else if exchange.status.is_none() {
                End::BeforeResponse
            } else if exchange.bodiless {
                End::Complete
            } else {
                End::DuringBody
            };
            exchange.emit(end, None);
        }
    }
}

impl Exchange {
    fn emit(self: Box<Self>, end: End, response: Option<Capture>) {
        let queue = self.queue.clone();
        if let Some(record) = self.record(end, response, false) {
            queue.send_record(record);
        }
    }

    /// The record to finish, or `None` (counted) when suppressed.
    fn record(
        self: Box<Self>,
        end: End,
        response: Option<Capture>,
        write_ahead: bool,
    ) -> Option<Record> {
        let Exchange {
            queue,
            config,
            identity,
            text,
            at,
            mut context,
            request_capture,
            status,
            bodiless: _,
        } = *self;
        let enrichment = context.take();
        if enrichment.as_ref().is_some_and(|e| e.suppressed) {
            queue.count_suppressed();
            return None;
        }
        let request = request_capture.map(|capture| {
            let mut capture = capture.lock().unwrap_or_else(PoisonError::into_inner);
            Box::new(std::mem::replace(&mut *capture, Capture::new(0, None)).finish())
        });
        let record = Record {
            config,
            identity,
            text,
            at,
            status,
            end,
            request,
            response: response.map(|c| Box::new(c.finish())),
            write_ahead,
            enrichment,
        };
        Some(record)
    }
}
