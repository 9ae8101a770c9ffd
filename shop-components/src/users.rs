//! Users: registration, and login that issues a signed token.
//!
//! Passwords are stored as PBKDF2-HMAC-SHA256 hashes with a random 16-byte salt per user.
//! Hashing costs milliseconds of CPU, so it runs on tokio's blocking pool rather than on
//! an async worker, where it would stall every other request queued behind it.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use sha2::Sha256;
use shop_domain::{
    ConflictCode, Password, Session, ShopError, TokenKey, UserId, Username, Users, unix_now,
};
use subtle::ConstantTimeEq;

use crate::db::Db;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
";

/// Length of a stored password hash, in bytes (one SHA-256 block of output).
const HASH_LEN: usize = 32;

/// How users are authenticated.
#[derive(Debug, Clone)]
pub struct UsersConfig {
    /// Signs the tokens that login issues; every component verifies them with the same key.
    pub token_key: TokenKey,
    /// How long a token stays valid after login.
    pub token_ttl: Duration,
    /// PBKDF2 rounds per password hash. The default is deliberately low (see
    /// [`UsersConfig::DEFAULT_PASSWORD_ITERATIONS`]); raise it where logins are rare.
    pub password_iterations: u32,
}

impl UsersConfig {
    /// 4096 rounds: far below what a production system should use, because every simulated
    /// user of a load test logs in at start and the hashing would otherwise dominate the
    /// first seconds of a run. Configurable for anyone who wants realistic costs.
    pub const DEFAULT_PASSWORD_ITERATIONS: u32 = 4096;
    /// Tokens last a day by default: longer than any load test.
    pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

    /// The defaults, with the one thing that has no sensible default: the key.
    pub fn new(token_key: TokenKey) -> Self {
        Self {
            token_key,
            token_ttl: Self::DEFAULT_TOKEN_TTL,
            password_iterations: Self::DEFAULT_PASSWORD_ITERATIONS,
        }
    }
}

/// Users in the component's own SQLite table.
#[derive(Debug)]
pub struct LocalUsers {
    /// Owns `users_users`.
    db: Db,
    /// The signing key, token lifetime and hashing cost.
    config: UsersConfig,
}

impl LocalUsers {
    /// Opens the users in the database at `path`; refuses zero password iterations.
    pub fn open(path: &Path, config: UsersConfig) -> Result<Self, ShopError> {
        if config.password_iterations == 0 {
            return Err(ShopError::invalid(
                "password_iterations",
                "must be at least 1",
            ));
        }
        Ok(Self {
            db: Db::open(path, SCHEMA)?,
            config,
        })
    }

    /// The PBKDF2 hash of `password` with `salt`, computed on the blocking pool.
    async fn hash(&self, password: &Password, salt: Vec<u8>) -> Result<[u8; HASH_LEN], ShopError> {
        let password = password.as_str().to_owned();
        let rounds = self.config.password_iterations;
        tokio::task::spawn_blocking(move || {
            let mut hash = [0; HASH_LEN];
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, rounds, &mut hash);
            hash
        })
        .await
        .map_err(|err| ShopError::internal(format_args!("password hashing failed: {err}")))
    }
}

#[async_trait]
impl Users for LocalUsers {
    async fn register(
        &self,
        username: &Username,
        password: &Password,
    ) -> Result<UserId, ShopError> {
        let salt: [u8; 16] = rand::random();
        let hash = self.hash(password, salt.to_vec()).await?;
        let id: Option<u64> = self.db.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "INSERT INTO users_users (username, salt, hash, created_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (username) DO NOTHING
                     RETURNING id",
                )?
                .query_row(params![username.as_str(), salt, hash, unix_now()], |row| {
                    row.get(0)
                })
                .optional()?)
        })?;
        id.map(UserId).ok_or_else(|| {
            ShopError::conflict(
                ConflictCode::UsernameTaken,
                format!("the username {} is taken", username.as_str()),
            )
        })
    }

    async fn login(&self, username: &Username, password: &Password) -> Result<Session, ShopError> {
        let stored: Option<(u64, Vec<u8>, Vec<u8>)> = self.db.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT id, salt, hash FROM users_users WHERE username = ?1")?
                .query_row([username.as_str()], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()?)
        })?;
        // An unknown user costs a hash too, so timing does not tell which names exist.
        let (user, salt, expected) = stored.unwrap_or_else(|| (0, vec![0; 16], Vec::new()));
        let hash = self.hash(password, salt).await?;
        if expected.is_empty() || !bool::from(hash.ct_eq(&expected)) {
            return Err(ShopError::unauthorized("wrong username or password"));
        }
        let expires_at = unix_now() + self.config.token_ttl.as_secs();
        Ok(Session {
            user: UserId(user),
            token: self.config.token_key.issue(UserId(user), expires_at),
            expires_at,
        })
    }
}
