//! The outcome builder.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Token, wit};

/// What a transition decided: fire an outcome with some tokens, decline, or
/// abort the case.
///
/// ```
/// # use petrel_guest::{Decision, Error};
/// # fn main() -> Result<(), Error> {
/// let decision = Decision::fire("approved")
///     .token("approved_orders", &("o-1", 500))?
///     .token("audit", "approved o-1")?;
/// assert_eq!(decision.outcome(), Some("approved"));
/// assert_eq!(decision.outputs().len(), 2);
/// # Ok(())
/// # }
/// ```
///
/// The host checks that the outcome is declared for the transition and that
/// every token lands in one of that outcome's places, exactly as many per
/// place as the arc weight; anything else is a failed firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision(Kind);

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Fire {
        outcome: String,
        outputs: Vec<Token>,
    },
    Decline,
    Abort(String),
}

impl Decision {
    /// Fires the declared outcome `outcome`; add its tokens with
    /// [`token`](Self::token).
    pub fn fire(outcome: impl Into<String>) -> Self {
        Self(Kind::Fire {
            outcome: outcome.into(),
            outputs: Vec::new(),
        })
    }

    /// The guard is false: the inputs go back where they were.
    pub fn decline() -> Self {
        Self(Kind::Decline)
    }

    /// The case cannot go on: the host aborts it (and compensates) with this
    /// reason.
    pub fn abort(reason: impl Into<String>) -> Self {
        Self(Kind::Abort(reason.into()))
    }

    /// Produces a token into `place`, its payload `value` encoded as
    /// MessagePack (structs as maps).
    ///
    /// Fails if `value` cannot be encoded, or if this decision does not fire.
    pub fn token<T: Serialize + ?Sized>(
        self,
        place: impl Into<String>,
        value: &T,
    ) -> Result<Self, Error> {
        let token = Token::encode(place, value)?;
        self.push(token)
    }

    /// Produces a token into `place` with an already encoded payload (for
    /// instance an input's [`Token::payload`], passed on unchanged).
    ///
    /// Fails if this decision does not fire.
    pub fn token_bytes(self, place: impl Into<String>, payload: Vec<u8>) -> Result<Self, Error> {
        self.push(Token::new(place, payload))
    }

    fn push(mut self, token: Token) -> Result<Self, Error> {
        match &mut self.0 {
            Kind::Fire { outputs, .. } => {
                outputs.push(token);
                Ok(self)
            }
            other => Err(Error::fatal(format!(
                "cannot produce a token into `{}`: the decision is `{}`, not `fire` \
                 (start from `Decision::fire(outcome)`)",
                token.place(),
                match other {
                    Kind::Decline => "decline",
                    _ => "abort",
                }
            ))),
        }
    }

    /// The outcome fired, if this decision fires.
    pub fn outcome(&self) -> Option<&str> {
        match &self.0 {
            Kind::Fire { outcome, .. } => Some(outcome),
            _ => None,
        }
    }

    /// The tokens produced, in the order they were added (none unless this
    /// decision fires).
    pub fn outputs(&self) -> &[Token] {
        match &self.0 {
            Kind::Fire { outputs, .. } => outputs,
            _ => &[],
        }
    }

    /// Decodes the first token produced into `place` (handy in tests).
    pub fn output<T: DeserializeOwned>(&self, place: &str) -> Result<T, Error> {
        match self.outputs().iter().find(|token| token.place() == place) {
            Some(token) => token.decode(),
            None => Err(Error::fatal(format!(
                "no token produced into place `{place}`"
            ))),
        }
    }

    /// Whether this decision declines.
    pub fn is_decline(&self) -> bool {
        matches!(self.0, Kind::Decline)
    }

    /// The reason, if this decision aborts the case.
    pub fn abort_reason(&self) -> Option<&str> {
        match &self.0 {
            Kind::Abort(reason) => Some(reason),
            _ => None,
        }
    }

    pub(crate) fn into_wit(self) -> wit::types::Decision {
        match self.0 {
            Kind::Fire { outcome, outputs } => wit::types::Decision::Fire(wit::types::Fire {
                outcome,
                outputs: outputs.into_iter().map(Token::into_wit).collect(),
            }),
            Kind::Decline => wit::types::Decision::Decline,
            Kind::Abort(reason) => wit::types::Decision::Abort(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fire_collects_tokens_in_order() {
        let decision = Decision::fire("valid")
            .token("credit_check", &1u32)
            .unwrap()
            .token_bytes("stock_check", vec![2])
            .unwrap();
        assert_eq!(decision.outcome(), Some("valid"));
        let places: Vec<&str> = decision.outputs().iter().map(Token::place).collect();
        assert_eq!(places, ["credit_check", "stock_check"]);
        assert_eq!(decision.output::<u32>("credit_check").unwrap(), 1);
        assert!(decision.output::<u32>("nowhere").is_err());
    }

    #[test]
    fn tokens_on_a_decision_that_does_not_fire_are_an_error() {
        let err = Decision::decline().token("a", &1u32).unwrap_err();
        assert_eq!(
            err.message(),
            "cannot produce a token into `a`: the decision is `decline`, not `fire` \
             (start from `Decision::fire(outcome)`)"
        );
        assert!(Decision::abort("no").token_bytes("a", vec![]).is_err());
    }

    #[test]
    fn decline_and_abort() {
        assert!(Decision::decline().is_decline());
        assert_eq!(Decision::decline().outcome(), None);
        assert_eq!(Decision::abort("gone").abort_reason(), Some("gone"));
        assert!(Decision::abort("gone").outputs().is_empty());
    }

    #[test]
    fn maps_to_the_wit_decision() {
        let wit = Decision::fire("out")
            .token_bytes("p", vec![7])
            .unwrap()
            .into_wit();
        match wit {
            wit::types::Decision::Fire(fire) => {
                assert_eq!(fire.outcome, "out");
                assert_eq!(fire.outputs.len(), 1);
                assert_eq!(
                    (fire.outputs[0].place.as_str(), &fire.outputs[0].payload[..]),
                    ("p", &[7u8][..])
                );
            }
            _ => panic!("expected fire"),
        }
        assert!(matches!(
            Decision::decline().into_wit(),
            wit::types::Decision::Decline
        ));
        assert!(matches!(
            Decision::abort("x").into_wit(),
            wit::types::Decision::Abort(reason) if reason == "x"
        ));
    }
}
