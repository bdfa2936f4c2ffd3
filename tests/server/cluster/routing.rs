//! What goes to which host: reads (and the live log) from any host; a
//! case's commands and
//! its external work to the host running it, where another host forwards
//! them (once: a forwarded request another host cannot serve is refused,
//! naming the host running the case).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_a_case_are_forwarded_to_the_host_running_it() {
    let nets = tempfile::tempdir().unwrap();
    let net = write_net(nets.path(), "payments.toml", PAYMENTS);
    let Some((_schema, cluster, seed)) = three_hosts(&net).await else {
        return;
    };
    let (a, b, c) = (cluster.api(0), cluster.api(1), cluster.api(2));
    a.start("cluster-payments", "r-1", "due", json!({ "amount": 5 }))
        .await;
    // Any host reads the case; only A, which runs it, offers its work.
    assert_eq!(b.get("/v1/cases/r-1").await.expect(200).body["id"], "r-1");
    let claim = json!({ "worker": "w", "transition": "pay", "lease_ms": 10_000, "wait_ms": 0 });
    b.post("/v1/work/claim", claim.clone()).await.expect(204);
    let item = a.post("/v1/work/claim", claim).await.expect(200).body;
    assert_eq!(item["case"], "r-1");

    // A request already forwarded once is not sent on: B refuses it,
    // naming A and where it listens.
    let path = format!("/v1/work/{}/complete", item["firing"]);
    let tokens = json!([{ "place": "paid", "payload": {} }]);
    let body = json!({ "lease": item["lease"], "outcome": "paid", "tokens": tokens });
    let once = b
        .request(reqwest::Method::POST, &path)
        .header("petrel-forwarded", "1");
    let refused = Api::send(once.json(&body)).await.expect(409);
    assert!(refused.message().contains(&a.base), "{refused:#?}");
    // Completing through B reaches A, which runs the case.
    b.post(&path, body).await.expect(204);
    a.wait_status("r-1", "completed", Duration::from_secs(10))
        .await;

    // So does cancelling through C a case A runs.
    a.start("cluster-payments", "r-2", "due", json!({ "amount": 7 }))
        .await;
    let cancel = json!({ "reason": "customer withdrew", "by": "ops-ana" });
    let cancelled = c.post("/v1/cases/r-2/cancel", cancel).await.expect(200);
    assert_eq!(cancelled.body["status"], "aborted");
    let history = a.get("/v1/cases/r-2/history").await.expect(200).body;
    assert!(history.to_string().contains("ops-ana"), "{history}");

    // A stream on C, which runs nothing, shows what A logs.
    let stream = {
        let c = c.clone();
        tokio::spawn(async move {
            crate::server::operate::read_events(&c, "/v1/events?case=r-3", None, |e| {
                e.iter().any(|(_, kind, _)| kind == "case_started")
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.start("cluster-payments", "r-3", "due", json!({ "amount": 9 }))
        .await;
    let seen = stream.await.unwrap();
    assert_eq!(seen[0].2["case"], "r-3", "{seen:?}");

    let marking = stop_and_read(&cluster, seed).await;
    assert_eq!(marking["cases"].as_array().unwrap().len(), 3, "{marking}");
}
