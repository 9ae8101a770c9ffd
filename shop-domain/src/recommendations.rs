//! The recommendations component and the scoring it runs.
//!
//! Two faces: *related products* are precomputed once from the embeddings (a cheap
//! lookup on every product page); *for me* scores every product against the user's
//! taste on every request, which makes this the CPU-hot component.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{ShopError, Sku, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub sku: Sku,
    pub score: f32,
}

#[async_trait]
pub trait Recommendations: Send + Sync {
    /// The products most like `sku` in its category (precomputed).
    async fn related(&self, sku: &Sku) -> Result<Vec<Sku>, ShopError>;
    /// The `limit` products closest to the taste `history` reveals, excluding `history` itself.
    async fn for_user(
        &self,
        user: UserId,
        history: &[Sku],
        limit: usize,
    ) -> Result<Vec<Scored>, ShopError>;
}

/// Embeddings of every product in one contiguous row-major matrix, so that scoring
/// is a straight pass over memory.
#[derive(Debug, Clone, Default)]
pub struct EmbeddingMatrix {
    dims: usize,
    values: Vec<f32>,
}

impl EmbeddingMatrix {
    pub fn new(dims: usize) -> Self {
        Self {
            dims,
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, embedding: &[f32]) -> Result<(), ShopError> {
        if embedding.len() != self.dims {
            return Err(ShopError::internal(format!(
                "embedding has {} dimensions, expected {}",
                embedding.len(),
                self.dims
            )));
        }
        self.values.extend_from_slice(embedding);
        Ok(())
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.dims).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn row(&self, index: usize) -> &[f32] {
        &self.values[index * self.dims..(index + 1) * self.dims]
    }

    /// The `k` rows with the highest dot product with `query` among `candidates`,
    /// best first, skipping rows for which `skip` is true.
    pub fn top_k(
        &self,
        query: &[f32],
        k: usize,
        candidates: impl Iterator<Item = usize>,
        skip: impl Fn(usize) -> bool,
    ) -> Vec<(usize, f32)> {
        // A min-heap of the best k so far: its top is the one to beat.
        let mut best: BinaryHeap<MinScore> = BinaryHeap::with_capacity(k + 1);
        for row in candidates {
            if skip(row) {
                continue;
            }
            let score = dot(query, self.row(row));
            if best.len() < k {
                best.push(MinScore { score, row });
            } else if best.peek().is_some_and(|worst| score > worst.score) {
                best.pop();
                best.push(MinScore { score, row });
            }
        }
        let mut out: Vec<(usize, f32)> = best.into_iter().map(|m| (m.row, m.score)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// The mean of some rows, scaled to unit length: a taste profile.
    pub fn centroid(&self, rows: &[usize]) -> Vec<f32> {
        let mut sum = vec![0.0; self.dims];
        for &row in rows {
            for (s, v) in sum.iter_mut().zip(self.row(row)) {
                *s += v;
            }
        }
        normalize(&mut sum);
        sum
    }
}

/// Dot product written so that the compiler vectorises it (eight independent lanes).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for i in 0..8 {
            lanes[i] += ca[i] * cb[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Scales `v` to unit length (leaves a zero vector alone).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[derive(Debug, PartialEq)]
struct MinScore {
    score: f32,
    row: usize,
}

impl Eq for MinScore {}

impl Ord for MinScore {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap's top is the lowest score (ties: the highest row goes first).
        other
            .score
            .total_cmp(&self.score)
            .then(self.row.cmp(&other.row))
    }
}

impl PartialOrd for MinScore {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: &[[f32; 2]]) -> EmbeddingMatrix {
        let mut m = EmbeddingMatrix::new(2);
        for r in rows {
            m.push(r).unwrap();
        }
        m
    }

    #[test]
    fn top_k_returns_the_best_rows_best_first() {
        let m = matrix(&[[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [0.9, 0.1], [-1.0, 0.0]]);
        let top = m.top_k(&[1.0, 0.0], 2, 0..m.len(), |_| false);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![0, 3]);
        let skipping_first = m.top_k(&[1.0, 0.0], 2, 0..m.len(), |r| r == 0);
        assert_eq!(
            skipping_first.iter().map(|t| t.0).collect::<Vec<_>>(),
            vec![3, 2]
        );
    }

    #[test]
    fn dot_matches_the_naive_sum_for_any_length() {
        for len in [0, 1, 7, 8, 9, 64, 67] {
            let a: Vec<f32> = (0..len).map(|i| i as f32 * 0.5).collect();
            let b: Vec<f32> = (0..len).map(|i| 1.0 - i as f32 * 0.25).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!(
                (dot(&a, &b) - naive).abs() < 1e-3 * naive.abs().max(1.0),
                "len {len}"
            );
        }
    }

    #[test]
    fn centroid_is_unit_length() {
        let mut m = matrix(&[[1.0, 0.0], [0.0, 1.0]]);
        let c = m.centroid(&[0, 1]);
        assert!((dot(&c, &c) - 1.0).abs() < 1e-6);
        assert!(m.push(&[1.0]).is_err());
    }
}
