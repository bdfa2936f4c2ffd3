//! What the host hands to `decide`: one firing and the tokens it consumed.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, wit};

/// A token: the place it lies in (or is produced into) and its MessagePack
/// payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    place: String,
    payload: Vec<u8>,
}

impl Token {
    /// A token with an already encoded payload.
    pub fn new(place: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            place: place.into(),
            payload,
        }
    }

    /// A token whose payload is `value` encoded as MessagePack (structs as
    /// maps).
    pub fn encode<T: Serialize + ?Sized>(
        place: impl Into<String>,
        value: &T,
    ) -> Result<Self, Error> {
        let place = place.into();
        let payload = rmp_serde::to_vec_named(value).map_err(|err| {
            Error::fatal(format!(
                "cannot encode the payload for place `{place}`: {err}"
            ))
        })?;
        Ok(Self { place, payload })
    }

    /// The place.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// The raw MessagePack payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The raw MessagePack payload, by value.
    pub fn into_payload(self) -> Vec<u8> {
        self.payload
    }

    /// Decodes the payload; the error names the place and the expected type.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Error> {
        rmp_serde::from_slice(&self.payload).map_err(|err| {
            Error::fatal(format!(
                "cannot decode the token in place `{}` as `{}`: {err}",
                self.place,
                std::any::type_name::<T>()
            ))
        })
    }

    pub(crate) fn from_wit(token: wit::types::Token) -> Self {
        Self {
            place: token.place,
            payload: token.payload,
        }
    }

    pub(crate) fn into_wit(self) -> wit::types::Token {
        wit::types::Token {
            place: self.place,
            payload: self.payload,
        }
    }
}

/// One firing of one transition on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    net: String,
    version: String,
    transition: String,
    case_id: String,
    attempt: u32,
    inputs: Vec<Token>,
    compensating: Option<Compensated>,
}

/// The earlier firing a compensation undoes: what it decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compensated {
    transition: String,
    outcome: String,
    outputs: Vec<Token>,
}

impl Compensated {
    /// A compensated firing built by hand, for unit tests of a compensation.
    pub fn new(transition: impl Into<String>, outcome: impl Into<String>) -> Self {
        Self {
            transition: transition.into(),
            outcome: outcome.into(),
            outputs: Vec::new(),
        }
    }

    /// Adds a produced token whose payload is `value` encoded as MessagePack.
    pub fn with_output<T: Serialize + ?Sized>(
        mut self,
        place: impl Into<String>,
        value: &T,
    ) -> Result<Self, Error> {
        self.outputs.push(Token::encode(place, value)?);
        Ok(self)
    }

    /// The transition that fired.
    pub fn transition(&self) -> &str {
        &self.transition
    }

    /// The outcome it fired.
    pub fn outcome(&self) -> &str {
        &self.outcome
    }

    /// The tokens it produced.
    pub fn outputs(&self) -> &[Token] {
        &self.outputs
    }

    /// Decodes the first token it produced into `place`; the error names
    /// the place.
    pub fn output<T: DeserializeOwned>(&self, place: &str) -> Result<T, Error> {
        self.outputs
            .iter()
            .find(|t| t.place == place)
            .ok_or_else(|| {
                Error::fatal(format!(
                    "the compensated firing of `{}` produced no token in place `{place}`",
                    self.transition
                ))
            })?
            .decode()
    }
}

impl Firing {
    /// A firing of `transition` built by hand, for unit tests of a transition
    /// outside the host: net `test`, version `test`, case `case-1`, attempt 1,
    /// no inputs until [`with_input`](Self::with_input) adds them.
    pub fn new(transition: impl Into<String>) -> Self {
        Self {
            net: "test".into(),
            version: "test".into(),
            transition: transition.into(),
            case_id: "case-1".into(),
            attempt: 1,
            inputs: Vec::new(),
            compensating: None,
        }
    }

    /// Makes this a compensation of `compensated` (for unit tests).
    pub fn compensating(mut self, compensated: Compensated) -> Self {
        self.compensating = Some(compensated);
        self
    }

    /// Adds an input token whose payload is `value` encoded as MessagePack.
    pub fn with_input<T: Serialize + ?Sized>(
        mut self,
        place: impl Into<String>,
        value: &T,
    ) -> Result<Self, Error> {
        self.inputs.push(Token::encode(place, value)?);
        Ok(self)
    }

    /// Adds an input token with an already encoded payload.
    pub fn with_input_bytes(mut self, place: impl Into<String>, payload: Vec<u8>) -> Self {
        self.inputs.push(Token::new(place, payload));
        self
    }

    /// Sets the case id.
    pub fn with_case_id(mut self, case_id: impl Into<String>) -> Self {
        self.case_id = case_id.into();
        self
    }

    /// Sets the attempt number.
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    /// Name of the net, as declared in its net file.
    pub fn net(&self) -> &str {
        &self.net
    }

    /// Content hash of the deployed net version the case runs on.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The transition being fired.
    pub fn transition(&self) -> &str {
        &self.transition
    }

    /// The case the consumed tokens belong to.
    pub fn case_id(&self) -> &str {
        &self.case_id
    }

    /// 1 for the first attempt of this firing, 2 for its first retry, ...
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The consumed tokens, in input-arc order, oldest first per place.
    /// For a compensation, the compensated firing's consumed tokens.
    pub fn inputs(&self) -> &[Token] {
        &self.inputs
    }

    /// Set when this firing compensates an earlier one because its case
    /// aborted: what that firing decided. Its inputs are [`inputs`](Self::inputs).
    pub fn compensated(&self) -> Option<&Compensated> {
        self.compensating.as_ref()
    }

    /// The first consumed token of `place` (to pass its payload on unchanged,
    /// say); fails like [`input`](Self::input) when there is none.
    pub fn token(&self, place: &str) -> Result<&Token, Error> {
        self.inputs
            .iter()
            .find(|token| token.place == place)
            .ok_or_else(|| self.missing(place))
    }

    /// The consumed tokens of `place`, oldest first.
    pub fn tokens_in<'a>(&'a self, place: &'a str) -> impl Iterator<Item = &'a Token> + 'a {
        self.inputs.iter().filter(move |token| token.place == place)
    }

    /// Decodes the first consumed token of `place`.
    ///
    /// Fails (fatally) when `place` gave no token or its payload does not
    /// decode as `T`; the message names the place.
    pub fn input<T: DeserializeOwned>(&self, place: &str) -> Result<T, Error> {
        self.token(place)?.decode()
    }

    /// Decodes every consumed token of `place`, oldest first (none if the
    /// place gave no token).
    pub fn inputs_in<T: DeserializeOwned>(&self, place: &str) -> Result<Vec<T>, Error> {
        self.tokens_in(place).map(Token::decode).collect()
    }

    fn missing(&self, place: &str) -> Error {
        let mut places: Vec<&str> = self.inputs.iter().map(|t| t.place.as_str()).collect();
        places.dedup();
        let consumed = if places.is_empty() {
            "no tokens".to_owned()
        } else {
            format!("tokens from `{}`", places.join("`, `"))
        };
        Error::fatal(format!(
            "no input token in place `{place}`: transition `{}` consumed {consumed} \
             (is there an arc from `{place}`?)",
            self.transition
        ))
    }

    pub(crate) fn from_wit(firing: wit::types::Firing) -> Self {
        Self {
            net: firing.net,
            version: firing.version,
            transition: firing.transition,
            case_id: firing.case_id,
            attempt: firing.attempt,
            inputs: firing.inputs.into_iter().map(Token::from_wit).collect(),
            compensating: firing.compensating.map(|c| Compensated {
                transition: c.transition,
                outcome: c.outcome,
                outputs: c.outputs.into_iter().map(Token::from_wit).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Order {
        order_id: String,
        items: u32,
    }

    fn order(id: &str) -> Order {
        Order {
            order_id: id.into(),
            items: 2,
        }
    }

    #[test]
    fn input_decodes_the_first_token_of_a_place() {
        let firing = Firing::new("t")
            .with_input("a", &order("o-1"))
            .unwrap()
            .with_input("a", &order("o-2"))
            .unwrap();
        assert_eq!(firing.input::<Order>("a").unwrap(), order("o-1"));
        let all: Vec<Order> = firing.inputs_in("a").unwrap();
        assert_eq!(all, [order("o-1"), order("o-2")]);
        assert!(firing.inputs_in::<Order>("b").unwrap().is_empty());
    }

    #[test]
    fn missing_input_names_the_place_and_what_was_consumed() {
        let firing = Firing::new("approve")
            .with_input("credit_ok", &order("o-1"))
            .unwrap();
        let err = firing.input::<Order>("reviewer").unwrap_err();
        assert!(!err.is_retryable());
        assert_eq!(
            err.message(),
            "no input token in place `reviewer`: transition `approve` consumed tokens from \
             `credit_ok` (is there an arc from `reviewer`?)"
        );
    }

    #[test]
    fn undecodable_input_names_the_place_and_type() {
        let firing = Firing::new("t").with_input("a", "not an order").unwrap();
        let err = firing.input::<Order>("a").unwrap_err();
        assert!(!err.is_retryable());
        assert!(
            err.message()
                .starts_with("cannot decode the token in place `a` as `")
                && err.message().contains("Order"),
            "{err}"
        );
    }

    #[test]
    fn payloads_are_messagepack_maps() {
        let token = Token::encode("a", &order("o-1")).unwrap();
        // fixmap with 2 entries, first key "order_id"
        assert_eq!(token.payload()[0], 0x82);
        assert_eq!(&token.payload()[1..10], b"\xa8order_id");
    }

    #[test]
    fn from_wit_keeps_every_field() {
        let firing = Firing::from_wit(wit::types::Firing {
            net: "n".into(),
            version: "v".into(),
            transition: "t".into(),
            case_id: "c".into(),
            attempt: 3,
            inputs: vec![wit::types::Token {
                place: "p".into(),
                payload: vec![1],
            }],
            compensating: Some(wit::types::Compensated {
                transition: "reserve".into(),
                outcome: "ok".into(),
                outputs: vec![wit::types::Token {
                    place: "reserved".into(),
                    payload: vec![0x2a],
                }],
            }),
        });
        assert_eq!(
            (
                firing.net(),
                firing.version(),
                firing.transition(),
                firing.case_id()
            ),
            ("n", "v", "t", "c")
        );
        assert_eq!(firing.attempt(), 3);
        assert_eq!(firing.inputs(), [Token::new("p", vec![1])]);
        let c = firing.compensated().expect("a compensation");
        assert_eq!((c.transition(), c.outcome()), ("reserve", "ok"));
        assert_eq!(c.output::<u8>("reserved").unwrap(), 42);
        assert!(
            c.output::<u8>("elsewhere")
                .unwrap_err()
                .message()
                .contains("produced no token in place `elsewhere`")
        );
        assert!(Firing::new("t").compensated().is_none());
    }
}
