//! Turning what the parser read into a [`PtNet`]: reference nodes
//! resolved, arcs checked against their ends.

use std::collections::HashMap;

use super::{Parser, RawArc};
use crate::verify::pnml::PnmlError;
use crate::verify::ptnet::{BuildError, PtNet, PtPlace};

impl Parser<'_> {
    /// Follows reference nodes to the place or transition they stand for.
    fn resolve<'s>(
        &'s self,
        mut id: &'s str,
        arc: &RawArc,
        end: &str,
    ) -> Result<&'s str, PnmlError> {
        for _ in 0..=self.references.len() {
            match self.references.get(id) {
                Some((target, _)) => id = target,
                None => return Ok(id),
            }
        }
        Err(self.invalid(
            arc.at,
            format!("<arc id=\"{}\">", arc.id),
            format!("`{end}` is a cycle of reference nodes"),
        ))
    }

    pub(super) fn build(self) -> Result<PtNet, PnmlError> {
        let mut net = PtNet::new(self.net_id.clone().unwrap_or_default());
        let mut inputs = vec![Vec::new(); self.transitions.len()];
        let mut outputs = vec![Vec::new(); self.transitions.len()];
        let mut place_of = HashMap::with_capacity(self.places.len());
        let mut transition_of = HashMap::with_capacity(self.transitions.len());
        for (i, p) in self.places.iter().enumerate() {
            place_of.insert(p.id.as_str(), i);
        }
        for (i, t) in self.transitions.iter().enumerate() {
            transition_of.insert(t.id.as_str(), i);
        }
        for arc in &self.arcs {
            let element = || format!("<arc id=\"{}\">", arc.id);
            let source = self.resolve(&arc.source, arc, "source")?;
            let target = self.resolve(&arc.target, arc, "target")?;
            let weight = arc.weight.unwrap_or(1);
            match (
                place_of.get(source),
                transition_of.get(source),
                place_of.get(target),
                transition_of.get(target),
            ) {
                (Some(&p), _, _, Some(&t)) => inputs[t].push((p, weight)),
                (_, Some(&t), Some(&p), _) => outputs[t].push((p, weight)),
                (Some(_), _, Some(_), _) | (_, Some(_), _, Some(_)) => {
                    return Err(self.invalid(arc.at, element(), format!(
                        "connects `{source}` to `{target}`, two nodes of the same kind (expected a place and a transition)"
                    )));
                }
                (None, None, _, _) => {
                    return Err(self.invalid(
                        arc.at,
                        element(),
                        format!(
                            "`source` names `{source}`, which is no place or transition of the net"
                        ),
                    ));
                }
                _ => {
                    return Err(self.invalid(
                        arc.at,
                        element(),
                        format!(
                            "`target` names `{target}`, which is no place or transition of the net"
                        ),
                    ));
                }
            }
        }
        for (_, (target, at)) in self.references.iter() {
            if !place_of.contains_key(target.as_str())
                && !transition_of.contains_key(target.as_str())
                && !self.references.contains_key(target)
            {
                return Err(self.invalid(
                    *at,
                    "<referencePlace>",
                    format!("`ref` names `{target}`, which is no node of the net"),
                ));
            }
        }
        let built = |e: BuildError, at: usize| self.invalid(at, "<net>", e.to_string());
        for p in &self.places {
            let label = p.label.clone().filter(|l| *l != p.id);
            net.add_place(PtPlace {
                name: p.id.clone(),
                label,
                initial: p.value.unwrap_or(0),
                capacity: None,
            })
            .map_err(|e| built(e, p.at))?;
        }
        for (i, t) in self.transitions.iter().enumerate() {
            let label = t.label.clone().filter(|l| *l != t.id);
            net.add_transition(t.id.clone(), label, &inputs[i], &outputs[i])
                .map_err(|e| built(e, t.at))?;
        }
        Ok(net)
    }
}
