//! What a person operating the split shop can see: every process names itself and its
//! resilience preset in `/metrics`, and the gateway counts calls to each dependency.

mod support;

use shop_domain::Component;
use split::{Preset, Topology};

async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_process_shows_its_role_and_preset_and_the_gateway_its_dependencies() {
    let topology = Topology {
        preset: Preset::Hardened,
        ..Topology::default()
    };
    let split = support::deploy_with(topology, &[]).await;
    split
        .target
        .get("/api/products/SKU-00001")
        .await
        .expect(200);

    let gateway = metrics(split.deployment.gateway_url()).await;
    assert!(
        gateway.contains(
            r#"shop_process_info{architecture="split",role="gateway",preset="hardened"} 1"#
        ),
        "{gateway}"
    );
    for dependency in ["catalog", "inventory", "recommendations"] {
        assert!(
            gateway
                .lines()
                .any(|line| line.starts_with("shop_component_calls_total{")
                    && line.contains(&format!(r#"component="{dependency}""#))
                    && line.contains(r#"outcome="ok""#)),
            "the gateway counts its calls to {dependency}: {gateway}"
        );
    }
    for component in Component::ALL {
        for base in &split.deployment.directory.replicas[&component] {
            let text = metrics(base).await;
            let info = format!(
                r#"shop_process_info{{architecture="split",role="{component}",preset="hardened"}} 1"#
            );
            assert!(text.contains(&info), "{component} at {base}: {text}");
        }
    }
}
