//! 2,000 order-approval cases on three hosts, one killed at random moments.

use super::*;
use crate::util::order_case;

const ORDERS: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_share_the_order_approval_flow_while_one_is_killed() {
    let Some((_schema, cluster, seed)) = three_hosts(&order_net()).await else {
        return;
    };
    let began = Instant::now();

    let acked = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(45);
    // The killer: 2 to 4 times, once a share of the cases is started, one
    // host dies at a random moment and a new process takes its slot. The
    // first time after 2 s, past the dead host's lease (1 s, reaped within
    // 1.45 s): the other hosts take its cases over. Later after 0.2-1 s,
    // around its lease: the new process, which sees its predecessor's
    // process gone, or another host takes over.
    let killer = tokio::spawn({
        let (cluster, acked) = (cluster.clone(), acked.clone());
        async move {
            let mut rng = Rng(seed);
            let kills = 2 + rng.below(3);
            for k in 0..kills {
                let due = ORDERS * (k + 1) / (kills + 1);
                while acked.load(SeqCst) < due && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                tokio::time::sleep(Duration::from_millis(rng.below(300) as u64)).await;
                let slot = rng.below(HOSTS);
                cluster.kill(slot);
                let down = if k == 0 {
                    2_000
                } else {
                    200 + rng.below(800) as u64
                };
                tokio::time::sleep(Duration::from_millis(down)).await;
                // Same data dir, then a fresh one, and so on: both must work.
                let again = cluster.clone();
                blocking(move || again.restart(slot, k % 2 == 1)).await;
            }
            kills
        }
    });
    // Four starters per host; order i goes to host i % 3 first.
    let mut starters = Vec::new();
    for slot in 0..HOSTS {
        let next = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let (cluster, acked, next) = (cluster.clone(), acked.clone(), next.clone());
            starters.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, SeqCst) * HOSTS + slot;
                    if i >= ORDERS {
                        return;
                    }
                    let (amount, items, _, _) = order_case(i as u64);
                    let id = format!("o-{i}");
                    // The payload `petrel start --token` would send.
                    let token = order_token(&id, amount, items);
                    let (place, payload) = token.split_once('=').unwrap();
                    let payload: Value = serde_json::from_str(payload).unwrap();
                    let body = json!({ "net": "order-approval", "id": id, "tokens": [{ "place": place, "payload": payload }] });
                    let ok = start_case(&cluster, slot, &body, deadline).await;
                    assert!(ok, "seed {seed}: {id} not acknowledged in time");
                    acked.fetch_add(1, SeqCst);
                }
            }));
        }
    }
    for starter in starters {
        starter.await.unwrap();
    }
    let started_in = began.elapsed();
    let kills = killer.await.unwrap();
    assert_eq!(acked.load(SeqCst), ORDERS);
    wait_finished(&cluster, Duration::from_secs(60), seed).await;
    let finished_in = began.elapsed();

    // Every firing committed exactly once, however often it was cut off.
    let mut checks = Vec::new();
    for slot in 0..HOSTS {
        let api = cluster.api(slot);
        checks.push(tokio::spawn(async move {
            let mut abandoned = 0;
            for i in (slot..ORDERS).step_by(HOSTS) {
                let (completed, cut_off) = firings(&api, &format!("o-{i}")).await;
                let total: usize = completed.values().sum();
                assert_eq!(
                    total,
                    order_case(i as u64).3,
                    "seed {seed}: o-{i}: {completed:?}"
                );
                assert!(completed.values().all(|n| *n == 1), "seed {seed}: o-{i}");
                abandoned += cut_off;
            }
            abandoned
        }));
    }
    let mut abandoned = 0;
    for check in checks {
        abandoned += check.await.unwrap();
    }
    let checked_in = began.elapsed();

    let marking = stop_and_read(&cluster, seed).await;
    let mut seen = HashSet::new();
    let mut approved = 0;
    for case in marking["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let i: usize = id[2..].parse().unwrap();
        let tokens = case["tokens"].as_array().unwrap();
        assert_eq!(case["status"], "completed", "seed {seed}: {case}");
        assert_eq!(tokens.len(), 1, "seed {seed}: one token only: {case}");
        assert_eq!(
            tokens[0]["place"],
            order_case(i as u64).2,
            "seed {seed}: {case}"
        );
        assert_eq!(tokens[0]["payload"]["order_id"], id, "seed {seed}");
        approved += usize::from(tokens[0]["place"] == "approved");
        assert!(seen.insert(i), "seed {seed}: {id} twice");
    }
    assert_eq!(seen.len(), ORDERS, "seed {seed}: acknowledged cases lost");
    let shared = marking["shared"].as_array().unwrap();
    assert_eq!(shared.len(), 1, "seed {seed}: one reviewer: {shared:?}");
    assert_eq!(shared[0]["place"], "reviewer", "seed {seed}");
    assert_eq!(shared[0]["payload"]["name"], "ana", "seed {seed}");
    eprintln!(
        "seed {seed}: {kills} kills; {ORDERS} cases started in {started_in:?}, finished by {finished_in:?}, histories read by {checked_in:?}, store read by {:?}; {approved} approved; {abandoned} firings cut off and re-run",
        began.elapsed()
    );
}
