//! The caller's side of an internal call: encode, send through the dependency's
//! [`CallService`] (its replicas behind a balancer, inside the resilience layers), decode.
//!
//! Whatever goes wrong on the way (no replica up, no connection, no answer in time, an
//! open breaker, a status or body that is not a well-formed answer) becomes
//! [`ShopError::Unavailable`] naming the callee: a network failure is never mistaken for
//! a domain answer. A domain answer the callee gave (`422`) is returned as it gave it.

use axum::http::StatusCode;
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shop_domain::{Component, ShopError};
use tower::ServiceExt;

use crate::codec::Codec;
use crate::pool::{self, Call, CallService};
use crate::resilience::Resilience;

/// How a caller talks to one callee.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Link {
    pub codec: Codec,
    /// HTTP/2 with prior knowledge instead of HTTP/1.1.
    pub http2: bool,
    pub resilience: Resilience,
}

/// Calls one component, at any of its replicas.
#[derive(Clone)]
pub struct Transport {
    /// The callee, named in every error.
    component: Component,
    codec: Codec,
    service: CallService,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("component", &self.component)
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Calls `component` at `replicas` (base URLs such as `http://127.0.0.1:4000`) as
    /// `link` says. Must be called inside a tokio runtime (it starts readiness probes).
    /// Refuses resilience settings that do not hold together.
    pub fn new(component: Component, replicas: &[String], link: Link) -> Result<Self, ShopError> {
        let service = pool::connect(component, replicas, link.http2);
        let service = link
            .resilience
            .protect(component, service)
            .map_err(|e| ShopError::invalid("resilience", &format!("calls to {component}: {e}")))?;
        Ok(Self {
            component,
            codec: link.codec,
            service,
        })
    }

    pub fn component(&self) -> Component {
        self.component
    }

    /// Calls `operation` with `args` (a tuple), which must not be repeated.
    pub async fn call<A, T>(&self, operation: &'static str, args: &A) -> Result<T, ShopError>
    where
        A: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send(operation, false, args).await
    }

    /// Calls `operation`, which is safe to send again (a read, or a write keyed by
    /// order id): the resilience layers may retry it.
    pub async fn call_idempotent<A, T>(
        &self,
        operation: &'static str,
        args: &A,
    ) -> Result<T, ShopError>
    where
        A: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send(operation, true, args).await
    }

    async fn send<A, T>(
        &self,
        operation: &'static str,
        idempotent: bool,
        args: &A,
    ) -> Result<T, ShopError>
    where
        A: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let codec = self.codec;
        let body = codec.encode(args).map_err(|e| {
            ShopError::internal(format_args!("encoding {}.{operation}: {e}", self.component))
        })?;
        let call = Call {
            operation,
            idempotent,
            codec,
            body: Bytes::from(body),
        };
        let answer = self.service.clone().oneshot(call).await?;
        let unavailable = |why: String| {
            ShopError::unavailable(
                self.component,
                format!("{}.{operation}: {why}", self.component),
            )
        };
        if answer.codec != codec {
            return Err(unavailable(format!(
                "answered in {}, asked in {codec}",
                answer.codec
            )));
        }
        let garbled = |e| unavailable(format!("garbled answer ({}): {e}", answer.status));
        match answer.status {
            StatusCode::OK => codec.decode(&answer.body).map_err(garbled),
            StatusCode::UNPROCESSABLE_ENTITY => Err(codec.decode(&answer.body).map_err(garbled)?),
            status => Err(unavailable(format!("answered {status}"))),
        }
    }
}
