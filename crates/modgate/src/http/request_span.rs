//! The request's span: its id on every line logged while answering it, made the first
//! time something is logged or awaited under it. A hot answer logs nothing but its
//! request line (which carries the id itself), so it never makes one: a span costs a
//! registry entry, its fields formatted, and an enter and exit per poll.

use std::sync::OnceLock;

use tracing::Span;

/// A request's id, and its span once made.
pub(super) struct RequestSpan<'a> {
    id: &'a str,
    span: OnceLock<Span>,
}

impl<'a> RequestSpan<'a> {
    pub(super) fn new(id: &'a str) -> RequestSpan<'a> {
        RequestSpan {
            id,
            span: OnceLock::new(),
        }
    }

    /// The span (`request{id=…}`), made now if it was not.
    pub(super) fn get(&self) -> &Span {
        self.span
            .get_or_init(|| tracing::info_span!("request", id = %self.id))
    }
}
