//! External work claimed by workers talking to different hosts.

use super::*;

/// Cases started before the kill, then after the restart.
const WAVES: [usize; 2] = [200, 100];

/// How a worker's claim ended.
#[derive(Debug, PartialEq)]
enum End {
    /// `complete` answered 204, at this moment.
    Completed(Instant),
    /// `complete` answered 409 (lease lost) after a host died.
    Lapsed,
    /// `complete` got no answer: its host died.
    CutOff,
}

impl End {
    fn paid_at(&self) -> Option<Instant> {
        match self {
            End::Completed(at) => Some(*at),
            _ => None,
        }
    }
}

/// What the workers share with the test.
#[derive(Default)]
struct Workers {
    /// Claims answered 200, per case: when, and how each ended.
    ledger: Mutex<HashMap<String, Vec<(Instant, End)>>>,
    /// Asks worker `slot` to keep its next claim until its host dies.
    hold: [AtomicBool; HOSTS],
    /// Worker `slot` holds a claim until its host dies.
    holding: [AtomicBool; HOSTS],
    /// Set once every case is finished.
    done: AtomicBool,
}

impl Workers {
    fn paid(&self) -> usize {
        let ledger = self.ledger.lock().unwrap();
        let ends = ledger.values().flatten();
        ends.filter(|(_, e)| e.paid_at().is_some()).count()
    }
}

/// A worker bound to slot `slot`'s host: claims a firing and completes
/// it, until `done`. When its host dies it drops what it held (that claim's
/// lease lapses and someone runs the firing again) and waits for the slot's
/// new process. Asked to `hold`, it keeps one claim until its host dies: a
/// worker still paying when the host goes.
async fn worker(cluster: Arc<Cluster>, slot: usize, workers: Arc<Workers>) {
    let claim = json!({ "worker": format!("w-{slot}"), "transition": "pay", "lease_ms": 4_000, "wait_ms": 200 });
    while !workers.done.load(SeqCst) {
        let (api, deaths) = (cluster.api(slot), cluster.deaths.load(SeqCst));
        let request = api.request(reqwest::Method::POST, "/v1/work/claim");
        let Some(reply) = try_send(request.json(&claim)).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        match reply.status {
            200 => {}
            204 => continue,
            _ => panic!("claim on host {slot}: {reply:#?}\n{}", cluster.logs()),
        }
        let (item, claimed) = (reply.body, Instant::now());
        if workers.hold[slot].load(SeqCst) {
            workers.holding[slot].store(true, SeqCst);
            let deadline = Instant::now() + Duration::from_secs(30);
            while cluster.deaths.load(SeqCst) == deaths && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let case = item["case"].as_str().unwrap().to_string();
        let tokens = json!([{ "place": "paid", "payload": { "case": case, "by": slot } }]);
        let body = json!({ "lease": item["lease"], "outcome": "paid", "tokens": tokens });
        let path = format!("/v1/work/{}/complete", item["firing"]);
        let request = api.request(reqwest::Method::POST, &path).json(&body);
        let end = match try_send(request).await {
            Some(r) if r.status == 204 => End::Completed(Instant::now()),
            Some(r) if r.status == 409 && cluster.deaths.load(SeqCst) > deaths => End::Lapsed,
            Some(r) => panic!("completing {case} on host {slot}: {r:#?}"),
            None => End::CutOff,
        };
        assert!(
            end != End::CutOff || cluster.deaths.load(SeqCst) > deaths,
            "completing {case} on host {slot} got no answer, yet no host died\n{}",
            cluster.logs()
        );
        let mut ledger = workers.ledger.lock().unwrap();
        ledger.entry(case).or_default().push((claimed, end));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_on_different_hosts_claim_external_work_of_a_shared_database() {
    let nets = tempfile::tempdir().unwrap();
    let net = write_net(nets.path(), "payments.toml", PAYMENTS);
    let Some((_schema, cluster, seed)) = three_hosts(&net).await else {
        return;
    };
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(45);
    let start = |i: usize| {
        let cluster = cluster.clone();
        async move {
            let body = json!({ "net": "cluster-payments", "id": format!("p-{i}"), "tokens": [{ "place": "due", "payload": { "invoice": i } }] });
            let ok = start_case(&cluster, i % HOSTS, &body, deadline).await;
            assert!(ok, "seed {seed}: p-{i} not acknowledged in time");
        }
    };
    for i in 0..WAVES[0] {
        start(i).await;
    }
    let workers = Arc::new(Workers::default());
    let tasks: Vec<_> = (0..HOSTS)
        .map(|slot| tokio::spawn(worker(cluster.clone(), slot, workers.clone())))
        .collect();
    // Once a third of the first wave is paid, one host dies while its
    // worker holds a claim (and the host offers more); a new process takes
    // its slot.
    let slot = rng.below(HOSTS);
    let stalled = format!("seed {seed}: workers stalled");
    wait_until(&cluster, deadline, &stalled, || {
        workers.paid() >= WAVES[0] / 3
    })
    .await;
    workers.hold[slot].store(true, SeqCst);
    wait_until(&cluster, deadline, &stalled, || {
        workers.holding[slot].load(SeqCst)
    })
    .await;
    workers.hold[slot].store(false, SeqCst);
    cluster.kill(slot);
    tokio::time::sleep(Duration::from_millis(300 + rng.below(500) as u64)).await;
    let (again, fresh) = (cluster.clone(), rng.below(2) == 1);
    blocking(move || again.restart(slot, fresh)).await;
    // The second wave goes to every host, the new process included.
    for i in WAVES[0]..WAVES[0] + WAVES[1] {
        start(i).await;
    }
    wait_finished(&cluster, Duration::from_secs(60), seed).await;
    workers.done.store(true, SeqCst);
    for task in tasks {
        task.await.unwrap();
    }

    let cases = WAVES[0] + WAVES[1];
    let ledger = std::mem::take(&mut *workers.ledger.lock().unwrap());
    let ends = ledger.values().flatten();
    let cut = ends.filter(|(_, e)| *e == End::CutOff).count();
    assert!(
        cut > 0,
        "seed {seed}: the kill cut off no claim: it proved nothing"
    );
    let mut reruns = 0;
    for i in 0..cases {
        let id = format!("p-{i}");
        let claims = ledger.get(&id).map_or(&[][..], Vec::as_slice);
        // One completion acknowledged (none only where the one that
        // committed lost its answer to a kill), and no claim after it: every
        // other claim ended with a host's death.
        let paid: Vec<Instant> = claims.iter().filter_map(|(_, e)| e.paid_at()).collect();
        let cut = claims.iter().any(|(_, e)| *e == End::CutOff);
        let late = paid
            .first()
            .is_some_and(|p| claims.iter().any(|(at, _)| at > p));
        let why = format!("seed {seed}: {id}: claims {claims:?}");
        assert!(
            (paid.len() == 1 || (paid.is_empty() && cut)) && !late,
            "{why}"
        );
        reruns += claims.len().saturating_sub(1);
        // The store's side: one completion committed, whoever acknowledged it.
        let (committed, _) = firings(&cluster.api(i % HOSTS), &id).await;
        assert_eq!(
            committed,
            HashMap::from([("pay".to_string(), 1)]),
            "seed {seed}: {id}"
        );
    }

    let marking = stop_and_read(&cluster, seed).await;
    let listed = marking["cases"].as_array().unwrap();
    assert_eq!(listed.len(), cases, "seed {seed}");
    for case in listed {
        let tokens = case["tokens"].as_array().unwrap();
        assert_eq!(case["status"], "completed", "seed {seed}: {case}");
        assert_eq!(tokens.len(), 1, "seed {seed}: one token only: {case}");
        assert_eq!(tokens[0]["place"], "paid", "seed {seed}: {case}");
        assert_eq!(tokens[0]["payload"]["case"], case["id"], "seed {seed}");
    }
    eprintln!(
        "seed {seed}: host {slot} killed once; {cases} cases paid, {cut} claims cut off, {reruns} claims run again"
    );
}
