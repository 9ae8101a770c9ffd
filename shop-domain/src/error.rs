//! The one error type every component returns.
//!
//! A domain error (not found, declined, out of stock) is kept apart from
//! [`ShopError::Unavailable`], which means "a component could not be reached or did
//! not answer": callers may retry the latter for idempotent calls, never the former.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The shop's components, by name. Faults, metrics and errors use these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    Catalog,
    Inventory,
    Cart,
    Payments,
    Orders,
    Recommendations,
    Users,
}

impl Component {
    pub const ALL: [Component; 7] = [
        Component::Catalog,
        Component::Inventory,
        Component::Cart,
        Component::Payments,
        Component::Orders,
        Component::Recommendations,
        Component::Users,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Component::Catalog => "catalog",
            Component::Inventory => "inventory",
            Component::Cart => "cart",
            Component::Payments => "payments",
            Component::Orders => "orders",
            Component::Recommendations => "recommendations",
            Component::Users => "users",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ShopError> {
        Self::ALL.into_iter().find(|c| c.name() == raw).ok_or_else(|| {
            ShopError::invalid(
                "component",
                "must be one of catalog, inventory, cart, payments, orders, recommendations, users",
            )
        })
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a request can run into. Every variant has exactly one HTTP status, decided in
/// one place in the API crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ShopError {
    /// The input broke a rule: which field, and the rule.
    #[error("invalid {field}: {rule}")]
    Invalid { field: String, rule: String },
    /// The thing asked for does not exist (or is not the caller's to see).
    #[error("{what} not found")]
    NotFound { what: String },
    /// The request is valid but conflicts with the current state.
    #[error("{reason}")]
    Conflict { code: ConflictCode, reason: String },
    /// The payment processor declined the charge.
    #[error("payment declined")]
    PaymentDeclined,
    /// Missing, malformed, expired or forged credentials.
    #[error("unauthorized: {reason}")]
    Unauthorized { reason: String },
    /// A component could not do its part: it is down, hung, overloaded or failing.
    /// Says which one. Never a statement about the request itself.
    #[error("{component} unavailable: {reason}")]
    Unavailable {
        component: Component,
        reason: String,
        /// The request certainly never reached the component (no connection, no replica
        /// up, an open breaker), so it did nothing. When false, it may have acted.
        unreached: bool,
    },
    /// A bug or a broken invariant. Logged with detail; clients see no internals.
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

/// Why a valid request conflicts with the state, as a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictCode {
    InsufficientStock,
    CartEmpty,
    UsernameTaken,
    CheckoutInProgress,
    CartLineTooLarge,
    CartFull,
    /// A late step of a checkout whose order was already rolled back (released, refunded).
    OrderClosed,
}

impl ConflictCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictCode::InsufficientStock => "insufficient_stock",
            ConflictCode::CartEmpty => "cart_empty",
            ConflictCode::UsernameTaken => "username_taken",
            ConflictCode::CheckoutInProgress => "checkout_in_progress",
            ConflictCode::CartLineTooLarge => "cart_line_too_large",
            ConflictCode::CartFull => "cart_full",
            ConflictCode::OrderClosed => "order_closed",
        }
    }
}

impl ShopError {
    pub fn invalid(field: &str, rule: &str) -> Self {
        ShopError::Invalid {
            field: field.to_owned(),
            rule: rule.to_owned(),
        }
    }

    pub fn not_found(what: impl fmt::Display) -> Self {
        ShopError::NotFound {
            what: what.to_string(),
        }
    }

    pub fn conflict(code: ConflictCode, reason: impl Into<String>) -> Self {
        ShopError::Conflict {
            code,
            reason: reason.into(),
        }
    }

    pub fn unauthorized(reason: &str) -> Self {
        ShopError::Unauthorized {
            reason: reason.to_owned(),
        }
    }

    /// `component` failed to answer; whether it acted is unknown.
    pub fn unavailable(component: Component, reason: impl Into<String>) -> Self {
        ShopError::Unavailable {
            component,
            reason: reason.into(),
            unreached: false,
        }
    }

    /// The request never reached `component`: it certainly did nothing.
    pub fn unreached(component: Component, reason: impl Into<String>) -> Self {
        ShopError::Unavailable {
            component,
            reason: reason.into(),
            unreached: true,
        }
    }

    /// Whether the component the error is about certainly did nothing.
    pub fn is_unreached(&self) -> bool {
        matches!(
            self,
            ShopError::Unavailable {
                unreached: true,
                ..
            }
        )
    }

    pub fn internal(detail: impl fmt::Display) -> Self {
        ShopError::Internal {
            detail: detail.to_string(),
        }
    }

    /// True when the failure says nothing about the request and a later attempt may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ShopError::Unavailable { .. } | ShopError::Internal { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_names_round_trip() {
        for c in Component::ALL {
            assert_eq!(Component::parse(c.name()).unwrap(), c);
        }
        assert!(Component::parse("billing").is_err());
    }

    #[test]
    fn only_unavailability_and_bugs_are_transient() {
        assert!(ShopError::unavailable(Component::Payments, "down").is_transient());
        assert!(!ShopError::PaymentDeclined.is_transient());
        assert!(!ShopError::not_found("order 1").is_transient());
    }
}
