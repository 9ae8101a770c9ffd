//! [`Edge`]: the decorator every component is wrapped in where the wiring hands it out.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use shop_domain::{
    CardNumber, Cart, CartView, Catalog, Category, Cents, Charge, CheckoutOutcome, CheckoutRequest,
    Component, Inventory, InventoryAudit, ItemEmbedding, Order, OrderId, Orders, OrdersAudit, Page,
    Password, Payments, PaymentsAudit, Product, ProductList, ProductSummary, Quantity,
    Recommendations, Scored, SearchText, Session, ShopError, Sku, StockLevel, StockLine, UserId,
    Username, Users,
};

use crate::Faults;

/// How a component call ended, as metrics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// A domain answer such as "not found" or "declined": the component worked.
    Rejected,
    /// The component could not do its part (unavailable or internal).
    Failed,
}

impl Outcome {
    pub fn of<T>(result: &Result<T, ShopError>) -> Self {
        match result {
            Ok(_) => Outcome::Ok,
            Err(e) if e.is_transient() => Outcome::Failed,
            Err(_) => Outcome::Rejected,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }
}

/// Told about every component call (metrics implement it).
pub trait CallObserver: Send + Sync {
    fn observe(
        &self,
        component: Component,
        operation: &'static str,
        outcome: Outcome,
        elapsed: Duration,
    );
}

/// A component behind its edge: the fault table is consulted and the observer told on
/// every call. `T` is the component's trait object (`dyn Catalog`, ...).
pub struct Edge<T: ?Sized> {
    inner: Arc<T>,
    component: Component,
    faults: Faults,
    observer: Arc<dyn CallObserver>,
}

impl<T: ?Sized> fmt::Debug for Edge<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edge")
            .field("component", &self.component)
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized> Edge<T> {
    pub fn new(
        component: Component,
        inner: Arc<T>,
        faults: Faults,
        observer: Arc<dyn CallObserver>,
    ) -> Self {
        Self {
            inner,
            component,
            faults,
            observer,
        }
    }

    async fn call<R>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<R, ShopError>>,
    ) -> Result<R, ShopError> {
        let start = Instant::now();
        let result = match self.faults.apply(self.component).await {
            Ok(toll) => {
                let answered = call.await;
                toll.pay(start);
                answered
            }
            Err(e) => Err(e),
        };
        self.observer.observe(
            self.component,
            operation,
            Outcome::of(&result),
            start.elapsed(),
        );
        result
    }
}

/// Wraps components in their edges, all sharing one fault table and one observer.
/// One method per component, so a component can only get its own edge.
#[derive(Clone)]
pub struct Edges {
    pub faults: Faults,
    pub observer: Arc<dyn CallObserver>,
}

impl fmt::Debug for Edges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edges")
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

impl Edges {
    fn wrap<T: ?Sized>(&self, component: Component, inner: Arc<T>) -> Arc<Edge<T>> {
        Arc::new(Edge::new(
            component,
            inner,
            self.faults.clone(),
            self.observer.clone(),
        ))
    }

    pub fn catalog(&self, inner: Arc<dyn Catalog>) -> Arc<dyn Catalog> {
        self.wrap(Component::Catalog, inner)
    }

    pub fn inventory(&self, inner: Arc<dyn Inventory>) -> Arc<dyn Inventory> {
        self.wrap(Component::Inventory, inner)
    }

    pub fn cart(&self, inner: Arc<dyn Cart>) -> Arc<dyn Cart> {
        self.wrap(Component::Cart, inner)
    }

    pub fn payments(&self, inner: Arc<dyn Payments>) -> Arc<dyn Payments> {
        self.wrap(Component::Payments, inner)
    }

    pub fn orders(&self, inner: Arc<dyn Orders>) -> Arc<dyn Orders> {
        self.wrap(Component::Orders, inner)
    }

    pub fn recommendations(&self, inner: Arc<dyn Recommendations>) -> Arc<dyn Recommendations> {
        self.wrap(Component::Recommendations, inner)
    }

    pub fn users(&self, inner: Arc<dyn Users>) -> Arc<dyn Users> {
        self.wrap(Component::Users, inner)
    }
}

#[async_trait]
impl Catalog for Edge<dyn Catalog> {
    async fn list(
        &self,
        page: Page,
        category: Option<&Category>,
    ) -> Result<ProductList, ShopError> {
        self.call("list", self.inner.list(page, category)).await
    }
    async fn get(&self, sku: &Sku) -> Result<Product, ShopError> {
        self.call("get", self.inner.get(sku)).await
    }
    async fn search(
        &self,
        text: &SearchText,
        limit: usize,
    ) -> Result<Vec<ProductSummary>, ShopError> {
        self.call("search", self.inner.search(text, limit)).await
    }
    async fn summaries(&self, skus: &[Sku]) -> Result<Vec<ProductSummary>, ShopError> {
        self.call("summaries", self.inner.summaries(skus)).await
    }
    async fn embeddings(&self) -> Result<Vec<ItemEmbedding>, ShopError> {
        self.call("embeddings", self.inner.embeddings()).await
    }
}

#[async_trait]
impl Inventory for Edge<dyn Inventory> {
    async fn stock(&self, sku: &Sku) -> Result<StockLevel, ShopError> {
        self.call("stock", self.inner.stock(sku)).await
    }
    async fn reserve(&self, order: OrderId, lines: &[StockLine]) -> Result<(), ShopError> {
        self.call("reserve", self.inner.reserve(order, lines)).await
    }
    async fn commit(&self, order: OrderId) -> Result<(), ShopError> {
        self.call("commit", self.inner.commit(order)).await
    }
    async fn release(&self, order: OrderId) -> Result<(), ShopError> {
        self.call("release", self.inner.release(order)).await
    }
    async fn audit(&self) -> Result<InventoryAudit, ShopError> {
        self.call("audit", self.inner.audit()).await
    }
}

#[async_trait]
impl Cart for Edge<dyn Cart> {
    async fn add(
        &self,
        user: UserId,
        sku: &Sku,
        quantity: Quantity,
    ) -> Result<CartView, ShopError> {
        self.call("add", self.inner.add(user, sku, quantity)).await
    }
    async fn remove(&self, user: UserId, sku: &Sku) -> Result<CartView, ShopError> {
        self.call("remove", self.inner.remove(user, sku)).await
    }
    async fn view(&self, user: UserId) -> Result<CartView, ShopError> {
        self.call("view", self.inner.view(user)).await
    }
    async fn lines(&self, user: UserId) -> Result<Vec<StockLine>, ShopError> {
        self.call("lines", self.inner.lines(user)).await
    }
    async fn remove_lines(
        &self,
        user: UserId,
        order: OrderId,
        lines: &[StockLine],
    ) -> Result<(), ShopError> {
        self.call("remove_lines", self.inner.remove_lines(user, order, lines))
            .await
    }
}

#[async_trait]
impl Payments for Edge<dyn Payments> {
    async fn charge(
        &self,
        order: OrderId,
        amount: Cents,
        card: &CardNumber,
    ) -> Result<Charge, ShopError> {
        self.call("charge", self.inner.charge(order, amount, card))
            .await
    }
    async fn refund(&self, order: OrderId) -> Result<(), ShopError> {
        self.call("refund", self.inner.refund(order)).await
    }
    async fn charge_of(&self, order: OrderId) -> Result<Option<Charge>, ShopError> {
        self.call("charge_of", self.inner.charge_of(order)).await
    }
    async fn audit(&self) -> Result<PaymentsAudit, ShopError> {
        self.call("audit", self.inner.audit()).await
    }
}

#[async_trait]
impl Orders for Edge<dyn Orders> {
    async fn checkout(
        &self,
        user: UserId,
        request: CheckoutRequest,
    ) -> Result<CheckoutOutcome, ShopError> {
        self.call("checkout", self.inner.checkout(user, request))
            .await
    }
    async fn get(&self, user: UserId, order: OrderId) -> Result<Order, ShopError> {
        self.call("get", self.inner.get(user, order)).await
    }
    async fn list(&self, user: UserId, limit: usize) -> Result<Vec<Order>, ShopError> {
        self.call("list", self.inner.list(user, limit)).await
    }
    async fn purchased(&self, user: UserId, limit: usize) -> Result<Vec<Sku>, ShopError> {
        self.call("purchased", self.inner.purchased(user, limit))
            .await
    }
    async fn audit(&self) -> Result<OrdersAudit, ShopError> {
        self.call("audit", self.inner.audit()).await
    }
}

#[async_trait]
impl Recommendations for Edge<dyn Recommendations> {
    async fn related(&self, sku: &Sku) -> Result<Vec<Sku>, ShopError> {
        self.call("related", self.inner.related(sku)).await
    }
    async fn for_user(
        &self,
        user: UserId,
        history: &[Sku],
        limit: usize,
    ) -> Result<Vec<Scored>, ShopError> {
        self.call("for_user", self.inner.for_user(user, history, limit))
            .await
    }
}

#[async_trait]
impl Users for Edge<dyn Users> {
    async fn register(
        &self,
        username: &Username,
        password: &Password,
    ) -> Result<UserId, ShopError> {
        self.call("register", self.inner.register(username, password))
            .await
    }
    async fn login(&self, username: &Username, password: &Password) -> Result<Session, ShopError> {
        self.call("login", self.inner.login(username, password))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::Fault;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(Component, &'static str, Outcome)>>);

    impl CallObserver for Recorder {
        fn observe(
            &self,
            component: Component,
            operation: &'static str,
            outcome: Outcome,
            _: Duration,
        ) {
            self.0.lock().unwrap().push((component, operation, outcome));
        }
    }

    struct FixedRelated;

    #[async_trait]
    impl Recommendations for FixedRelated {
        async fn related(&self, sku: &Sku) -> Result<Vec<Sku>, ShopError> {
            Ok(vec![sku.clone()])
        }
        async fn for_user(&self, _: UserId, _: &[Sku], _: usize) -> Result<Vec<Scored>, ShopError> {
            Err(ShopError::not_found("taste"))
        }
    }

    #[tokio::test]
    async fn calls_pass_through_faults_and_are_observed() {
        let faults = Faults::default();
        let recorder = Arc::new(Recorder::default());
        let inner: Arc<dyn Recommendations> = Arc::new(FixedRelated);
        let edge = Edge::new(
            Component::Recommendations,
            inner,
            faults.clone(),
            recorder.clone(),
        );
        let sku = Sku::parse("SKU-00001").unwrap();

        assert_eq!(edge.related(&sku).await.unwrap(), vec![sku.clone()]);
        assert!(edge.for_user(UserId(1), &[], 3).await.is_err());
        faults
            .set(Component::Recommendations, Fault::Fail { rate: 1.0 })
            .unwrap();
        let err = edge.related(&sku).await.unwrap_err();
        assert!(matches!(
            err,
            ShopError::Unavailable {
                component: Component::Recommendations,
                ..
            }
        ));

        let seen = recorder.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                (Component::Recommendations, "related", Outcome::Ok),
                (Component::Recommendations, "for_user", Outcome::Rejected),
                (Component::Recommendations, "related", Outcome::Failed),
            ]
        );
    }
}
