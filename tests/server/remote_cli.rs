//! The CLI against a running daemon: `--url` prints what `--data` prints
//! for the same store, and `--data` on a store the daemon holds points at
//! `--url`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Api, Daemon, PAYMENTS_NET, claim};
use crate::util::{Run, petrel_env, write_net};

/// Runs `petrel ARGS` with `--url URL` or `--data DIR` appended, without a
/// token or source in the environment unless `env` sets one.
fn cli(args: &[&str], source: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = args.to_vec();
    all.extend_from_slice(source);
    let mut vars = vec![("PETREL_API_TOKEN", ""), ("PETREL_URL", "")];
    vars.extend_from_slice(env);
    petrel_env(&all, &vars)
}

/// `petrel start NET --case CASE` with a `due` token `{"order": N}` (N
/// the case's last digit) and `more` arguments; it must succeed.
fn start(net: &Path, case: &str, more: &[&str], source: &[&str], env: &[(&str, &str)]) -> Run {
    let token = format!(r#"due={{"order":{}}}"#, &case[case.len() - 1..]);
    let mut args = vec!["start", s(net), "--case", case, "--token", &token];
    args.extend_from_slice(more);
    cli(&args, source, env).expect_code(0)
}

/// Fails the next offered `pay` firing for good; its dead letter's id.
async fn dead_letter(api: &Api) -> u64 {
    let item = claim(api, "pay", 30_000, 10_000).await.expect("a firing");
    api.post(
        &format!("/v1/work/{}/fail", item["firing"]),
        json!({ "lease": item["lease"], "message": "card processor down", "retryable": false }),
    )
    .await
    .expect(204);
    item["firing"].as_u64().unwrap()
}

fn version(api_nets: &Value) -> String {
    api_nets["nets"][0]["version"].as_str().unwrap().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `petrel serve` on a fresh data dir, the payments net file beside it:
/// the temp dir, data dir, net file, daemon and its URL.
type Serving = (tempfile::TempDir, PathBuf, PathBuf, Daemon, String);

fn serving(env: &[(&str, &str)], token: Option<&str>) -> Serving {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let net = write_net(dir.path(), "payments.toml", PAYMENTS_NET);
    let daemon = Daemon::start(&data, &[], env, token);
    let url = daemon.api.base.clone();
    (dir, data, net, daemon, url)
}

/// What each command prints with `source`; each must succeed.
fn outputs(commands: &[&[&str]], source: &[&str]) -> Vec<String> {
    commands
        .iter()
        .map(|c| cli(c, source, &[]).expect_code(0).stdout())
        .collect()
}

/// Stops the daemon, then checks that each command prints with `--data`
/// exactly what it printed with `--url`.
fn same_over_data(daemon: Daemon, data: &Path, commands: &[&[&str]], over_http: &[String]) {
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    let here = outputs(commands, &["--data", s(data)]);
    for ((command, local), remote) in commands.iter().zip(&here).zip(over_http) {
        assert_eq!(local, remote, "petrel {}", command.join(" "));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_commands_print_what_data_commands_print_for_the_same_store() {
    let (_dir, data, net, daemon, url) = serving(&[], None);
    let remote = ["--url", url.as_str()];

    let first = start(&net, "p-2", &[], &remote, &[]);
    let v = version(&daemon.api.get("/v1/nets").await.expect(200).body);
    assert_eq!(
        first.stdout(),
        format!("deployed payments@{v}\nstarted case p-2 on payments@{v}\n")
    );
    let letter = dead_letter(&daemon.api).await;
    let second = start(&net, "p-1", &["--format", "json"], &remote, &[]).json();
    assert_eq!(
        second,
        json!({ "case": "p-1", "deployed": false, "net": "payments", "version": v, "warnings": [] })
    );
    let case = daemon.api.get("/v1/cases/p-1").await.expect(200).body;
    assert_eq!(
        case["tokens"][0]["payload"],
        json!({ "order": 1 }),
        "{case:#}"
    );

    let letter_id = letter.to_string();
    let commands: [&[&str]; 11] = [
        &["marking", "--case", "p-1"],
        &["marking", "--case", "p-2"],
        &["marking", "--case", "p-2", "--format", "json"],
        &["history", "--case", "p-2"],
        &["history", "--case", "p-2", "--format", "json"],
        &["history", "--case", "p-2", "--type", "firing_dead_lettered"],
        &["dlq", "list"],
        &["dlq", "list", "--format", "json"],
        &["dlq", "show", &letter_id],
        &["dlq", "show", &letter_id, "--format", "json"],
        &["graph", s(&net), "--case", "p-1"],
    ];
    let over_http = outputs(&commands, &remote);
    // What they say, not only that both paths agree.
    assert!(
        over_http[0].starts_with(&format!("case p-1 (payments@{v}, running)\n  due  ")),
        "{}",
        over_http[0]
    );
    assert!(
        over_http[0].ends_with(" {\"order\":1}\n"),
        "{}",
        over_http[0]
    );
    assert!(
        over_http[1].contains(&format!("dead letter {letter} of `pay` holding due#")),
        "{}",
        over_http[1]
    );
    let marking: Value = serde_json::from_str(&over_http[2]).unwrap();
    assert_eq!(marking["cases"][0]["dead_letters"][0]["id"], letter);
    assert_eq!(
        marking["cases"][0]["dead_letters"][0]["tokens"][0]["payload"],
        json!({ "order": 2 })
    );
    assert!(
        over_http[3].contains("pay dead-lettered after 1 attempt(s)"),
        "{}",
        over_http[3]
    );
    let history: Value = serde_json::from_str(&over_http[4]).unwrap();
    assert_eq!(history["case"]["status"], "stuck", "{history:#}");
    assert_eq!(over_http[5].lines().count(), 2, "{}", over_http[5]);
    assert!(
        over_http[6].contains("card processor down"),
        "{}",
        over_http[6]
    );
    assert!(over_http[8].contains("  token due#"), "{}", over_http[8]);
    assert!(over_http[10].contains("due ● 1"), "{}", over_http[10]);

    // The daemon holds the store: `--data` says so and names `--url`.
    let held = cli(&["marking", "--case", "p-1"], &["--data", s(&data)], &[]).expect_code(2);
    assert!(
        held.stderr()
            .contains("is held by a running `petrel serve`")
            && held.stderr().contains("--url http://HOST:PORT"),
        "{}",
        held.stderr()
    );
    let named = cli(
        &["dlq", "list", "--data", s(&data)],
        &[],
        &[("PETREL_URL", &url)],
    )
    .expect_code(2);
    assert!(
        named.stderr().contains(&format!("--url {url}")),
        "{}",
        named.stderr()
    );

    same_over_data(daemon, &data, &commands, &over_http);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_retried_and_discarded_over_url_with_the_token() {
    let token = "cli-t0ken";
    let (_dir, data, net, daemon, url) = serving(&[("PETREL_API_TOKEN", token)], Some(token));
    let remote = ["--url", url.as_str()];
    let with_token = [("PETREL_API_TOKEN", token)];

    let refused = cli(&["dlq", "list"], &remote, &[]).expect_code(2);
    assert!(
        refused.stderr().contains(&format!("{url}: "))
            && refused.stderr().contains("(unauthorized)")
            && refused.stderr().contains("set PETREL_API_TOKEN"),
        "{}",
        refused.stderr()
    );
    start(&net, "p-1", &[], &remote, &with_token);
    let first = dead_letter(&daemon.api).await;
    let retried = cli(&["dlq", "retry", &first.to_string()], &remote, &with_token).expect_code(0);
    assert_eq!(
        retried.stdout(),
        format!("dead letter {first} retried: the server fires it again (case p-1)\n")
    );
    // The retry is real: the same firing is offered again, and fails again
    // (parked under its id once more).
    let second = dead_letter(&daemon.api).await;
    assert_eq!(first, second);
    let history = daemon
        .api
        .get("/v1/cases/p-1/history?limit=1000")
        .await
        .expect(200)
        .body;
    let events = history["events"].as_array().unwrap();
    let parked = events
        .iter()
        .filter(|e| e["type"] == "firing_dead_lettered" && e["firing"] == first)
        .count();
    assert_eq!(parked, 2, "{history:#}");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "dead_letter_retried" && e["by"] == "cli"),
        "the CLI says who retried: {history:#}"
    );
    let discarded = cli(
        &[
            "dlq",
            "discard",
            &second.to_string(),
            "--reason",
            "card gone",
        ],
        &remote,
        &with_token,
    )
    .expect_code(0);
    assert_eq!(
        discarded.stdout(),
        format!("dead letter {second} discarded (case p-1)\n")
    );
    // PETREL_URL alone names the server.
    let from_env = [("PETREL_URL", url.as_str()), with_token[0]];
    let empty = cli(&["dlq", "list"], &[], &from_env).expect_code(0);
    assert_eq!(empty.stdout(), "no dead letters\n");
    let history = cli(&["history", "--case", "p-1"], &remote, &with_token).expect_code(0);
    assert!(
        history
            .stdout()
            .contains(&format!("dead letter {second} discarded by cli: card gone")),
        "{}",
        history.stdout()
    );

    // What the server refuses is named with the server and its message.
    let missing = cli(&["marking", "--case", "nope"], &remote, &with_token).expect_code(2);
    assert_eq!(
        missing.stderr(),
        format!("error: {url}: no case `nope` (not_found)\n")
    );
    let gone = cli(&["dlq", "show", "999999"], &remote, &with_token).expect_code(2);
    assert!(
        gone.stderr().contains("no dead letter 999999"),
        "{}",
        gone.stderr()
    );
    let all = cli(&["marking"], &remote, &with_token).expect_code(2);
    assert!(
        all.stderr().contains("--url needs --case"),
        "{}",
        all.stderr()
    );
    let both = cli(
        &["marking", "--case", "p-1", "--data", s(&data)],
        &remote,
        &[],
    );
    assert_eq!(both.code(), 2, "{}", both.stderr());
    assert!(
        both.stderr().contains("cannot be used with"),
        "{}",
        both.stderr()
    );
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");

    let down = cli(&["marking", "--case", "p-1"], &remote, &[]).expect_code(1);
    assert!(
        down.stderr()
            .contains(&format!("cannot reach petrel serve at {url}")),
        "{}",
        down.stderr()
    );
}

/// The ids of a `cases --format json` listing, and whether more match.
fn listed(run: Run) -> (Vec<String>, bool) {
    let json = run.expect_code(0).json();
    let ids = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    (ids, json["more"].as_bool().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_are_listed_and_cancelled_over_url_as_over_data() {
    let (_dir, data, net, daemon, url) = serving(&[], None);
    let remote = ["--url", url.as_str()];
    for case in ["p-1", "p-2", "p-3"] {
        start(&net, case, &[], &remote, &[]);
    }
    let v = version(&daemon.api.get("/v1/nets").await.expect(200).body);
    let json = ["--format", "json"];
    let page = |more: &[&str]| {
        let mut args = vec!["cases"];
        args.extend_from_slice(more);
        args.extend_from_slice(&json);
        listed(cli(&args, &remote, &[]))
    };
    assert_eq!(
        page(&["--limit", "2"]),
        (vec!["p-3".into(), "p-2".into()], true)
    );
    let all = vec!["p-3".into(), "p-2".into(), "p-1".into()];
    assert_eq!(page(&["--limit", "3"]), (all, false), "exactly three cases");

    let cancelled = cli(
        &["cancel", "p-2", "--reason", "customer withdrew"],
        &remote,
        &[],
    )
    .expect_code(0);
    assert_eq!(
        cancelled.stdout(),
        format!("cancelled case p-2 on payments@{v}: aborted\n")
    );
    let again = cli(&["cancel", "p-2"], &remote, &[]).expect_code(2);
    assert!(
        again
            .stderr()
            .contains("case `p-2` is aborted already (conflict)"),
        "{}",
        again.stderr()
    );
    let history = cli(&["history", "--case", "p-2"], &remote, &[]).expect_code(0);
    assert!(
        history
            .stdout()
            .contains("case cancelled by cli: customer withdrew"),
        "{}",
        history.stdout()
    );
    assert_eq!(page(&["--status", "aborted"]), (vec!["p-2".into()], false));
    assert_eq!(
        page(&[
            "--status",
            "running",
            "--started-after",
            "1h",
            "--net",
            "payments"
        ]),
        (vec!["p-3".into(), "p-1".into()], false)
    );
    let bad = cli(&["cases", "--status", "bogus"], &remote, &[]).expect_code(2);
    assert!(
        bad.stderr()
            .starts_with("error: --status: unknown status `bogus`"),
        "{}",
        bad.stderr()
    );

    let commands: [&[&str]; 4] = [
        &["cases"],
        &["cases", "--limit", "1"],
        &["cases", "--net", "other"],
        &["cases", "--status", "aborted,running", "--format", "json"],
    ];
    let over_http = outputs(&commands, &remote);
    assert_eq!(over_http[0].lines().count(), 4, "{}", over_http[0]);
    assert!(
        over_http[0].starts_with("CASE  NET       STATUS   STARTED"),
        "{}",
        over_http[0]
    );
    assert!(
        over_http[1].ends_with("(more cases match: raise --limit or narrow the filters)\n"),
        "{}",
        over_http[1]
    );
    assert_eq!(over_http[2], "no cases\n");
    same_over_data(daemon, &data, &commands, &over_http);
    let local = ["--data", s(&data)];
    let cancelled = cli(&["cancel", "p-3"], &local, &[]).expect_code(0);
    assert_eq!(
        cancelled.stdout(),
        format!("cancelled case p-3 on payments@{v}: aborted\n")
    );
    let aborted = listed(cli(
        &["cases", "--status", "aborted", "--format", "json"],
        &local,
        &[],
    ));
    assert_eq!(aborted, (vec!["p-3".into(), "p-2".into()], false));
}
