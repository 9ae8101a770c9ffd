//! The caller's side of an internal call: a pooled keep-alive HTTP client (hyper-util),
//! the callee's codec, and a deadline per call.
//!
//! Whatever goes wrong on the way (no connection, no answer in time, a status or body
//! that is not a well-formed answer) becomes [`ShopError::Unavailable`] naming the
//! callee: a network failure is never mistaken for a domain answer. A domain answer the
//! callee gave (`422`) is returned as the callee gave it.

use std::time::Duration;

use axum::http::{Method, Request, StatusCode, Uri, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shop_domain::{Component, ShopError};

use crate::codec::Codec;

/// The largest answer accepted: the catalog's embeddings (10,000 x 128 floats) are the
/// biggest, about 5 MB in JSON per million floats.
pub const ANSWER_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// How a caller talks to one callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub codec: Codec,
    /// HTTP/2 with prior knowledge instead of HTTP/1.1.
    pub http2: bool,
    /// The longest one call may take, connection included; `None` waits forever.
    pub deadline: Option<Duration>,
}

impl Default for Link {
    fn default() -> Self {
        Self {
            codec: Codec::Json,
            http2: false,
            deadline: None,
        }
    }
}

/// Calls one component at one address.
#[derive(Debug, Clone)]
pub struct Transport {
    /// The callee, named in every error.
    component: Component,
    /// `http://host:port`, without a trailing slash.
    base: String,
    link: Link,
    /// Pooled keep-alive connections; clones share the pool.
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Transport {
    pub fn new(component: Component, base: &str, link: Link) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .http2_only(link.http2)
            .build(connector);
        Self {
            component,
            base: base.trim_end_matches('/').to_owned(),
            link,
            client,
        }
    }

    pub fn component(&self) -> Component {
        self.component
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Calls `operation` with `args` (a tuple) and decodes its answer.
    pub async fn call<A, T>(&self, operation: &'static str, args: &A) -> Result<T, ShopError>
    where
        A: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let codec = self.link.codec;
        let body = codec.encode(args).map_err(|e| {
            ShopError::internal(format_args!("encoding {}.{operation}: {e}", self.component))
        })?;
        let uri: Uri = format!("{}/internal/{}/{operation}", self.base, self.component)
            .parse()
            .map_err(|e| ShopError::internal(format_args!("internal call address: {e}")))?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, codec.header_value())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ShopError::internal(format_args!("building an internal call: {e}")))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| self.unavailable(operation, format_args!("no answer: {e}")))?;
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, ANSWER_LIMIT_BYTES)
                .collect()
                .await
                .map_err(|e| self.unavailable(operation, format_args!("answer cut short: {e}")))?
                .to_bytes();
            Ok::<_, ShopError>((parts, bytes))
        };
        let (parts, bytes) = match self.link.deadline {
            None => exchange.await?,
            Some(deadline) => tokio::time::timeout(deadline, exchange)
                .await
                .map_err(|_| {
                    self.unavailable(operation, format_args!("no answer within {deadline:?}"))
                })??,
        };
        let answered_in = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(Codec::from_content_type);
        if answered_in != Some(codec) {
            return Err(self.unavailable(
                operation,
                format_args!(
                    "answered {} with {:?}",
                    parts.status,
                    parts.headers.get(header::CONTENT_TYPE)
                ),
            ));
        }
        let garbled = |e| {
            self.unavailable(
                operation,
                format_args!("garbled answer ({}): {e}", parts.status),
            )
        };
        match parts.status {
            StatusCode::OK => codec.decode(&bytes).map_err(garbled),
            StatusCode::UNPROCESSABLE_ENTITY => Err(codec.decode(&bytes).map_err(garbled)?),
            status => Err(self.unavailable(operation, format_args!("answered {status}"))),
        }
    }

    fn unavailable(&self, operation: &str, why: std::fmt::Arguments<'_>) -> ShopError {
        ShopError::unavailable(
            self.component,
            format!("{}.{operation} at {}: {why}", self.component, self.base),
        )
    }
}
