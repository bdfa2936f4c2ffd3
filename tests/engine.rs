//! Engine semantics with real guests: decline keeps inputs, abort ends a
//! case and gives shared tokens back, concurrent firings inside one case.

use petrel::engine::RunOptions;
use petrel::store::{CaseStatus, Event, Owner};
use serde_json::json;

use crate::util::{open_engine, order_net, write_net};

const NET: &str = r#"
[net]
name = "semantics"

# A case goes one way or the other (the tests start theirs in `a` or `b`).
[places.entry]
start = true
[places.a]
[places.b]
[places.slots]
shared = true
initial = 1
[places.c]
[places.out]
final = true

[transitions.route]
external = true
inputs = { entry = 1 }
outcomes.to_a = { a = 1 }
outcomes.to_b = { b = 1 }

[transitions.decline]
guest = "GUEST(hostile)"
inputs = { a = 1 }
outcomes.out = { out = 1 }

[transitions.abort]
guest = "GUEST(hostile)"
inputs = { b = 1, slots = 1 }
outcomes.out = { out = 1, slots = 1 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_keeps_inputs_and_abort_removes_case_tokens_but_not_shared_ones() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path()).await;
    let net = write_net(dir.path(), "net.toml", NET);
    let v = engine.deploy(&net).await.unwrap().version;

    engine
        .start_case(&v, "declines", vec![("a".into(), json!(1))])
        .await
        .unwrap();
    engine
        .start_case(
            &v,
            "aborts",
            vec![("b".into(), json!(2)), ("c".into(), json!(3))],
        )
        .await
        .unwrap();
    let summary = engine.run(RunOptions::default()).await.unwrap();
    assert_eq!((summary.declined, summary.aborted), (1, 1), "{summary:?}");

    let store = engine.store();
    // Declined: the input stays, the case is stuck (nothing else can fire).
    let tokens = store.tokens(&Owner::Case("declines".into())).unwrap();
    assert_eq!(
        tokens.iter().map(|t| t.place.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    assert_eq!(
        store.case("declines").unwrap().unwrap().status,
        CaseStatus::Stuck
    );

    // Aborted: every token of the case is gone (the `c` token no transition reads too), the
    // shared slot the aborting firing held is back, and the log says why.
    assert!(
        store
            .tokens(&Owner::Case("aborts".into()))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.case("aborts").unwrap().unwrap().status,
        CaseStatus::Aborted
    );
    assert_eq!(store.tokens(&Owner::Shared(v.clone())).unwrap().len(), 1);
    let events = store.events(Some("aborts"), 0, usize::MAX).unwrap();
    let aborted = events.iter().find_map(|e| match &e.event {
        Event::CaseAborted {
            reason, consumed, ..
        } => Some((reason.clone(), consumed.len())),
        _ => None,
    });
    assert_eq!(
        aborted,
        Some(("hostile guest aborts on purpose".to_string(), 2))
    );

    // An aborted case is terminal: another run leaves it alone.
    let again = engine.run(RunOptions::default()).await.unwrap();
    assert_eq!(again.completed + again.aborted, 0, "{again:?}");
    assert!(
        petrel::store::replay(store.as_ref())
            .unwrap()
            .mismatches
            .is_empty()
    );
}

/// Firings that finish while a round's transaction commits are settled
/// during it; what they enable must still fire before `run` returns. (A run
/// once returned with cases half done when its last guests finished
/// mid-commit: about one run in seven of this flow.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_returns_only_once_nothing_is_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path()).await;
    let version = engine.deploy(&order_net()).await.unwrap().version;
    for run in 0..40 {
        for (n, amount_cents, items) in [(0, 2_500, 2), (1, 900_000, 1)] {
            let id = format!("o-{run}-{n}");
            let order = json!({ "order_id": id, "customer": "c", "amount_cents": amount_cents, "items": items });
            engine
                .start_case(&version, &id, vec![("submitted".into(), order)])
                .await
                .unwrap();
        }
        let summary = engine.run(RunOptions::default()).await.unwrap();
        assert_eq!(summary.completed, 8, "run {run}: {summary:?}");
        assert_eq!(
            summary.cases.get("completed"),
            Some(&2),
            "run {run}: {summary:?}"
        );
    }
}
