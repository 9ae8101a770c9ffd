//! The control API: the part of Toxiproxy's HTTP API a fault scenario needs, with its
//! paths and bodies, so a Toxiproxy client can drive it.
//!
//! | request | does |
//! | --- | --- |
//! | `GET /proxies` | every proxy, by name |
//! | `POST /proxies` `{"name", "listen", "upstream", "enabled"?}` | a new proxy (`listen` may end in `:0`: the answer says the port) |
//! | `GET /proxies/{name}` | one proxy, with its toxics |
//! | `POST /proxies/{name}` `{"enabled": false}` | takes it down (refuses and closes connections), or up |
//! | `DELETE /proxies/{name}` | removes it, closing its connections |
//! | `GET /proxies/{name}/toxics` | its toxics |
//! | `POST /proxies/{name}/toxics` (a [`Toxic`]) | adds a toxic |
//! | `DELETE /proxies/{name}/toxics/{toxic}` | removes it |
//! | `POST /reset` | every proxy up, without toxics |
//!
//! Errors are `{"error": "...", "status": N}`: 400 for a body that is not what the
//! route takes, 404 for an unknown proxy or toxic, 409 for a name already taken.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::proxy::Proxy;
use crate::toxic::Toxic;

/// The proxies of one process, by name.
#[derive(Debug, Default)]
pub struct Proxies {
    by_name: Mutex<BTreeMap<String, Proxy>>,
}

/// A proxy as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyView {
    pub name: String,
    pub listen: String,
    pub upstream: String,
    pub enabled: bool,
    pub toxics: Vec<Toxic>,
}

impl ProxyView {
    fn of(proxy: &Proxy) -> Self {
        let setting = proxy.setting();
        Self {
            name: proxy.name.clone(),
            listen: proxy.listen.to_string(),
            upstream: proxy.upstream.clone(),
            enabled: setting.enabled,
            toxics: setting.toxics,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProxy {
    name: String,
    listen: String,
    upstream: String,
    #[serde(default = "enabled")]
    enabled: bool,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    enabled: bool,
}

/// An error answer.
#[derive(Debug)]
struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.1, "status": self.0.as_u16()});
        (self.0, Json(body)).into_response()
    }
}

impl From<JsonRejection> for Failure {
    fn from(rejection: JsonRejection) -> Self {
        Failure(StatusCode::BAD_REQUEST, rejection.body_text())
    }
}

type Answer<T> = Result<T, Failure>;

/// The API over `proxies`.
pub fn router(proxies: Arc<Proxies>) -> Router {
    Router::new()
        .route("/proxies", get(list).post(create))
        .route(
            "/proxies/{name}",
            get(show).post(update).delete(remove_proxy),
        )
        .route("/proxies/{name}/toxics", get(toxics).post(add_toxic))
        .route("/proxies/{name}/toxics/{toxic}", delete(remove_toxic))
        .route("/reset", post(reset))
        .with_state(proxies)
}

impl Proxies {
    fn with<T>(&self, name: &str, f: impl FnOnce(&Proxy) -> Answer<T>) -> Answer<T> {
        let proxies = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        match proxies.get(name) {
            Some(proxy) => f(proxy),
            None => Err(Failure(
                StatusCode::NOT_FOUND,
                format!("proxy {name} not found"),
            )),
        }
    }
}

async fn list(State(proxies): State<Arc<Proxies>>) -> Json<BTreeMap<String, ProxyView>> {
    let all = proxies
        .by_name
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Json(
        all.iter()
            .map(|(name, proxy)| (name.clone(), ProxyView::of(proxy)))
            .collect(),
    )
}

async fn create(
    State(proxies): State<Arc<Proxies>>,
    body: Result<Json<NewProxy>, JsonRejection>,
) -> Answer<(StatusCode, Json<ProxyView>)> {
    let Json(new) = body?;
    let taken = || {
        Failure(
            StatusCode::CONFLICT,
            format!("proxy {} already exists", new.name),
        )
    };
    if new.name.is_empty() {
        return Err(Failure(
            StatusCode::BAD_REQUEST,
            "a proxy needs a name".to_owned(),
        ));
    }
    if proxies
        .by_name
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains_key(&new.name)
    {
        return Err(taken());
    }
    let proxy = Proxy::start(&new.name, &new.listen, &new.upstream)
        .await
        .map_err(|e| {
            Failure(
                StatusCode::BAD_REQUEST,
                format!("listening on {}: {e}", new.listen),
            )
        })?;
    proxy.set_enabled(new.enabled);
    let view = ProxyView::of(&proxy);
    let mut all = proxies
        .by_name
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if all.contains_key(&new.name) {
        return Err(taken());
    }
    all.insert(new.name.clone(), proxy);
    Ok((StatusCode::CREATED, Json(view)))
}

async fn show(
    State(proxies): State<Arc<Proxies>>,
    Path(name): Path<String>,
) -> Answer<Json<ProxyView>> {
    proxies.with(&name, |proxy| Ok(Json(ProxyView::of(proxy))))
}

async fn update(
    State(proxies): State<Arc<Proxies>>,
    Path(name): Path<String>,
    body: Result<Json<Update>, JsonRejection>,
) -> Answer<Json<ProxyView>> {
    let Json(update) = body?;
    proxies.with(&name, |proxy| {
        proxy.set_enabled(update.enabled);
        Ok(Json(ProxyView::of(proxy)))
    })
}

async fn remove_proxy(
    State(proxies): State<Arc<Proxies>>,
    Path(name): Path<String>,
) -> Answer<StatusCode> {
    let removed = proxies
        .by_name
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&name);
    match removed {
        Some(proxy) => {
            // Down first, so its connections close, then gone.
            proxy.set_enabled(false);
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(Failure(
            StatusCode::NOT_FOUND,
            format!("proxy {name} not found"),
        )),
    }
}

async fn toxics(
    State(proxies): State<Arc<Proxies>>,
    Path(name): Path<String>,
) -> Answer<Json<Vec<Toxic>>> {
    proxies.with(&name, |proxy| Ok(Json(proxy.setting().toxics)))
}

async fn add_toxic(
    State(proxies): State<Arc<Proxies>>,
    Path(name): Path<String>,
    body: Result<Json<Toxic>, JsonRejection>,
) -> Answer<Json<Toxic>> {
    let Json(toxic) = body?;
    let toxic = toxic
        .checked()
        .map_err(|e| Failure(StatusCode::BAD_REQUEST, e))?;
    proxies.with(&name, |proxy| {
        proxy
            .add(toxic.clone())
            .map_err(|e| Failure(StatusCode::CONFLICT, e))?;
        Ok(Json(toxic))
    })
}

async fn remove_toxic(
    State(proxies): State<Arc<Proxies>>,
    Path((name, toxic)): Path<(String, String)>,
) -> Answer<StatusCode> {
    proxies.with(&name, |proxy| {
        if proxy.remove(&toxic) {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(Failure(
                StatusCode::NOT_FOUND,
                format!("toxic {toxic} not found on {name}"),
            ))
        }
    })
}

async fn reset(State(proxies): State<Arc<Proxies>>) -> StatusCode {
    for proxy in proxies
        .by_name
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
    {
        proxy.reset();
    }
    StatusCode::NO_CONTENT
}
