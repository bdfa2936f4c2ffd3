//! What an operator does in the dashboard: start cases and filter the list,
//! read a case (marking, drawing, timeline), decide a human task, retry a
//! dead letter, cancel a case.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Page, daemon, with_browser};
use crate::server::{Api, PAYMENTS_NET, claim};
use crate::util::{order_net, repo, write_net};

/// An order for the order-approval example (approved unless `cents` is
/// over its credit limit).
fn order(id: &str, cents: u64) -> Value {
    json!({ "order_id": id, "customer": format!("c-{id}"), "amount_cents": cents, "items": 2 })
}

/// Deploys the payments net (one external transition) from `dir`.
async fn deploy_payments(api: &Api, dir: &std::path::Path) {
    api.deploy(&write_net(dir, "payments.toml", PAYMENTS_NET))
        .await;
}

/// Asserts what the API says of a case after the page acted on it.
async fn status_is(api: &Api, id: &str, status: &str) {
    let case = api.get(&format!("/v1/cases/{id}")).await.expect(200).body;
    assert_eq!(case["status"], status, "{case:#}");
}

/// The ids of the rows of the cases table, as shown.
async fn listed(page: &Page) -> Vec<String> {
    page.attrs("#cases-table tbody tr", "data-case").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_started_are_listed_and_filtered_by_net_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(dir.path(), &[]);
    let api = d.api.clone();
    deploy_payments(&api, dir.path()).await;
    api.deploy(&order_net()).await;
    for id in ["o-1", "o-2"] {
        api.start("order-approval", id, "submitted", order(id, 2_500))
            .await;
    }
    api.start("payments", "p-1", "due", json!({ "amount_cents": 100 }))
        .await;
    for id in ["o-1", "o-2"] {
        api.wait_status(id, "completed", Duration::from_secs(20))
            .await;
    }
    let live = api.clone();
    with_browser("cases_listed_and_filtered", &d, move |page| async move {
        // Start one more through the page's form.
        page.click("#start-case").await;
        page.see("#start-net option[value=payments]").await;
        page.js(
            "const s = document.getElementById('start-net'); s.value = 'payments'; s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await;
        page.type_into("#start-id", "p-2").await;
        page.type_into("#start-place", "due").await;
        page.type_into("#start-payload", r#"{"amount_cents": 250}"#).await;
        page.click("#start-submit").await;
        page.see_text("#case-id", "p-2").await;

        page.open("cases").await;
        page.until(
            "four cases listed",
            "document.querySelectorAll('#cases-table tbody tr').length === 4",
        )
        .await;
        let mut all = listed(&page).await;
        all.sort();
        assert_eq!(all, ["o-1", "o-2", "p-1", "p-2"]);

        // By net, with the filter form.
        page.js(
            "document.querySelector('#case-filters select[name=net]').value = 'payments';",
            vec![],
        )
        .await;
        page.see("#case-filters select[name=net] option[value=payments]")
            .await;
        page.js(
            "document.querySelector('#case-filters select[name=net]').value = 'payments';",
            vec![],
        )
        .await;
        page.click("#apply-filters").await;
        page.until(
            "only payments cases",
            "location.hash.includes('net=payments') && [...document.querySelectorAll('#cases-table tbody tr')].length === 2",
        )
        .await;
        let mut payments = listed(&page).await;
        payments.sort();
        assert_eq!(payments, ["p-1", "p-2"]);

        // By status: completed, any net.
        page.open("cases?status=completed").await;
        page.until(
            "only completed cases",
            "[...document.querySelectorAll('#cases-table tbody tr')].every(r => r.dataset.status === 'completed') && document.querySelectorAll('#cases-table tbody tr').length === 2",
        )
        .await;
        let checked = page
            .attrs("#case-filters input[name=status]:checked", "value")
            .await;
        assert_eq!(checked, ["completed"]);

        // Started in the last hour: all; a range in the past: none.
        page.open("cases?within=1h").await;
        page.until(
            "every case of the last hour",
            "document.querySelectorAll('#cases-table tbody tr').length === 4",
        )
        .await;
        page.open("cases?within=range&from=2001-01-01T00:00&to=2001-01-02T00:00")
            .await;
        page.see_text(".empty", "No cases match").await;

        // A case started elsewhere shows up without a reload (the page
        // follows /v1/events).
        page.open("cases?net=payments").await;
        page.see("#cases-table tr[data-case=p-2]").await;
        page.see("#live:not(.off)").await;
        live.start("payments", "p-3", "due", json!({ "amount_cents": 5 }))
            .await;
        page.see("#cases-table tr[data-case=p-3]").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_page_shows_its_marking_drawing_and_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(dir.path(), &[]);
    let api = d.api.clone();
    api.deploy(&order_net()).await;
    api.start("order-approval", "o-7", "submitted", order("o-7", 2_500))
        .await;
    api.wait_status("o-7", "completed", Duration::from_secs(20))
        .await;
    with_browser("case_page", &d, |page| async move {
        page.open("cases/o-7").await;
        page.see("#case-status [class~=s-completed]").await;
        // The marking: the order and the reviewer's token is shared (not
        // the case's), so one token, in `approved`.
        page.see("#marking tr[data-place=approved]").await;
        // The timeline: started, each firing with its outcome, completed.
        page.see("#timeline li[data-type=case_completed]").await;
        let kinds = page.attrs("#timeline > li", "data-type").await;
        assert_eq!(kinds.first().map(String::as_str), Some("case_started"));
        for transition in ["validate", "check_credit", "reserve_stock", "approve"] {
            page.see_text(
                "#timeline li[data-type=firing_completed] .summary",
                transition,
            )
            .await;
        }
        // The net drawn by Mermaid, the case's token counted in its place.
        page.see("#graph svg").await;
        page.until(
            "the drawing to count the token in `approved`",
            "(document.getElementById('graph').dataset.text || '').includes('approved ● 1')",
        )
        .await;
        page.click(".facts a[href^='#/nets/']").await;
        page.see("#graph svg").await;
        page.see("#transitions-table tr[data-transition=approve]")
            .await;
    })
    .await;
}

/// The refund example's request the model is unsure about (the cassette
/// answers `unsure` with a reason), which goes to a person.
fn unsure_request() -> Value {
    json!({ "request_id": "r-9", "customer": "dee", "order_id": "o-1009",
            "message": "The sofa colour looks a bit different from the photos, not sure what to do about it.",
            "order_age_days": 3, "amount_cents": 89_900 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_claims_and_completes_a_human_task_and_the_case_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let config = repo().join("examples/refund/petrel.toml");
    let d = daemon(dir.path(), &["--config", config.to_str().unwrap()]);
    let api = d.api.clone();
    api.deploy(&repo().join("examples/refund/net.toml")).await;
    api.start("refund", "r-9", "request_received", unsure_request())
        .await;
    with_browser("human_task", &d, |page| async move {
        page.open("inbox").await;
        page.see("#inbox-table tr[data-case=r-9][data-transition=review_refund]")
            .await;
        page.click("#inbox-table tr[data-case=r-9] a.task-link")
            .await;
        // What the model said, and why it was unsure.
        page.see_text("#model-said .verdict", "unsure").await;
        page.see_text("#model-said .reason", "").await;
        page.click("#claim").await;
        page.see("#task-state [class~=s-open], #decide input[name=outcome]")
            .await;
        page.click("#decide input[name=outcome][value=close]").await;
        fill_required(&page).await;
        page.click("#complete").await;
        // Back on the case, which finishes.
        page.see_text("#case-id", "r-9").await;
        page.see("#case-status [class~=s-completed]").await;
        page.see("#marking tr[data-place=closed]").await;
        page.see_text(
            "#timeline li[data-type=firing_completed] .summary",
            "review_refund",
        )
        .await;
    })
    .await;
    status_is(&api, "r-9", "completed").await;
}

/// Fills every required field of the decision form still empty: a text
/// field with "checked by a person", a select with its first choice.
async fn fill_required(page: &Page) {
    page.js(
        r#"for (const el of document.querySelectorAll('#decide [required]')) {
             if (el.tagName === 'SELECT') { if (!el.value) el.selectedIndex = el.options.length > 1 ? 1 : 0; }
             else if (el.type === 'number') { if (!el.value) el.value = '1'; }
             else if (!el.value) el.value = 'checked by a person';
           }"#,
        vec![],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_retried_from_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(dir.path(), &[]);
    let api = d.api.clone();
    deploy_payments(&api, dir.path()).await;
    api.start("payments", "p-dead", "due", json!({ "amount_cents": 100 }))
        .await;
    // The worker fails for good: a dead letter at once.
    let item = claim(&api, "pay", 30_000, 10_000)
        .await
        .expect("a firing to claim");
    let firing = item["firing"].as_u64().unwrap();
    api.post(
        &format!("/v1/work/{firing}/fail"),
        json!({ "lease": item["lease"], "message": "card network down", "retryable": false }),
    )
    .await
    .expect(204);
    api.wait_status("p-dead", "stuck", Duration::from_secs(20))
        .await;
    with_browser("dead_letter_retry", &d, move |page| async move {
        page.open("dead-letters").await;
        let row = format!("#dead-letters-table tr[data-dead-letter='{firing}']");
        page.see_text(&format!("{row} td.err"), "card network down")
            .await;
        // Show it, then retry it from its page.
        page.click(&format!("{row} a[href='#/dead-letters/{firing}']"))
            .await;
        page.see_text(".failures", "card network down").await;
        page.click("button.retry").await;
        page.see_text("#case-id", "p-dead").await;
        page.see("#case-status [class~=s-running]").await;
        page.open("dead-letters").await;
        page.see_text(".empty", "No dead letters").await;
    })
    .await;
    let item = claim(&api, "pay", 30_000, 10_000).await;
    assert_eq!(
        item.expect("the retried firing is offered again")["firing"],
        firing,
        "the same firing fires again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_cancelled_from_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(dir.path(), &[]);
    let api = d.api.clone();
    deploy_payments(&api, dir.path()).await;
    api.start(
        "payments",
        "p-cancel",
        "due",
        json!({ "amount_cents": 100 }),
    )
    .await;
    with_browser("cancel_case", &d, |page| async move {
        page.open("cases/p-cancel").await;
        page.see("#case-status [class~=s-running]").await;
        page.click("#cancel-case").await;
        page.type_into("#cancel-reason", "customer changed their mind")
            .await;
        page.click("#confirm-cancel").await;
        page.see("#case-status [class~=s-aborted]").await;
        page.until(
            "the cancel button to go",
            "!document.getElementById('cancel-case')",
        )
        .await;
        page.see_text(
            "#timeline li[data-type=case_cancelled]",
            "customer changed their mind",
        )
        .await;
    })
    .await;
    status_is(&api, "p-cancel", "aborted").await;
}
