//! The PNML reader: XML events to raw places, transitions and arcs, then
//! references resolved and the [`PtNet`] built.

use std::collections::HashMap;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

mod build;

use super::PnmlError;
use crate::verify::ptnet::PtNet;

/// What an open element is, as far as the import cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Root,
    Net,
    Page,
    Node(Item),
    /// `<name>`, `<initialMarking>` or `<inscription>` of a node.
    Label(Label, Item),
    /// The `<text>` of a label: its characters are collected.
    Text(Label, Item),
    Other,
}

/// A node being read: index into the parser's vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Place(usize),
    Transition(usize),
    Arc(usize),
    Reference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Name,
    Marking,
    Inscription,
}

impl Label {
    fn element(self) -> &'static str {
        match self {
            Label::Name => "<name>",
            Label::Marking => "<initialMarking>",
            Label::Inscription => "<inscription>",
        }
    }
}

#[derive(Debug, Default)]
struct RawNode {
    id: String,
    label: Option<String>,
    value: Option<u32>,
    at: usize,
}

#[derive(Debug, Default)]
struct RawArc {
    id: String,
    source: String,
    target: String,
    weight: Option<u32>,
    at: usize,
}

pub(super) struct Parser<'a> {
    file: &'a Path,
    source: &'a str,
    net_id: Option<String>,
    places: Vec<RawNode>,
    transitions: Vec<RawNode>,
    arcs: Vec<RawArc>,
    /// Reference node id → (referenced id, byte offset).
    references: HashMap<String, (String, usize)>,
    /// Every node id → byte offset of its element, for duplicate detection.
    ids: HashMap<String, usize>,
    text: String,
}

impl<'a> Parser<'a> {
    /// A parser of `source`, the text of `file` (named in errors).
    pub(super) fn new(source: &'a str, file: &'a Path) -> Parser<'a> {
        Parser {
            file,
            source,
            net_id: None,
            places: Vec::new(),
            transitions: Vec::new(),
            arcs: Vec::new(),
            references: HashMap::new(),
            ids: HashMap::new(),
            text: String::new(),
        }
    }

    fn line(&self, offset: usize) -> usize {
        crate::net::line_at(self.source, offset)
    }

    fn invalid(
        &self,
        at: usize,
        element: impl Into<String>,
        message: impl Into<String>,
    ) -> PnmlError {
        PnmlError::Invalid {
            file: self.file.to_path_buf(),
            line: self.line(at),
            element: element.into(),
            message: message.into(),
        }
    }

    fn xml(&self, at: usize, message: impl std::fmt::Display) -> PnmlError {
        PnmlError::Xml {
            file: self.file.to_path_buf(),
            line: self.line(at),
            message: message.to_string(),
        }
    }

    /// Reads the whole file into a net.
    pub(super) fn run(mut self) -> Result<PtNet, PnmlError> {
        let mut reader = Reader::from_str(self.source);
        let mut stack: Vec<Tag> = vec![Tag::Root];
        // Names of the elements open, for the end-of-file check.
        let mut names: Vec<String> = Vec::new();
        // Depth of a `<graphics>`/`<toolspecific>`/unknown subtree being skipped.
        let mut skip = 0usize;
        loop {
            let at = reader.buffer_position() as usize;
            let event = reader
                .read_event()
                .map_err(|e| self.xml(reader.error_position() as usize, e))?;
            if skip > 0 {
                match event {
                    Event::Start(_) => skip += 1,
                    Event::End(_) => skip -= 1,
                    Event::Eof => {
                        return Err(self.xml(
                            at,
                            "unexpected end of file inside <graphics> or <toolspecific>",
                        ));
                    }
                    _ => {}
                }
                continue;
            }
            match event {
                Event::Start(e) => {
                    let tag = self.open(&e, *stack.last().unwrap_or(&Tag::Root), at)?;
                    if tag == Tag::Other {
                        skip = 1;
                    } else {
                        stack.push(tag);
                        names.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                    }
                }
                Event::Empty(e) => {
                    let tag = self.open(&e, *stack.last().unwrap_or(&Tag::Root), at)?;
                    if tag != Tag::Other {
                        self.close(tag, at)?;
                    }
                }
                Event::End(_) => {
                    let tag = stack.pop().unwrap_or(Tag::Root);
                    names.pop();
                    self.close(tag, at)?;
                }
                Event::Text(t) if matches!(stack.last(), Some(Tag::Text(..))) => {
                    let text = t.decode().map_err(|e| self.xml(at, e))?;
                    self.text.push_str(&text);
                }
                Event::CData(t) if matches!(stack.last(), Some(Tag::Text(..))) => {
                    let text = t.decode().map_err(|e| self.xml(at, e))?;
                    self.text.push_str(&text);
                }
                Event::GeneralRef(r) if matches!(stack.last(), Some(Tag::Text(..))) => {
                    if let Some(c) = r.resolve_char_ref().map_err(|e| self.xml(at, e))? {
                        self.text.push(c);
                    } else {
                        let name = r.decode().map_err(|e| self.xml(at, e))?;
                        let Some(s) = quick_xml::escape::resolve_xml_entity(&name) else {
                            return Err(self.xml(at, format!("unknown entity `&{name};`")));
                        };
                        self.text.push_str(s);
                    }
                }
                Event::Eof => {
                    if let Some(open) = names.last() {
                        return Err(self.xml(
                            at,
                            format!("unexpected end of file: <{open}> is not closed"),
                        ));
                    }
                    break;
                }
                _ => {}
            }
        }
        if self.net_id.is_none() {
            return Err(self.invalid(
                0,
                "<pnml>",
                "no <net> element (expected one place/transition net)",
            ));
        }
        self.build()
    }

    /// Classifies an opening element and records what it declares.
    fn open(&mut self, e: &BytesStart<'_>, parent: Tag, at: usize) -> Result<Tag, PnmlError> {
        let local = e.local_name();
        let name = std::str::from_utf8(local.as_ref()).unwrap_or("?");
        let structural = matches!(parent, Tag::Net | Tag::Page);
        Ok(match (name, parent) {
            ("pnml", Tag::Root) => Tag::Root,
            ("net", Tag::Root) => {
                if self.net_id.is_some() {
                    return Err(self.invalid(
                        at,
                        "<net>",
                        "a second <net> (expected exactly one net per file)",
                    ));
                }
                let id = self.attr(e, "id", "<net>", at)?;
                let kind = self.attr(e, "type", &format!("<net id=\"{id}\">"), at)?;
                if !kind.trim_end_matches('/').ends_with("ptnet") {
                    return Err(self.invalid(
                        at,
                        format!("<net id=\"{id}\">"),
                        format!("unsupported net type `{kind}` (expected a place/transition net, `http://www.pnml.org/version-2009/grammar/ptnet`)"),
                    ));
                }
                self.net_id = Some(id);
                Tag::Net
            }
            ("page", _) if structural => {
                self.attr(e, "id", "<page>", at)?;
                Tag::Page
            }
            ("place", _) if structural => {
                let id = self.node_id(e, "place", at)?;
                self.places.push(RawNode {
                    id,
                    at,
                    ..RawNode::default()
                });
                Tag::Node(Item::Place(self.places.len() - 1))
            }
            ("transition", _) if structural => {
                let id = self.node_id(e, "transition", at)?;
                self.transitions.push(RawNode {
                    id,
                    at,
                    ..RawNode::default()
                });
                Tag::Node(Item::Transition(self.transitions.len() - 1))
            }
            ("arc", _) if structural => {
                let id = self.node_id(e, "arc", at)?;
                let element = format!("<arc id=\"{id}\">");
                let source = self.attr(e, "source", &element, at)?;
                let target = self.attr(e, "target", &element, at)?;
                self.arcs.push(RawArc {
                    id,
                    source,
                    target,
                    at,
                    ..RawArc::default()
                });
                Tag::Node(Item::Arc(self.arcs.len() - 1))
            }
            ("referencePlace" | "referenceTransition", _) if structural => {
                let id = self.node_id(e, name, at)?;
                let target = self.attr(e, "ref", &format!("<{name} id=\"{id}\">"), at)?;
                self.references.insert(id, (target, at));
                Tag::Node(Item::Reference)
            }
            ("place" | "transition" | "arc" | "page", _) => {
                return Err(self.invalid(
                    at,
                    format!("<{name}>"),
                    "misplaced element (expected it directly inside <net> or <page>)",
                ));
            }
            ("name", Tag::Node(item)) if item != Item::Reference => Tag::Label(Label::Name, item),
            ("initialMarking", Tag::Node(item @ Item::Place(_))) => {
                Tag::Label(Label::Marking, item)
            }
            ("inscription", Tag::Node(item @ Item::Arc(_))) => Tag::Label(Label::Inscription, item),
            ("text", Tag::Label(label, item)) => {
                self.text.clear();
                Tag::Text(label, item)
            }
            _ => Tag::Other,
        })
    }

    /// Handles the end of an element: stores the collected text.
    fn close(&mut self, tag: Tag, at: usize) -> Result<(), PnmlError> {
        let Tag::Text(label, item) = tag else {
            return Ok(());
        };
        let text = std::mem::take(&mut self.text);
        let element = format!("{} {}", self.describe(item), label.element());
        let twice = |p: &Self| p.invalid(at, element.clone(), "given twice (expected one <text>)");
        match (label, item) {
            (Label::Name, Item::Place(i) | Item::Transition(i)) => {
                let node = match item {
                    Item::Place(_) => &mut self.places[i],
                    _ => &mut self.transitions[i],
                };
                if node.label.is_some() {
                    return Err(twice(self));
                }
                node.label = Some(text.trim().to_string());
            }
            (Label::Marking, Item::Place(i)) => {
                let n = self.number(&text, 0, &element, "a token count", at)?;
                if self.places[i].value.replace(n).is_some() {
                    return Err(twice(self));
                }
            }
            (Label::Inscription, Item::Arc(i)) => {
                let n = self.number(&text, 1, &element, "an arc weight", at)?;
                if self.arcs[i].weight.replace(n).is_some() {
                    return Err(twice(self));
                }
            }
            // An arc's <name> is of no use to the check.
            _ => {}
        }
        Ok(())
    }

    fn describe(&self, item: Item) -> String {
        match item {
            Item::Place(i) => format!("<place id=\"{}\">", self.places[i].id),
            Item::Transition(i) => format!("<transition id=\"{}\">", self.transitions[i].id),
            Item::Arc(i) => format!("<arc id=\"{}\">", self.arcs[i].id),
            Item::Reference => "<reference>".to_string(),
        }
    }

    fn number(
        &self,
        text: &str,
        min: u32,
        element: &str,
        what: &str,
        at: usize,
    ) -> Result<u32, PnmlError> {
        let text = text.trim();
        match text.parse::<u32>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(self.invalid(
                at,
                element,
                format!(
                    "invalid value `{text}` (expected {what}: an integer from {min} to {})",
                    u32::MAX
                ),
            )),
        }
    }

    fn attr(
        &self,
        e: &BytesStart<'_>,
        key: &str,
        element: &str,
        at: usize,
    ) -> Result<String, PnmlError> {
        match e.try_get_attribute(key) {
            Ok(Some(a)) => match a.unescape_value() {
                Ok(v) if !v.trim().is_empty() => Ok(v.into_owned()),
                Ok(_) => Err(self.invalid(at, element, format!("empty `{key}` attribute"))),
                Err(err) => Err(self.xml(at, err)),
            },
            Ok(None) => Err(self.invalid(at, element, format!("missing `{key}` attribute"))),
            Err(err) => Err(self.xml(at, err)),
        }
    }

    fn node_id(&mut self, e: &BytesStart<'_>, name: &str, at: usize) -> Result<String, PnmlError> {
        let id = self.attr(e, "id", &format!("<{name}>"), at)?;
        if let Some(first) = self.ids.insert(id.clone(), at) {
            return Err(self.invalid(
                at,
                format!("<{name} id=\"{id}\">"),
                format!(
                    "duplicate id (already used on line {}; expected ids unique in the file)",
                    self.line(first)
                ),
            ));
        }
        Ok(id)
    }
}
