//! What a link can suffer, named and shaped as Toxiproxy names them, so that a
//! Toxiproxy client's JSON is understood here:
//!
//! ```json
//! {"name": "slow", "type": "latency", "stream": "downstream", "toxicity": 1.0,
//!  "attributes": {"latency": 100, "jitter": 20}}
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which way the data a toxic touches flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// From the client to the upstream server (requests).
    Upstream,
    /// From the upstream server back to the client (answers).
    #[default]
    Downstream,
}

/// A toxic on one proxy.
/// (Fields beside these are ignored, as `serde` cannot refuse them next to the
/// flattened type and attributes.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Toxic {
    /// Names it for removal; `TYPE_STREAM` when not given.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub stream: Stream,
    /// The chance that it applies to a connection (rolled once per connection and
    /// toxic), 1.0 when not given.
    #[serde(default = "always")]
    pub toxicity: f64,
    #[serde(flatten)]
    pub kind: ToxicKind,
}

fn always() -> f64 {
    1.0
}

/// The toxics, with Toxiproxy's type names and attribute names (times in
/// milliseconds, rates in KB per second).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "attributes", rename_all = "snake_case")]
pub enum ToxicKind {
    /// Each chunk of data waits `latency` ms, give or take up to `jitter` ms.
    Latency {
        latency: u64,
        #[serde(default)]
        jitter: u64,
    },
    /// At most `rate` KB of data a second.
    Bandwidth { rate: u64 },
    /// Nothing gets through (data is dropped); the connection is closed after
    /// `timeout` ms, or never when it is 0 (a black hole).
    Timeout { timeout: u64 },
    /// The connection is reset (TCP RST, "connection reset by peer") after `timeout`
    /// ms, at once when 0.
    ResetPeer {
        #[serde(default)]
        timeout: u64,
    },
}

impl Toxic {
    /// Refuses values that cannot be meant; fills in the default name.
    pub fn checked(mut self) -> Result<Self, String> {
        const TEN_MINUTES_MS: u64 = 600_000;
        if !(0.0..=1.0).contains(&self.toxicity) {
            return Err("toxicity must be between 0 and 1".to_owned());
        }
        match self.kind {
            ToxicKind::Latency { latency, jitter }
                if latency.saturating_add(jitter) > TEN_MINUTES_MS =>
            {
                return Err("latency plus jitter must be at most 600000 ms".to_owned());
            }
            ToxicKind::Bandwidth { rate: 0 } => {
                return Err(
                    "a bandwidth rate must be at least 1 KB/s (use timeout for none)".to_owned(),
                );
            }
            ToxicKind::Timeout { timeout } | ToxicKind::ResetPeer { timeout }
                if timeout > TEN_MINUTES_MS =>
            {
                return Err("timeout must be at most 600000 ms".to_owned());
            }
            _ => {}
        }
        if self.name.is_empty() {
            self.name = format!("{}_{}", self.kind.type_name(), self.stream.name());
        }
        Ok(self)
    }
}

impl ToxicKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ToxicKind::Latency { .. } => "latency",
            ToxicKind::Bandwidth { .. } => "bandwidth",
            ToxicKind::Timeout { .. } => "timeout",
            ToxicKind::ResetPeer { .. } => "reset_peer",
        }
    }

    /// How long a chunk of `bytes` waits under this toxic before and after it is
    /// written, `jitter` drawn in -1..=1.
    pub(crate) fn delays(&self, bytes: usize, jitter_draw: f64) -> (Duration, Duration) {
        match *self {
            ToxicKind::Latency { latency, jitter } => {
                let ms = (latency as f64 + jitter as f64 * jitter_draw).max(0.0);
                (Duration::from_secs_f64(ms / 1e3), Duration::ZERO)
            }
            ToxicKind::Bandwidth { rate } => (
                Duration::ZERO,
                Duration::from_secs_f64(bytes as f64 / (rate as f64 * 1024.0)),
            ),
            ToxicKind::Timeout { .. } | ToxicKind::ResetPeer { .. } => {
                (Duration::ZERO, Duration::ZERO)
            }
        }
    }
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toxiproxy_json_reads_as_our_toxics() {
        let toxic: Toxic = serde_json::from_str(
            r#"{"type": "latency", "stream": "upstream", "attributes": {"latency": 100, "jitter": 10}}"#,
        )
        .unwrap();
        let toxic = toxic.checked().unwrap();
        assert_eq!(toxic.name, "latency_upstream");
        assert_eq!(toxic.toxicity, 1.0);
        assert_eq!(
            toxic.kind,
            ToxicKind::Latency {
                latency: 100,
                jitter: 10
            }
        );
        let reset: Toxic =
            serde_json::from_str(r#"{"name": "rst", "type": "reset_peer", "attributes": {}}"#)
                .unwrap();
        assert_eq!(reset.kind, ToxicKind::ResetPeer { timeout: 0 });
        assert_eq!(reset.stream, Stream::Downstream);
        // Written back the same way.
        let json = serde_json::to_value(&toxic).unwrap();
        assert_eq!(json["type"], "latency");
        assert_eq!(json["attributes"]["latency"], 100);
    }

    #[test]
    fn nonsense_is_refused() {
        let parse = |json: &str| serde_json::from_str::<Toxic>(json).map_err(|e| e.to_string());
        assert!(parse(r#"{"type": "gremlins", "attributes": {}}"#).is_err());
        assert!(parse(r#"{"type": "latency", "attributes": {"latency": -1}}"#).is_err());
        let checked = |json: &str| parse(json).unwrap().checked();
        assert!(checked(r#"{"type": "bandwidth", "attributes": {"rate": 0}}"#).is_err());
        assert!(
            checked(r#"{"type": "latency", "toxicity": 1.5, "attributes": {"latency": 1}}"#)
                .is_err()
        );
        assert!(checked(r#"{"type": "timeout", "attributes": {"timeout": 600001}}"#).is_err());
    }

    #[test]
    fn latency_delays_before_the_write_and_bandwidth_after() {
        let latency = ToxicKind::Latency {
            latency: 100,
            jitter: 20,
        };
        assert_eq!(latency.delays(10, 1.0).0, Duration::from_millis(120));
        assert_eq!(latency.delays(10, -1.0).0, Duration::from_millis(80));
        let bandwidth = ToxicKind::Bandwidth { rate: 1 };
        assert_eq!(bandwidth.delays(512, 0.0).1, Duration::from_millis(500));
    }
}
