//! The cluster fan-out measurement (`examples/cluster_fanout`), run with tiny numbers as its
//! own process: three servers on its own `redis-server`, then on RabbitMQ (127.0.0.1:5672,
//! which `.ci/run` starts), must end with every delivery accounted for and the metrics in
//! agreement. The example is built once per run of this file (`cargo build -p examples
//! --example cluster_fanout --features cluster-fanout`), with this test's profile and target
//! directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The example's binary, built once (a no-op when it is up to date).
fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        // <target>/<profile>/deps/example_cluster_fanout-<hash>
        let profile_dir = exe.ancestors().nth(2).expect("the profile directory");
        let target_dir = profile_dir.parent().expect("the target directory");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace");
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .current_dir(workspace)
            .args([
                "build",
                "--quiet",
                "-p",
                "examples",
                "--example",
                "cluster_fanout",
            ])
            .args(["--features", "cluster-fanout", "--target-dir"])
            .arg(target_dir);
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo runs");
        assert!(
            status.success(),
            "building the cluster_fanout example failed"
        );
        profile_dir.join("examples").join("cluster_fanout")
    })
}

/// Runs the measurement with tiny numbers and `extra` options; returns what it printed.
fn run(extra: &[&str]) -> String {
    let output = Command::new(binary())
        .args([
            "--receivers",
            "12",
            "--window",
            "4",
            "--warmup",
            "1",
            "--seconds",
            "2",
        ])
        .args(extra)
        .env_remove("REDIS_URL")
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "cluster_fanout failed: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Checks what every report says.
fn check(report: &str, broker: &str) {
    assert!(report.contains(&format!("broker {broker}")), "{report}");
    assert!(report.contains("recovery: "), "{report}");
    assert!(
        report.contains("every delivery accounted for") && report.contains("the metrics agree"),
        "{report}"
    );
    // One row per process: 4 receivers and 1 sender each.
    for process in 1..=3 {
        assert!(
            report.contains(&format!("\n| {process} (pid ")),
            "no row for process {process}: {report}"
        );
    }
}

#[test]
fn redis_every_delivery_is_accounted_for() {
    let report = run(&[]);
    check(&report, "redis://127.0.0.1:");
    assert!(report.contains("(redis-server of this run)"), "{report}");
}

#[test]
fn rabbitmq_every_delivery_is_accounted_for() {
    let report = run(&["--broker", "amqp://127.0.0.1:5672"]);
    check(&report, "amqp://127.0.0.1:5672");
}
