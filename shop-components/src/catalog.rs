//! The catalog: seeded once into SQLite, then served from memory.
//!
//! Products never change after seeding, so every read is answered from an immutable
//! in-memory copy: no lock, no query, no allocation beyond the answer. This is what lets a
//! product page approach the speed of a static response. The table exists so that the
//! data has one durable home (and a reopened file proves it holds the same seed).

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use rusqlite::{Connection, params};
use shop_domain::seed::{self, CATEGORIES};
use shop_domain::{
    Catalog, Category, Cents, ItemEmbedding, Page, Product, ProductList, ProductSummary,
    SearchText, SeedConfig, ShopError, Sku,
};

use crate::db::{Db, DbError, first_seeding};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS catalog_products (
    position INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price INTEGER NOT NULL,
    description TEXT NOT NULL,
    -- little-endian f32s
    embedding BLOB NOT NULL
);
";

/// The catalog, held in memory. "SKU order" below is the order the seed generates
/// products in, which is the numeric order of their SKUs.
pub struct LocalCatalog {
    /// Every product in SKU order; an index into this vector names a product everywhere below.
    products: Vec<Product>,
    /// Each product's embedding, by the same index: only `embeddings` reads them, so they
    /// stay out of `Product` and off the product page.
    embeddings: Vec<Vec<f32>>,
    /// Finds a product's index by SKU, for `get` and `summaries`.
    by_sku: HashMap<Sku, usize>,
    /// Each known category's products in SKU order, for filtered listing. Every category of
    /// [`CATEGORIES`] has an entry, possibly empty, so that only unknown ones are not found.
    by_category: HashMap<Category, Vec<usize>>,
    /// Lowercased word -> ascending indexes of products whose name or description has it:
    /// which products match a search.
    words: HashMap<String, Vec<usize>>,
    /// Lowercased word -> ascending indexes of products whose name has it: how matches rank.
    name_words: HashMap<String, Vec<usize>>,
}

impl std::fmt::Debug for LocalCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCatalog")
            .field("products", &self.products.len())
            .finish_non_exhaustive()
    }
}

impl LocalCatalog {
    /// Opens the catalog in the database at `path`. The first open writes the products
    /// generated from `seed` (in one transaction); later opens check that the file was
    /// seeded with the same configuration. Either way the products are then loaded into
    /// memory and the connection is closed: nothing is read from SQLite again.
    pub fn open(path: &Path, seed: &SeedConfig) -> Result<Self, ShopError> {
        let db = Db::open(path, SCHEMA)?;
        db.write(|tx| {
            if first_seeding(tx, "catalog_meta", seed)? {
                write_seed(tx, &seed::generate(seed)?)?;
            }
            Ok(())
        })?;
        let (products, embeddings) = db.read(|conn| load_products(conn, seed.embedding_dims))?;
        if products.len() != seed.products {
            return Err(ShopError::internal(format_args!(
                "{}: catalog_products holds {} products, the seed says {}",
                path.display(),
                products.len(),
                seed.products
            )));
        }
        Self::from_products(products, embeddings)
    }

    fn from_products(products: Vec<Product>, embeddings: Vec<Vec<f32>>) -> Result<Self, ShopError> {
        let mut by_category = CATEGORIES
            .iter()
            .map(|name| Ok((Category::parse(name)?, Vec::new())))
            .collect::<Result<HashMap<_, _>, ShopError>>()?;
        let mut by_sku = HashMap::with_capacity(products.len());
        let mut words: HashMap<String, Vec<usize>> = HashMap::new();
        let mut name_words: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, product) in products.iter().enumerate() {
            by_sku.insert(product.sku.clone(), index);
            by_category
                .entry(product.category.clone())
                .or_default()
                .push(index);
            let in_name = distinct_words(&product.name);
            let mut anywhere = distinct_words(&product.description);
            anywhere.extend(in_name.iter().cloned());
            anywhere.sort_unstable();
            anywhere.dedup();
            // Indexes grow with the loop, so every posting list stays sorted and unique.
            for word in in_name {
                name_words.entry(word).or_default().push(index);
            }
            for word in anywhere {
                words.entry(word).or_default().push(index);
            }
        }
        Ok(Self {
            products,
            embeddings,
            by_sku,
            by_category,
            words,
            name_words,
        })
    }

    /// The summaries of one page of `indexes`.
    fn page_of(&self, indexes: impl Iterator<Item = usize>, page: Page) -> Vec<ProductSummary> {
        indexes
            .skip(page.offset())
            .take(page.per_page() as usize)
            .map(|index| ProductSummary::from(&self.products[index]))
            .collect()
    }

    fn index_of(&self, sku: &Sku) -> Result<usize, ShopError> {
        self.by_sku
            .get(sku)
            .copied()
            .ok_or_else(|| ShopError::not_found(format_args!("product {sku}")))
    }

    /// Indexes of the products that have every word of `text` in their name or description:
    /// those with more of the words in their name first, then in SKU order.
    fn search_indexes(&self, text: &str, limit: usize) -> Vec<usize> {
        let query = distinct_words(text);
        let mut postings = Vec::with_capacity(query.len());
        for word in &query {
            match self.words.get(word) {
                Some(products) => postings.push(products.as_slice()),
                None => return Vec::new(),
            }
        }
        // Walk the rarest word's list and probe the others.
        postings.sort_by_key(|products| products.len());
        let Some((rarest, others)) = postings.split_first() else {
            return Vec::new();
        };
        let in_name = |index: usize| {
            query
                .iter()
                .filter(|word| {
                    self.name_words
                        .get(*word)
                        .is_some_and(|products| products.binary_search(&index).is_ok())
                })
                .count()
        };
        let mut ranked: Vec<(usize, usize)> = rarest
            .iter()
            .copied()
            .filter(|index| others.iter().all(|p| p.binary_search(index).is_ok()))
            .map(|index| (in_name(index), index))
            .collect();
        ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked
            .into_iter()
            .take(limit)
            .map(|(_, index)| index)
            .collect()
    }
}

/// The lowercased words of `text` (runs of letters and digits), sorted, without repeats.
fn distinct_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

fn write_seed(tx: &rusqlite::Transaction<'_>, items: &[seed::SeedItem]) -> Result<(), DbError> {
    let mut insert = tx.prepare(
        "INSERT INTO catalog_products (position, sku, name, category, price, description, embedding)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (position, item) in items.iter().enumerate() {
        let p = &item.product;
        let embedding: Vec<u8> = item
            .embedding
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        insert.execute(params![
            position,
            p.sku.as_str(),
            p.name,
            p.category.as_str(),
            p.price.0,
            p.description,
            embedding
        ])?;
    }
    Ok(())
}

/// Products and their embeddings, in SKU order.
type Loaded = (Vec<Product>, Vec<Vec<f32>>);

fn load_products(conn: &Connection, dims: usize) -> Result<Loaded, DbError> {
    let mut select = conn.prepare(
        "SELECT sku, name, category, price, description, embedding
         FROM catalog_products ORDER BY position",
    )?;
    let mut rows = select.query([])?;
    let (mut products, mut embeddings) = (Vec::new(), Vec::new());
    while let Some(row) = rows.next()? {
        let embedding: Vec<u8> = row.get(5)?;
        if embedding.len() != dims * 4 {
            return Err(ShopError::internal(format_args!(
                "catalog_products: an embedding of {} bytes, expected {dims} f32s",
                embedding.len()
            ))
            .into());
        }
        products.push(Product {
            sku: Sku::parse(&row.get::<_, String>(0)?)?,
            name: row.get(1)?,
            category: Category::parse(&row.get::<_, String>(2)?)?,
            price: Cents(row.get(3)?),
            description: row.get(4)?,
        });
        embeddings.push(
            embedding
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        );
    }
    Ok((products, embeddings))
}

#[async_trait]
impl Catalog for LocalCatalog {
    async fn list(
        &self,
        page: Page,
        category: Option<&Category>,
    ) -> Result<ProductList, ShopError> {
        let (items, total) = match category {
            None => (
                self.page_of(0..self.products.len(), page),
                self.products.len(),
            ),
            Some(category) => {
                let members = self.by_category.get(category).ok_or_else(|| {
                    ShopError::not_found(format_args!("category {}", category.as_str()))
                })?;
                (self.page_of(members.iter().copied(), page), members.len())
            }
        };
        Ok(ProductList {
            items,
            page: page.page(),
            per_page: page.per_page(),
            total: total as u64,
        })
    }

    async fn get(&self, sku: &Sku) -> Result<Product, ShopError> {
        Ok(self.products[self.index_of(sku)?].clone())
    }

    async fn search(
        &self,
        text: &SearchText,
        limit: usize,
    ) -> Result<Vec<ProductSummary>, ShopError> {
        Ok(self
            .search_indexes(text.as_str(), limit)
            .into_iter()
            .map(|index| ProductSummary::from(&self.products[index]))
            .collect())
    }

    async fn summaries(&self, skus: &[Sku]) -> Result<Vec<ProductSummary>, ShopError> {
        skus.iter()
            .map(|sku| Ok(ProductSummary::from(&self.products[self.index_of(sku)?])))
            .collect()
    }

    async fn embeddings(&self) -> Result<Vec<ItemEmbedding>, ShopError> {
        Ok(self
            .products
            .iter()
            .zip(&self.embeddings)
            .map(|(p, embedding)| ItemEmbedding {
                sku: p.sku.clone(),
                category: p.category.clone(),
                embedding: embedding.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_split_on_punctuation_and_deduplicated() {
        assert_eq!(
            distinct_words("Heavy-duty LAMP, lamp!  42"),
            vec!["42", "duty", "heavy", "lamp"]
        );
        assert!(distinct_words(" ,;- ").is_empty());
    }

    fn product(index: usize, name: &str, description: &str) -> Product {
        Product {
            sku: Sku::from_index(index),
            name: name.to_owned(),
            category: Category::parse("books").unwrap(),
            price: Cents(100),
            description: description.to_owned(),
        }
    }

    #[test]
    fn search_ranks_more_words_in_the_name_first_then_sku_order() {
        let products = vec![
            product(0, "blue lamp", "a lamp for reading"),
            product(1, "reading lamp", "comes in blue"),
            product(2, "blue reading lamp", "the best of both"),
            product(3, "red lamp", "for reading"),
        ];
        let embeddings = vec![vec![1.0, 0.0]; products.len()];
        let catalog = LocalCatalog::from_products(products, embeddings).unwrap();
        assert_eq!(catalog.search_indexes("Blue READING", 10), vec![2, 0, 1]);
        assert_eq!(catalog.search_indexes("reading blue", 2), vec![2, 0]);
        assert_eq!(catalog.search_indexes("lamp", 10), vec![0, 1, 2, 3]);
        assert_eq!(catalog.search_indexes("reading", 10), vec![1, 2, 0, 3]);
        assert!(catalog.search_indexes("blue zeppelin", 10).is_empty());
        assert!(catalog.search_indexes("!!", 10).is_empty());
    }
}
