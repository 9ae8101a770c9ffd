//! Validated domain values. Each one can only be built through `parse` or `new`,
//! so a value that exists is a value that is valid.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ShopError;

/// A stock-keeping unit: `SKU-` followed by up to 12 digits (`SKU-00042`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    /// The longest SKU accepted, in bytes.
    pub const MAX_LEN: usize = 16;

    pub fn parse(raw: &str) -> Result<Self, ShopError> {
        let digits = raw
            .strip_prefix("SKU-")
            .ok_or_else(|| ShopError::invalid("sku", "must look like SKU-00042"))?;
        if raw.len() > Self::MAX_LEN
            || digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ShopError::invalid("sku", "must look like SKU-00042"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The SKU of the `index`-th generated product.
    pub fn from_index(index: usize) -> Self {
        Self(format!("SKU-{index:05}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = ShopError;
    fn try_from(raw: String) -> Result<Self, ShopError> {
        Self::parse(&raw)
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> String {
        sku.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many units of one product a cart line or an order line holds: 1 to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 99;

    pub fn new(units: u32) -> Result<Self, ShopError> {
        if units == 0 || units > Self::MAX {
            return Err(ShopError::invalid("quantity", "must be between 1 and 99"));
        }
        Ok(Self(units))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = ShopError;
    fn try_from(units: u32) -> Result<Self, ShopError> {
        Self::new(units)
    }
}

impl From<Quantity> for u32 {
    fn from(q: Quantity) -> u32 {
        q.0
    }
}

/// An amount of money in cents. Never negative; arithmetic is checked.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(pub u64);

impl Cents {
    /// `self * units`, or an error when it would overflow.
    pub fn times(self, units: u32) -> Result<Cents, ShopError> {
        self.0
            .checked_mul(u64::from(units))
            .map(Cents)
            .ok_or_else(|| ShopError::invalid("amount", "too large"))
    }

    pub fn plus(self, other: Cents) -> Result<Cents, ShopError> {
        self.0
            .checked_add(other.0)
            .map(Cents)
            .ok_or_else(|| ShopError::invalid("amount", "too large"))
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "u64", into = "u64")]
        pub struct $name(pub u64);

        impl TryFrom<u64> for $name {
            type Error = ShopError;
            fn try_from(raw: u64) -> Result<Self, ShopError> {
                if (1..=Self::MAX).contains(&raw) {
                    Ok(Self(raw))
                } else {
                    Err(ShopError::invalid($field, "must be a whole number from 1 to 9223372036854775807"))
                }
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        impl $name {
            /// The largest id a component issues (ids are SQLite rowids).
            pub const MAX: u64 = i64::MAX as u64;

            /// Parses an id given by a client: decimal digits, `1..=MAX`.
            pub fn parse(raw: &str) -> Result<Self, ShopError> {
                // Out of range of u64 at all reads as out of range (0 is refused below too).
                Self::try_from(raw.parse::<u64>().unwrap_or(0))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A registered user, as issued by the users component.
    UserId,
    "user_id"
);
id_type!(
    /// An order, as issued by the orders component when a checkout starts.
    OrderId,
    "order_id"
);

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr, $allowed:expr, $rule:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, ShopError> {
                let len = raw.chars().count();
                let allowed: fn(char) -> bool = $allowed;
                if !($min..=$max).contains(&len) || !raw.chars().all(allowed) {
                    return Err(ShopError::invalid($field, $rule));
                }
                Ok(Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ShopError;
            fn try_from(raw: String) -> Result<Self, ShopError> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

text_type!(
    /// A login name: 3 to 32 letters, digits, `_`, `-` or `.`.
    Username,
    "username",
    3,
    32,
    |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
    "must be 3 to 32 letters, digits, '_', '-' or '.'"
);
text_type!(
    /// A password as typed: 8 to 128 printable characters. Never logged.
    Password,
    "password",
    8,
    128,
    |c| !c.is_control(),
    "must be 8 to 128 printable characters"
);
text_type!(
    /// A client-chosen key that makes a retried checkout return the first one's result.
    IdempotencyKey,
    "idempotency_key",
    1,
    64,
    |c| c.is_ascii_graphic(),
    "must be 1 to 64 printable ASCII characters"
);
text_type!(
    /// A product category name (`garden`, `books`, ...).
    Category,
    "category",
    1,
    32,
    |c| c.is_ascii_lowercase() || c == '-',
    "must be 1 to 32 lowercase letters or '-'"
);
text_type!(
    /// A card number as the payment processor sees it: 12 to 19 digits.
    CardNumber,
    "card_number",
    12,
    19,
    |c| c.is_ascii_digit(),
    "must be 12 to 19 digits"
);
text_type!(
    /// A free-text search: 1 to 64 characters.
    SearchText,
    "q",
    1,
    64,
    |c| !c.is_control(),
    "must be 1 to 64 printable characters"
);

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Username").field(&self.0).finish()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.0).finish()
    }
}

impl fmt::Debug for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Category").field(&self.0).finish()
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last4 = &self.0[self.0.len() - 4..];
        write!(f, "CardNumber(****{last4})")
    }
}

impl fmt::Debug for SearchText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SearchText").field(&self.0).finish()
    }
}

impl CardNumber {
    /// The test card every processor knows: always approved (unless the configured
    /// random decline rate says otherwise).
    pub fn test_approved() -> Self {
        Self("4242424242424242".to_owned())
    }

    /// Cards ending in `0002` are declined, as with the common processors' test cards.
    pub fn is_test_decline(&self) -> bool {
        self.0.ends_with("0002")
    }
}

/// One page of a listing: `page` from 1, `per_page` from 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPage")]
pub struct Page {
    page: u32,
    per_page: u32,
}

/// A page as it arrives, before [`Page::new`] checks it.
#[derive(Deserialize)]
struct RawPage {
    page: u32,
    per_page: u32,
}

impl TryFrom<RawPage> for Page {
    type Error = ShopError;
    fn try_from(raw: RawPage) -> Result<Self, ShopError> {
        Self::new(raw.page, raw.per_page)
    }
}

impl Page {
    pub const MAX_PER_PAGE: u32 = 100;
    /// Deeper pages than this are refused: nobody reads them, and offsets must stay small.
    pub const MAX_PAGE: u32 = 100_000;

    pub fn new(page: u32, per_page: u32) -> Result<Self, ShopError> {
        if page == 0 || page > Self::MAX_PAGE {
            return Err(ShopError::invalid("page", "must be between 1 and 100000"));
        }
        if per_page == 0 || per_page > Self::MAX_PER_PAGE {
            return Err(ShopError::invalid("per_page", "must be between 1 and 100"));
        }
        Ok(Self { page, per_page })
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn per_page(self) -> u32 {
        self.per_page
    }

    /// Index of the first item on this page.
    pub fn offset(self) -> usize {
        (self.page as usize - 1) * self.per_page as usize
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_clients_fit_a_rowid() {
        assert_eq!(OrderId::parse("1").unwrap(), OrderId(1));
        assert_eq!(
            OrderId::parse("9223372036854775807").unwrap().0,
            OrderId::MAX
        );
        for bad in [
            "0",
            "-1",
            "9223372036854775808",
            "18446744073709551616",
            "1e3",
            "",
            " 1",
        ] {
            assert!(OrderId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn sku_accepts_only_the_documented_shape() {
        assert!(Sku::parse("SKU-00042").is_ok());
        for bad in [
            "",
            "SKU-",
            "sku-1",
            "SKU-12a",
            "SKU-1234567890123",
            "PROD-1",
        ] {
            assert!(Sku::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(Sku::from_index(7).as_str(), "SKU-00007");
    }

    #[test]
    fn quantity_bounds() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(100).is_err());
        assert_eq!(Quantity::new(99).unwrap().get(), 99);
    }

    #[test]
    fn money_arithmetic_is_checked() {
        assert_eq!(Cents(250).times(3).unwrap(), Cents(750));
        assert!(Cents(u64::MAX).times(2).is_err());
        assert!(Cents(u64::MAX).plus(Cents(1)).is_err());
        assert_eq!(Cents(1999).to_string(), "19.99");
    }

    #[test]
    fn text_values_validate_length_and_alphabet() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("alice_01").is_ok());
        assert!(Username::parse("alice smith").is_err());
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(65)).is_err());
        assert!(
            CardNumber::parse("4000000000000002")
                .unwrap()
                .is_test_decline()
        );
        assert!(!CardNumber::test_approved().is_test_decline());
        assert_eq!(
            format!("{:?}", CardNumber::test_approved()),
            "CardNumber(****4242)"
        );
        assert_eq!(
            format!("{:?}", Password::parse("hunter2hunter2").unwrap()),
            "Password(..)"
        );
    }

    #[test]
    fn pages_are_bounded() {
        assert!(Page::new(0, 10).is_err());
        assert!(Page::new(1, 0).is_err());
        assert!(Page::new(1, 101).is_err());
        assert_eq!(Page::new(3, 20).unwrap().offset(), 40);
    }

    #[test]
    fn serde_goes_through_validation() {
        // serde is format-agnostic; this only checks that deserialising cannot bypass `parse`.
        let ok: Result<Sku, _> = Sku::try_from("SKU-1".to_owned());
        assert!(ok.is_ok());
        let bad: Result<Quantity, _> = Quantity::try_from(0);
        assert!(bad.is_err());
    }
}
