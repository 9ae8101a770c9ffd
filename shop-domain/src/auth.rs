//! Signed session tokens: issued by users at login, verified locally everywhere.
//!
//! Format: `<user>.<expires_at>.<mac>`, where `mac` is the URL-safe base64 of
//! HMAC-SHA256 over `<user>.<expires_at>` with the shared key. Verification needs
//! only the key, so no component calls users to check a token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{ShopError, UserId};

type HmacSha256 = Hmac<Sha256>;

/// Now, in Unix seconds (0 if the clock is before 1970): the time base of token expiry
/// and of every stored timestamp.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// The shared secret that signs and verifies tokens.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// At least 16 bytes, so that a short typo cannot become a guessable key.
    pub fn new(secret: &[u8]) -> Result<Self, ShopError> {
        if secret.len() < 16 {
            return Err(ShopError::invalid("token key", "must be at least 16 bytes"));
        }
        Ok(Self(secret.to_vec()))
    }

    fn mac(&self, claims: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(claims.as_bytes());
        mac
    }

    /// A token for `user`, valid until `expires_at` (Unix seconds).
    pub fn issue(&self, user: UserId, expires_at: u64) -> String {
        let claims = format!("{user}.{expires_at}");
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&claims).finalize().into_bytes());
        format!("{claims}.{tag}")
    }

    /// The user a token speaks for, if it is well-formed, signed with this key and not
    /// expired at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: u64) -> Result<UserId, ShopError> {
        let malformed = || ShopError::unauthorized("malformed token");
        let (claims, tag) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (user, expires_at) = claims.split_once('.').ok_or_else(malformed)?;
        let user: u64 = user.parse().map_err(|_| malformed())?;
        let expires_at: u64 = expires_at.parse().map_err(|_| malformed())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| malformed())?;
        self.mac(claims)
            .verify_slice(&tag)
            .map_err(|_| ShopError::unauthorized("bad token signature"))?;
        if expires_at <= now {
            return Err(ShopError::unauthorized("token expired"));
        }
        Ok(UserId(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::new(b"0123456789abcdef-test").unwrap()
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let token = key().issue(UserId(42), 1_000);
        assert_eq!(key().verify(&token, 999).unwrap(), UserId(42));
        assert!(matches!(
            key().verify(&token, 1_000),
            Err(ShopError::Unauthorized { .. })
        ));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_refused() {
        let token = key().issue(UserId(42), 1_000);
        let forged = token.replacen("42.", "43.", 1);
        assert!(key().verify(&forged, 0).is_err());
        let other = TokenKey::new(b"another-key-of-16-bytes").unwrap();
        assert!(other.verify(&token, 0).is_err());
        for junk in ["", "a.b", "1.2.", "x.y.z", "1.2.!!!"] {
            assert!(key().verify(junk, 0).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(TokenKey::new(b"short").is_err());
    }
}
