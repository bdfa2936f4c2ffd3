//! A deployed net version as the dashboard shows it: its places and
//! transitions, and its drawing with live token counts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Host;
use crate::engine::EngineError;
use crate::engine::driver::Command;
use crate::net::{Net, Performer};
use crate::store::Owner;
use crate::verify::{GraphFormat, render};

/// A place of a [`NetDetail`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceDetail {
    /// Name.
    pub name: String,
    /// Where a case's first tokens go.
    pub start: bool,
    /// Tokens here end a case.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Case-less resource tokens.
    pub shared: bool,
}

/// An outcome of a [`TransitionDetail`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeDetail {
    /// Name.
    pub name: String,
    /// (place, weight) of each output arc.
    pub outputs: Vec<(String, u32)>,
    /// The form people fill for it (a JSON Schema), if any.
    pub form: Option<serde_json::Value>,
}

/// A transition of a [`NetDetail`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionDetail {
    /// Name.
    pub name: String,
    /// Performed by workers or people through the work API.
    pub external: bool,
    /// Performed by people (the dashboard's inbox).
    pub human: bool,
    /// Runs only to compensate.
    pub compensation: bool,
    /// (place, weight) of each input arc.
    pub inputs: Vec<(String, u32)>,
    /// Declared outcomes, in file order.
    pub outcomes: Vec<OutcomeDetail>,
    /// The outcome a missed deadline takes.
    pub on_timeout: Option<String>,
}

/// A deployed net version: `GET /v1/nets/{version}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetDetail {
    /// Net name.
    pub name: String,
    /// Version (content hash).
    pub version: String,
    /// When it was deployed (ms since the Unix epoch).
    pub deployed_at_ms: u64,
    /// What the net file says it is for.
    pub description: Option<String>,
    /// The net file as deployed.
    pub source: String,
    /// Places, in file order.
    pub places: Vec<PlaceDetail>,
    /// Transitions, in file order.
    pub transitions: Vec<TransitionDetail>,
}

fn detail(net: &Net, version: String, deployed_at_ms: u64) -> NetDetail {
    let places = net.places();
    let arcs = |arcs: &[crate::net::Arc]| -> Vec<(String, u32)> {
        arcs.iter()
            .map(|a| (places[a.place].name.clone(), a.weight))
            .collect()
    };
    NetDetail {
        name: net.name().to_string(),
        version,
        deployed_at_ms,
        description: net.description().map(str::to_string),
        source: net.source().to_string(),
        places: places
            .iter()
            .map(|p| PlaceDetail {
                name: p.name.clone(),
                start: p.start,
                is_final: p.is_final,
                shared: p.shared,
            })
            .collect(),
        transitions: net
            .transitions()
            .iter()
            .map(|t| TransitionDetail {
                name: t.name.clone(),
                external: t.performer == Performer::External,
                human: t.human,
                compensation: t.compensation,
                inputs: arcs(&t.inputs),
                outcomes: t
                    .outcomes
                    .iter()
                    .map(|o| OutcomeDetail {
                        name: o.name.clone(),
                        outputs: arcs(&o.outputs),
                        form: o.form.clone(),
                    })
                    .collect(),
                on_timeout: t.on_timeout.map(|i| t.outcomes[i].name.clone()),
            })
            .collect(),
    }
}

impl Host {
    /// Deployed net version `version` (or a net name: its newest version).
    pub fn net_detail(&self, version: &str) -> Result<NetDetail, EngineError> {
        let version = self.resolve(version)?;
        let record = self.engine().store().net(&version)?.ok_or_else(|| {
            EngineError::NotFound(format!("no deployed net or version `{version}`"))
        })?;
        let dep = self.engine().deployment(&version)?;
        Ok(detail(&dep.net, record.version, record.deployed_at_ms))
    }

    /// Net version `version` drawn (as `petrel graph` draws it), each place
    /// with its tokens: those of case `case`, or without one, those of the
    /// version's live cases (running, stuck, compensating) and its shared
    /// tokens.
    pub async fn net_drawing(
        &self,
        version: &str,
        format: GraphFormat,
        case: Option<&str>,
    ) -> Result<String, EngineError> {
        let version = self.resolve(version)?;
        let dep = self.engine().deployment(&version)?;
        let counts = match case {
            Some(id) => self.case_counts(&version, id)?,
            None => {
                let version = version.clone();
                self.ask(|reply| Command::PlaceCounts { version, reply })
                    .await?
            }
        };
        Ok(render(&dep.net, format, Some(&counts)))
    }

    /// Tokens per place of case `id` (of version `version`) and of the
    /// version's shared places.
    fn case_counts(&self, version: &str, id: &str) -> Result<BTreeMap<String, usize>, EngineError> {
        let store = self.engine().store();
        let record = store
            .case(id)?
            .ok_or_else(|| EngineError::NotFound(format!("no case `{id}`")))?;
        if record.version != version {
            return Err(EngineError::Invalid(format!(
                "`case`: case `{id}` runs version `{}`, not `{version}`",
                record.version
            )));
        }
        let mut counts = BTreeMap::new();
        for owner in [Owner::Case(record.id), Owner::Shared(record.version)] {
            for t in store.tokens(&owner)? {
                *counts.entry(t.place).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }
}
