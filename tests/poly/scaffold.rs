//! `petrel new DIR --lang L`, `petrel build`, `petrel start`, `petrel run`:
//! the scaffolded project of each language, end to end, through the real
//! binary, in a directory outside the source tree.

use crate::util::{petrel, petrel_env, repo};

fn new_build_start_run(lang: &str, tool: &str, greeting: &str) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join(format!("hello_{lang}"));
    let project_s = project.to_str().unwrap();
    let created = petrel(&["new", project_s, "--lang", lang]).expect_code(0);
    assert!(
        created.stdout().contains("petrel build"),
        "{}",
        created.stdout()
    );
    let net = project.join("net.toml");
    let net_s = net.to_str().unwrap();
    // Rust guests share the compiled dependencies of guests/ (same lock file
    // and profile); `petrel build` copies the component where the net wants it.
    let target = repo().join("guests/target");
    let env: &[(&str, &str)] = if lang == "rust" {
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())]
    } else {
        &[]
    };
    let built = petrel_env(&["build", net_s], env).expect_code(0);
    let out = built.stdout();
    if !out.contains("running: ") || !out.contains(tool) {
        built.fail(&format!("`petrel build` did not say it ran {tool}"));
    }
    if lang != "rust" {
        let again = petrel(&["build", net_s]).expect_code(0);
        if !again.stdout().contains("up to date") {
            again.fail("an unchanged guest was built again");
        }
    }

    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    petrel(&[
        "start",
        net_s,
        "--data",
        data,
        "--case",
        "c-1",
        "--token",
        r#"start={"message":"hi"}"#,
    ])
    .expect_code(0);
    let summary = petrel(&["run", "--data", data, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(summary["cases"]["completed"], 1, "{summary}");
    let marking = petrel(&[
        "marking", "--data", data, "--case", "c-1", "--format", "json",
    ])
    .expect_code(0)
    .json();
    let token = &marking["cases"][0]["tokens"][0];
    assert_eq!(token["place"], "done", "{marking}");
    assert_eq!(
        token["payload"]["reply"],
        format!("{greeting}: hi"),
        "{marking}"
    );
    let history = petrel(&["history", "--data", data, "--case", "c-1"]).expect_code(0);
    assert!(
        history.stdout().contains("c-1: got"),
        "{}",
        history.stdout()
    );
    petrel(&["replay", "--data", data, "--verify"]).expect_code(0);
}

#[test]
fn a_new_rust_guest_builds_and_runs() {
    new_build_start_run(
        "rust",
        "cargo build --release --target wasm32-wasip2",
        "hello from Rust",
    );
}

#[test]
fn a_new_python_guest_builds_and_runs() {
    new_build_start_run("python", "componentize-py", "hello from Python");
}

#[test]
fn a_new_typescript_guest_builds_and_runs() {
    new_build_start_run("js", "componentize-js", "hello from TypeScript");
}

#[test]
fn new_refuses_a_directory_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let run = petrel(&["new", dir.path().to_str().unwrap(), "--lang", "python"]).expect_code(2);
    assert!(run.stderr().contains("is not empty"), "{}", run.stderr());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn build_names_the_transition_whose_guest_has_no_project() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    std::fs::write(
        &net,
        "[net]\nname = \"n\"\n[places.a]\nstart = true\n[places.b]\nfinal = true\n\
         [transitions.lost]\nguest = \"nowhere/x.wasm\"\ninputs = { a = 1 }\noutcomes.done = { b = 1 }\n",
    )
    .unwrap();
    let run = petrel(&["build", net.to_str().unwrap()]).expect_code(2);
    let err = run.stderr();
    assert!(
        err.contains("transition `lost`")
            && err.contains("no Cargo.toml, pyproject.toml or package.json"),
        "{err}"
    );
}
