//! Deterministic seed data: the same seed gives the same catalog and stock, byte for byte.
//!
//! Products fall into [`CATEGORIES`]; each category has a random centre in embedding
//! space and its products scatter around it, so "related" and "for me" have real
//! structure to find. The generator is ChaCha8, whose output is fixed by its
//! specification (unlike `StdRng`, which may change between `rand` releases).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{Category, Cents, Product, ShopError, Sku, recommendations::normalize};

pub const CATEGORIES: [&str; 20] = [
    "books",
    "music",
    "games",
    "garden",
    "kitchen",
    "tools",
    "toys",
    "sports",
    "outdoors",
    "office",
    "pets",
    "baby",
    "beauty",
    "health",
    "grocery",
    "shoes",
    "jewelry",
    "automotive",
    "electronics",
    "home",
];

const ADJECTIVES: [&str; 24] = [
    "classic",
    "compact",
    "deluxe",
    "eco",
    "ergonomic",
    "foldable",
    "handmade",
    "heavy-duty",
    "light",
    "modern",
    "portable",
    "premium",
    "quiet",
    "rugged",
    "sleek",
    "smart",
    "soft",
    "sturdy",
    "tiny",
    "vintage",
    "waterproof",
    "wireless",
    "wooden",
    "giant",
];
const NOUNS: [&str; 24] = [
    "lamp", "kettle", "bottle", "speaker", "backpack", "notebook", "blanket", "chair", "drill",
    "guitar", "puzzle", "jacket", "mug", "planter", "scarf", "tent", "watch", "brush", "camera",
    "charger", "pillow", "basket", "helmet", "mirror",
];
const COLOURS: [&str; 12] = [
    "red", "blue", "green", "black", "white", "amber", "teal", "grey", "olive", "navy", "coral",
    "plum",
];

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedConfig {
    pub seed: u64,
    pub products: usize,
    /// Length of each embedding. Scoring cost per "for me" request grows with
    /// `products * embedding_dims`.
    pub embedding_dims: usize,
}

impl Default for SeedConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            products: 10_000,
            embedding_dims: 128,
        }
    }
}

impl SeedConfig {
    pub fn validate(&self) -> Result<(), ShopError> {
        // SKUs have five digits, so that their string order is their generation order.
        if !(1..=100_000).contains(&self.products) {
            return Err(ShopError::invalid(
                "products",
                "must be between 1 and 100000",
            ));
        }
        if !(2..=1024).contains(&self.embedding_dims) {
            return Err(ShopError::invalid(
                "embedding_dims",
                "must be between 2 and 1024",
            ));
        }
        Ok(())
    }
}

/// A seeded product with the stock inventory starts it with.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedItem {
    pub product: Product,
    /// Unit length, near its category's centre.
    pub embedding: Vec<f32>,
    pub initial_stock: u64,
}

/// The whole seed, in SKU order.
pub fn generate(config: &SeedConfig) -> Result<Vec<SeedItem>, ShopError> {
    config.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let centres: Vec<Vec<f32>> = CATEGORIES
        .iter()
        .map(|_| {
            let mut c: Vec<f32> = (0..config.embedding_dims)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            normalize(&mut c);
            c
        })
        .collect();

    // Per-dimension noise scaled so that the noise vector is about 0.7 the length of
    // the (unit) centre whatever the dimension: products of one category stay clearly
    // closer to each other than to strangers, yet are not all alike.
    let spread = 1.2 / (config.embedding_dims as f32).sqrt();
    let mut items = Vec::with_capacity(config.products);
    for index in 0..config.products {
        let category_index = rng.random_range(0..CATEGORIES.len());
        let adjective = ADJECTIVES[rng.random_range(0..ADJECTIVES.len())];
        let colour = COLOURS[rng.random_range(0..COLOURS.len())];
        let noun = NOUNS[rng.random_range(0..NOUNS.len())];
        let category = CATEGORIES[category_index];
        let name = format!("{adjective} {colour} {noun}");
        let description = format!(
            "A {adjective} {noun} in {colour}, from our {category} range. Item {index} of the seeded catalog."
        );
        // Log-uniform between 1.99 and 499.99: many cheap things, a few dear ones.
        let price =
            (199.0f64 * (rng.random::<f64>() * (49_999.0f64 / 199.0).ln()).exp()).round() as u64;
        let mut embedding: Vec<f32> = centres[category_index]
            .iter()
            .map(|c| c + rng.random_range(-spread..spread))
            .collect();
        normalize(&mut embedding);
        let initial_stock = rng.random_range(20..=500);
        items.push(SeedItem {
            product: Product {
                sku: Sku::from_index(index),
                name,
                category: Category::parse(category)?,
                price: Cents(price),
                description,
            },
            embedding,
            initial_stock,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommendations::dot;

    fn small(seed: u64) -> SeedConfig {
        SeedConfig {
            seed,
            products: 300,
            embedding_dims: 16,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_catalog() {
        assert_eq!(generate(&small(7)).unwrap(), generate(&small(7)).unwrap());
        assert_ne!(generate(&small(7)).unwrap(), generate(&small(8)).unwrap());
    }

    #[test]
    fn products_are_well_formed() {
        let items = generate(&small(1)).unwrap();
        assert_eq!(items.len(), 300);
        for item in &items {
            let p = &item.product;
            assert!((199..=49_999).contains(&p.price.0), "{}", p.price);
            assert!((20..=500).contains(&item.initial_stock));
            assert!((dot(&item.embedding, &item.embedding) - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn products_of_one_category_are_closer_than_strangers() {
        let items = generate(&small(3)).unwrap();
        let (mut same, mut same_n, mut other, mut other_n) = (0.0, 0, 0.0, 0);
        for a in &items[..60] {
            for b in &items[60..120] {
                let s = dot(&a.embedding, &b.embedding);
                if a.product.category == b.product.category {
                    same += s;
                    same_n += 1;
                } else {
                    other += s;
                    other_n += 1;
                }
            }
        }
        assert!(same / same_n as f32 > other / other_n as f32 + 0.4);
    }

    #[test]
    fn absurd_configurations_are_refused() {
        assert!(
            generate(&SeedConfig {
                products: 0,
                ..SeedConfig::default()
            })
            .is_err()
        );
        assert!(
            generate(&SeedConfig {
                embedding_dims: 1,
                ..SeedConfig::default()
            })
            .is_err()
        );
    }
}
