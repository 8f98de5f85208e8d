//! End-to-end tests of the `qlp` binary.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::{Command, Output};

fn qlp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qlp"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_reports_all_three_mistakes_with_spans_and_help() {
    let out = qlp(&["check", "tests/data/three_mistakes.qlp"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for expected in [
        "cannot compare `int?` with `int`",
        "tests/data/three_mistakes.qlp:5:9",
        "give a default with `?? value`",
        "`Content` has no field `titel`",
        "tests/data/three_mistakes.qlp:10:11",
        "did you mean `title`?",
        "`ContentKind` has no variant `livestrem`",
        "did you mean `livestream`?",
        "3 error(s)",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn check_json_prints_one_object_per_diagnostic() {
    let out = qlp(&["check", "--format", "json", "tests/data/three_mistakes.qlp"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["code"], "qlp::type_mismatch");
    assert_eq!(lines[0]["line"], 5);
    assert_eq!(lines[1]["code"], "qlp::unknown_field");
    assert_eq!(lines[2]["help"], "did you mean `livestream`?");
}

#[test]
fn check_passes_on_the_shipped_policies() {
    let out = qlp(&["check", "policies"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn test_prints_each_result_and_a_summary() {
    let out = qlp(&["test", "tests/data/failing_test.qlp"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("ok    tests/data/failing_test.qlp:8  passes"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL  tests/data/failing_test.qlp:13  fails on purpose"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expected `popular` to fire, but it did not"),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l == "1 passed, 1 failed"), "{stdout}");
}

#[test]
fn test_passes_on_the_shipped_policies() {
    let out = qlp(&["test", "policies"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains(" passed, 0 failed"));
}

#[test]
fn missing_path_is_a_clear_error() {
    let out = qlp(&["check", "no/such/dir.qlp"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read `no/such/dir.qlp`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn test_coverage_reports_rules_and_condition_outcomes() {
    let out = qlp(&["test", "--coverage", "tests/data/failing_test.qlp"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("coverage: 1/1 rules fired in a test (100.0%), 2/2 condition outcomes (100.0%)"),
        "{stdout}"
    );
    let out = qlp(&["test", "--min-coverage", "50", "policies"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = qlp(&["test", "--min-coverage", "99.9", "policies"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("is below 99.9%"));
}

#[test]
fn fmt_check_passes_on_the_shipped_policies_and_flags_unformatted_files() {
    let out = qlp(&["fmt", "--check", "policies"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let dir = std::env::temp_dir().join(format!("qlp-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("p.qlp");
    std::fs::write(
        &file,
        "record R { a: int // note\n}\nrule r(c: R) { when: c.a>1 then: review }\n",
    )
    .unwrap();
    let out = qlp(&["fmt", "--check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("would reformat"));
    let out = qlp(&["fmt", file.to_str().unwrap()]);
    assert!(out.status.success());
    let formatted = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        formatted,
        "record R {\n  a: int  // note\n}\n\nrule r(c: R) {\n  when: c.a > 1\n  then: review\n}\n"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_missing_brace_hides_no_later_mistake() {
    let out = qlp(&["check", "tests/data/missing_brace.qlp"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for expected in [
        "next declaration (`rule`)",
        "is a `}` or `)` missing?",
        "`Content` has no field `titel`",
        "`ContentKind` has no variant `livestrem`",
        "3 error(s)",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn flat_conditions_are_not_nesting() {
    let dir = std::env::temp_dir().join(format!("qlp-flat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dates: Vec<String> = (0..70)
        .map(|i| format!("c.at == 2022-{:02}-{:02}", 1 + i / 28, 1 + i % 28))
        .collect();
    let terms: Vec<String> = (0..130).map(|_| String::from("c.n")).collect();
    std::fs::write(
        dir.join("p.qlp"),
        format!(
            "record C {{ at: time  n: int }}\nrule dated(c: C) {{ when: {} then: review }}\nrule sum(c: C) {{ when: {} > 0 then: review }}\n",
            dates.join(" or "),
            terms.join(" - ")
        ),
    )
    .unwrap();
    let out = qlp(&["check", dir.join("p.qlp").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    for args in [
        &["compile", "policies"][..],
        &["test", "policies"],
        &["lint", "policies"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_qlp"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read one byte, then close the pipe, as `| head -c 1` would.
        let mut stdout = child.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        let _ = stdout.read(&mut byte);
        drop(stdout);
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let status = child.wait().unwrap();
        assert!(
            !stderr.contains("panicked"),
            "`qlp {}` panicked: {stderr}",
            args.join(" ")
        );
        assert_ne!(status.code(), Some(101), "`qlp {}`", args.join(" "));
    }
}

#[test]
fn bench_reports_every_stage_over_passes_with_min_and_median() {
    let out = qlp(&[
        "bench",
        "-p",
        "policies",
        "--type",
        "Content",
        "--now-from",
        "created_at",
        "--passes",
        "2",
        "policies/examples/records.jsonl",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("300 records"), "{stdout}");
    assert!(stdout.contains("2 passes per stage"), "{stdout}");
    // The shipped policies keep state for `Content`: its stages are measured too.
    for stage in [
        "ingest (JSON -> row)",
        "state keys (JIT)",
        "state read + write (memory)",
        "evaluate, JIT",
        "evaluate, interpreter",
        "decision + JSON out",
        "eval on one core (sum, JIT)",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(stage))
            .unwrap_or_else(|| panic!("no {stage:?} in:\n{stdout}"));
        let ns: f64 = line[stage.len()..].split_whitespace().next().unwrap().parse().unwrap();
        assert!(ns > 0.0, "{line}");
    }
    // Loading, once per process, with what it adds to a run of the file.
    let load = stdout
        .lines()
        .find(|l| l.starts_with("load policies (parse, check, compile): "))
        .unwrap_or_else(|| panic!("no load line in:\n{stdout}"));
    let ms: f64 = load
        .split(": ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ms > 0.0, "{load}");
    assert!(load.contains("one core with it, 300 records: "), "{load}");
    let out = qlp(&[
        "bench",
        "-p",
        "policies",
        "--passes",
        "0",
        "policies/examples/records.jsonl",
    ]);
    assert!(!out.status.success(), "zero passes measure nothing");
}

#[test]
fn test_results_for_machines_a_filter_and_lcov_coverage() {
    let out = qlp(&["test", "policies", "--filter", "minor streaming", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, tests) = lines.split_last().unwrap();
    assert!(tests.len() >= 5);
    assert!(tests
        .iter()
        .all(|t| t["name"].as_str().unwrap().contains("minor streaming") && t["passed"] == true));
    assert_eq!(summary["passed"], tests.len());

    let out = qlp(&["test", "policies", "--filter", "minor streaming", "--format", "junit"]);
    let xml = text(&out.stdout);
    assert!(
        xml.starts_with("<?xml") && xml.contains("<testsuite name=\"qlp\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), tests.len());

    let out = qlp(&["test", "policies", "--filter", "no such test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no test name contains `no such test`"));

    let dir = tempfile::tempdir().unwrap();
    let lcov = dir.path().join("coverage.info");
    let out = qlp(&["test", "policies", "--lcov", lcov.to_str().unwrap()]);
    assert!(out.status.success());
    let info = std::fs::read_to_string(&lcov).unwrap();
    assert!(info.contains("SF:policies/2022/04_minors_summer.qlp"), "{info}");
    assert!(info.contains("FNDA:1,minor_streaming_at_night"));
    assert_eq!(info.matches("end_of_record").count(), info.matches("SF:").count());

    let out = qlp(&["test", "policies", "--min-coverage", "150"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("a percentage runs from 0 to 100"));
}

#[test]
fn the_version_names_the_commit() {
    let out = qlp(&["--version"]);
    let version = text(&out.stdout);
    assert!(version.starts_with("qlp 0.1.0 ("), "{version}");
    let commit = version
        .trim()
        .trim_end_matches(')')
        .rsplit('(')
        .next()
        .unwrap()
        .to_string();
    assert!(
        commit == "unknown commit" || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{version}"
    );
}

#[test]
fn eval_refuses_a_json_array_and_warns_when_no_campaign_is_active() {
    let dir = tempfile::tempdir().unwrap();
    let array = dir.path().join("records.json");
    std::fs::write(&array, "[\n  {\"id\": \"a\"},\n  {\"id\": \"b\"}\n]\n").unwrap();
    let out = qlp(&[
        "eval",
        "-p",
        "tests/data/backtest/v1",
        "--now",
        "2022-05-01",
        array.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the input is a JSON array, but qlp reads JSON Lines"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("error:").count(),
        1,
        "one error, not one per line: {stderr}"
    );

    let out = qlp(&[
        "eval",
        "-q",
        "-p",
        "tests/data/backtest/v1",
        "tests/data/backtest/records.jsonl",
    ]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("warning: no campaign is active at"), "{stderr}");
    assert!(stderr.contains("no `--now` or `--now-from` was given"), "{stderr}");
    let out = qlp(&[
        "eval",
        "-q",
        "-p",
        "tests/data/backtest/v1",
        "--now",
        "2022-05-01",
        "tests/data/backtest/records.jsonl",
    ]);
    assert!(!text(&out.stderr).contains("warning: no campaign"));
}

#[test]
fn fmt_formats_standard_input_and_shows_a_diff() {
    use std::io::Write;
    let messy = "record R { n: int }\nrule r( x : R ){ when: x.n>1 then: review }\n";
    let run = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_qlp"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(messy.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&["fmt", "-"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "record R {\n  n: int\n}\n\nrule r(x: R) {\n  when: x.n > 1\n  then: review\n}\n"
    );
    let out = run(&["fmt", "--diff", "-"]);
    assert_eq!(out.status.code(), Some(1), "a diff means unformatted");
    let diff = text(&out.stdout);
    assert!(diff.starts_with("--- <stdin>\n+++ <stdin>\n@@"), "{diff}");
    assert!(
        diff.contains("\n-rule r( x : R ){ when: x.n>1 then: review }\n"),
        "{diff}"
    );
    assert!(diff.contains("\n+rule r(x: R) {\n"), "{diff}");
    let out = run(&["fmt", "--check", "-"]);
    assert_eq!(out.status.code(), Some(1));
    // The shipped policies are formatted: no diff.
    let out = qlp(&["fmt", "--diff", "policies"]);
    assert!(out.status.success() && out.stdout.is_empty(), "{}", text(&out.stdout));
}
