//! Drawings of a Petrel net: Mermaid flowcharts and Graphviz DOT.
//!
//! Places are circles (double circles when `final`, cylinders when
//! `shared`, bold when `start`), transitions are boxes: rounded and shaded
//! when decided by a guest granted `llm`, slanted when `external`. Input arcs
//! carry their weight when it is not 1; output arcs carry the outcome's name.
//! An overlay (tokens per place, e.g. a case's live marking) is printed in
//! the places and highlights the marked ones. A region (`[regions.NAME]`)
//! is a dashed box around its places and transitions, with a dashed arc
//! to its `on_abort` place.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::net::{Capability, Net, Performer};

/// Output format of [`render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// A Mermaid `flowchart`.
    Mermaid,
    /// A Graphviz `digraph`.
    Dot,
}

/// How a transition is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Guest,
    Llm,
    External,
}

fn kind(net: &Net, t: usize) -> Kind {
    let t = &net.transitions()[t];
    match t.performer {
        Performer::External => Kind::External,
        Performer::Guest { .. } if t.grants(Capability::Llm) => Kind::Llm,
        Performer::Guest { .. } => Kind::Guest,
    }
}

/// The node ids of region `r`: its places, then its transitions.
fn region_nodes(net: &Net, r: usize) -> Vec<String> {
    let places = net.regions()[r].places.iter().map(|p| format!("p{p}"));
    let transitions = (0..net.transitions().len())
        .filter(|&i| net.transitions()[i].region == Some(r))
        .map(|i| format!("t{i}"));
    places.chain(transitions).collect()
}

/// Renders `net` in `format`, with `overlay` tokens (by place name) shown.
pub fn render(net: &Net, format: GraphFormat, overlay: Option<&BTreeMap<String, usize>>) -> String {
    match format {
        GraphFormat::Mermaid => mermaid(net, overlay),
        GraphFormat::Dot => dot(net, overlay),
    }
}

fn tokens(overlay: Option<&BTreeMap<String, usize>>, place: &str) -> Option<usize> {
    overlay.map(|o| o.get(place).copied().unwrap_or(0))
}

/// Mermaid labels go in double quotes; `#quot;` is Mermaid's escape for one.
fn mermaid_label(s: &str) -> String {
    s.replace('"', "#quot;")
}

fn mermaid(net: &Net, overlay: Option<&BTreeMap<String, usize>>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "flowchart LR");
    let _ = writeln!(out, "  %% {}", net.name());
    for (i, p) in net.places().iter().enumerate() {
        let mut label = mermaid_label(&p.name);
        if let Some(n) = tokens(overlay, &p.name) {
            let _ = write!(label, " ● {n}");
        }
        let node = if p.shared {
            format!("[(\"{label}\")]")
        } else if p.is_final {
            format!("(((\"{label}\")))")
        } else {
            format!("((\"{label}\"))")
        };
        let _ = writeln!(out, "  p{i}{node}");
    }
    for (i, t) in net.transitions().iter().enumerate() {
        let label = mermaid_label(&t.name);
        let node = match kind(net, i) {
            Kind::Guest => format!("[\"{label}\"]"),
            Kind::Llm => format!("([\"{label} · llm\"])"),
            Kind::External => format!("[/\"{label}\"/]"),
        };
        let _ = writeln!(out, "  t{i}{node}");
    }
    for (r, region) in net.regions().iter().enumerate() {
        let label = mermaid_label(&region.name);
        let _ = writeln!(out, "  subgraph r{r}[\"region {label}\"]");
        for id in region_nodes(net, r) {
            let _ = writeln!(out, "    {id}");
        }
        let _ = writeln!(out, "  end");
        let _ = writeln!(out, "  r{r} -.->|\"on abort\"| p{}", region.on_abort);
    }
    for (i, t) in net.transitions().iter().enumerate() {
        if let Some(c) = t.compensate {
            let _ = writeln!(out, "  t{i} -.->|\"undone by\"| t{c}");
        }
        for a in &t.inputs {
            match a.weight {
                1 => _ = writeln!(out, "  p{} --> t{i}", a.place),
                w => _ = writeln!(out, "  p{} -->|\"{w}\"| t{i}", a.place),
            }
        }
        for o in &t.outcomes {
            let timeout = if t.on_timeout.is_some_and(|k| t.outcomes[k].name == o.name) {
                " ⏱"
            } else {
                ""
            };
            for a in &o.outputs {
                let weight = if a.weight == 1 {
                    String::new()
                } else {
                    format!(" ×{}", a.weight)
                };
                let _ = writeln!(
                    out,
                    "  t{i} -->|\"{}{weight}{timeout}\"| p{}",
                    mermaid_label(&o.name),
                    a.place
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "  classDef llm fill:#fde2e4,stroke:#b3261e,stroke-width:2px"
    );
    let _ = writeln!(out, "  classDef external fill:#e8f0fe,stroke:#1a73e8");
    let _ = writeln!(out, "  classDef start stroke-width:3px");
    let _ = writeln!(
        out,
        "  classDef marked fill:#fff4c2,stroke:#b08800,stroke-width:2px"
    );
    let class = |out: &mut String, name: &str, nodes: Vec<String>| {
        if !nodes.is_empty() {
            let _ = writeln!(out, "  class {} {name}", nodes.join(","));
        }
    };
    let by_kind = |k: Kind| {
        (0..net.transitions().len())
            .filter(|&i| kind(net, i) == k)
            .map(|i| format!("t{i}"))
            .collect()
    };
    class(&mut out, "llm", by_kind(Kind::Llm));
    class(&mut out, "external", by_kind(Kind::External));
    let places = |f: &dyn Fn(usize) -> bool| {
        (0..net.places().len())
            .filter(|&i| f(i))
            .map(|i| format!("p{i}"))
            .collect()
    };
    class(&mut out, "start", places(&|i| net.places()[i].start));
    class(
        &mut out,
        "marked",
        places(&|i| tokens(overlay, &net.places()[i].name).is_some_and(|n| n > 0)),
    );
    out
}

/// DOT strings go in double quotes, with `"` and `\` escaped and line
/// breaks as DOT's `\n`.
fn dot_string(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

fn dot(net: &Net, overlay: Option<&BTreeMap<String, usize>>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", dot_string(net.name()));
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(out, "  node [fontname=\"Helvetica\"];");
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=10];");
    for (i, p) in net.places().iter().enumerate() {
        let mut label = p.name.clone();
        let n = tokens(overlay, &p.name);
        if let Some(n) = n {
            let _ = write!(label, "\n● {n}");
        }
        let shape = if p.shared {
            "cylinder"
        } else if p.is_final {
            "doublecircle"
        } else {
            "circle"
        };
        let mut attrs = format!("label={}, shape={shape}", dot_string(&label));
        if p.start {
            attrs.push_str(", penwidth=3");
        }
        if n.is_some_and(|n| n > 0) {
            attrs.push_str(", style=filled, fillcolor=\"#fff4c2\"");
        }
        let _ = writeln!(out, "  p{i} [{attrs}];");
    }
    for (i, t) in net.transitions().iter().enumerate() {
        let attrs = match kind(net, i) {
            Kind::Guest => format!("label={}, shape=box", dot_string(&t.name)),
            Kind::Llm => format!(
                "label={}, shape=box, style=\"rounded,filled\", fillcolor=\"#fde2e4\", color=\"#b3261e\", penwidth=2",
                dot_string(&format!("{}\nllm", t.name))
            ),
            Kind::External => format!(
                "label={}, shape=parallelogram, style=filled, fillcolor=\"#e8f0fe\"",
                dot_string(&t.name)
            ),
        };
        let _ = writeln!(out, "  t{i} [{attrs}];");
    }
    for (r, region) in net.regions().iter().enumerate() {
        let label = dot_string(&format!("region {}", region.name));
        let _ = writeln!(out, "  subgraph cluster_r{r} {{");
        let _ = writeln!(out, "    label={label}; style=dashed;");
        let _ = writeln!(out, "    {};", region_nodes(net, r).join("; "));
        let _ = writeln!(out, "  }}");
        if let Some(&first) = region.places.first() {
            let _ = writeln!(
                out,
                "  p{first} -> p{} [style=dashed, label=\"on abort\", constraint=false];",
                region.on_abort
            );
        }
    }
    for (i, t) in net.transitions().iter().enumerate() {
        if let Some(c) = t.compensate {
            let _ = writeln!(
                out,
                "  t{i} -> t{c} [style=dashed, label=\"undone by\", constraint=false];"
            );
        }
        for a in &t.inputs {
            match a.weight {
                1 => _ = writeln!(out, "  p{} -> t{i};", a.place),
                w => _ = writeln!(out, "  p{} -> t{i} [label=\"{w}\"];", a.place),
            }
        }
        for (k, o) in t.outcomes.iter().enumerate() {
            let mut label = o.name.clone();
            if t.on_timeout == Some(k) {
                label.push_str(" (timeout)");
            }
            for a in &o.outputs {
                let l = if a.weight == 1 {
                    label.clone()
                } else {
                    format!("{label} ×{}", a.weight)
                };
                let _ = writeln!(out, "  t{i} -> p{} [label={}];", a.place, dot_string(&l));
            }
        }
    }
    let _ = writeln!(out, "}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET: &str = r#"
[net]
name = "g"
[places.inbox]
start = true
[places.pool]
shared = true
initial = 2
[places.out]
final = true
[transitions.ask]
guest = "ask.wasm"
inputs = { inbox = 1, pool = 1 }
outcomes.yes = { out = 1, pool = 1 }
outcomes.late = { out = 1, pool = 1 }
on_timeout = "late"
capabilities = ["llm"]
[transitions.pay]
external = true
inputs = { out = 2 }
outcomes.paid = { out = 2 }
"#;

    #[test]
    fn mermaid_draws_llm_and_external_transitions_distinctly_with_overlay() {
        let net = Net::parse(NET, "net.toml").unwrap();
        let overlay = BTreeMap::from([("inbox".to_string(), 1)]);
        let m = render(&net, GraphFormat::Mermaid, Some(&overlay));
        assert!(m.starts_with("flowchart LR\n"));
        assert!(m.contains("  p0((\"inbox ● 1\"))"), "{m}");
        assert!(m.contains("  p1[(\"pool ● 0\")]"), "{m}");
        assert!(m.contains("  t0([\"ask · llm\"])"), "{m}");
        assert!(m.contains("  t1[/\"pay\"/]"), "{m}");
        assert!(m.contains("  p2 -->|\"2\"| t1"), "{m}");
        assert!(m.contains("  t0 -->|\"late ⏱\"| p2"), "{m}");
        assert!(m.contains("  class t0 llm"), "{m}");
        assert!(m.contains("  class p0 marked"), "{m}");
    }

    #[test]
    fn dot_is_a_digraph_with_escaped_labels() {
        let net = Net::parse(NET, "net.toml").unwrap();
        let d = render(&net, GraphFormat::Dot, None);
        assert!(d.starts_with("digraph \"g\" {\n"));
        assert!(
            d.contains("t0 [label=\"ask\\nllm\", shape=box, style=\"rounded,filled\""),
            "{d}"
        );
        assert!(d.contains("t0 -> p2 [label=\"late (timeout)\"];"), "{d}");
        assert!(d.trim_end().ends_with('}'));
        assert_eq!(dot_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn a_region_is_a_box_around_its_places_and_transitions() {
        let net = Net::parse(
            r#"
[net]
name = "r"
[places.a]
start = true
[places.b]
[places.failed]
[places.done]
final = true
[transitions.split]
external = true
inputs = { a = 1 }
outcomes.ok = { b = 1 }
[transitions.work]
external = true
inputs = { b = 1 }
outcomes.ok = { done = 1 }
[transitions.recover]
external = true
inputs = { failed = 1 }
outcomes.ok = { done = 1 }
[regions.branch]
places = ["b"]
on_abort = "failed"
"#,
            "net.toml",
        )
        .unwrap();
        let m = render(&net, GraphFormat::Mermaid, None);
        assert!(
            m.contains("  subgraph r0[\"region branch\"]\n    p1\n    t1\n  end\n  r0 -.->|\"on abort\"| p2\n"),
            "{m}"
        );
        let d = render(&net, GraphFormat::Dot, None);
        assert!(d.contains("  subgraph cluster_r0 {\n    label=\"region branch\"; style=dashed;\n    p1; t1;\n  }\n"), "{d}");
        assert!(
            d.contains("  p1 -> p2 [style=dashed, label=\"on abort\", constraint=false];"),
            "{d}"
        );
    }
}
