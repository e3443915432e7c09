//! The Python shim's own tests (python_shim/tests), run by the real binary.
use assert_cmd::Command;

#[test]
fn shim_self_tests_pass() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::cargo_bin("dbtest")
        .unwrap()
        .current_dir(root)
        .args(["python_shim/tests", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("a JSON report on stdout");
    let problems: Vec<_> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] != "passed")
        .map(|t| format!("{}: {} {}", t["id"], t["message"], t["traceback"]))
        .collect();
    assert!(
        problems.is_empty(),
        "shim tests failed:\n{}",
        problems.join("\n")
    );
    assert!(report["summary"]["passed"].as_u64().unwrap() >= 8);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn demo_project_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::cargo_bin("dbtest")
        .unwrap()
        .current_dir(root)
        .args(["-C", "examples/demo", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("a JSON report on stdout");
    assert_eq!(report["summary"]["passed"], 7, "{report:#}");
    assert_eq!(report["summary"]["skipped"], 1);
    assert_eq!(out.status.code(), Some(0));
}
