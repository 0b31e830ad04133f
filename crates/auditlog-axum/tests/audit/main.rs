//! The middleware end to end: `oneshot` against `fn app()`, and a real TCP
//! listener on port 0 with a real HTTP client.

mod support;

mod capture;
mod identity;
mod never_in_the_way;
mod overload;
mod redaction;
mod request;
mod request_edges;
mod reused_event;
mod tcp;
mod write_ahead;
