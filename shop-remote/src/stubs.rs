//! Remote stubs: every component trait, implemented by calling the component's service.
//! Each method sends its arguments as a tuple to the route of the same name in
//! [`crate::serve`]; the pairs are kept in step by the round-trip tests.
//!
//! Idempotent calls (reads, writes keyed by order id, login) may be retried by the
//! resilience layers; `cart.add`, `cart.remove`, `users.register` and `orders.checkout`
//! never are: a second `add` adds twice, and a checkout's own idempotency key belongs to
//! the client that chose it.

use async_trait::async_trait;
use shop_domain::{
    CardNumber, Cart, CartView, Catalog, Category, Cents, Charge, CheckoutOutcome, CheckoutRequest,
    Inventory, InventoryAudit, ItemEmbedding, Order, OrderId, Orders, OrdersAudit, Page, Password,
    Payments, PaymentsAudit, Product, ProductList, ProductSummary, Quantity, Recommendations,
    Scored, SearchText, Session, ShopError, Sku, StockLevel, StockLine, UserId, Username, Users,
};

use crate::client::Transport;

macro_rules! stub {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Transport);
    };
}

stub!(
    /// [`Catalog`] over the network.
    RemoteCatalog
);
stub!(
    /// [`Inventory`] over the network.
    RemoteInventory
);
stub!(
    /// [`Cart`] over the network.
    RemoteCart
);
stub!(
    /// [`Payments`] over the network.
    RemotePayments
);
stub!(
    /// [`Orders`] over the network.
    RemoteOrders
);
stub!(
    /// [`Recommendations`] over the network.
    RemoteRecommendations
);
stub!(
    /// [`Users`] over the network.
    RemoteUsers
);

#[async_trait]
impl Catalog for RemoteCatalog {
    async fn list(
        &self,
        page: Page,
        category: Option<&Category>,
    ) -> Result<ProductList, ShopError> {
        self.0.call_idempotent("list", &(page, category)).await
    }
    async fn get(&self, sku: &Sku) -> Result<Product, ShopError> {
        self.0.call_idempotent("get", &(sku,)).await
    }
    async fn search(
        &self,
        text: &SearchText,
        limit: usize,
    ) -> Result<Vec<ProductSummary>, ShopError> {
        self.0.call_idempotent("search", &(text, limit)).await
    }
    async fn summaries(&self, skus: &[Sku]) -> Result<Vec<ProductSummary>, ShopError> {
        self.0.call_idempotent("summaries", &(skus,)).await
    }
    async fn embeddings(&self) -> Result<Vec<ItemEmbedding>, ShopError> {
        self.0.call_idempotent("embeddings", &()).await
    }
}

#[async_trait]
impl Inventory for RemoteInventory {
    async fn stock(&self, sku: &Sku) -> Result<StockLevel, ShopError> {
        self.0.call_idempotent("stock", &(sku,)).await
    }
    async fn reserve(&self, order: OrderId, lines: &[StockLine]) -> Result<(), ShopError> {
        self.0.call_idempotent("reserve", &(order, lines)).await
    }
    async fn commit(&self, order: OrderId) -> Result<(), ShopError> {
        self.0.call_idempotent("commit", &(order,)).await
    }
    async fn release(&self, order: OrderId) -> Result<(), ShopError> {
        self.0.call_idempotent("release", &(order,)).await
    }
    async fn audit(&self) -> Result<InventoryAudit, ShopError> {
        self.0.call_idempotent("audit", &()).await
    }
}

#[async_trait]
impl Cart for RemoteCart {
    async fn add(
        &self,
        user: UserId,
        sku: &Sku,
        quantity: Quantity,
    ) -> Result<CartView, ShopError> {
        self.0.call("add", &(user, sku, quantity)).await
    }
    async fn remove(&self, user: UserId, sku: &Sku) -> Result<CartView, ShopError> {
        self.0.call("remove", &(user, sku)).await
    }
    async fn view(&self, user: UserId) -> Result<CartView, ShopError> {
        self.0.call_idempotent("view", &(user,)).await
    }
    async fn lines(&self, user: UserId) -> Result<Vec<StockLine>, ShopError> {
        self.0.call_idempotent("lines", &(user,)).await
    }
    async fn remove_lines(
        &self,
        user: UserId,
        order: OrderId,
        lines: &[StockLine],
    ) -> Result<(), ShopError> {
        self.0
            .call_idempotent("remove_lines", &(user, order, lines))
            .await
    }
}

#[async_trait]
impl Payments for RemotePayments {
    async fn charge(
        &self,
        order: OrderId,
        amount: Cents,
        card: &CardNumber,
    ) -> Result<Charge, ShopError> {
        self.0
            .call_idempotent("charge", &(order, amount, card))
            .await
    }
    async fn refund(&self, order: OrderId) -> Result<(), ShopError> {
        self.0.call_idempotent("refund", &(order,)).await
    }
    async fn charge_of(&self, order: OrderId) -> Result<Option<Charge>, ShopError> {
        self.0.call_idempotent("charge_of", &(order,)).await
    }
    async fn audit(&self) -> Result<PaymentsAudit, ShopError> {
        self.0.call_idempotent("audit", &()).await
    }
}

#[async_trait]
impl Orders for RemoteOrders {
    async fn checkout(
        &self,
        user: UserId,
        request: CheckoutRequest,
    ) -> Result<CheckoutOutcome, ShopError> {
        self.0.call("checkout", &(user, request)).await
    }
    async fn get(&self, user: UserId, order: OrderId) -> Result<Order, ShopError> {
        self.0.call_idempotent("get", &(user, order)).await
    }
    async fn list(&self, user: UserId, limit: usize) -> Result<Vec<Order>, ShopError> {
        self.0.call_idempotent("list", &(user, limit)).await
    }
    async fn purchased(&self, user: UserId, limit: usize) -> Result<Vec<Sku>, ShopError> {
        self.0.call_idempotent("purchased", &(user, limit)).await
    }
    async fn audit(&self) -> Result<OrdersAudit, ShopError> {
        self.0.call_idempotent("audit", &()).await
    }
}

#[async_trait]
impl Recommendations for RemoteRecommendations {
    async fn related(&self, sku: &Sku) -> Result<Vec<Sku>, ShopError> {
        self.0.call_idempotent("related", &(sku,)).await
    }
    async fn for_user(
        &self,
        user: UserId,
        history: &[Sku],
        limit: usize,
    ) -> Result<Vec<Scored>, ShopError> {
        self.0
            .call_idempotent("for_user", &(user, history, limit))
            .await
    }
}

#[async_trait]
impl Users for RemoteUsers {
    async fn register(
        &self,
        username: &Username,
        password: &Password,
    ) -> Result<UserId, ShopError> {
        self.0.call("register", &(username, password)).await
    }
    async fn login(&self, username: &Username, password: &Password) -> Result<Session, ShopError> {
        self.0.call_idempotent("login", &(username, password)).await
    }
}
