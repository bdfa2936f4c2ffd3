//! The CLI against a running daemon: `--url` prints what `--data` prints
//! for the same store, and `--data` on a store the daemon holds points at
//! `--url`.

use std::path::Path;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_commands_print_what_data_commands_print_for_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let net = write_net(dir.path(), "payments.toml", PAYMENTS_NET);
    let daemon = Daemon::start(&data, &[], &[], None);
    let url = daemon.api.base.clone();
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
    let commands: Vec<Vec<&str>> = vec![
        vec!["marking", "--case", "p-1"],
        vec!["marking", "--case", "p-2"],
        vec!["marking", "--case", "p-2", "--format", "json"],
        vec!["history", "--case", "p-2"],
        vec!["history", "--case", "p-2", "--format", "json"],
        vec!["history", "--case", "p-2", "--type", "firing_dead_lettered"],
        vec!["dlq", "list"],
        vec!["dlq", "list", "--format", "json"],
        vec!["dlq", "show", &letter_id],
        vec!["dlq", "show", &letter_id, "--format", "json"],
        vec!["graph", s(&net), "--case", "p-1"],
    ];
    let over_http: Vec<String> = commands
        .iter()
        .map(|c| cli(c, &remote, &[]).expect_code(0).stdout())
        .collect();
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

    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    let local = ["--data", s(&data)];
    for (command, remote_out) in commands.iter().zip(&over_http) {
        let here = cli(command, &local, &[]).expect_code(0).stdout();
        assert_eq!(&here, remote_out, "petrel {}", command.join(" "));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_retried_and_discarded_over_url_with_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let net = write_net(dir.path(), "payments.toml", PAYMENTS_NET);
    let token = "cli-t0ken";
    let daemon = Daemon::start(&data, &[], &[("PETREL_API_TOKEN", token)], Some(token));
    let url = daemon.api.base.clone();
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
    // The retry is real: the firing is offered again, and fails again.
    let second = dead_letter(&daemon.api).await;
    assert_ne!(first, second);
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
    let empty = cli(&["dlq", "list"], &remote, &with_token).expect_code(0);
    assert_eq!(empty.stdout(), "no dead letters\n");
    let history = cli(&["history", "--case", "p-1"], &remote, &with_token).expect_code(0);
    assert!(
        history
            .stdout()
            .contains(&format!("dead letter {second} discarded: card gone")),
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
