//! How arguments and answers are encoded on the wire: JSON by default, postcard (a
//! compact binary format) where a service's configuration asks for it. The caller
//! chooses per callee; the callee answers in the codec it was asked in.

use std::fmt;
use std::str::FromStr;

use axum::http::HeaderValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A wire format for internal calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// `application/json`: readable, what curl and people speak.
    #[default]
    Json,
    /// `application/x-postcard`: compact and cheap, for the diversification scenario.
    Postcard,
}

/// Why bytes did not decode, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Codec {
    pub const ALL: [Codec; 2] = [Codec::Json, Codec::Postcard];

    pub fn name(self) -> &'static str {
        match self {
            Codec::Json => "json",
            Codec::Postcard => "postcard",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Codec::Json => "application/json",
            Codec::Postcard => "application/x-postcard",
        }
    }

    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.content_type())
    }

    /// The codec a `Content-Type` names; parameters such as `charset` are ignored.
    pub fn from_content_type(value: &HeaderValue) -> Option<Self> {
        let essence = value.to_str().ok()?.split(';').next()?.trim();
        Self::ALL
            .into_iter()
            .find(|codec| essence.eq_ignore_ascii_case(codec.content_type()))
    }

    /// Encoding the shop's own types cannot fail; an error here is a bug.
    pub fn encode<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<u8>, String> {
        match self {
            Codec::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
            Codec::Postcard => postcard::to_stdvec(value).map_err(|e| e.to_string()),
        }
    }

    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, DecodeError> {
        match self {
            Codec::Json => serde_json::from_slice(bytes).map_err(|e| DecodeError(e.to_string())),
            Codec::Postcard => postcard::from_bytes(bytes).map_err(|e| DecodeError(e.to_string())),
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Codec {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|codec| codec.name() == raw)
            .ok_or_else(|| format!("unknown codec {raw:?}: expected json or postcard"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_domain::{
        Category, Cents, ConflictCode, OrderId, Page, Quantity, ShopError, Sku, StockLine,
    };

    #[test]
    fn every_codec_round_trips_the_shop_types() {
        let args = (
            OrderId(7),
            vec![StockLine {
                sku: Sku::parse("SKU-00042").unwrap(),
                quantity: Quantity::new(3).unwrap(),
            }],
            Page::new(2, 20).unwrap(),
            Some(Category::parse("lamps").unwrap()),
            Cents(1999),
        );
        let error = ShopError::conflict(ConflictCode::InsufficientStock, "SKU-00042: 1 left");
        for codec in Codec::ALL {
            let bytes = codec.encode(&args).unwrap();
            assert_eq!(codec.decode::<(_, _, _, _, _)>(&bytes).unwrap(), args);
            let bytes = codec.encode(&error).unwrap();
            assert_eq!(codec.decode::<ShopError>(&bytes).unwrap(), error);
        }
    }

    #[test]
    fn validation_holds_on_the_wire_too() {
        // A quantity of 0 is not a Quantity, whoever sends it.
        for codec in Codec::ALL {
            let bytes = codec.encode(&0u32).unwrap();
            assert!(codec.decode::<Quantity>(&bytes).is_err());
        }
        assert!(
            Codec::Json
                .decode::<Page>(br#"{"page":0,"per_page":10}"#)
                .is_err()
        );
        assert!(
            Codec::Json
                .decode::<OrderId>(b"9223372036854775808")
                .is_err()
        );
    }

    #[test]
    fn content_types_name_their_codec() {
        let json = HeaderValue::from_static("application/json; charset=utf-8");
        assert_eq!(Codec::from_content_type(&json), Some(Codec::Json));
        let postcard = Codec::Postcard.header_value();
        assert_eq!(Codec::from_content_type(&postcard), Some(Codec::Postcard));
        let text = HeaderValue::from_static("text/plain");
        assert_eq!(Codec::from_content_type(&text), None);
        assert_eq!("postcard".parse::<Codec>(), Ok(Codec::Postcard));
        assert!("xml".parse::<Codec>().is_err());
    }
}
