//! Each toxic against real sockets: an echo server behind a proxy, and the control API
//! over HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use link_proxy::{Proxy, Stream, Toxic, ToxicKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server that echoes what it reads, and first sends `greeting`.
async fn echo_server(greeting: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let greeting = greeting.clone();
            tokio::spawn(async move {
                if socket.write_all(&greeting).await.is_err() {
                    return;
                }
                let mut buffer = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buffer).await {
                    if n == 0 || socket.write_all(&buffer[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

async fn proxied(greeting: &[u8]) -> Proxy {
    let upstream = echo_server(greeting.to_vec()).await;
    Proxy::start("echo", "127.0.0.1:0", &upstream)
        .await
        .unwrap()
}

fn toxic(kind: ToxicKind, stream: Stream) -> Toxic {
    Toxic {
        name: String::new(),
        stream,
        toxicity: 1.0,
        kind,
    }
    .checked()
    .unwrap()
}

/// Sends `ping` and reads the echo; how long that took.
async fn round_trip(socket: &mut TcpStream) -> Duration {
    let started = Instant::now();
    socket.write_all(b"ping").await.unwrap();
    let mut answer = [0u8; 4];
    socket.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"ping");
    started.elapsed()
}

#[tokio::test]
async fn latency_delays_the_answers_by_what_it_says_and_no_more_once_removed() {
    let proxy = proxied(b"").await;
    let mut socket = TcpStream::connect(proxy.listen).await.unwrap();
    let bare = round_trip(&mut socket).await;
    assert!(bare < Duration::from_millis(50), "{bare:?}");

    let slow = toxic(
        ToxicKind::Latency {
            latency: 100,
            jitter: 10,
        },
        Stream::Downstream,
    );
    proxy.add(slow.clone()).unwrap();
    // The open connection feels it too.
    for _ in 0..3 {
        let slowed = round_trip(&mut socket).await;
        assert!(
            slowed >= Duration::from_millis(90) && slowed < Duration::from_millis(300),
            "{slowed:?}"
        );
    }
    assert!(
        proxy.add(slow.clone()).is_err(),
        "a second toxic of one name"
    );
    assert!(proxy.remove(&slow.name));
    assert!(round_trip(&mut socket).await < Duration::from_millis(50));
}

#[tokio::test]
async fn bandwidth_caps_the_rate() {
    let proxy = proxied(&[7u8; 32 * 1024]).await;
    proxy
        .add(toxic(
            ToxicKind::Bandwidth { rate: 128 },
            Stream::Downstream,
        ))
        .unwrap();
    let mut socket = TcpStream::connect(proxy.listen).await.unwrap();
    let started = Instant::now();
    let mut greeting = vec![0u8; 32 * 1024];
    socket.read_exact(&mut greeting).await.unwrap();
    socket.write_all(b"ping").await.unwrap();
    let mut answer = [0u8; 4];
    socket.read_exact(&mut answer).await.unwrap();
    // 32 KB at 128 KB/s: a quarter of a second before anything else gets through.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(225), "{took:?}");
}

#[tokio::test]
async fn a_black_hole_drops_everything_until_removed_and_a_timeout_closes() {
    let proxy = proxied(b"").await;
    let mut socket = TcpStream::connect(proxy.listen).await.unwrap();
    let hole = toxic(ToxicKind::Timeout { timeout: 0 }, Stream::Downstream);
    proxy.add(hole.clone()).unwrap();
    socket.write_all(b"lost").await.unwrap();
    let mut answer = [0u8; 4];
    let waited = tokio::time::timeout(Duration::from_millis(300), socket.read(&mut answer)).await;
    assert!(waited.is_err(), "nothing comes back: {waited:?}");
    proxy.remove(&hole.name);
    assert!(round_trip(&mut socket).await < Duration::from_millis(50));

    proxy
        .add(toxic(ToxicKind::Timeout { timeout: 200 }, Stream::Upstream))
        .unwrap();
    let started = Instant::now();
    socket.write_all(b"ping").await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut answer))
        .await
        .expect("closed within the timeout");
    assert!(matches!(read, Ok(0)), "closed, not answered: {read:?}");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn reset_peer_resets_the_connection() {
    let proxy = proxied(b"").await;
    let mut socket = TcpStream::connect(proxy.listen).await.unwrap();
    round_trip(&mut socket).await;
    proxy
        .add(toxic(
            ToxicKind::ResetPeer { timeout: 50 },
            Stream::Downstream,
        ))
        .unwrap();
    let mut answer = [0u8; 4];
    let read = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut answer))
        .await
        .expect("reset within the timeout");
    let error = read.expect_err("a reset, not an orderly close");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
}

#[tokio::test]
async fn down_refuses_and_closes_connections_and_up_serves_again_on_the_same_port() {
    let proxy = proxied(b"").await;
    let mut socket = TcpStream::connect(proxy.listen).await.unwrap();
    round_trip(&mut socket).await;
    proxy.set_enabled(false);
    let mut answer = [0u8; 4];
    let read = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut answer))
        .await
        .expect("closed when the link went down");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // The listener goes a moment after the switch.
    let refused = async {
        loop {
            match TcpStream::connect(proxy.listen).await {
                Err(e) => return e,
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    };
    let error = tokio::time::timeout(Duration::from_secs(2), refused)
        .await
        .expect("connections refused while down");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);

    proxy.set_enabled(true);
    let started = Instant::now();
    let mut socket = loop {
        match TcpStream::connect(proxy.listen).await {
            Ok(socket) => break socket,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(2),
                    "still down: {e}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    round_trip(&mut socket).await;
}

#[tokio::test]
async fn the_control_api_speaks_toxiproxy_and_refuses_nonsense_clearly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, link_proxy::api::router(Arc::default()))
            .await
            .unwrap()
    });
    let upstream = echo_server(Vec::new()).await;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{api}/proxies"))
        .json(
            &serde_json::json!({"name": "payments", "listen": "127.0.0.1:0", "upstream": upstream}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let view: serde_json::Value = created.json().await.unwrap();
    let listen = view["listen"].as_str().unwrap().to_owned();
    assert!(!listen.ends_with(":0"), "{listen}");

    let toxic = serde_json::json!({
        "name": "slow", "type": "latency", "stream": "downstream",
        "attributes": {"latency": 80}
    });
    let added = client
        .post(format!("{api}/proxies/payments/toxics"))
        .json(&toxic)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let mut socket = TcpStream::connect(&listen).await.unwrap();
    assert!(round_trip(&mut socket).await >= Duration::from_millis(75));

    let error = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], status, "{body}");
        (status, body["error"].as_str().unwrap().to_owned())
    };
    let again = client
        .post(format!("{api}/proxies/payments/toxics"))
        .json(&toxic)
        .send()
        .await
        .unwrap();
    assert_eq!(error(again).await.0, 409);
    let nonsense = client
        .post(format!("{api}/proxies/payments/toxics"))
        .json(&serde_json::json!({"type": "gremlins", "attributes": {}}))
        .send()
        .await
        .unwrap();
    let (status, message) = error(nonsense).await;
    assert_eq!(status, 400);
    assert!(message.contains("gremlins"), "{message}");
    let unknown = client
        .delete(format!("{api}/proxies/nowhere/toxics/slow"))
        .send()
        .await
        .unwrap();
    assert_eq!(error(unknown).await.0, 404);

    let removed = client
        .delete(format!("{api}/proxies/payments/toxics/slow"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert!(round_trip(&mut socket).await < Duration::from_millis(50));
    let down = client
        .post(format!("{api}/proxies/payments"))
        .json(&serde_json::json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), 200);
    let view: serde_json::Value = down.json().await.unwrap();
    assert_eq!(view["enabled"], false);
}
