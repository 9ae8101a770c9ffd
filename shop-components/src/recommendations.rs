//! Recommendations: related products (precomputed) and "for me" (scored per request).
//!
//! No storage: everything here is derived from the catalog's embeddings, which are fixed
//! by the seed, so it is rebuilt at start-up instead of being kept in sync with a table.
//!
//! "For me" scores every product on every request: it is the CPU-hot component by design,
//! and [`RecommendationsConfig::scoring_rounds`] turns that cost up for experiments.

use std::collections::HashMap;
use std::hint::black_box;

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shop_domain::recommendations::normalize;
use shop_domain::{
    Catalog, Category, EmbeddingMatrix, Recommendations, Scored, ShopError, Sku, UserId,
};

/// The most recommendations one "for me" request may ask for.
pub const MAX_LIMIT: usize = 50;

/// How much work recommendations do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecommendationsConfig {
    /// How many related products are precomputed per product.
    pub related: usize,
    /// How many times each "for me" request scores the whole catalog (at least 1): a knob
    /// for the CPU cost per request, with the answer unchanged.
    pub scoring_rounds: u32,
}

impl Default for RecommendationsConfig {
    fn default() -> Self {
        Self {
            related: 8,
            scoring_rounds: 1,
        }
    }
}

/// Embeddings in memory, with each product's related products precomputed.
pub struct LocalRecommendations {
    /// Every product's SKU in catalog order; a row of `matrix` is a position in here.
    skus: Vec<Sku>,
    /// Finds a product's row by SKU.
    rows: HashMap<Sku, usize>,
    /// Every product's embedding, one row each, for one pass of scoring over memory.
    matrix: EmbeddingMatrix,
    /// Each product's related products, best first, by row.
    related: Vec<Vec<Sku>>,
    /// How many rounds a "for me" request scores.
    scoring_rounds: u32,
}

impl std::fmt::Debug for LocalRecommendations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRecommendations")
            .field("products", &self.skus.len())
            .field("dims", &self.matrix.dims())
            .field("scoring_rounds", &self.scoring_rounds)
            .finish_non_exhaustive()
    }
}

impl LocalRecommendations {
    /// Loads the catalog's embeddings and precomputes, for every product, the
    /// `config.related` most similar other products of its category.
    pub async fn build(
        catalog: &dyn Catalog,
        config: RecommendationsConfig,
    ) -> Result<Self, ShopError> {
        if config.scoring_rounds == 0 {
            return Err(ShopError::invalid("scoring_rounds", "must be at least 1"));
        }
        let items = catalog.embeddings().await?;
        let dims = items.first().map_or(0, |item| item.embedding.len());
        if dims == 0 {
            return Err(ShopError::internal("the catalog has no embeddings"));
        }
        let mut matrix = EmbeddingMatrix::new(dims);
        let mut skus = Vec::with_capacity(items.len());
        let mut by_category: HashMap<Category, Vec<usize>> = HashMap::new();
        for (row, item) in items.into_iter().enumerate() {
            matrix.push(&item.embedding)?;
            by_category.entry(item.category).or_default().push(row);
            skus.push(item.sku);
        }
        let mut related = vec![Vec::new(); skus.len()];
        for members in by_category.values() {
            for &row in members {
                related[row] = matrix
                    .top_k(
                        matrix.row(row),
                        config.related,
                        members.iter().copied(),
                        |other| other == row,
                    )
                    .into_iter()
                    .map(|(other, _)| skus[other].clone())
                    .collect();
            }
        }
        let rows = skus
            .iter()
            .enumerate()
            .map(|(row, sku)| (sku.clone(), row))
            .collect();
        Ok(Self {
            skus,
            rows,
            matrix,
            related,
            scoring_rounds: config.scoring_rounds,
        })
    }

    /// A fixed pseudo-random taste for a user with no history, so that a new user still
    /// gets varied recommendations, and costs as much to score as anyone else.
    fn taste_of_stranger(&self, user: UserId) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(user.0);
        let mut taste: Vec<f32> = (0..self.matrix.dims())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        normalize(&mut taste);
        taste
    }
}

#[async_trait]
impl Recommendations for LocalRecommendations {
    async fn related(&self, sku: &Sku) -> Result<Vec<Sku>, ShopError> {
        let row = self
            .rows
            .get(sku)
            .ok_or_else(|| ShopError::not_found(format_args!("product {sku}")))?;
        Ok(self.related[*row].clone())
    }

    async fn for_user(
        &self,
        user: UserId,
        history: &[Sku],
        limit: usize,
    ) -> Result<Vec<Scored>, ShopError> {
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ShopError::invalid("limit", "must be between 1 and 50"));
        }
        let mut seen: Vec<usize> = history
            .iter()
            .filter_map(|sku| self.rows.get(sku).copied())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        let taste = if seen.is_empty() {
            self.taste_of_stranger(user)
        } else {
            self.matrix.centroid(&seen)
        };
        let mut best = Vec::new();
        for _ in 0..self.scoring_rounds {
            // `black_box` keeps repeated rounds from being folded into one.
            best = black_box(self.matrix.top_k(
                black_box(&taste),
                limit,
                0..self.matrix.len(),
                |row| seen.binary_search(&row).is_ok(),
            ));
        }
        Ok(best
            .into_iter()
            .map(|(row, score)| Scored {
                sku: self.skus[row].clone(),
                score,
            })
            .collect())
    }
}
