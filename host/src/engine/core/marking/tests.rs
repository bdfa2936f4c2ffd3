//! The marking alone: shared and case tokens, reservations.

use super::*;

fn marking() -> Marking {
    let mut m = Marking::default();
    m.add_version(
        "v",
        [("a", false), ("slot", true), ("b", false)].into_iter(),
    );
    m.add_case("c", "v");
    m.add_case("d", "v");
    m
}

fn at(place: usize, seq: u64) -> Position {
    Position { place, seq }
}

fn arc(place: usize, weight: u32) -> Arc {
    Arc { place, weight }
}

#[test]
fn reserves_the_oldest_free_tokens_all_or_nothing() {
    let mut m = marking();
    for seq in [9, 3, 5] {
        m.put("c", at(0, seq), vec![seq as u8]);
    }
    let got = m.reserve("c", &[arc(0, 2)]).unwrap();
    assert_eq!(got.iter().map(|i| i.at.seq).collect::<Vec<_>>(), [3, 5]);
    assert_eq!(got[0].payload, [3]);
    assert_eq!(m.reserve("c", &[arc(0, 2)]), None);
    assert_eq!(m.enabled("c", &[arc(0, 2)]), Enabled::Held);
    assert_eq!(m.enabled("c", &[arc(0, 4)]), Enabled::No);
    m.unreserve("c", [at(0, 3)]);
    let got = m.reserve("c", &[arc(0, 2)]).unwrap();
    assert_eq!(got.iter().map(|i| i.at.seq).collect::<Vec<_>>(), [3, 9]);
    m.remove("c", [at(0, 5)]);
    assert_eq!((m.place("c", 0).len(), m.place("c", 0).free()), (2, 0));
}

#[test]
fn shared_places_are_one_pool_for_every_case_of_the_version() {
    let mut m = marking();
    m.put_shared("v", 1, 1, vec![0xc0]);
    m.put("c", at(0, 2), vec![0xc0]);
    m.put("d", at(0, 3), vec![0xc0]);
    let arcs = [arc(0, 1), arc(1, 1)];
    let c = m.reserve("c", &arcs).unwrap();
    assert_eq!(c[1].at, at(1, 1));
    assert_eq!(m.enabled("d", &arcs), Enabled::Held, "c holds the slot");
    assert!(m.is_shared("d", 1) && !m.is_shared("d", 0));
    assert_eq!(m.token_id("d", at(1, 1)).owner, Owner::Shared("v".into()));
    assert_eq!(m.token_id("d", at(0, 3)).owner, Owner::Case("d".into()));
    m.unreserve("c", [at(1, 1)]);
    assert!(m.reserve("d", &arcs).is_some());
    // A case's own tokens never include shared ones.
    assert_eq!(m.free_case_tokens("c"), []);
    assert_eq!(m.marked("c"), [0]);
}

#[test]
fn a_retry_takes_back_only_the_shared_tokens_it_gave_up() {
    let mut m = marking();
    m.put("c", at(0, 2), vec![1]);
    m.put_shared("v", 1, 1, vec![2]);
    let arcs = [arc(0, 1), arc(1, 1)];
    let first = m.reserve("c", &arcs).unwrap();
    // The failure keeps the case token, gives the slot back.
    m.unreserve("c", [first[1].at]);
    let held = vec![first[0].clone()];
    m.reserve_at("d", at(1, 1)).unwrap(); // another case takes the slot
    assert_eq!(m.reserve_rest("c", &arcs, &held), None);
    m.unreserve("d", [at(1, 1)]);
    let again = m.reserve_rest("c", &arcs, &held).unwrap();
    assert_eq!(again, first);
}

#[test]
fn a_token_put_back_goes_where_it_was_by_age() {
    let mut m = marking();
    for seq in [2, 8] {
        m.put("c", at(2, seq), vec![]);
    }
    m.put("c", at(2, 5), vec![]);
    m.put("c", at(2, 5), vec![]); // twice is once
    assert_eq!(m.free_case_tokens("c"), [at(2, 2), at(2, 5), at(2, 8)]);
    assert_eq!(m.reserve_at("c", at(2, 5)), Some(vec![]));
    assert_eq!(m.reserve_at("c", at(2, 5)), None, "already reserved");
    assert_eq!(m.reserve_at("c", at(2, 7)), None, "not there");
}
