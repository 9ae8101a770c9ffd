//! The users component: register and log in.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Password, ShopError, UserId, Username};

/// What a login hands back: a signed token any component can verify alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user: UserId,
    pub token: String,
    /// Unix seconds.
    pub expires_at: u64,
}

#[async_trait]
pub trait Users: Send + Sync {
    /// A conflict (`username_taken`) when the name is in use.
    async fn register(&self, username: &Username, password: &Password)
    -> Result<UserId, ShopError>;
    /// Unauthorized for an unknown user or a wrong password (the same answer for both).
    async fn login(&self, username: &Username, password: &Password) -> Result<Session, ShopError>;
}
