//! The export: a transition type and the macro that makes it the component's
//! `decide`.

use crate::{Decision, Error, Firing, wit};

/// A transition's decision logic.
///
/// Export an implementation with [`transition!`](crate::transition!); a
/// component exports exactly one.
pub trait Transition {
    /// Decides one firing. An `Err` fails the firing: the host retries it if
    /// the error is [retryable](Error::retryable), and dead-letters its
    /// inputs otherwise.
    fn decide(firing: Firing) -> Result<Decision, Error>;
}

/// Exports a [`Transition`] as the component's `decide`.
///
/// ```
/// # use petrel_guest::{Decision, Error, Firing, Transition};
/// struct Forward;
///
/// impl Transition for Forward {
///     fn decide(firing: Firing) -> Result<Decision, Error> {
///         let payload = firing.inputs()[0].payload().to_vec();
///         Decision::fire("out").token_bytes("out", payload)
///     }
/// }
///
/// petrel_guest::transition!(Forward);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! transition {
    ($ty:ty) => {
        const _: () = {
            struct PetrelTransitionExport;

            impl $crate::wit::Guest for PetrelTransitionExport {
                fn decide(
                    firing: $crate::wit::Firing,
                ) -> ::core::result::Result<$crate::wit::Decision, $crate::wit::GuestError>
                {
                    $crate::__decide::<$ty>(firing)
                }
            }

    $crate::wit::__petrel_export!(PetrelTransitionExport with_types_in $crate::wit);
        };
    };
}

/// Runs `T::decide` on the host's firing and converts the answer; called by
/// the code [`transition!`](crate::transition!) expands to.
#[doc(hidden)]
pub fn __decide<T: Transition>(firing: wit::Firing) -> Result<wit::Decision, wit::GuestError> {
    T::decide(Firing::from_wit(firing))
        .map(Decision::into_wit)
        .map_err(Error::into_wit)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    impl Transition for Echo {
        fn decide(firing: Firing) -> Result<Decision, Error> {
            match firing.attempt() {
                1 => Decision::fire(firing.transition())
                    .token_bytes("out", vec![firing.inputs().len() as u8]),
                _ => Err(Error::retryable("second attempt")),
            }
        }
    }

    fn firing(attempt: u32) -> wit::Firing {
        wit::Firing {
            net: "n".into(),
            version: "v".into(),
            transition: "echo".into(),
            case_id: "c".into(),
            attempt,
            inputs: Vec::new(),
            compensating: None,
        }
    }

    #[test]
    fn decide_converts_both_ways() {
        match __decide::<Echo>(firing(1)) {
            Ok(wit::Decision::Fire(fire)) => {
                assert_eq!(fire.outcome, "echo");
                assert_eq!(fire.outputs[0].payload, [0]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = __decide::<Echo>(firing(2)).unwrap_err();
        assert_eq!(
            (err.message.as_str(), err.retryable),
            ("second attempt", true)
        );
    }
}
