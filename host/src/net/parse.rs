//! Net file (TOML) → [`Net`], with every consistency check.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::{Arc, Capability, Limits, Net, NetError, Outcome, Performer, Place, Transition};
use crate::limits::HostLimits;

mod bounds;
mod places;
mod regions;
mod saga;

use bounds::{check_size, within};
use places::parse_places;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNet {
    net: Spanned<RawHeader>,
    #[serde(default)]
    places: IndexMap<Spanned<String>, Spanned<RawPlace>>,
    #[serde(default)]
    transitions: IndexMap<Spanned<String>, Spanned<RawTransition>>,
    #[serde(default)]
    regions: regions::RawRegions,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: Spanned<String>,
    description: Option<String>,
    retry: Option<Spanned<retry_policy::RawRetryPolicy>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlace {
    capacity: Option<Spanned<u32>>,
    #[serde(default)]
    shared: bool,
    #[serde(default, rename = "final")]
    is_final: bool,
    #[serde(default)]
    start: bool,
    initial: Option<Spanned<toml::Value>>,
}

type RawArcs = IndexMap<Spanned<String>, Spanned<u32>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransition {
    guest: Option<Spanned<String>>,
    #[serde(default)]
    external: bool,
    #[serde(default)]
    human: bool,
    forms: Option<Spanned<human::RawForms>>,
    offer_timeout_ms: Option<Spanned<u64>>,
    inputs: Option<Spanned<RawArcs>>,
    outcomes: Option<Spanned<IndexMap<Spanned<String>, Spanned<RawArcs>>>>,
    #[serde(default)]
    capabilities: Vec<Spanned<String>>,
    timeout_ms: Option<Spanned<u64>>,
    memory_mb: Option<Spanned<u32>>,
    fuel: Option<Spanned<u64>>,
    max_output_kb: Option<Spanned<u32>>,
    on_timeout: Option<Spanned<String>>,
    llm: Option<Spanned<llm_policy::RawLlmPolicy>>,
    retry: Option<Spanned<retry_policy::RawRetryPolicy>>,
    compensate: Option<Spanned<String>>,
    #[serde(default)]
    compensation: bool,
}

/// Turns byte spans into errors that name the file, line and field, and
/// holds the host's ceilings the net is checked against.
struct Ctx<'a> {
    file: &'a Path,
    source: &'a str,
    limits: &'a HostLimits,
    /// A net the store kept: bounds above a ceiling are cut, not refused.
    stored: bool,
}

impl Ctx<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        crate::net::line_at(self.source, span.start)
    }

    fn err(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> NetError {
        NetError::Invalid {
            file: self.file.to_path_buf(),
            line: self.line(span),
            field: field.into(),
            message: message.into(),
        }
    }

    fn too_large(&self, what: String, limit: u64, setting: &'static str) -> NetError {
        NetError::TooLarge {
            file: self.file.to_path_buf(),
            what,
            limit,
            setting,
        }
    }
}

pub(super) fn parse(
    source: &str,
    file: &Path,
    limits: &HostLimits,
    stored: bool,
) -> Result<Net, NetError> {
    let cx = Ctx {
        file,
        source,
        limits,
        stored,
    };
    if !stored && source.len() as u64 > limits.net_file_bytes() {
        return Err(cx.too_large(
            format!("the net file has {} bytes", source.len()),
            limits.net_file_bytes(),
            "net_file_kb",
        ));
    }
    let raw: RawNet = toml::from_str(source).map_err(|e| NetError::Syntax {
        file: file.to_path_buf(),
        line: e.span().map_or(0, |s| cx.line(s)),
        message: e.message().trim().to_string(),
    })?;
    if !stored {
        check_size(&cx, &raw)?;
    }

    let header = raw.net.get_ref();
    check_name(&cx, &header.name, "net.name")?;
    let places = parse_places(&cx, &raw.places)?;
    let index = |name: &str| places.iter().position(|p| p.name == name);

    let mut transitions = Vec::with_capacity(raw.transitions.len());
    for (name, t) in &raw.transitions {
        let field = format!("transitions.{}", name.get_ref());
        check_name(&cx, name, &field)?;
        if index(name.get_ref()).is_some() {
            return Err(cx.err(
                name.span(),
                field,
                format!("`{}` is already the name of a place (expected names unique among places and transitions)", name.get_ref()),
            ));
        }
        transitions.push(parse_transition(&cx, name, t, &places, file)?);
    }
    let compensates: Vec<_> = raw
        .transitions
        .values()
        .map(|t| &t.get_ref().compensate)
        .collect();
    saga::link(&cx, &mut transitions, &compensates)?;
    let regions = regions::parse_regions(&cx, &raw.regions, &places, &mut transitions)?;
    if transitions.is_empty() {
        return Err(cx.err(
            raw.net.span(),
            "transitions",
            "the net declares no transition (expected at least one `[transitions.NAME]` table)",
        ));
    }

    let retry = header
        .retry
        .as_ref()
        .map(|r| retry_policy::parse_workflow(&cx, r))
        .transpose()?;
    Ok(Net {
        name: header.name.get_ref().clone(),
        description: header.description.clone(),
        retry,
        regions,
        places,
        transitions,
        file: file.to_path_buf(),
        source: source.to_string(),
    })
}

fn check_name(cx: &Ctx<'_>, name: &Spanned<String>, field: &str) -> Result<(), NetError> {
    let n = name.get_ref();
    let ok = !n.is_empty()
        && n.len() <= 128
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(cx.err(
            name.span(),
            field,
            format!("invalid name `{n}` (expected 1 to 128 ASCII letters, digits, `_` or `-`)"),
        ))
    }
}

fn parse_arcs(
    cx: &Ctx<'_>,
    arcs: &Spanned<RawArcs>,
    places: &[Place],
    field: &str,
) -> Result<Vec<Arc>, NetError> {
    let mut out = Vec::with_capacity(arcs.get_ref().len());
    for (place, weight) in arcs.get_ref() {
        let f = format!("{field}.{}", place.get_ref());
        let Some(index) = places.iter().position(|p| &p.name == place.get_ref()) else {
            let known: Vec<&str> = places.iter().map(|p| p.name.as_str()).collect();
            return Err(cx.err(
                place.span(),
                f,
                format!(
                    "unknown place `{}` (declared places: {})",
                    place.get_ref(),
                    known.join(", ")
                ),
            ));
        };
        if *weight.get_ref() == 0 {
            return Err(cx.err(weight.span(), f, "arc weight 0 (expected at least 1)"));
        }
        out.push(Arc {
            place: index,
            weight: *weight.get_ref(),
        });
    }
    Ok(out)
}

fn parse_transition(
    cx: &Ctx<'_>,
    name: &Spanned<String>,
    raw: &Spanned<RawTransition>,
    places: &[Place],
    file: &Path,
) -> Result<Transition, NetError> {
    let field = format!("transitions.{}", name.get_ref());
    let span = raw.span();
    let t = raw.get_ref();

    let performer = match (&t.guest, t.external || t.human) {
        (Some(g), false) => {
            if g.get_ref().trim().is_empty() {
                return Err(cx.err(
                    g.span(),
                    format!("{field}.guest"),
                    "empty guest path (expected the path of a .wasm component)",
                ));
            }
            let dir = file.parent().unwrap_or(Path::new("."));
            Performer::Guest {
                declared: g.get_ref().clone(),
                path: dir.join(g.get_ref()),
            }
        }
        (None, true) => Performer::External,
        (Some(g), true) => {
            return Err(cx.err(
                g.span(),
                format!("{field}.guest"),
                "a transition is either external (`external = true` or `human = true`) or has a `guest`, not both",
            ));
        }
        (None, false) => {
            return Err(cx.err(span, &field, "missing `guest` (expected the path of a .wasm component, or `external = true` for a worker-performed transition)"));
        }
    };

    let inputs = if t.compensation {
        saga::check_compensation(cx, t.inputs.as_ref(), &field)?;
        Vec::new()
    } else {
        parse_inputs(cx, t.inputs.as_ref(), places, span.clone(), &field)?
    };

    let Some(raw_outcomes) = &t.outcomes else {
        return Err(cx.err(
            span,
            format!("{field}.outcomes"),
            "missing `outcomes` (expected e.g. `outcomes.done = { finished = 1 }`)",
        ));
    };
    let mut outcomes = Vec::new();
    for (oname, arcs) in raw_outcomes.get_ref() {
        let of = format!("{field}.outcomes.{}", oname.get_ref());
        check_name(cx, oname, &of)?;
        let outputs = parse_arcs(cx, arcs, places, &of)?;
        if outputs.is_empty() {
            return Err(cx.err(arcs.span(), of, "outcome produces no token (expected at least one output place; route a finished case into a `final` place)"));
        }
        outcomes.push(Outcome {
            name: oname.get_ref().clone(),
            outputs,
            form: None,
            line: cx.line(oname.span()),
        });
    }
    if outcomes.is_empty() {
        return Err(cx.err(
            raw_outcomes.span(),
            format!("{field}.outcomes"),
            "no outcome declared (expected at least one)",
        ));
    }

    human::forms(cx, t.forms.as_ref(), &performer, &mut outcomes, &field)?;

    let mut capabilities = vec![Capability::Log];
    let mut seen = HashSet::new();
    for c in &t.capabilities {
        let cap = match c.get_ref().as_str() {
            "log" => Capability::Log,
            "llm" => Capability::Llm,
            other => {
                return Err(cx.err(
                    c.span(),
                    format!("{field}.capabilities"),
                    format!("unknown capability `{other}` (expected `log` or `llm`)"),
                ));
            }
        };
        if !seen.insert(cap) {
            return Err(cx.err(
                c.span(),
                format!("{field}.capabilities"),
                format!("capability `{}` listed twice", cap.name()),
            ));
        }
        if !capabilities.contains(&cap) {
            capabilities.push(cap);
        }
    }
    if performer == Performer::External && capabilities.contains(&Capability::Llm) {
        return Err(cx.err(
            span,
            format!("{field}.capabilities"),
            "an external transition runs no guest, so it cannot be granted `llm`",
        ));
    }

    let ceiling = cx.limits;
    let mut limits = Limits::default().within(ceiling);
    if let Some(v) = &t.timeout_ms {
        let f = format!("{field}.timeout_ms");
        limits.timeout_ms = within(cx, v, ceiling.timeout_ms, &f, "timeout_ms")?;
    }
    if let Some(v) = &t.memory_mb {
        let f = format!("{field}.memory_mb");
        limits.memory_mb = within(cx, v, ceiling.memory_mb, &f, "memory_mb")?;
    }
    if let Some(v) = &t.fuel {
        limits.fuel = within(cx, v, ceiling.fuel, &format!("{field}.fuel"), "fuel")?;
    }
    if let Some(v) = &t.max_output_kb {
        let f = format!("{field}.max_output_kb");
        limits.max_output_kb = within(cx, v, ceiling.max_output_kb, &f, "max_output_kb")?;
    }

    let llm = llm_policy::parse(
        cx,
        t.llm.as_ref(),
        capabilities.contains(&Capability::Llm),
        limits.timeout_ms,
        &field,
    )?;

    let on_timeout = on_timeout::parse(
        cx,
        t.on_timeout.as_ref(),
        &inputs,
        &outcomes,
        places,
        &field,
    )?;

    let offer_timeout_ms = human::offer_timeout(
        cx,
        t.offer_timeout_ms.as_ref(),
        &performer,
        on_timeout,
        &field,
    )?;

    Ok(Transition {
        name: name.get_ref().clone(),
        human: t.human,
        offer_timeout_ms,
        performer,
        inputs,
        outcomes,
        capabilities,
        limits,
        on_timeout,
        llm,
        retry: retry_policy::parse(cx, t.retry.as_ref(), &field)?,
        compensate: None,
        region: None,
        compensation: t.compensation,
        line: cx.line(name.span()),
    })
}

/// The `inputs` of an ordinary transition: at least one, not all shared.
fn parse_inputs(
    cx: &Ctx<'_>,
    raw: Option<&Spanned<RawArcs>>,
    places: &[Place],
    span: Range<usize>,
    field: &str,
) -> Result<Vec<Arc>, NetError> {
    let Some(raw_inputs) = raw else {
        return Err(cx.err(
            span,
            format!("{field}.inputs"),
            "missing `inputs` (expected e.g. `inputs = { received = 1 }`)",
        ));
    };
    let inputs = parse_arcs(cx, raw_inputs, places, &format!("{field}.inputs"))?;
    if inputs.is_empty() {
        return Err(cx.err(
            raw_inputs.span(),
            format!("{field}.inputs"),
            "no input place (a transition must consume at least one token)",
        ));
    }
    if inputs.iter().all(|a| places[a.place].shared) {
        return Err(cx.err(raw_inputs.span(), format!("{field}.inputs"), "every input place is shared (expected at least one per-case input, so the firing belongs to a case)"));
    }
    Ok(inputs)
}

fn positive<T: Copy + PartialEq + Default + std::fmt::Display>(
    cx: &Ctx<'_>,
    v: &Spanned<T>,
    field: &str,
) -> Result<T, NetError> {
    if *v.get_ref() == T::default() {
        Err(cx.err(
            v.span(),
            field,
            format!(
                "{} is not allowed (expected a positive number)",
                v.get_ref()
            ),
        ))
    } else {
        Ok(*v.get_ref())
    }
}

#[cfg(test)]
mod bounds_tests;
mod human;
#[cfg(test)]
mod human_tests;
mod llm_policy;
mod on_timeout;
pub use human::{DEFAULT_OFFER_TIMEOUT_MS, MAX_FORM_BYTES, MAX_OFFER_TIMEOUT_MS};
#[cfg(test)]
mod regions_tests;
mod retry_policy;
#[cfg(test)]
mod tests;
