//! The contract suite again, against a split shop that uses every transport option:
//! the hardened preset, two replicas of the catalog and of recommendations, postcard to
//! the catalog and inventory, HTTP/2 to the catalog and cart. The answers must not change.

mod support;

use shop_domain::Component;
use shop_remote::Codec;
use split::{Preset, ServiceSpec, Topology};

async fn deploy() -> support::Split {
    let mut topology = Topology {
        preset: Preset::Hardened,
        ..Topology::default()
    };
    let spec = |replicas, codec, http2| ServiceSpec {
        replicas,
        codec,
        http2,
        ..ServiceSpec::default()
    };
    topology
        .services
        .insert(Component::Catalog, spec(2, Codec::Postcard, true));
    topology
        .services
        .insert(Component::Recommendations, spec(2, Codec::Json, false));
    topology
        .services
        .insert(Component::Inventory, spec(1, Codec::Postcard, false));
    topology
        .services
        .insert(Component::Cart, spec(1, Codec::Json, true));
    support::deploy_with(topology, &[]).await
}

shop_contract::contract_tests!(deploy);
