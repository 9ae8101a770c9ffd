//! The consistency audit after a fault: what the shop acknowledged must still be there.
//!
//! The generator keeps a [`Ledger`] of every checkout the shop acknowledged (answered
//! 2xx with a confirmed order). After the scenario and a settle time, [`check`] holds it
//! against what the shop says now: each acknowledged order as its owner reads it back
//! (it exists, it is confirmed, for the same total and units), and the books from
//! `/admin/audit` (money, charges and stock balance: [`AuditReport::violations`]).
//! Every broken invariant is one [`Violation`], with the order it concerns.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use shop_domain::AuditReport;

/// A checkout the shop acknowledged, as the shopper saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledged {
    pub order_id: u64,
    pub total_cents: u64,
    pub units: u64,
    /// Whose order it is (`Bearer ...`), to read it back as its owner.
    #[serde(skip)]
    pub authorization: String,
}

/// An order as the shop shows it when read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBack {
    /// `confirmed`, `pending` or `failed`.
    pub status: String,
    pub total_cents: u64,
    pub units: u64,
}

/// Every acknowledged checkout of a run, from all its users.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<Vec<Acknowledged>>,
}

impl Ledger {
    pub fn record(&self, checkout: Acknowledged) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(checkout);
    }

    pub fn entries(&self) -> Vec<Acknowledged> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Violation {
    /// An acknowledged order the shop no longer has: a lost acknowledged write.
    LostOrder { order_id: u64 },
    /// An acknowledged order that is not confirmed any more.
    NotConfirmed { order_id: u64, status: String },
    /// An acknowledged order whose total or units changed.
    Altered {
        order_id: u64,
        acknowledged: (u64, u64),
        now: (u64, u64),
    },
    /// The books do not balance (money, charges, stock), in words.
    Books { detail: String },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::LostOrder { order_id } => {
                write!(f, "order {order_id} was acknowledged and is gone")
            }
            Violation::NotConfirmed { order_id, status } => {
                write!(f, "order {order_id} was acknowledged and is now {status}")
            }
            Violation::Altered {
                order_id,
                acknowledged,
                now,
            } => write!(
                f,
                "order {order_id} was acknowledged at {} cents for {} units and reads {} cents for {} units",
                acknowledged.0, acknowledged.1, now.0, now.1
            ),
            Violation::Books { detail } => f.write_str(detail),
        }
    }
}

/// Reads back every order of `ledger` from the shop at `url` (each as its owner) and its
/// books (`/admin/audit` with `admin_token`), and checks them. An answer that is
/// neither the order nor "not found" is an error, not a verdict.
pub async fn audit(
    url: &str,
    admin_token: &str,
    ledger: &[Acknowledged],
) -> Result<Vec<Violation>> {
    let client = client()?;
    let books = books(&client, url, admin_token).await?;
    let mut read_back = BTreeMap::new();
    for order in ledger {
        let response = client
            .get(format!("{url}/api/orders/{}", order.order_id))
            .header("authorization", &order.authorization)
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            continue;
        }
        let body: serde_json::Value = response
            .error_for_status()
            .with_context(|| format!("reading order {} back", order.order_id))?
            .json()
            .await?;
        let units = body["lines"]
            .as_array()
            .map(|lines| lines.iter().filter_map(|l| l["quantity"].as_u64()).sum())
            .unwrap_or(0);
        read_back.insert(
            order.order_id,
            ReadBack {
                status: body["status"].as_str().unwrap_or("unknown").to_owned(),
                total_cents: body["total_cents"].as_u64().unwrap_or(0),
                units,
            },
        );
    }
    Ok(check(
        ledger,
        |a| read_back.get(&a.order_id).cloned(),
        &books,
    ))
}

/// Waits until the shop at `url` has settled every order (none pending, none with its
/// stock commit or cart cleanup still to do), for at most `limit`; answers whether it
/// did. A shop that does not answer yet (a process still restarting) is waited for
/// too; if it never does, that is the error.
pub async fn settle(url: &str, admin_token: &str, limit: Duration) -> Result<bool> {
    let client = client()?;
    let until = Instant::now() + limit;
    loop {
        match books(&client, url, admin_token).await {
            Ok(books) if books.orders.pending == 0 && books.orders.unsettled == 0 => {
                return Ok(true);
            }
            Ok(_) if Instant::now() >= until => return Ok(false),
            Err(e) if Instant::now() >= until => return Err(e),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?)
}

/// The shop's books, from `/admin/audit`.
async fn books(client: &reqwest::Client, url: &str, admin_token: &str) -> Result<AuditReport> {
    client
        .get(format!("{url}/admin/audit"))
        .header("x-admin-token", admin_token)
        .send()
        .await?
        .error_for_status()
        .context("reading /admin/audit")?
        .json()
        .await
        .context("reading /admin/audit")
}

/// Holds `ledger` against the orders as read back (`read_back` answers `None` for an
/// order the shop does not have) and against `books`.
pub fn check(
    ledger: &[Acknowledged],
    read_back: impl Fn(&Acknowledged) -> Option<ReadBack>,
    books: &AuditReport,
) -> Vec<Violation> {
    let mut found = Vec::new();
    for acknowledged in ledger {
        let order_id = acknowledged.order_id;
        match read_back(acknowledged) {
            None => found.push(Violation::LostOrder { order_id }),
            Some(now) if now.status != "confirmed" => found.push(Violation::NotConfirmed {
                order_id,
                status: now.status,
            }),
            Some(now)
                if (now.total_cents, now.units)
                    != (acknowledged.total_cents, acknowledged.units) =>
            {
                found.push(Violation::Altered {
                    order_id,
                    acknowledged: (acknowledged.total_cents, acknowledged.units),
                    now: (now.total_cents, now.units),
                })
            }
            Some(_) => {}
        }
    }
    // Every acknowledged order is a confirmed one: the shop cannot have fewer.
    if books.orders.confirmed < ledger.len() as u64 {
        found.push(Violation::Books {
            detail: format!(
                "{} orders acknowledged, {} confirmed",
                ledger.len(),
                books.orders.confirmed
            ),
        });
    }
    found.extend(
        books
            .violations()
            .into_iter()
            .map(|detail| Violation::Books { detail }),
    );
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acknowledged(order_id: u64, total_cents: u64, units: u64) -> Acknowledged {
        Acknowledged {
            order_id,
            total_cents,
            units,
            authorization: format!("Bearer user-of-{order_id}"),
        }
    }

    fn confirmed(total_cents: u64, units: u64) -> ReadBack {
        ReadBack {
            status: "confirmed".to_owned(),
            total_cents,
            units,
        }
    }

    /// The shop's state after two confirmed orders (3 units for 300 cents, 1 for 50),
    /// its books balanced: 100 units in stock at the start.
    fn balanced() -> (Vec<Acknowledged>, BTreeMap<u64, ReadBack>, AuditReport) {
        let ledger = vec![acknowledged(1, 300, 3), acknowledged(2, 50, 1)];
        let orders = BTreeMap::from([(1, confirmed(300, 3)), (2, confirmed(50, 1))]);
        let mut books = AuditReport::default();
        books.inventory.skus = 2;
        books.inventory.initial = 100;
        books.inventory.available = 96;
        books.inventory.committed = 4;
        books.payments.charges = 2;
        books.payments.captured = 2;
        books.payments.captured_cents = 350;
        books.orders.confirmed = 2;
        books.orders.confirmed_cents = 350;
        books.orders.confirmed_units = 4;
        (ledger, orders, books)
    }

    fn run(
        ledger: &[Acknowledged],
        orders: &BTreeMap<u64, ReadBack>,
        books: &AuditReport,
    ) -> Vec<Violation> {
        check(ledger, |a| orders.get(&a.order_id).cloned(), books)
    }

    #[test]
    fn a_shop_that_kept_everything_has_no_violations() {
        let (ledger, orders, books) = balanced();
        assert_eq!(run(&ledger, &orders, &books), vec![]);
    }

    #[test]
    fn a_lost_acknowledged_order_is_reported_as_exactly_that() {
        let (ledger, mut orders, mut books) = balanced();
        // Order 2 is gone, and with it its row in every total.
        orders.remove(&2);
        books.orders.confirmed = 1;
        books.orders.confirmed_cents = 300;
        books.orders.confirmed_units = 3;
        books.payments.captured = 1;
        books.payments.captured_cents = 300;
        books.inventory.available = 97;
        books.inventory.committed = 3;
        assert_eq!(
            run(&ledger, &orders, &books),
            vec![
                Violation::LostOrder { order_id: 2 },
                Violation::Books {
                    detail: "2 orders acknowledged, 1 confirmed".to_owned()
                },
            ]
        );
    }

    #[test]
    fn a_double_charge_is_reported_by_the_books() {
        let (ledger, orders, mut books) = balanced();
        books.payments.charges = 3;
        books.payments.captured = 3;
        books.payments.captured_cents = 650;
        let found = run(&ledger, &orders, &books);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|v| matches!(v, Violation::Books { .. })));
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert!(text[0].contains("captured 650 cents"), "{text:?}");
        assert!(text[1].contains("3 captured, 2 confirmed"), "{text:?}");
    }

    #[test]
    fn an_order_rolled_back_or_changed_after_its_acknowledgement_is_reported() {
        let (ledger, mut orders, books) = balanced();
        orders.insert(
            1,
            ReadBack {
                status: "failed".to_owned(),
                ..confirmed(300, 3)
            },
        );
        orders.insert(2, confirmed(60, 1));
        assert_eq!(
            run(&ledger, &orders, &books),
            vec![
                Violation::NotConfirmed {
                    order_id: 1,
                    status: "failed".to_owned()
                },
                Violation::Altered {
                    order_id: 2,
                    acknowledged: (50, 1),
                    now: (60, 1)
                },
            ]
        );
    }

    #[test]
    fn the_ledger_keeps_what_every_user_recorded() {
        let ledger = Ledger::default();
        std::thread::scope(|s| {
            for id in 0..4 {
                let ledger = &ledger;
                s.spawn(move || ledger.record(acknowledged(id, 10, 1)));
            }
        });
        let mut ids: Vec<u64> = ledger.entries().iter().map(|a| a.order_id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [0, 1, 2, 3]);
    }
}
