//! Deploying: files that never end or never open, components refused at
//! the door.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{MIB, Target};
use crate::util::{petrel_bin, vm_hwm};

/// Posts a deploy by `path`, giving up after `within`; the status, if any.
async fn deploy_path(target: &Target, path: &str, within: Duration) -> Option<u16> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(within)
        .build()
        .unwrap();
    let sent = http
        .post(format!("{}/v1/nets", target.api().base))
        .json(&json!({ "path": path }))
        .send()
        .await;
    sent.ok().map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploying_dev_zero_or_a_fifo_by_path_reads_nothing() {
    let target = Target::start("");
    let fifo = target.dir.path().join("net.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    // /dev/zero grew a host that read it whole by about 1 GB/s.
    let zero = deploy_path(&target, "/dev/zero", Duration::from_millis(1500)).await;
    let grown = target.memory_growth("deploy {\"path\": \"/dev/zero\"} (1.5 s)");
    // A FIFO without a writer hung the reading worker.
    let fifo = deploy_path(&target, &fifo.display().to_string(), Duration::from_secs(2)).await;
    let healthy = target.api().get("/v1/nets").await.status;
    eprintln!(
        "hardening: deploy by path: /dev/zero answered {zero:?}, a FIFO {fifo:?}, in {:?}",
        started.elapsed()
    );
    assert_eq!(zero, Some(400));
    assert_eq!(fifo, Some(400));
    assert_eq!(healthy, 200);
    assert!(grown < 32 * MIB, "{grown}");
}

#[test]
fn a_net_file_naming_dev_zero_as_its_guest_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.toml");
    std::fs::write(
        &net,
        "[net]\nname = \"z\"\n[places.a]\nstart = true\n[places.b]\nfinal = true\n[transitions.t]\nguest = \"/dev/zero\"\ninputs = { a = 1 }\noutcomes.ok = { b = 1 }\n",
    )
    .unwrap();
    let mut child = Command::new(petrel_bin())
        .arg("start")
        .arg(&net)
        .arg("--data")
        .arg(dir.path().join("data"))
        .env_remove("PETREL_DATA")
        .env_remove("PETREL_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        peak = peak.max(vm_hwm(pid));
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!(
        "hardening: `petrel start` with guest /dev/zero: {status:?}, peak memory (VmHWM) seen {:.1} MiB",
        peak as f64 / MIB as f64
    );
    let status = status.expect("petrel start still ran after 3 s");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a regular file (it is a character device"),
        "{stderr}"
    );
    assert!(peak < 256 * MIB, "{peak}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_component_leaves_nothing_in_the_data_dir() {
    let target = Target::start("");
    // The guest imports wasi:filesystem: refused, after compiling it.
    let file = target.net(
        "[net]\nname = \"fs\"\n[places.a]\nstart = true\n[places.b]\nfinal = true\n[transitions.t]\nguest = \"GUEST(hostile_fs)\"\ninputs = { a = 1 }\noutcomes.ok = { b = 1 }\n",
    );
    for _ in 0..3 {
        let reply = target.deploy(&file).await;
        assert_eq!(reply.status, 422, "{reply:#?}");
        assert!(
            reply.message().contains("imports `wasi:filesystem"),
            "{reply:#?}"
        );
    }
    let written = target.data_growth("3 refused component uploads");
    let cache = target.data.join("cache");
    let cached = std::fs::read_dir(&cache).map_or(0, |d| d.count());
    assert_eq!(
        cached,
        0,
        "refused components were cached in {}",
        cache.display()
    );
    assert!(written < MIB, "{written}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_larger_than_the_host_allows_are_refused() {
    if crate::util::other_build() {
        return; // The setting is this build's.
    }
    let target = Target::start("[limits]\ncomponent_kb = 16\n");
    let file = target.net(
        "[net]\nname = \"big\"\n[places.a]\nstart = true\n[places.b]\nfinal = true\n[transitions.t]\nguest = \"GUEST(approve)\"\ninputs = { a = 1 }\noutcomes.ok = { b = 1 }\n",
    );
    let reply = target.deploy(&file).await.expect(422);
    assert!(
        reply
            .message()
            .contains("larger than the limit of 16384 bytes"),
        "{reply:#?}"
    );
}
