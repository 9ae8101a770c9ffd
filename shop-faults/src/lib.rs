//! Faults injected at the edge of a component, and the hook that observes every call.
//!
//! # Layout
//!
//! - [`fault`]: [`Fault`], what can go wrong (slow, fail, hang, burn CPU, abort, leak,
//!   a tax on every call's time), [`Faults`], the live table of which component has
//!   which fault, and the [`Toll`] a taxed call pays after it runs.
//! - [`edge`]: [`Edge`], a decorator that implements every component trait by
//!   applying the component's fault, calling the real component, and reporting the
//!   call to a [`CallObserver`]; [`Edges`] hands out one per component.
//!
//! # Why a decorator
//!
//! A fault belongs to a *component*, not to a code path: every caller of the faulty
//! component must feel it, whether it is a handler or another component, and whether
//! the call is in-process (monolith) or arrives over the network (a split service
//! wraps its local component the same way). Wrapping the trait object once, where the
//! wiring hands it out, gives exactly that with no `if fault` in business logic.

pub mod edge;
pub mod fault;

pub use edge::{CallObserver, Edge, Edges, Outcome};
pub use fault::{Fault, Faults, Toll};
