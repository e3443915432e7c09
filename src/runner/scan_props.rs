//! Property tests of the static scanner (`scan`): over random bytes and over generated
//! Python-ish sources (CR/CRLF line ends, deep indentation, unterminated strings and brackets,
//! decorators in every shape), it never panics and never hangs. A run-time property (what it
//! lists is what a run reports) is end to end, in `tests/reliability.rs`.
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;

use super::scan::{self, FileScan, Resolver};

/// Past this a scan is taken for hung (a scan of these sizes takes microseconds).
const HANG: Duration = Duration::from_secs(10);

/// Scan `src` every way the runner does, on a thread: a panic or a hang fails the case.
fn scan_everything(src: String) -> Result<(), TestCaseError> {
    let (tx, rx) = mpsc::channel();
    let shown: String = src.chars().take(300).collect();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| {
            let tests = scan::scan(&src);
            for t in &tests {
                assert!(t.line >= 1, "line 0 for {t:?}");
                assert!(!t.name.is_empty(), "an empty name: {t:?}");
            }
            let mut r = Resolver::new(None);
            match r.scan_source(&src, "tests/test_gen.py") {
                FileScan::Known(_) | FileScan::Undecidable(_) => {}
            }
            let _ = scan::scan_bench(&src);
        });
        let _ = tx.send(outcome.is_ok());
    });
    match rx.recv_timeout(HANG) {
        Ok(true) => Ok(()),
        Ok(false) => Err(TestCaseError::fail(format!(
            "the scanner panicked on {shown:?}"
        ))),
        Err(_) => Err(TestCaseError::fail(format!(
            "the scanner hung on {shown:?}"
        ))),
    }
}

/// Pieces of Python-ish source, glued at random: enough structure to reach the scanner's
/// every branch, enough junk to break its assumptions.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("@test\n".to_string()),
        Just("@test()\n".to_string()),
        Just("@test(tags=['a', \"b\"], timeout=1, skip='why')\n".to_string()),
        Just("@dbtest.test(tags=[x for x in y])\n".to_string()),
        Just("@test(tags=(".to_string()),
        Just("def f():\n    pass\n".to_string()),
        Just("async def g(self):\n".to_string()),
        Just("class S(TestSuite):\n".to_string()),
        Just("class T(S, metaclass=M):\n".to_string()),
        Just("class U(dbtest.TestSuite".to_string()),
        Just("from dbtest import test, TestSuite\n".to_string()),
        Just("from .base import *\n".to_string()),
        Just("import dbtest\n".to_string()),
        Just("S = make_suite()\n".to_string()),
        Just("register_group(g)\n".to_string()),
        Just("g = BenchmarkGroup('x')\n".to_string()),
        Just("    ".to_string()),
        Just("\t".to_string()),
        Just("\n".to_string()),
        Just("\r".to_string()),
        Just("\r\n".to_string()),
        Just("\\\n".to_string()),
        Just("\\".to_string()),
        Just("'''".to_string()),
        Just("\"\"\"".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("#".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(":".to_string()),
        Just("@".to_string()),
        Just("f'{x!r}'".to_string()),
        Just("b'\\xff'".to_string()),
        Just("naïve_名前 = 'é'\n".to_string()),
        Just("\u{feff}".to_string()),
        Just("\0".to_string()),
        "[a-z_]{1,12}",
        " {0,200}",
        "[ -~]{0,40}",
        any::<String>().prop_map(|s| s.chars().take(20).collect()),
    ]
}

fn source() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..120).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_or_hangs_on_pythonish_source(src in source()) {
        scan_everything(src)?;
    }

    #[test]
    fn never_panics_or_hangs_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        scan_everything(String::from_utf8_lossy(&bytes).into_owned())?;
    }
}

#[test]
fn survives_deep_indentation_and_nesting_and_huge_lines() {
    let deep: String = (0..2000)
        .map(|i| format!("{}class C{i}(TestSuite):\n", " ".repeat(i)))
        .collect();
    let brackets = format!("@test(tags={}\ndef f(): pass\n", "[".repeat(100_000));
    let closers = format!("{}\n@test\ndef g(): pass\n", ")]}".repeat(100_000));
    let long_line = format!("x = '{}'\n@test\ndef h(): pass\n", "a".repeat(5_000_000));
    let unterminated = format!("'''{}", "\n@test\ndef u(): pass\n".repeat(10_000));
    let crs = "\r".repeat(1_000_000);
    let backslashes = "\\".repeat(1_000_001);
    for src in [
        deep,
        brackets,
        closers,
        long_line,
        unterminated,
        crs,
        backslashes,
    ] {
        scan_everything(src).unwrap();
    }
}
