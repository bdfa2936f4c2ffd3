//! What goes to which host: reads from any, a case's commands and its
//! external work to the host running it, which another host names.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_names_the_host_running_a_case_it_cannot_act_on() {
    let nets = tempfile::tempdir().unwrap();
    let net = write_net(nets.path(), "payments.toml", PAYMENTS);
    let Some((_schema, cluster, seed)) = three_hosts(&net).await else {
        return;
    };
    let (a, b) = (cluster.api(0), cluster.api(1));
    a.start("cluster-payments", "r-1", "due", json!({ "amount": 5 }))
        .await;
    // Any host reads the case; only A, which runs it, offers its work.
    assert_eq!(b.get("/v1/cases/r-1").await.expect(200).body["id"], "r-1");
    let claim = json!({ "worker": "w", "transition": "pay", "lease_ms": 10_000, "wait_ms": 0 });
    b.post("/v1/work/claim", claim.clone()).await.expect(204);
    let item = a.post("/v1/work/claim", claim).await.expect(200).body;
    assert_eq!(item["case"], "r-1");

    // Completing through B is refused, naming A and where it listens.
    let path = format!("/v1/work/{}/complete", item["firing"]);
    let tokens = json!([{ "place": "paid", "payload": {} }]);
    let body = json!({ "lease": item["lease"], "outcome": "paid", "tokens": tokens });
    let refused = b.post(&path, body.clone()).await.expect(409);
    assert!(refused.message().contains(&a.base), "{refused:#?}");
    a.post(&path, body).await.expect(204);
    a.wait_status("r-1", "completed", Duration::from_secs(10))
        .await;

    // So is cancelling through B a case A runs; A cancels it.
    a.start("cluster-payments", "r-2", "due", json!({ "amount": 7 }))
        .await;
    let cancel = json!({ "reason": "customer withdrew", "by": "ops" });
    let refused = b
        .post("/v1/cases/r-2/cancel", cancel.clone())
        .await
        .expect(409);
    assert!(refused.message().contains(&a.base), "{refused:#?}");
    let cancelled = a.post("/v1/cases/r-2/cancel", cancel).await.expect(200);
    assert_eq!(cancelled.body["status"], "aborted");

    let marking = stop_and_read(&cluster, seed).await;
    assert_eq!(marking["cases"].as_array().unwrap().len(), 2, "{marking}");
}
