//! The one mapping from errors to HTTP answers.
//!
//! Every error leaves as `{"error": {"code": ..., "message": ...}}` (plus `component`
//! when a component was unavailable). 5xx answers are logged here with their detail
//! and never carry internals to the client.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shop_domain::{Component, ShopError};
use utoipa::ToSchema;

/// An error on its way to becoming an HTTP answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    component: Option<Component>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `invalid_input`, `not_found`, `insufficient_stock`, ...
    pub code: &'static str,
    /// For people: names the field, the rule or the thing that was not found.
    pub message: String,
    /// The component that could not do its part, on 503 answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub component: Option<Component>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            component: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<ShopError> for ApiError {
    fn from(error: ShopError) -> Self {
        let message = error.to_string();
        match error {
            ShopError::Invalid { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
            }
            ShopError::NotFound { .. } => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            ShopError::Conflict { code, .. } => {
                Self::new(StatusCode::CONFLICT, code.as_str(), message)
            }
            ShopError::PaymentDeclined => {
                Self::new(StatusCode::PAYMENT_REQUIRED, "payment_declined", message)
            }
            ShopError::Unauthorized { .. } => {
                Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
            }
            ShopError::Unavailable { component, .. } => Self {
                component: Some(component),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            },
            ShopError::Internal { .. } => {
                tracing::error!(%error, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

/// Bodies that are not JSON, not the right JSON, or too large.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(status, "body_too_large", rejection.body_text())
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Self::new(status, "unsupported_media_type", rejection.body_text())
            }
            _ => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                rejection.body_text(),
            ),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            rejection.body_text(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() && self.status != StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!(status = %self.status, message = %self.message, "request failed");
        }
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                component: self.component,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was not read, so the server drops the connection after
            // this answer; saying so keeps the client from sending its next request on it.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_domain::ConflictCode;

    #[test]
    fn each_domain_error_has_its_status() {
        let cases = [
            (ShopError::invalid("sku", "bad"), StatusCode::BAD_REQUEST),
            (ShopError::not_found("order 1"), StatusCode::NOT_FOUND),
            (
                ShopError::conflict(ConflictCode::InsufficientStock, "short"),
                StatusCode::CONFLICT,
            ),
            (ShopError::PaymentDeclined, StatusCode::PAYMENT_REQUIRED),
            (ShopError::unauthorized("no"), StatusCode::UNAUTHORIZED),
            (
                ShopError::unavailable(Component::Payments, "down"),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                ShopError::internal("db on fire"),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status(), status);
        }
    }

    #[test]
    fn internals_never_reach_the_client() {
        let error = ApiError::from(ShopError::internal("secret table name"));
        assert_eq!(error.message, "internal error");
    }
}
