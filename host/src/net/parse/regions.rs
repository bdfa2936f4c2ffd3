//! `[regions.NAME]`: branches of a case that abort on their own.
//!
//! ```toml
//! [regions.shipping]
//! places = ["to_ship", "packed"]
//! on_abort = "shipping_failed"
//! ```
//!
//! A region is a set of case places; its transitions are those that consume
//! from them, and each must take all its case tokens from that one region
//! (shared resources aside). When a firing of a region transition aborts (a
//! guest's `abort`, or `on_exhausted = "abort"`), only the region aborts:
//! its tokens and its firings' dead letters go, the completed compensable
//! firings of its transitions are compensated (newest first), and one token
//! goes to `on_abort`; the rest of the case runs on.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::Ctx;
use crate::net::{NetError, Place, Region, Transition};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegion {
    places: Vec<Spanned<String>>,
    on_abort: Spanned<String>,
}

pub(super) type RawRegions = IndexMap<Spanned<String>, Spanned<RawRegion>>;

/// Checks the regions against the places and sets each transition's
/// region.
pub(super) fn parse_regions(
    cx: &Ctx<'_>,
    raw: &RawRegions,
    places: &[Place],
    transitions: &mut [Transition],
) -> Result<Vec<Region>, NetError> {
    let mut regions: Vec<Region> = Vec::with_capacity(raw.len());
    // The region of each place, once claimed.
    let mut owner: Vec<Option<usize>> = vec![None; places.len()];
    for (name, r) in raw {
        let field = format!("regions.{}", name.get_ref());
        super::check_name(cx, name, &field)?;
        let taken = places.iter().any(|p| &p.name == name.get_ref())
            || transitions.iter().any(|t| &t.name == name.get_ref());
        if taken {
            return Err(cx.err(
                name.span(),
                field,
                format!(
                    "`{}` is already the name of a place or transition (expected names unique)",
                    name.get_ref()
                ),
            ));
        }
        let raw = r.get_ref();
        if raw.places.is_empty() {
            return Err(cx.err(
                r.span(),
                format!("{field}.places"),
                "a region holds at least one place",
            ));
        }
        let index = regions.len();
        let mut members = Vec::with_capacity(raw.places.len());
        for p in &raw.places {
            let f = format!("{field}.places");
            let i = place_index(cx, places, p, &f)?;
            let place = &places[i];
            let why = if place.shared {
                Some("is shared (a region holds case tokens; shared ones go back on an abort)")
            } else if place.start {
                Some("is a start place (a region is a branch the case enters)")
            } else if place.is_final {
                Some("is final (a region holds work in progress)")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(cx.err(p.span(), f, format!("place `{}` {why}", place.name)));
            }
            if let Some(other) = owner[i] {
                let message = if other == index {
                    format!("place `{}` is listed twice", place.name)
                } else {
                    format!(
                        "place `{}` is in region `{}` already (regions do not overlap)",
                        place.name, regions[other].name
                    )
                };
                return Err(cx.err(p.span(), f, message));
            }
            owner[i] = Some(index);
            members.push(i);
        }
        let f = format!("{field}.on_abort");
        let on_abort = place_index(cx, places, &raw.on_abort, &f)?;
        if members.contains(&on_abort) || places[on_abort].shared {
            return Err(cx.err(
                raw.on_abort.span(),
                f,
                format!(
                    "place `{}` is {} (expected a case place outside the region, where the rest of the case takes over)",
                    places[on_abort].name,
                    if places[on_abort].shared { "shared" } else { "in the region" }
                ),
            ));
        }
        regions.push(Region {
            name: name.get_ref().clone(),
            places: members,
            on_abort,
            line: cx.line(name.span()),
        });
    }
    for r in &regions {
        if let Some(other) = owner[r.on_abort] {
            return Err(NetError::Invalid {
                file: cx.file.to_path_buf(),
                line: r.line,
                field: format!("regions.{}.on_abort", r.name),
                message: format!(
                    "place `{}` is in region `{}` (expected a place outside every region)",
                    places[r.on_abort].name, regions[other].name
                ),
            });
        }
    }
    assign(cx, &regions, &owner, places, transitions)?;
    Ok(regions)
}

fn place_index(
    cx: &Ctx<'_>,
    places: &[Place],
    name: &Spanned<String>,
    field: &str,
) -> Result<usize, NetError> {
    places
        .iter()
        .position(|p| &p.name == name.get_ref())
        .ok_or_else(|| {
            let known: Vec<&str> = places.iter().map(|p| p.name.as_str()).collect();
            cx.err(
                name.span(),
                field,
                format!(
                    "unknown place `{}` (declared places: {})",
                    name.get_ref(),
                    known.join(", ")
                ),
            )
        })
}

/// Sets each transition's region: the one its case inputs lie in. A
/// transition that takes case tokens from a region and from outside it (or
/// from two regions) is refused.
fn assign(
    cx: &Ctx<'_>,
    regions: &[Region],
    owner: &[Option<usize>],
    places: &[Place],
    transitions: &mut [Transition],
) -> Result<(), NetError> {
    for t in transitions.iter_mut() {
        let case_inputs: Vec<usize> = t
            .inputs
            .iter()
            .map(|a| a.place)
            .filter(|&p| !places[p].shared)
            .collect();
        let inside: Vec<usize> = case_inputs.iter().filter_map(|&p| owner[p]).collect();
        let Some(&region) = inside.first() else {
            continue;
        };
        let stray = case_inputs
            .iter()
            .find(|&&p| owner[p] != Some(region))
            .copied();
        if let Some(p) = stray {
            let where_ = owner[p].map_or("outside it".to_string(), |o| {
                format!("in region `{}`", regions[o].name)
            });
            return Err(NetError::Invalid {
                file: cx.file.to_path_buf(),
                line: t.line,
                field: format!("transitions.{}.inputs", t.name),
                message: format!(
                    "consumes from region `{}` and from `{}`, {where_} (expected a region transition to take its case tokens from its region alone)",
                    regions[region].name, places[p].name
                ),
            });
        }
        t.region = Some(region);
    }
    Ok(())
}
