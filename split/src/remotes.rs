//! Stubs of the services a process calls, built from the [`Directory`], each wrapped in
//! an observing edge so `/metrics` shows every dependency's latency and errors.
//!
//! The edge's fault table is never edited here: faults are injected where a component
//! is hosted, so the remote caller feels them through the network, as it would a real
//! failure.

use std::sync::Arc;

use anyhow::Result;
use shop_domain::{
    Cart, Catalog, Component, Inventory, Orders, Payments, Recommendations, Shop, Users,
};
use shop_faults::{CallObserver, Edges, Faults};
use shop_remote::{
    RemoteCart, RemoteCatalog, RemoteInventory, RemoteOrders, RemotePayments,
    RemoteRecommendations, RemoteUsers, Transport,
};

use crate::topology::Directory;

/// Builds observed stubs of the services in a [`Directory`].
#[derive(Debug)]
pub struct Remotes<'a> {
    directory: &'a Directory,
    edges: Edges,
}

impl<'a> Remotes<'a> {
    pub fn new(directory: &'a Directory, observer: Arc<dyn CallObserver>) -> Self {
        Self {
            directory,
            edges: Edges {
                faults: Faults::default(),
                observer,
            },
        }
    }

    fn transport(&self, component: Component) -> Result<Transport> {
        let replicas = self.directory.replicas_of(component)?;
        Ok(Transport::new(
            component,
            replicas,
            self.directory.topology.link(component),
        )?)
    }

    pub fn catalog(&self) -> Result<Arc<dyn Catalog>> {
        let stub = RemoteCatalog(self.transport(Component::Catalog)?);
        Ok(self.edges.catalog(Arc::new(stub)))
    }

    pub fn inventory(&self) -> Result<Arc<dyn Inventory>> {
        let stub = RemoteInventory(self.transport(Component::Inventory)?);
        Ok(self.edges.inventory(Arc::new(stub)))
    }

    pub fn cart(&self) -> Result<Arc<dyn Cart>> {
        let stub = RemoteCart(self.transport(Component::Cart)?);
        Ok(self.edges.cart(Arc::new(stub)))
    }

    pub fn payments(&self) -> Result<Arc<dyn Payments>> {
        let stub = RemotePayments(self.transport(Component::Payments)?);
        Ok(self.edges.payments(Arc::new(stub)))
    }

    pub fn orders(&self) -> Result<Arc<dyn Orders>> {
        let stub = RemoteOrders(self.transport(Component::Orders)?);
        Ok(self.edges.orders(Arc::new(stub)))
    }

    pub fn recommendations(&self) -> Result<Arc<dyn Recommendations>> {
        let stub = RemoteRecommendations(self.transport(Component::Recommendations)?);
        Ok(self.edges.recommendations(Arc::new(stub)))
    }

    pub fn users(&self) -> Result<Arc<dyn Users>> {
        let stub = RemoteUsers(self.transport(Component::Users)?);
        Ok(self.edges.users(Arc::new(stub)))
    }

    /// Every component, remote: what the gateway serves the public API with.
    pub fn shop(&self) -> Result<Shop> {
        Ok(Shop {
            catalog: self.catalog()?,
            inventory: self.inventory()?,
            cart: self.cart()?,
            payments: self.payments()?,
            orders: self.orders()?,
            recommendations: self.recommendations()?,
            users: self.users()?,
        })
    }
}
