//! `[regions.NAME]` and `[net] retry`: read, and refused with the file,
//! line and field when wrong.

use super::tests::net_error as err;
use crate::net::Net;

const FORK: &str = r#"
[net]
name = "n"
[places.order]
start = true
[places.to_ship]
[places.packed]
[places.to_bill]
[places.billed]
[places.ship_failed]
[places.done]
final = true
[places.slot]
shared = true
initial = 1
[transitions.split]
guest = "split.wasm"
inputs = { order = 1 }
outcomes.ok = { to_ship = 1, to_bill = 1 }
[transitions.pack]
guest = "pack.wasm"
inputs = { to_ship = 1, slot = 1 }
outcomes.ok = { packed = 1, slot = 1 }
[transitions.ship]
guest = "ship.wasm"
inputs = { packed = 1 }
outcomes.ok = { done = 1 }
[transitions.bill]
guest = "bill.wasm"
inputs = { to_bill = 1 }
outcomes.ok = { billed = 1 }
[transitions.settle]
guest = "settle.wasm"
inputs = { billed = 1 }
outcomes.ok = { done = 1 }
[transitions.recover]
guest = "recover.wasm"
inputs = { ship_failed = 1 }
outcomes.ok = { done = 1 }
[regions.shipping]
places = ["to_ship", "packed"]
on_abort = "ship_failed"
"#;

fn net(text: &str) -> Result<Net, String> {
    Net::parse(text, "n.toml").map_err(|e| e.to_string())
}

#[test]
fn a_regions_transitions_are_those_consuming_from_its_places() {
    let n = net(FORK).unwrap();
    assert_eq!(n.regions().len(), 1);
    let r = &n.regions()[0];
    let names: Vec<_> = r
        .places
        .iter()
        .map(|&p| n.places()[p].name.as_str())
        .collect();
    assert_eq!(
        (r.name.as_str(), names),
        ("shipping", vec!["to_ship", "packed"])
    );
    assert_eq!(n.places()[r.on_abort].name, "ship_failed");
    let inside: Vec<_> = n
        .transitions()
        .iter()
        .filter(|t| t.region == Some(0))
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        inside,
        ["pack", "ship"],
        "split feeds it but is not in it; pack's shared slot is fine"
    );
}

#[test]
fn bad_regions_name_line_and_field() {
    let with = |region: &str| {
        FORK.replace(
            "places = [\"to_ship\", \"packed\"]\non_abort = \"ship_failed\"",
            region,
        )
    };
    assert_eq!(
        err(&with(
            "places = [\"to_ship\", \"nope\"]\non_abort = \"ship_failed\""
        )),
        "n.toml:41: `regions.shipping.places`: unknown place `nope` (declared places: order, to_ship, packed, to_bill, billed, ship_failed, done, slot)"
    );
    assert!(
        err(&with(
            "places = [\"to_ship\", \"packed\"]\non_abort = \"packed\""
        ))
        .contains("`regions.shipping.on_abort`: place `packed` is in the region")
    );
    assert!(
        err(&with("places = [\"slot\"]\non_abort = \"ship_failed\""))
            .contains("`regions.shipping.places`: place `slot` is shared")
    );
    assert!(
        err(&with("places = [\"done\"]\non_abort = \"ship_failed\""))
            .contains("place `done` is final")
    );
    assert!(
        err(&with("places = []\non_abort = \"ship_failed\""))
            .contains("`regions.shipping.places`: a region holds at least one place")
    );
    assert!(
        err(&with(
            "places = [\"to_ship\", \"to_ship\"]\non_abort = \"ship_failed\""
        ))
        .contains("place `to_ship` is listed twice")
    );
    let two = FORK.to_string()
        + "[regions.billing]\nplaces = [\"to_bill\", \"packed\"]\non_abort = \"ship_failed\"\n";
    assert!(
        err(&two)
            .contains("place `packed` is in region `shipping` already (regions do not overlap)")
    );
    let into_other = FORK.to_string()
        + "[regions.billing]\nplaces = [\"to_bill\", \"billed\"]\non_abort = \"to_ship\"\n";
    assert!(
        err(&into_other)
            .contains("`regions.billing.on_abort`: place `to_ship` is in region `shipping`")
    );
    let name_clash =
        FORK.to_string() + "[regions.bill]\nplaces = [\"to_bill\"]\non_abort = \"ship_failed\"\n";
    assert!(
        err(&name_clash)
            .contains("`regions.bill`: `bill` is already the name of a place or transition")
    );
}

#[test]
fn a_transition_takes_its_case_tokens_from_one_region() {
    let straddle = FORK.replace(
        "inputs = { packed = 1 }\noutcomes.ok = { done = 1 }",
        "inputs = { packed = 1, billed = 1 }\noutcomes.ok = { done = 1 }",
    );
    assert!(
        err(&straddle).contains(
            "`transitions.ship.inputs`: consumes from region `shipping` and from `billed`, outside it"
        ),
        "{}",
        err(&straddle)
    );
}

#[test]
fn the_workflow_retry_reads_like_a_transitions_without_retry_on() {
    let text = FORK.replace(
        "name = \"n\"\n",
        "name = \"n\"\nretry = { max_attempts = 4, initial_delay_ms = 10, jitter = 0.0 }\n",
    );
    let n = net(&text).unwrap();
    let p = n.workflow_retry().unwrap();
    assert_eq!((p.max_attempts, p.initial_delay_ms), (4, 10));
    assert!(net(FORK).unwrap().workflow_retry().is_none());
    let bad = FORK.replace(
        "name = \"n\"\n",
        "name = \"n\"\nretry = { retry_on = [\"trap\"] }\n",
    );
    assert!(
        err(&bad).starts_with(
            "n.toml:4: `net.retry.retry_on`: a whole case is retried when it ends aborted or stuck"
        ),
        "{}",
        err(&bad)
    );
    let bad = FORK.replace(
        "name = \"n\"\n",
        "name = \"n\"\nretry = { on_exhausted = \"abort\" }\n",
    );
    assert!(err(&bad).contains("`net.retry.on_exhausted`"));
    let bad = FORK.replace(
        "name = \"n\"\n",
        "name = \"n\"\nretry = { max_attempts = 0 }\n",
    );
    assert!(
        err(&bad).contains("`net.retry.max_attempts`"),
        "{}",
        err(&bad)
    );
}
