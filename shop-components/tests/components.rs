//! Every local component against a real SQLite file in a temporary directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use shop_components::{
    LocalCart, LocalCatalog, LocalInventory, LocalOrders, LocalPayments, LocalRecommendations,
    LocalUsers, OrdersDeps, PaymentsConfig, RecommendationsConfig, Refunds, SettleReport,
    UsersConfig,
};
use shop_domain::recommendations::dot;
use shop_domain::seed::{self, SeedItem};
use shop_domain::{
    AuditReport, CardNumber, Cart, Catalog, Category, Cents, Charge, ChargeStatus, CheckoutRequest,
    Component, ConflictCode, IdempotencyKey, Inventory, InventoryAudit, OrderId, OrderStatus,
    Orders, Page, Password, Payments, PaymentsAudit, Quantity, Recommendations, SearchText,
    SeedConfig, ShopError, Sku, StockLine, TokenKey, UserId, Username, Users,
};
use tempfile::TempDir;

fn small_seed() -> SeedConfig {
    SeedConfig {
        seed: 1,
        products: 200,
        embedding_dims: 16,
    }
}

fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("shop.db")
}

fn sku(index: usize) -> Sku {
    Sku::from_index(index)
}

fn qty(units: u32) -> Quantity {
    Quantity::new(units).unwrap()
}

fn line(index: usize, units: u32) -> StockLine {
    StockLine {
        sku: sku(index),
        quantity: qty(units),
    }
}

fn is_conflict(result: &ShopError, wanted: ConflictCode) -> bool {
    matches!(result, ShopError::Conflict { code, .. } if *code == wanted)
}

/// A seeded product with little stock: less than one cart line can hold.
fn scarce_item(seed: &SeedConfig) -> (usize, SeedItem) {
    seed::generate(seed)
        .unwrap()
        .into_iter()
        .enumerate()
        .find(|(_, item)| item.initial_stock < u64::from(Quantity::MAX))
        .expect("a 200-product seed has products with fewer than 99 units")
}

mod catalog {
    use super::*;

    #[tokio::test]
    async fn the_same_seed_gives_the_same_catalog_and_a_reopen_keeps_it() {
        let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
        let first = LocalCatalog::open(&db_path(&a), &small_seed()).unwrap();
        let second = LocalCatalog::open(&db_path(&b), &small_seed()).unwrap();
        let embeddings = first.embeddings().await.unwrap();
        assert_eq!(embeddings.len(), 200);
        assert_eq!(embeddings, second.embeddings().await.unwrap());
        let generated = seed::generate(&small_seed()).unwrap();
        for index in [0, 17, 199] {
            let product = first.get(&sku(index)).await.unwrap();
            assert_eq!(product, generated[index].product);
            assert_eq!(product, second.get(&sku(index)).await.unwrap());
        }
        drop(first);
        let reopened = LocalCatalog::open(&db_path(&a), &small_seed()).unwrap();
        assert_eq!(reopened.embeddings().await.unwrap(), embeddings);
        assert_eq!(reopened.get(&sku(42)).await.unwrap(), generated[42].product);
    }

    #[tokio::test]
    async fn a_file_seeded_differently_is_refused() {
        let dir = TempDir::new().unwrap();
        LocalCatalog::open(&db_path(&dir), &small_seed()).unwrap();
        let other = SeedConfig {
            seed: 2,
            ..small_seed()
        };
        let err = LocalCatalog::open(&db_path(&dir), &other).unwrap_err();
        assert!(
            matches!(err, ShopError::Invalid { ref field, .. } if field == "seed"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn lists_page_in_sku_order_and_filter_by_category() {
        let dir = TempDir::new().unwrap();
        let catalog = LocalCatalog::open(&db_path(&dir), &small_seed()).unwrap();
        let page2 = catalog.list(Page::new(2, 10).unwrap(), None).await.unwrap();
        assert_eq!(page2.total, 200);
        assert_eq!((page2.page, page2.per_page), (2, 10));
        let skus: Vec<Sku> = page2.items.iter().map(|p| p.sku.clone()).collect();
        assert_eq!(skus, (10..20).map(sku).collect::<Vec<_>>());
        let beyond = catalog
            .list(Page::new(21, 10).unwrap(), None)
            .await
            .unwrap();
        assert!(beyond.items.is_empty());

        let books = Category::parse("books").unwrap();
        let expected: Vec<Sku> = seed::generate(&small_seed())
            .unwrap()
            .into_iter()
            .filter(|item| item.product.category == books)
            .map(|item| item.product.sku)
            .collect();
        let listed = catalog
            .list(Page::new(1, 100).unwrap(), Some(&books))
            .await
            .unwrap();
        assert_eq!(listed.total, expected.len() as u64);
        let skus: Vec<Sku> = listed.items.into_iter().map(|p| p.sku).collect();
        assert_eq!(skus, expected);

        let unknown = Category::parse("spaceships").unwrap();
        let err = catalog
            .list(Page::default(), Some(&unknown))
            .await
            .unwrap_err();
        assert_eq!(err, ShopError::not_found("category spaceships"));
    }

    #[tokio::test]
    async fn search_needs_every_word_and_respects_the_limit() {
        let dir = TempDir::new().unwrap();
        let catalog = LocalCatalog::open(&db_path(&dir), &small_seed()).unwrap();
        let first = catalog.get(&sku(0)).await.unwrap();
        let noun = first.name.split(' ').next_back().unwrap().to_owned();

        let all = catalog
            .search(&SearchText::parse(&noun.to_uppercase()).unwrap(), 1000)
            .await
            .unwrap();
        assert!(all.len() > 3, "{noun}: {}", all.len());
        assert!(all.iter().all(|p| p.name.contains(&noun)));
        assert!(all.windows(2).all(|w| w[0].sku < w[1].sku));
        let limited = catalog
            .search(&SearchText::parse(&noun).unwrap(), 3)
            .await
            .unwrap();
        assert_eq!(limited, all[..3]);

        let exact = catalog
            .search(&SearchText::parse(&first.name).unwrap(), 50)
            .await
            .unwrap();
        assert!(exact.iter().any(|p| p.sku == first.sku));
        assert!(exact.iter().all(|p| p.name == first.name));

        // Words from the description count too: "Item 0 of the seeded catalog".
        let by_description = catalog
            .search(&SearchText::parse(&format!("{noun} item 0")).unwrap(), 10)
            .await
            .unwrap();
        assert_eq!(by_description.len(), 1);
        assert_eq!(by_description[0].sku, first.sku);

        let nothing = catalog
            .search(&SearchText::parse(&format!("{noun} zeppelin")).unwrap(), 10)
            .await
            .unwrap();
        assert!(nothing.is_empty());
    }

    #[tokio::test]
    async fn summaries_keep_the_order_asked_and_name_the_first_unknown_sku() {
        let dir = TempDir::new().unwrap();
        let catalog = LocalCatalog::open(&db_path(&dir), &small_seed()).unwrap();
        let asked = [sku(5), sku(2), sku(150), sku(2)];
        let got = catalog.summaries(&asked).await.unwrap();
        let skus: Vec<Sku> = got.iter().map(|p| p.sku.clone()).collect();
        assert_eq!(skus, asked);
        assert_eq!(got[0].price, catalog.get(&sku(5)).await.unwrap().price);

        let err = catalog
            .summaries(&[sku(1), sku(777), sku(888)])
            .await
            .unwrap_err();
        assert_eq!(err, ShopError::not_found("product SKU-00777"));
        assert!(catalog.get(&sku(200)).await.is_err());
    }
}

mod inventory {
    use super::*;

    async fn available(inventory: &LocalInventory, index: usize) -> u64 {
        inventory.stock(&sku(index)).await.unwrap().available
    }

    #[tokio::test]
    async fn reserve_commit_and_release_act_once_per_order() {
        let dir = TempDir::new().unwrap();
        let inventory = LocalInventory::open(&db_path(&dir), &small_seed()).unwrap();
        let initial = seed::generate(&small_seed()).unwrap()[3].initial_stock;
        assert_eq!(available(&inventory, 3).await, initial);

        // Same SKU twice in one order is summed; a second reserve changes nothing.
        inventory
            .reserve(OrderId(1), &[line(3, 2), line(3, 3)])
            .await
            .unwrap();
        inventory.reserve(OrderId(1), &[line(3, 9)]).await.unwrap();
        assert_eq!(available(&inventory, 3).await, initial - 5);
        assert_eq!(inventory.audit().await.unwrap().open_reservations, 1);

        inventory.commit(OrderId(1)).await.unwrap();
        inventory.commit(OrderId(1)).await.unwrap();
        inventory.release(OrderId(1)).await.unwrap();
        inventory.reserve(OrderId(1), &[line(3, 1)]).await.unwrap();
        assert_eq!(available(&inventory, 3).await, initial - 5);
        let audit = inventory.audit().await.unwrap();
        assert_eq!((audit.committed, audit.reserved), (5, 0));

        inventory.reserve(OrderId(2), &[line(3, 4)]).await.unwrap();
        inventory.release(OrderId(2)).await.unwrap();
        inventory.release(OrderId(2)).await.unwrap();
        assert_eq!(available(&inventory, 3).await, initial - 5);
        // A released order cannot reserve again: a new attempt is a new order.
        let late = inventory
            .reserve(OrderId(2), &[line(3, 4)])
            .await
            .unwrap_err();
        assert!(is_conflict(&late, ConflictCode::OrderClosed), "{late}");
        assert_eq!(
            inventory.commit(OrderId(3)).await.unwrap_err(),
            ShopError::not_found("reservation for order 3")
        );
        assert!(inventory.commit(OrderId(2)).await.is_err());
    }

    #[tokio::test]
    async fn cached_stock_shows_this_process_writes_at_once_and_other_processes_within_the_ttl() {
        let dir = TempDir::new().unwrap();
        let ttl = Duration::from_millis(300);
        let cached = LocalInventory::open(&db_path(&dir), &small_seed())
            .unwrap()
            .with_stock_cache(ttl);
        let initial = available(&cached, 3).await;

        cached.reserve(OrderId(1), &[line(3, 2)]).await.unwrap();
        assert_eq!(
            available(&cached, 3).await,
            initial - 2,
            "own reserve shows at once"
        );
        cached.release(OrderId(1)).await.unwrap();
        assert_eq!(
            available(&cached, 3).await,
            initial,
            "own release shows at once"
        );

        // Another writer on the same file (a replica) is seen once the entry expires.
        let other = LocalInventory::open(&db_path(&dir), &small_seed()).unwrap();
        other.reserve(OrderId(2), &[line(3, 4)]).await.unwrap();
        let soon = available(&cached, 3).await;
        assert!(soon == initial || soon == initial - 4, "{soon}");
        tokio::time::sleep(ttl + Duration::from_millis(50)).await;
        assert_eq!(available(&cached, 3).await, initial - 4);
    }

    #[tokio::test]
    async fn a_release_that_comes_first_refuses_the_late_reserve() {
        let dir = TempDir::new().unwrap();
        let inventory = LocalInventory::open(&db_path(&dir), &small_seed()).unwrap();
        let before = inventory.audit().await.unwrap();
        inventory.release(OrderId(9)).await.unwrap();
        let late = inventory
            .reserve(OrderId(9), &[line(0, 1)])
            .await
            .unwrap_err();
        assert!(is_conflict(&late, ConflictCode::OrderClosed), "{late}");
        assert_eq!(inventory.audit().await.unwrap(), before);
    }

    #[tokio::test]
    async fn a_short_line_reserves_nothing() {
        let dir = TempDir::new().unwrap();
        let inventory = LocalInventory::open(&db_path(&dir), &small_seed()).unwrap();
        let (scarce, item) = scarce_item(&small_seed());
        let other = if scarce == 0 { 1 } else { 0 };
        let before = available(&inventory, other).await;
        let too_many = item.initial_stock as u32 + 1;
        let err = inventory
            .reserve(OrderId(1), &[line(other, 2), line(scarce, too_many)])
            .await
            .unwrap_err();
        assert!(is_conflict(&err, ConflictCode::InsufficientStock), "{err}");
        assert!(err.to_string().contains(sku(scarce).as_str()), "{err}");
        assert_eq!(available(&inventory, other).await, before);
        assert_eq!(available(&inventory, scarce).await, item.initial_stock);
        assert_eq!(inventory.audit().await.unwrap().reserved, 0);

        let unknown = StockLine {
            sku: Sku::parse("SKU-99999").unwrap(),
            quantity: qty(1),
        };
        let err = inventory
            .reserve(OrderId(2), &[line(other, 1), unknown])
            .await
            .unwrap_err();
        assert_eq!(err, ShopError::not_found("product SKU-99999"));
        assert_eq!(available(&inventory, other).await, before);
        assert!(inventory.stock(&sku(200)).await.is_err());
    }

    #[tokio::test]
    async fn stock_is_conserved_and_survives_a_reopen() {
        let dir = TempDir::new().unwrap();
        let inventory = LocalInventory::open(&db_path(&dir), &small_seed()).unwrap();
        let fresh = inventory.audit().await.unwrap();
        assert_eq!(fresh.skus, 200);
        assert_eq!(fresh.initial, fresh.available);

        for order in 1..=6u64 {
            let index = order as usize;
            inventory
                .reserve(OrderId(order), &[line(index, 2), line(index + 10, 1)])
                .await
                .unwrap();
        }
        for order in [1, 2] {
            inventory.commit(OrderId(order)).await.unwrap();
        }
        for order in [3, 4, 99] {
            inventory.release(OrderId(order)).await.unwrap();
        }
        let audit = inventory.audit().await.unwrap();
        assert!(audit.is_conserved(), "{audit:?}");
        assert_eq!(
            (audit.committed, audit.reserved, audit.open_reservations),
            (6, 6, 2)
        );
        assert_eq!(audit.available, fresh.initial - 12);

        let stock_5 = available(&inventory, 5).await;
        drop(inventory);
        let reopened = LocalInventory::open(&db_path(&dir), &small_seed()).unwrap();
        assert_eq!(reopened.audit().await.unwrap(), audit);
        assert_eq!(available(&reopened, 5).await, stock_5);
        let other = SeedConfig {
            products: 300,
            ..small_seed()
        };
        assert!(LocalInventory::open(&db_path(&dir), &other).is_err());
    }
}

mod cart {
    use super::*;

    fn open(dir: &TempDir) -> (Arc<LocalCatalog>, LocalCart) {
        let catalog = Arc::new(LocalCatalog::open(&db_path(dir), &small_seed()).unwrap());
        let cart = LocalCart::open(&db_path(dir), catalog.clone()).unwrap();
        (catalog, cart)
    }

    #[tokio::test]
    async fn adding_merges_lines_and_the_view_is_priced() {
        let dir = TempDir::new().unwrap();
        let (catalog, cart) = open(&dir);
        let user = UserId(7);
        cart.add(user, &sku(9), qty(2)).await.unwrap();
        cart.add(user, &sku(4), qty(1)).await.unwrap();
        let view = cart.add(user, &sku(9), qty(3)).await.unwrap();

        let (p4, p9) = (
            catalog.get(&sku(4)).await.unwrap(),
            catalog.get(&sku(9)).await.unwrap(),
        );
        assert_eq!(view.lines.len(), 2);
        assert_eq!(view.lines[0].sku, sku(4));
        assert_eq!(view.lines[1].sku, sku(9));
        assert_eq!(view.lines[1].quantity, qty(5));
        assert_eq!(view.lines[1].name, p9.name);
        assert_eq!(view.lines[1].unit_price, p9.price);
        assert_eq!(view.lines[1].line_total, Cents(p9.price.0 * 5));
        assert_eq!(view.total, Cents(p4.price.0 + p9.price.0 * 5));
        assert_eq!(cart.view(user).await.unwrap(), view);
        assert_eq!(
            cart.lines(user).await.unwrap(),
            vec![line(4, 1), line(9, 5)]
        );
        assert!(cart.view(UserId(8)).await.unwrap().lines.is_empty());
    }

    #[tokio::test]
    async fn unknown_skus_oversized_lines_and_full_carts_are_refused() {
        let dir = TempDir::new().unwrap();
        let (_, cart) = open(&dir);
        let user = UserId(1);
        let err = cart
            .add(user, &Sku::parse("SKU-99999").unwrap(), qty(1))
            .await
            .unwrap_err();
        assert!(matches!(err, ShopError::NotFound { .. }), "{err}");

        cart.add(user, &sku(0), qty(60)).await.unwrap();
        let err = cart.add(user, &sku(0), qty(40)).await.unwrap_err();
        assert!(is_conflict(&err, ConflictCode::CartLineTooLarge), "{err}");
        assert_eq!(cart.lines(user).await.unwrap(), vec![line(0, 60)]);
        cart.add(user, &sku(0), qty(39)).await.unwrap();

        for index in 1..50 {
            cart.add(user, &sku(index), qty(1)).await.unwrap();
        }
        let err = cart.add(user, &sku(50), qty(1)).await.unwrap_err();
        assert!(is_conflict(&err, ConflictCode::CartFull), "{err}");
        // More of a product already in the cart is still fine.
        cart.add(user, &sku(49), qty(1)).await.unwrap();
        assert_eq!(cart.lines(user).await.unwrap().len(), 50);
    }

    #[tokio::test]
    async fn removing_lines_keeps_what_was_added_since() {
        let dir = TempDir::new().unwrap();
        let (_, cart) = open(&dir);
        let user = UserId(3);
        cart.add(user, &sku(1), qty(2)).await.unwrap();
        cart.add(user, &sku(2), qty(1)).await.unwrap();
        let checked_out = cart.lines(user).await.unwrap();
        cart.add(user, &sku(1), qty(3)).await.unwrap();
        cart.add(user, &sku(3), qty(1)).await.unwrap();
        cart.remove_lines(user, OrderId(7), &checked_out)
            .await
            .unwrap();
        assert_eq!(
            cart.lines(user).await.unwrap(),
            vec![line(1, 3), line(3, 1)]
        );
        // A retry for the same order (or the settler finishing it) removes nothing more.
        cart.remove_lines(user, OrderId(7), &checked_out)
            .await
            .unwrap();
        assert_eq!(
            cart.lines(user).await.unwrap(),
            vec![line(1, 3), line(3, 1)]
        );

        let view = cart.remove(user, &sku(1)).await.unwrap();
        assert_eq!(view.lines.len(), 1);
        assert_eq!(
            cart.remove(user, &sku(1)).await.unwrap_err(),
            ShopError::not_found("cart line SKU-00001")
        );
    }
}

mod payments {
    use super::*;

    fn open(dir: &TempDir, config: PaymentsConfig) -> LocalPayments {
        LocalPayments::open(&db_path(dir), config).unwrap()
    }

    fn declining_card() -> CardNumber {
        CardNumber::parse("4000000000000002").unwrap()
    }

    #[tokio::test]
    async fn a_second_charge_for_an_order_returns_the_first() {
        let dir = TempDir::new().unwrap();
        let payments = open(&dir, PaymentsConfig::default());
        let card = CardNumber::test_approved();
        let first = payments
            .charge(OrderId(1), Cents(1250), &card)
            .await
            .unwrap();
        assert_eq!(
            first,
            Charge {
                order: OrderId(1),
                amount: Cents(1250),
                status: ChargeStatus::Captured
            }
        );
        assert_eq!(
            payments.charge(OrderId(1), Cents(1250), &card).await,
            Ok(first)
        );
        assert!(matches!(
            payments.charge(OrderId(1), Cents(999), &card).await,
            Err(ShopError::Internal { .. })
        ));
        assert_eq!(
            payments.audit().await.unwrap(),
            PaymentsAudit {
                charges: 1,
                captured: 1,
                captured_cents: 1250,
                ..PaymentsAudit::default()
            }
        );
    }

    #[tokio::test]
    async fn a_decline_is_recorded_and_replayed() {
        let dir = TempDir::new().unwrap();
        let payments = open(&dir, PaymentsConfig::default());
        assert_eq!(
            payments
                .charge(OrderId(4), Cents(500), &declining_card())
                .await,
            Err(ShopError::PaymentDeclined)
        );
        // The retry with a good card is still the same (declined) charge.
        assert_eq!(
            payments
                .charge(OrderId(4), Cents(500), &CardNumber::test_approved())
                .await,
            Err(ShopError::PaymentDeclined)
        );
        assert_eq!(
            payments
                .charge_of(OrderId(4))
                .await
                .unwrap()
                .unwrap()
                .status,
            ChargeStatus::Declined
        );
        let audit = payments.audit().await.unwrap();
        assert_eq!((audit.charges, audit.declined, audit.captured), (1, 1, 0));
    }

    #[tokio::test]
    async fn a_refund_happens_once_and_a_refund_first_voids_the_order() {
        let dir = TempDir::new().unwrap();
        let payments = open(&dir, PaymentsConfig::default());
        let card = CardNumber::test_approved();
        payments
            .charge(OrderId(1), Cents(800), &card)
            .await
            .unwrap();
        payments
            .charge(OrderId(2), Cents(300), &card)
            .await
            .unwrap();
        payments.refund(OrderId(1)).await.unwrap();
        payments.refund(OrderId(1)).await.unwrap();
        assert_eq!(
            payments
                .charge(OrderId(1), Cents(800), &card)
                .await
                .unwrap()
                .status,
            ChargeStatus::Refunded
        );
        assert_eq!(
            payments.audit().await.unwrap(),
            PaymentsAudit {
                charges: 2,
                captured: 1,
                captured_cents: 300,
                refunded: 1,
                refunded_cents: 800,
                declined: 0,
            }
        );

        payments.refund(OrderId(3)).await.unwrap();
        let late = payments
            .charge(OrderId(3), Cents(100), &card)
            .await
            .unwrap_err();
        assert!(is_conflict(&late, ConflictCode::OrderClosed), "{late}");
        assert_eq!(payments.charge_of(OrderId(3)).await.unwrap(), None);
        assert_eq!(payments.audit().await.unwrap().charges, 2);
    }

    #[tokio::test]
    async fn latency_and_decline_rate_are_configurable() {
        let dir = TempDir::new().unwrap();
        assert!(
            LocalPayments::open(
                &db_path(&dir),
                PaymentsConfig {
                    decline_rate: 1.5,
                    ..PaymentsConfig::default()
                }
            )
            .is_err()
        );
        let payments = open(
            &dir,
            PaymentsConfig {
                latency: Duration::from_millis(30),
                latency_jitter: Duration::from_millis(5),
                decline_rate: 1.0,
            },
        );
        let started = std::time::Instant::now();
        let result = payments
            .charge(OrderId(1), Cents(100), &CardNumber::test_approved())
            .await;
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(result, Err(ShopError::PaymentDeclined));
    }
}

mod orders {
    use super::*;

    /// Fails the first `charge_failures` charges and `refund_failures` refunds as if the
    /// processor were unreachable, then passes calls through.
    struct FlakyPayments {
        inner: Arc<LocalPayments>,
        charge_failures: AtomicU32,
        refund_failures: AtomicU32,
        /// Charges that happen but whose answer is lost, as after a timeout.
        lost_charge_answers: AtomicU32,
        /// Charges that never reach the processor, as with a refused connection.
        unreached_charges: AtomicU32,
        /// Holds every charge, once made, until the test lets it answer.
        gate: Option<Arc<Gate>>,
        /// Holds every charge before it reaches the processor, until the test lets it go.
        gate_before: Option<Arc<Gate>>,
    }

    /// Lets a test act while a checkout waits on its charge.
    #[derive(Default)]
    struct Gate {
        charged: tokio::sync::Notify,
        answer: tokio::sync::Notify,
    }

    /// Fails the first `commit_failures` commits as if inventory were unreachable.
    struct FlakyInventory {
        inner: Arc<LocalInventory>,
        commit_failures: AtomicU32,
    }

    fn fail_once_more(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    #[async_trait]
    impl Payments for FlakyPayments {
        async fn charge(
            &self,
            order: OrderId,
            amount: Cents,
            card: &CardNumber,
        ) -> Result<Charge, ShopError> {
            if fail_once_more(&self.charge_failures) {
                return Err(ShopError::unavailable(Component::Payments, "test: down"));
            }
            if fail_once_more(&self.unreached_charges) {
                return Err(ShopError::unreached(Component::Payments, "test: refused"));
            }
            if let Some(gate) = &self.gate_before {
                gate.charged.notify_one();
                gate.answer.notified().await;
            }
            let charged = self.inner.charge(order, amount, card).await;
            if let Some(gate) = &self.gate {
                gate.charged.notify_one();
                gate.answer.notified().await;
            }
            if fail_once_more(&self.lost_charge_answers) {
                return Err(ShopError::unavailable(
                    Component::Payments,
                    "test: timed out",
                ));
            }
            charged
        }
        async fn refund(&self, order: OrderId) -> Result<(), ShopError> {
            if fail_once_more(&self.refund_failures) {
                return Err(ShopError::unavailable(Component::Payments, "test: down"));
            }
            self.inner.refund(order).await
        }
        async fn charge_of(&self, order: OrderId) -> Result<Option<Charge>, ShopError> {
            self.inner.charge_of(order).await
        }
        async fn audit(&self) -> Result<PaymentsAudit, ShopError> {
            self.inner.audit().await
        }
    }

    #[async_trait]
    impl Inventory for FlakyInventory {
        async fn stock(&self, sku: &Sku) -> Result<shop_domain::StockLevel, ShopError> {
            self.inner.stock(sku).await
        }
        async fn reserve(&self, order: OrderId, lines: &[StockLine]) -> Result<(), ShopError> {
            self.inner.reserve(order, lines).await
        }
        async fn commit(&self, order: OrderId) -> Result<(), ShopError> {
            if fail_once_more(&self.commit_failures) {
                return Err(ShopError::unavailable(Component::Inventory, "test: down"));
            }
            self.inner.commit(order).await
        }
        async fn release(&self, order: OrderId) -> Result<(), ShopError> {
            self.inner.release(order).await
        }
        async fn audit(&self) -> Result<InventoryAudit, ShopError> {
            self.inner.audit().await
        }
    }

    /// Every component on one file, as in the monolith, with optional faults.
    struct World {
        _dir: TempDir,
        inventory: Arc<LocalInventory>,
        cart: Arc<LocalCart>,
        payments: Arc<LocalPayments>,
        orders: LocalOrders,
    }

    #[derive(Default)]
    struct Faults {
        charge_failures: u32,
        refund_failures: u32,
        lost_charge_answers: u32,
        unreached_charges: u32,
        commit_failures: u32,
        gate: Option<Arc<Gate>>,
        gate_before: Option<Arc<Gate>>,
        refunds: Refunds,
    }

    impl World {
        fn new() -> Self {
            Self::with(Faults::default())
        }

        fn with(faults: Faults) -> Self {
            let dir = TempDir::new().unwrap();
            let path = db_path(&dir);
            let catalog = Arc::new(LocalCatalog::open(&path, &small_seed()).unwrap());
            let inventory = Arc::new(LocalInventory::open(&path, &small_seed()).unwrap());
            let cart = Arc::new(LocalCart::open(&path, catalog.clone()).unwrap());
            let payments = Arc::new(LocalPayments::open(&path, PaymentsConfig::default()).unwrap());
            let orders = LocalOrders::open(
                &path,
                OrdersDeps {
                    cart: cart.clone(),
                    catalog: catalog.clone(),
                    inventory: Arc::new(FlakyInventory {
                        inner: inventory.clone(),
                        commit_failures: AtomicU32::new(faults.commit_failures),
                    }),
                    payments: Arc::new(FlakyPayments {
                        inner: payments.clone(),
                        charge_failures: AtomicU32::new(faults.charge_failures),
                        refund_failures: AtomicU32::new(faults.refund_failures),
                        lost_charge_answers: AtomicU32::new(faults.lost_charge_answers),
                        unreached_charges: AtomicU32::new(faults.unreached_charges),
                        gate: faults.gate,
                        gate_before: faults.gate_before,
                    }),
                },
            )
            .unwrap()
            .with_refunds(faults.refunds);
            Self {
                _dir: dir,
                inventory,
                cart,
                payments,
                orders,
            }
        }

        async fn audit(&self) -> AuditReport {
            AuditReport {
                inventory: self.inventory.audit().await.unwrap(),
                payments: self.payments.audit().await.unwrap(),
                orders: self.orders.audit().await.unwrap(),
            }
        }

        async fn stock(&self, index: usize) -> u64 {
            self.inventory.stock(&sku(index)).await.unwrap().available
        }
    }

    fn request(key: Option<&str>, card: CardNumber) -> CheckoutRequest {
        CheckoutRequest {
            idempotency_key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
            card,
        }
    }

    fn good(key: Option<&str>) -> CheckoutRequest {
        request(key, CardNumber::test_approved())
    }

    const USER: UserId = UserId(11);

    #[tokio::test]
    async fn a_checkout_takes_stock_charges_empties_the_cart_and_balances() {
        let world = World::new();
        let (before_3, before_8) = (world.stock(3).await, world.stock(8).await);
        world.cart.add(USER, &sku(3), qty(2)).await.unwrap();
        let view = world.cart.add(USER, &sku(8), qty(1)).await.unwrap();

        let outcome = world.orders.checkout(USER, good(Some("k1"))).await.unwrap();
        let order = &outcome.order;
        assert!(!outcome.replayed);
        assert_eq!(order.status, OrderStatus::Confirmed);
        assert_eq!(order.user, USER);
        assert_eq!(order.lines, view.lines);
        assert_eq!(order.total, view.total);

        assert_eq!(world.stock(3).await, before_3 - 2);
        assert_eq!(world.stock(8).await, before_8 - 1);
        let charge = world.payments.charge_of(order.id).await.unwrap().unwrap();
        assert_eq!(
            (charge.status, charge.amount),
            (ChargeStatus::Captured, view.total)
        );
        assert!(world.cart.lines(USER).await.unwrap().is_empty());

        let audit = world.audit().await;
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());
        assert_eq!(audit.orders.confirmed, 1);
        assert_eq!(audit.orders.confirmed_cents, view.total.0);
        assert_eq!(audit.orders.unsettled, 0);
        assert_eq!(
            (audit.inventory.committed, audit.inventory.reserved),
            (3, 0)
        );

        assert_eq!(world.orders.get(USER, order.id).await.unwrap(), *order);
        assert_eq!(
            world.orders.get(UserId(12), order.id).await.unwrap_err(),
            ShopError::not_found(format!("order {}", order.id))
        );
        assert_eq!(
            world.orders.list(USER, 10).await.unwrap(),
            vec![order.clone()]
        );
        assert_eq!(
            world.orders.purchased(USER, 10).await.unwrap(),
            vec![sku(3), sku(8)]
        );
    }

    #[tokio::test]
    async fn orders_list_newest_first_and_purchases_most_recent_first() {
        let world = World::new();
        let mut ids = Vec::new();
        for index in [5, 6, 5] {
            world.cart.add(USER, &sku(index), qty(1)).await.unwrap();
            ids.push(
                world
                    .orders
                    .checkout(USER, good(None))
                    .await
                    .unwrap()
                    .order
                    .id,
            );
        }
        let listed: Vec<OrderId> = world
            .orders
            .list(USER, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(listed, vec![ids[2], ids[1]]);
        assert_eq!(
            world.orders.purchased(USER, 10).await.unwrap(),
            vec![sku(5), sku(6)]
        );
        assert_eq!(world.orders.purchased(USER, 1).await.unwrap(), vec![sku(5)]);
        assert!(world.orders.list(UserId(99), 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_decline_after_the_reservation_gives_the_stock_back() {
        let world = World::new();
        let before = world.stock(4).await;
        world.cart.add(USER, &sku(4), qty(3)).await.unwrap();
        let declining = CardNumber::parse("4000000000000002").unwrap();

        let result = world
            .orders
            .checkout(USER, request(Some("k"), declining.clone()))
            .await;
        assert_eq!(result.unwrap_err(), ShopError::PaymentDeclined);
        assert_eq!(world.stock(4).await, before);
        let audit = world.audit().await;
        assert_eq!(
            (audit.inventory.reserved, audit.inventory.open_reservations),
            (0, 0)
        );
        assert_eq!((audit.orders.failed, audit.orders.pending), (1, 0));
        assert_eq!((audit.payments.declined, audit.payments.captured), (1, 0));
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());
        assert_eq!(world.cart.lines(USER).await.unwrap(), vec![line(4, 3)]);

        // The key replays the decline, even with another card, without a new charge.
        let replay = world.orders.checkout(USER, good(Some("k"))).await;
        assert_eq!(replay.unwrap_err(), ShopError::PaymentDeclined);
        assert_eq!(world.payments.audit().await.unwrap().charges, 1);
        // A new key is a new attempt.
        let outcome = world.orders.checkout(USER, good(Some("k2"))).await.unwrap();
        assert_eq!(outcome.order.status, OrderStatus::Confirmed);
        assert_eq!(world.stock(4).await, before - 3);
    }

    #[tokio::test]
    async fn a_duplicate_sent_while_the_first_is_running_is_told_to_wait_and_charges_nothing() {
        let gate = Arc::new(Gate::default());
        let world = World::with(Faults {
            gate: Some(gate.clone()),
            ..Faults::default()
        });
        world.cart.add(USER, &sku(1), qty(1)).await.unwrap();
        let (first, duplicate) =
            tokio::join!(world.orders.checkout(USER, good(Some("dup"))), async {
                gate.charged.notified().await;
                let duplicate = world.orders.checkout(USER, good(Some("dup"))).await;
                gate.answer.notify_one();
                duplicate
            });
        let first = first.unwrap();
        let err = duplicate.unwrap_err();
        assert!(is_conflict(&err, ConflictCode::CheckoutInProgress), "{err}");
        // Once the first is done, the duplicate's retry replays it.
        let replay = world
            .orders
            .checkout(USER, good(Some("dup")))
            .await
            .unwrap();
        assert!(replay.replayed);
        assert_eq!(replay.order, first.order);
        let audit = world.audit().await;
        assert_eq!((audit.payments.charges, audit.orders.confirmed), (1, 1));
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());
    }

    #[tokio::test]
    async fn a_retry_with_the_same_key_replays_and_never_charges_twice() {
        let world = World::new();
        world.cart.add(USER, &sku(1), qty(1)).await.unwrap();
        let first = world
            .orders
            .checkout(USER, good(Some("same")))
            .await
            .unwrap();
        // Something new in the cart would make a new order, if this were not a replay.
        world.cart.add(USER, &sku(2), qty(1)).await.unwrap();
        let second = world
            .orders
            .checkout(USER, good(Some("same")))
            .await
            .unwrap();
        assert!(second.replayed);
        assert_eq!(second.order, first.order);
        let audit = world.audit().await;
        assert_eq!((audit.payments.charges, audit.payments.captured), (1, 1));
        assert_eq!(audit.orders.confirmed, 1);
        assert_eq!(world.cart.lines(USER).await.unwrap(), vec![line(2, 1)]);
        // The key belongs to the user: another user's key of the same name is unrelated.
        world.cart.add(UserId(12), &sku(1), qty(1)).await.unwrap();
        let other = world
            .orders
            .checkout(UserId(12), good(Some("same")))
            .await
            .unwrap();
        assert!(!other.replayed);
        assert_ne!(other.order.id, first.order.id);
    }

    #[tokio::test]
    async fn insufficient_stock_is_a_conflict_and_charges_nothing() {
        let world = World::new();
        let (scarce, item) = scarce_item(&small_seed());
        world.cart.add(USER, &sku(0), qty(1)).await.unwrap();
        world
            .cart
            .add(USER, &sku(scarce), qty(item.initial_stock as u32 + 1))
            .await
            .unwrap();
        let err = world
            .orders
            .checkout(USER, good(Some("short")))
            .await
            .unwrap_err();
        assert!(is_conflict(&err, ConflictCode::InsufficientStock), "{err}");
        let audit = world.audit().await;
        assert_eq!(audit.payments, PaymentsAudit::default());
        assert_eq!(audit.inventory.available, audit.inventory.initial);
        assert_eq!(audit.orders.failed, 1);
        let replay = world
            .orders
            .checkout(USER, good(Some("short")))
            .await
            .unwrap_err();
        assert!(is_conflict(&replay, ConflictCode::InsufficientStock));
    }

    #[tokio::test]
    async fn an_empty_cart_makes_no_order() {
        let world = World::new();
        let err = world
            .orders
            .checkout(USER, good(Some("empty")))
            .await
            .unwrap_err();
        assert!(is_conflict(&err, ConflictCode::CartEmpty), "{err}");
        assert_eq!(world.audit().await.orders, Default::default());
    }

    #[tokio::test]
    async fn a_transient_failure_compensates_and_frees_the_key_for_a_new_attempt() {
        let world = World::with(Faults {
            charge_failures: 1,
            ..Faults::default()
        });
        let before = world.stock(6).await;
        world.cart.add(USER, &sku(6), qty(2)).await.unwrap();

        let err = world
            .orders
            .checkout(USER, good(Some("retry-me")))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ShopError::Unavailable {
                    component: Component::Payments,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(world.stock(6).await, before);
        let audit = world.audit().await;
        assert_eq!(audit.payments.captured, 0);
        assert_eq!(audit.payments.charges, 0);
        assert_eq!((audit.orders.failed, audit.orders.pending), (1, 0));
        assert_eq!(audit.inventory.reserved, 0);

        let retry = world
            .orders
            .checkout(USER, good(Some("retry-me")))
            .await
            .unwrap();
        assert!(!retry.replayed);
        assert_eq!(retry.order.status, OrderStatus::Confirmed);
        assert_eq!(world.stock(6).await, before - 2);
        let failed = world.orders.list(USER, 10).await.unwrap();
        assert_eq!(failed.len(), 2);
        assert_eq!(failed[1].status, OrderStatus::Failed);
        assert_ne!(failed[1].id, retry.order.id);
        let audit = world.audit().await;
        assert_eq!(audit.payments.captured, 1);
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());
    }

    #[tokio::test]
    async fn a_charge_whose_answer_was_lost_is_refunded() {
        let world = World::with(Faults {
            lost_charge_answers: 1,
            ..Faults::default()
        });
        let before = world.stock(9).await;
        world.cart.add(USER, &sku(9), qty(1)).await.unwrap();
        let err = world
            .orders
            .checkout(USER, good(Some("lost")))
            .await
            .unwrap_err();
        assert!(matches!(err, ShopError::Unavailable { .. }), "{err}");
        let audit = world.audit().await;
        assert_eq!((audit.payments.captured, audit.payments.refunded), (0, 1));
        assert_eq!(world.stock(9).await, before);
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());

        world
            .orders
            .checkout(USER, good(Some("lost")))
            .await
            .unwrap();
        let audit = world.audit().await;
        assert_eq!((audit.payments.captured, audit.orders.confirmed), (1, 1));
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());
    }

    /// The knob the regression gate is proven with: compensation without its refund
    /// keeps money for a failed order, and the audit says so.
    #[tokio::test]
    async fn with_refunds_skipped_a_lost_answer_keeps_the_money_and_the_audit_says_so() {
        let world = World::with(Faults {
            lost_charge_answers: 1,
            refunds: Refunds::Skipped,
            ..Faults::default()
        });
        world.cart.add(USER, &sku(9), qty(1)).await.unwrap();
        world
            .orders
            .checkout(USER, good(Some("kept")))
            .await
            .unwrap_err();
        let audit = world.audit().await;
        assert_eq!((audit.payments.captured, audit.payments.refunded), (1, 0));
        assert!(
            !audit.violations().is_empty(),
            "the audit missed money kept for a failed order"
        );
    }

    /// Runs a checkout whose charge `gate` holds, settles (rolling the order back) while it
    /// is held, then lets the charge go on; the checkout must answer that orders rolled it
    /// back: safe, and not the client's fault.
    async fn settle_while_charging(world: &World, gate: &Gate, request: CheckoutRequest) {
        let (checkout, settled) = tokio::join!(world.orders.checkout(USER, request), async {
            gate.charged.notified().await;
            let report = world.orders.settle(Duration::ZERO).await.unwrap();
            gate.answer.notify_one();
            report
        });
        assert_eq!(settled.compensated, 1);
        let err = checkout.unwrap_err();
        assert!(
            matches!(
                err,
                ShopError::Unavailable {
                    component: Component::Orders,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_charge_that_never_reached_payments_needs_no_refund_and_frees_the_key() {
        // Payments is down for the charge and for any refund: had the charge maybe
        // happened, the order would have to wait, pending, for the settler.
        let world = World::with(Faults {
            unreached_charges: 1,
            refund_failures: 1,
            ..Faults::default()
        });
        let before = world.stock(6).await;
        world.cart.add(USER, &sku(6), qty(1)).await.unwrap();
        let err = world
            .orders
            .checkout(USER, good(Some("k")))
            .await
            .unwrap_err();
        assert!(err.is_unreached(), "{err}");
        let audit = world.audit().await;
        assert_eq!((audit.orders.pending, audit.orders.failed), (0, 1));
        assert_eq!(audit.payments.charges, 0);
        assert_eq!(world.stock(6).await, before);
        // The refund that would have failed was never tried, and the key is free.
        let retry = world.orders.checkout(USER, good(Some("k"))).await.unwrap();
        assert!(!retry.replayed);
        assert!(world.audit().await.violations().is_empty());
    }

    #[tokio::test]
    async fn a_checkout_the_settler_rolled_back_cannot_confirm() {
        let gate = Arc::new(Gate::default());
        let world = World::with(Faults {
            gate: Some(gate.clone()),
            ..Faults::default()
        });
        let before = world.stock(3).await;
        world.cart.add(USER, &sku(3), qty(1)).await.unwrap();
        // The checkout is slow: while it waits for the processor's answer, the settler
        // takes its order for one a crash left behind.
        settle_while_charging(&world, &gate, good(Some("k"))).await;
        let audit = world.audit().await;
        assert_eq!((audit.orders.confirmed, audit.orders.failed), (0, 1));
        assert_eq!((audit.payments.captured, audit.payments.refunded), (0, 1));
        assert_eq!(world.stock(3).await, before);
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());
    }

    #[tokio::test]
    async fn a_charge_that_arrives_after_the_rollback_is_refused_and_nothing_is_taken() {
        let gate = Arc::new(Gate::default());
        let world = World::with(Faults {
            gate_before: Some(gate.clone()),
            ..Faults::default()
        });
        let before = world.stock(4).await;
        world.cart.add(USER, &sku(4), qty(2)).await.unwrap();
        // The charge is on its way when the settler rolls the order back: the refund
        // reaches payments first and voids the order, so the late charge is refused.
        settle_while_charging(&world, &gate, good(None)).await;
        let audit = world.audit().await;
        assert_eq!((audit.payments.captured, audit.orders.failed), (0, 1));
        assert_eq!(world.stock(4).await, before);
        // The cart is untouched: the user can try again.
        assert_eq!(world.cart.lines(USER).await.unwrap(), vec![line(4, 2)]);
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());
    }

    #[tokio::test]
    async fn settle_finishes_a_confirmed_order_whose_commit_failed() {
        let world = World::with(Faults {
            commit_failures: 1,
            ..Faults::default()
        });
        world.cart.add(USER, &sku(7), qty(2)).await.unwrap();
        let outcome = world.orders.checkout(USER, good(None)).await.unwrap();
        assert_eq!(outcome.order.status, OrderStatus::Confirmed);
        let audit = world.audit().await;
        assert_eq!(audit.orders.unsettled, 1);
        assert_eq!(
            (audit.inventory.reserved, audit.inventory.committed),
            (2, 0)
        );
        // The cart step does not depend on the commit step.
        assert!(world.cart.lines(USER).await.unwrap().is_empty());

        let report = world.orders.settle(Duration::from_secs(60)).await.unwrap();
        assert_eq!(
            report,
            SettleReport {
                settled: 1,
                ..SettleReport::default()
            }
        );
        let audit = world.audit().await;
        assert_eq!(audit.orders.unsettled, 0);
        assert_eq!(
            (audit.inventory.reserved, audit.inventory.committed),
            (0, 2)
        );
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());
        assert_eq!(
            world.orders.settle(Duration::ZERO).await.unwrap(),
            SettleReport::default()
        );
    }

    #[tokio::test]
    async fn settle_compensates_an_order_whose_compensation_failed() {
        let world = World::with(Faults {
            charge_failures: 1,
            refund_failures: 1,
            ..Faults::default()
        });
        let before = world.stock(2).await;
        world.cart.add(USER, &sku(2), qty(1)).await.unwrap();
        assert!(world.orders.checkout(USER, good(Some("k"))).await.is_err());
        assert_eq!(world.audit().await.orders.pending, 1);
        let err = world
            .orders
            .checkout(USER, good(Some("k")))
            .await
            .unwrap_err();
        assert!(is_conflict(&err, ConflictCode::CheckoutInProgress), "{err}");

        // Not stale yet: left alone.
        let report = world
            .orders
            .settle(Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(report, SettleReport::default());
        let report = world.orders.settle(Duration::ZERO).await.unwrap();
        assert_eq!(report.compensated, 1);
        let audit = world.audit().await;
        assert_eq!((audit.orders.pending, audit.orders.failed), (0, 1));
        assert_eq!(world.stock(2).await, before);
        assert!(audit.violations().is_empty(), "{:?}", audit.violations());

        let retry = world.orders.checkout(USER, good(Some("k"))).await.unwrap();
        assert!(!retry.replayed);
        assert_eq!(world.stock(2).await, before - 1);
    }
}

mod recommendations {
    use super::*;

    async fn build(
        dir: &TempDir,
        config: RecommendationsConfig,
    ) -> (LocalCatalog, LocalRecommendations) {
        let catalog = LocalCatalog::open(&db_path(dir), &small_seed()).unwrap();
        let recommendations = LocalRecommendations::build(&catalog, config).await.unwrap();
        (catalog, recommendations)
    }

    #[tokio::test]
    async fn related_products_share_the_category_and_exclude_the_product() {
        let dir = TempDir::new().unwrap();
        let (catalog, recommendations) = build(&dir, RecommendationsConfig::default()).await;
        let products = catalog.embeddings().await.unwrap();
        for index in [0, 50, 199] {
            let me = &products[index];
            let related = recommendations.related(&me.sku).await.unwrap();
            let peers: Vec<_> = products
                .iter()
                .filter(|p| p.category == me.category && p.sku != me.sku)
                .collect();
            assert_eq!(related.len(), peers.len().min(8));
            let scores: Vec<f32> = related
                .iter()
                .map(|sku| {
                    let other = &products[catalog_index(sku)];
                    assert_eq!(other.category, me.category);
                    assert_ne!(other.sku, me.sku);
                    dot(&me.embedding, &other.embedding)
                })
                .collect();
            assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
            // Nothing left out scores better than the last one kept.
            let worst_kept = scores.last().copied().unwrap_or(f32::MAX);
            assert!(
                peers
                    .iter()
                    .filter(|p| !related.contains(&p.sku))
                    .all(|p| dot(&me.embedding, &p.embedding) <= worst_kept)
            );
        }
        assert!(matches!(
            recommendations.related(&sku(200)).await,
            Err(ShopError::NotFound { .. })
        ));
    }

    fn catalog_index(sku: &Sku) -> usize {
        sku.as_str()["SKU-".len()..].parse().unwrap()
    }

    #[tokio::test]
    async fn for_me_excludes_the_history_and_ranks_best_first() {
        let dir = TempDir::new().unwrap();
        let (catalog, recommendations) = build(&dir, RecommendationsConfig::default()).await;
        let products = catalog.embeddings().await.unwrap();
        let history = vec![sku(10), sku(20), Sku::parse("SKU-99999").unwrap()];
        let got = recommendations.for_user(USER, &history, 5).await.unwrap();
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|s| !history.contains(&s.sku)));
        assert!(got.windows(2).all(|w| w[0].score >= w[1].score));

        // Brute force: the taste is the normalised mean of the known history.
        let mut taste: Vec<f32> = products[10]
            .embedding
            .iter()
            .zip(&products[20].embedding)
            .map(|(a, b)| a + b)
            .collect();
        shop_domain::recommendations::normalize(&mut taste);
        let mut all: Vec<(f32, Sku)> = products
            .iter()
            .filter(|p| !history.contains(&p.sku))
            .map(|p| (dot(&taste, &p.embedding), p.sku.clone()))
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0));
        let best: Vec<Sku> = all.into_iter().take(5).map(|(_, sku)| sku).collect();
        let got_skus: Vec<Sku> = got.iter().map(|s| s.sku.clone()).collect();
        assert_eq!(got_skus, best);

        for limit in [0, 51] {
            assert!(matches!(
                recommendations.for_user(USER, &history, limit).await,
                Err(ShopError::Invalid { .. })
            ));
        }
    }

    const USER: UserId = UserId(5);

    #[tokio::test]
    async fn strangers_get_a_stable_taste_of_their_own() {
        let dir = TempDir::new().unwrap();
        let (_, recommendations) = build(&dir, RecommendationsConfig::default()).await;
        let a = recommendations.for_user(UserId(1), &[], 10).await.unwrap();
        let b = recommendations.for_user(UserId(2), &[], 10).await.unwrap();
        assert_eq!(a.len(), 10);
        assert_ne!(a, b);
        assert_eq!(
            a,
            recommendations.for_user(UserId(1), &[], 10).await.unwrap()
        );
        // Unknown history counts as no history.
        let unknown = [Sku::parse("SKU-99999").unwrap()];
        assert_eq!(
            a,
            recommendations
                .for_user(UserId(1), &unknown, 10)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn more_scoring_rounds_cost_more_but_answer_the_same() {
        let dir = TempDir::new().unwrap();
        let (catalog, one) = build(&dir, RecommendationsConfig::default()).await;
        let three = LocalRecommendations::build(
            &catalog,
            RecommendationsConfig {
                scoring_rounds: 3,
                related: 4,
            },
        )
        .await
        .unwrap();
        let history = [sku(3)];
        assert_eq!(
            one.for_user(USER, &history, 7).await.unwrap(),
            three.for_user(USER, &history, 7).await.unwrap()
        );
        assert_eq!(three.related(&sku(3)).await.unwrap().len(), 4);
        assert!(
            LocalRecommendations::build(
                &catalog,
                RecommendationsConfig {
                    scoring_rounds: 0,
                    related: 4
                }
            )
            .await
            .is_err()
        );
    }
}

mod users {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::new(b"a-test-key-of-enough-bytes").unwrap()
    }

    fn open(dir: &TempDir) -> LocalUsers {
        let config = UsersConfig {
            password_iterations: 64,
            ..UsersConfig::new(key())
        };
        LocalUsers::open(&db_path(dir), config).unwrap()
    }

    fn name(raw: &str) -> Username {
        Username::parse(raw).unwrap()
    }

    fn password(raw: &str) -> Password {
        Password::parse(raw).unwrap()
    }

    #[tokio::test]
    async fn register_then_login_issues_a_token_the_key_verifies() {
        let dir = TempDir::new().unwrap();
        let users = open(&dir);
        let alice = users
            .register(&name("alice"), &password("correct horse"))
            .await
            .unwrap();
        let bob = users
            .register(&name("bob"), &password("correct horse"))
            .await
            .unwrap();
        assert_ne!(alice, bob);

        let session = users
            .login(&name("alice"), &password("correct horse"))
            .await
            .unwrap();
        assert_eq!(session.user, alice);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let ttl = UsersConfig::DEFAULT_TOKEN_TTL.as_secs();
        assert!((now + ttl - 5..=now + ttl + 5).contains(&session.expires_at));
        assert_eq!(key().verify(&session.token, now).unwrap(), alice);
        let other_key = TokenKey::new(b"some-other-key-0123456").unwrap();
        assert!(other_key.verify(&session.token, now).is_err());

        // Survives a reopen.
        drop(users);
        let users = open(&dir);
        assert_eq!(
            users
                .login(&name("bob"), &password("correct horse"))
                .await
                .unwrap()
                .user,
            bob
        );
    }

    #[tokio::test]
    async fn duplicates_and_wrong_passwords_are_refused_alike() {
        let dir = TempDir::new().unwrap();
        let users = open(&dir);
        users
            .register(&name("carol"), &password("password-1"))
            .await
            .unwrap();
        let err = users
            .register(&name("carol"), &password("password-2"))
            .await
            .unwrap_err();
        assert!(is_conflict(&err, ConflictCode::UsernameTaken), "{err}");
        // The first registration's password still holds.
        users
            .login(&name("carol"), &password("password-1"))
            .await
            .unwrap();

        let wrong = users
            .login(&name("carol"), &password("password-2"))
            .await
            .unwrap_err();
        let unknown = users
            .login(&name("dave"), &password("password-1"))
            .await
            .unwrap_err();
        assert_eq!(wrong, ShopError::unauthorized("wrong username or password"));
        assert_eq!(wrong, unknown);
        assert!(
            LocalUsers::open(
                &db_path(&dir),
                UsersConfig {
                    password_iterations: 0,
                    ..UsersConfig::new(key())
                }
            )
            .is_err()
        );
    }
}
