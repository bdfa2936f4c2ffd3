//! The host's ceilings on a net file: its size, and each per-call bound
//! a transition declares.

use toml::Spanned;

use super::{Ctx, RawNet, positive};
use crate::net::NetError;

/// Refuses a net with more places, transitions or arcs than the host allows.
pub(super) fn check_size(cx: &Ctx<'_>, raw: &RawNet) -> Result<(), NetError> {
    let l = cx.limits;
    let count = |n: usize, limit: u32, what: &str, setting| {
        if n as u64 > u64::from(limit) {
            Err(cx.too_large(
                format!("the net declares {n} {what}"),
                u64::from(limit),
                setting,
            ))
        } else {
            Ok(())
        }
    };
    count(raw.places.len(), l.places, "places", "places")?;
    count(raw.regions.len(), l.places, "regions", "places")?;
    count(
        raw.transitions.len(),
        l.transitions,
        "transitions",
        "transitions",
    )?;
    let arcs: usize = raw
        .transitions
        .values()
        .map(|t| {
            let t = t.get_ref();
            t.inputs.as_ref().map_or(0, |i| i.get_ref().len())
                + t.outcomes
                    .as_ref()
                    .map_or(0, |o| o.get_ref().values().map(|a| a.get_ref().len()).sum())
        })
        .sum();
    count(arcs, l.arcs, "arcs", "arcs")
}

/// A per-call bound a transition declares, at most the host's ceiling
/// (`[limits] setting`): above it a net being deployed is refused, a net
/// the store kept is cut to it.
pub(super) fn within<T>(
    cx: &Ctx<'_>,
    v: &Spanned<T>,
    ceiling: T,
    field: &str,
    setting: &str,
) -> Result<T, NetError>
where
    T: Copy + PartialOrd + Default + std::fmt::Display,
{
    let value = positive(cx, v, field)?;
    if value <= ceiling {
        Ok(value)
    } else if cx.stored {
        Ok(ceiling)
    } else {
        Err(cx.err(
            v.span(),
            field,
            format!(
                "{value} is above the host's ceiling of {ceiling} (`[limits] {setting}` in petrel.toml; a net file may lower a ceiling, never raise it)"
            ),
        ))
    }
}
