use super::*;
use crate::verify::ptnet::Node;

fn net(body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<pnml xmlns="http://www.pnml.org/version-2009/grammar/pnml">
  <net id="n" type="http://www.pnml.org/version-2009/grammar/ptnet">
{body}
  </net>
</pnml>"#
    )
}

fn err(body: &str) -> String {
    parse(&net(body), "t.pnml").unwrap_err().to_string()
}

#[test]
fn reads_nested_pages_labels_markings_and_weights() {
    let src = net(r#"
    <name><text>ignored</text></name>
    <page id="outer">
      <place id="p1"><name><text>Start place</text></name>
        <initialMarking><graphics><offset x="1" y="2"/></graphics><text> 3 </text></initialMarking></place>
      <page id="inner">
        <place id="p2"/>
        <transition id="t1"><name><text>t1</text></name></transition>
        <referencePlace id="r1" ref="p1"/>
      </page>
      <arc id="a1" source="r1" target="t1"><inscription><text>2</text></inscription></arc>
      <arc id="a2" source="t1" target="p2"/>
      <arc id="a3" source="p1" target="t1"/>
      <toolspecific tool="nupn" version="1.1"><size places="2"/></toolspecific>
    </page>"#);
    let n = parse(&src, "t.pnml").unwrap();
    assert_eq!(n.name, "n");
    assert_eq!(n.places()[0].label.as_deref(), Some("Start place"));
    assert_eq!(n.initial_marking(), vec![3, 0]);
    let Some(Node::Transition(t)) = n.node("t1") else {
        panic!()
    };
    assert_eq!(n.transitions()[t].label, None, "same as the id");
    assert_eq!(
        n.transitions()[t].inputs,
        vec![(0, 3)],
        "reference arc and direct arc add up"
    );
    assert_eq!(n.transitions()[t].outputs, vec![(1, 1)]);
}

#[test]
fn resolves_entities_in_labels() {
    let n = parse(&net(r#"<page id="g"><place id="p"><name><text>a &amp; b &#x41;</text></name></place></page>"#), "t.pnml").unwrap();
    assert_eq!(n.places()[0].label.as_deref(), Some("a & b A"));
}

#[test]
fn errors_name_the_file_line_and_element() {
    assert_eq!(
        err(
            r#"<page id="g"><place id="p"><initialMarking><text>many</text></initialMarking></place></page>"#
        ),
        "t.pnml:4: <place id=\"p\"> <initialMarking>: invalid value `many` (expected a token count: an integer from 0 to 4294967295)"
    );
    assert_eq!(
        err(
            "<page id=\"g\"><transition id=\"t\"/>\n<arc id=\"a\" source=\"t\" target=\"nowhere\"/></page>"
        ),
        "t.pnml:5: <arc id=\"a\">: `target` names `nowhere`, which is no place or transition of the net"
    );
    assert!(
        err(r#"<page id="g"><place id="p"/><place id="p"/></page>"#)
            .contains("<place id=\"p\">: duplicate id (already used on line 4")
    );
    assert!(
        err(r#"<page id="g"><arc id="a" target="x"/></page>"#)
            .contains("<arc id=\"a\">: missing `source` attribute")
    );
    assert!(err(r#"<page id="g"><place id="p"/><place id="q"/><arc id="a" source="p" target="q"/></page>"#)
        .contains("two nodes of the same kind"));
    assert!(err(r#"<page id="g"><arc id="a" source="p" target="t"><inscription><text>0</text></inscription></arc></page>"#)
        .contains("<arc id=\"a\"> <inscription>: invalid value `0` (expected an arc weight: an integer from 1"));
}

#[test]
fn malformed_xml_and_other_net_types_are_refused() {
    let e = parse(
        "<pnml><net id=\"n\" type=\"ptnet\"><page id=\"p\"></net></pnml>",
        "bad.pnml",
    )
    .unwrap_err();
    assert!(matches!(e, PnmlError::Xml { line: 1, .. }), "{e}");
    assert!(
        e.to_string().starts_with("bad.pnml:1: malformed XML: "),
        "{e}"
    );
    let e = parse(r#"<pnml><net id="s" type="http://www.pnml.org/version-2009/grammar/symmetricnet"/></pnml>"#, "s.pnml").unwrap_err();
    assert!(e.to_string().contains("unsupported net type"), "{e}");
    let e = parse(
        "<pnml><net id=\"n\" type=\"ptnet\"><page id=\"g\">\n<place id=\"p\"/>",
        "cut.pnml",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cut.pnml:2: malformed XML: unexpected end of file: <page> is not closed"
    );
    let e = parse("<pnml></pnml>", "e.pnml").unwrap_err();
    assert!(e.to_string().contains("no <net> element"), "{e}");
    let e = load("/nonexistent/x.pnml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read PNML file `/nonexistent/x.pnml`"),
        "{e}"
    );
}
