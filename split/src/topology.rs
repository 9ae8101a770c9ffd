//! What a split deployment is made of ([`Topology`], written by people, in TOML), and
//! where its processes answer once started ([`Directory`], written by the launcher, read
//! by every process at start).
//!
//! ```toml
//! preset = "hardened"        # or "bare"
//!
//! [services.recommendations]
//! replicas = 2
//!
//! [services.catalog]
//! codec = "postcard"         # how callers talk to it: "json" (default) or "postcard"
//! http2 = true
//! limits = { cpu_millis = 500, memory_mb = 256 }   # per replica
//!
//! [monolith]                 # the same limits for each monolith process, so a
//! cpu_millis = 1000          # comparison can give both sides the same machine
//! replicas = 3               # whole monoliths behind one balancer (default 1: alone)
//! ```
//!
//! A service not listed runs one replica, JSON over HTTP/1.1, unlimited. Limits are
//! applied by the load generator's deployment, through cgroups, where the machine lets it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use shop_domain::Component;
use shop_remote::{Codec, Link, Resilience};

/// The most replicas one service may have on this one machine.
pub const MAX_REPLICAS: u32 = 8;

/// The shape of a split deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// How callers protect themselves from their dependencies.
    #[serde(default)]
    pub preset: Preset,
    /// Per-service settings; a service not listed gets [`ServiceSpec::default`].
    #[serde(default)]
    pub services: BTreeMap<Component, ServiceSpec>,
    /// The monolith's shape, when the same description deploys it.
    #[serde(default)]
    pub monolith: MonolithSpec,
}

/// The monolith's shape: how many whole copies, and what each may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonolithSpec {
    /// Processes serving the whole shop on one data folder, behind a balancer when
    /// more than one.
    pub replicas: u32,
    /// CPU time per wall-clock second of each, in thousandths of a core.
    pub cpu_millis: Option<u32>,
    /// Memory of each, resident and swapped, in MiB.
    pub memory_mb: Option<u32>,
}

impl Default for MonolithSpec {
    fn default() -> Self {
        Self {
            replicas: 1,
            cpu_millis: None,
            memory_mb: None,
        }
    }
}

impl MonolithSpec {
    /// What each of its processes may use.
    pub fn limits(&self) -> ProcessLimits {
        ProcessLimits {
            cpu_millis: self.cpu_millis,
            memory_mb: self.memory_mb,
        }
    }
}

/// What one process may use; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessLimits {
    /// CPU time per wall-clock second, in thousandths of a core (500: half a core).
    pub cpu_millis: Option<u32>,
    /// Memory, resident and swapped, in MiB.
    pub memory_mb: Option<u32>,
}

impl ProcessLimits {
    /// Whether these limits leave the process alone.
    pub fn is_unlimited(&self) -> bool {
        self.cpu_millis.is_none() && self.memory_mb.is_none()
    }
}

/// One service's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSpec {
    /// Processes serving it, sharing its database file.
    pub replicas: u32,
    /// How its callers encode their calls.
    pub codec: Codec,
    /// Whether its callers speak HTTP/2 (prior knowledge) to it.
    pub http2: bool,
    /// What each of its replicas may use.
    pub limits: ProcessLimits,
}

impl Default for ServiceSpec {
    fn default() -> Self {
        Self {
            replicas: 1,
            codec: Codec::Json,
            http2: false,
            limits: ProcessLimits::default(),
        }
    }
}

/// Named resilience settings for every outbound call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// No deadline, no retries, no breaker: a hung dependency hangs its callers. The
    /// baseline.
    #[default]
    Bare,
    /// [`Resilience::hardened`]: deadlines, retries of idempotent calls under a budget,
    /// a circuit breaker, load shedding.
    Hardened,
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::Bare => "bare",
            Preset::Hardened => "hardened",
        }
    }

    /// How callers protect themselves from `component` under this preset.
    pub fn resilience_for(self, component: Component) -> Resilience {
        match self {
            Preset::Bare => Resilience::bare(),
            // A checkout is a chain of calls, each with its own deadline and retries:
            // the caller of orders must wait for all of them, or it answers "orders
            // unavailable" for a checkout that goes on to succeed.
            Preset::Hardened if component == Component::Orders => Resilience {
                deadline: Some(CHECKOUT_DEADLINE),
                ..Resilience::hardened()
            },
            Preset::Hardened => Resilience::hardened(),
        }
    }
}

/// The hardened deadline of calls to orders: four dependencies of a checkout (cart,
/// catalog, inventory, payments), each up to three tries of 2 s and their backoff, and
/// the compensation's release and refund.
pub const CHECKOUT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(40);

/// The components in the order they can start: each after the ones it calls.
pub const START_ORDER: [&[Component]; 3] = [
    &[
        Component::Catalog,
        Component::Inventory,
        Component::Payments,
        Component::Users,
    ],
    &[Component::Cart, Component::Recommendations],
    &[Component::Orders],
];

impl Topology {
    /// Reads and checks a TOML topology.
    pub fn read(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let topology: Topology =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        topology.validate()?;
        Ok(topology)
    }

    pub fn validate(&self) -> Result<()> {
        for (component, spec) in &self.services {
            if !(1..=MAX_REPLICAS).contains(&spec.replicas) {
                bail!("services.{component}.replicas must be between 1 and {MAX_REPLICAS}");
            }
        }
        if !(1..=MAX_REPLICAS).contains(&self.monolith.replicas) {
            bail!("monolith.replicas must be between 1 and {MAX_REPLICAS}");
        }
        Ok(())
    }

    pub fn spec(&self, component: Component) -> ServiceSpec {
        self.services.get(&component).copied().unwrap_or_default()
    }

    /// How a caller talks to `component`.
    pub fn link(&self, component: Component) -> Link {
        let spec = self.spec(component);
        Link {
            codec: spec.codec,
            http2: spec.http2,
            resilience: self.preset.resilience_for(component),
        }
    }
}

/// A started deployment: its topology and the base URL of every replica of every
/// service started so far. The launcher writes it before starting each wave of
/// processes, so each finds the services it calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    pub topology: Topology,
    pub replicas: BTreeMap<Component, Vec<String>>,
}

impl Directory {
    pub fn read(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Writes to a temporary file, then renames it over `path`: a reader never sees half.
    pub fn write(&self, path: &Path) -> Result<()> {
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, path)
            .with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    }

    /// The base URLs of `component`'s replicas.
    pub fn replicas_of(&self, component: Component) -> Result<&[String]> {
        match self.replicas.get(&component) {
            Some(replicas) if !replicas.is_empty() => Ok(replicas),
            _ => bail!("the directory lists no replica of {component}; start it first"),
        }
    }
}

/// What every process of a split deployment is told besides where to listen.
#[derive(Debug, Clone, clap::Args)]
pub struct DeploymentFlags {
    /// The deployment's data directory: `COMPONENT.db` (shared by the replicas of one
    /// service) and the secrets.
    #[arg(long, env = "SHOP_DATA")]
    pub data: std::path::PathBuf,

    /// The directory file the launcher wrote: where the services answer.
    #[arg(long, env = "SHOP_DIRECTORY")]
    pub directory: std::path::PathBuf,

    #[command(flatten)]
    pub shop: shop_config::ShopSettings,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_topology_reads_with_defaults_for_what_it_leaves_out() {
        let topology: Topology = toml::from_str(
            r#"
            preset = "hardened"
            [services.catalog]
            codec = "postcard"
            http2 = true
            [services.recommendations]
            replicas = 3
            [monolith]
            replicas = 2
            cpu_millis = 500
            "#,
        )
        .unwrap();
        topology.validate().unwrap();
        assert_eq!(topology.preset, Preset::Hardened);
        assert_eq!(topology.spec(Component::Recommendations).replicas, 3);
        assert_eq!(topology.spec(Component::Orders), ServiceSpec::default());
        assert_eq!(topology.monolith.replicas, 2);
        assert_eq!(topology.monolith.limits().cpu_millis, Some(500));
        assert_eq!(Topology::default().monolith.replicas, 1);
        let link = topology.link(Component::Catalog);
        assert_eq!((link.codec, link.http2), (Codec::Postcard, true));
        assert_eq!(link.resilience.deadline, Some(Duration::from_secs(2)));
        assert_eq!(Topology::default().link(Component::Cart), Link::default());
        // Callers of orders wait for the whole checkout chain.
        let orders = topology
            .link(Component::Orders)
            .resilience
            .deadline
            .unwrap();
        assert!(orders > 6 * link.resilience.deadline.unwrap());
    }

    #[test]
    fn mistakes_in_a_topology_are_refused_with_their_place() {
        for bad in [
            "preset = \"armoured\"",
            "[services.billing]\nreplicas = 1",
            "[services.catalog]\nreplica = 2",
            "[services.catalog]\ncodec = \"xml\"",
            "[monolith]\nreplica = 2",
        ] {
            assert!(toml::from_str::<Topology>(bad).is_err(), "{bad}");
        }
        let zero: Topology = toml::from_str("[services.cart]\nreplicas = 0").unwrap();
        let err = zero.validate().unwrap_err().to_string();
        assert!(err.contains("services.cart.replicas"), "{err}");
        let none: Topology = toml::from_str("[monolith]\nreplicas = 0").unwrap();
        let err = none.validate().unwrap_err().to_string();
        assert!(err.contains("monolith.replicas"), "{err}");
    }

    #[test]
    fn every_component_starts_after_what_it_calls() {
        let order: Vec<Component> = START_ORDER
            .iter()
            .flat_map(|wave| wave.iter().copied())
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        let mut all = Component::ALL.to_vec();
        all.sort();
        assert_eq!(sorted, all, "each component exactly once");
        let position = |c: Component| order.iter().position(|&o| o == c).unwrap();
        assert!(position(Component::Cart) > position(Component::Catalog));
        assert!(position(Component::Recommendations) > position(Component::Catalog));
        for dependency in [
            Component::Cart,
            Component::Catalog,
            Component::Inventory,
            Component::Payments,
        ] {
            assert!(position(Component::Orders) > position(dependency));
        }
    }
}
