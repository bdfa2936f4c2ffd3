//! Tokens as the store knows them: where one lies ([`TokenId`]) and what it
//! carries ([`StoredToken`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::event::TokenRecord;
use super::keys;
pub use super::keys::Owner;

/// Where a token lies: whose it is, its place and its seq. Records that
/// name tokens (a reservation's) keep it as the token's key bytes (see
/// `keys`), so it costs what a key costs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId {
    /// Whose token it is.
    pub owner: Owner,
    /// Its place.
    pub place: String,
    /// FIFO sequence number.
    pub seq: u64,
}

impl TokenId {
    /// The token `seq` of `owner` in `place`.
    pub fn new(owner: Owner, place: impl Into<String>, seq: u64) -> TokenId {
        TokenId {
            owner,
            place: place.into(),
            seq,
        }
    }

    /// Its key bytes.
    pub(super) fn key(&self) -> Vec<u8> {
        keys::token(&self.owner, &self.place, self.seq)
    }

    /// The token a key names.
    pub(super) fn from_key(key: &[u8]) -> Option<TokenId> {
        keys::parse_token(key).map(|(owner, place, seq)| TokenId { owner, place, seq })
    }
}

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.owner {
            Owner::Case(c) => write!(f, "{}#{} of case `{c}`", self.place, self.seq),
            Owner::Shared(v) => write!(f, "{}#{} shared by version {v}", self.place, self.seq),
        }
    }
}

/// A token id as human-readable formats (JSON) show it.
#[derive(Serialize, Deserialize)]
struct Readable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    case: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shared: Option<String>,
    place: String,
    seq: u64,
}

impl Serialize for TokenId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return s.serialize_bytes(&self.key());
        }
        let (case, shared) = match &self.owner {
            Owner::Case(c) => (Some(c.clone()), None),
            Owner::Shared(v) => (None, Some(v.clone())),
        };
        Readable {
            case,
            shared,
            place: self.place.clone(),
            seq: self.seq,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for TokenId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TokenId, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TokenId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a token key (bytes)")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<TokenId, E> {
                TokenId::from_key(v).ok_or_else(|| E::custom(format!("malformed token key {v:?}")))
            }
        }
        if !d.is_human_readable() {
            return d.deserialize_bytes(V);
        }
        let r = Readable::deserialize(d)?;
        let owner = match (r.case, r.shared) {
            (Some(c), None) => Owner::Case(c),
            (None, Some(v)) => Owner::Shared(v),
            _ => {
                return Err(serde::de::Error::custom(
                    "a token id names either `case` or `shared`",
                ));
            }
        };
        Ok(TokenId::new(owner, r.place, r.seq))
    }
}

/// A token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// Whose token it is.
    pub owner: Owner,
    /// Its place.
    pub place: String,
    /// FIFO sequence number.
    pub seq: u64,
    /// MessagePack payload.
    pub payload: Vec<u8>,
}

impl StoredToken {
    /// The token as the log records it.
    pub fn record(&self) -> TokenRecord {
        TokenRecord {
            place: self.place.clone(),
            seq: self.seq,
            shared: matches!(self.owner, Owner::Shared(_)),
            payload: self.payload.clone(),
        }
    }

    /// Where it lies.
    pub fn id(&self) -> TokenId {
        TokenId::new(self.owner.clone(), self.place.clone(), self.seq)
    }

    /// Its key in the `tokens` tree.
    pub(super) fn key(&self) -> Vec<u8> {
        keys::token(&self.owner, &self.place, self.seq)
    }
}
