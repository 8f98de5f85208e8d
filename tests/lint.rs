//! End-to-end tests of `qlp lint`: output formats (SARIF checked against the
//! 2.1.0 structure), suppressions, configuration, fixes and exit codes.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const POLICY: &str = r#"record R { id: string  text: string  n: int  score: float }
keywords unused_words = ["网赌"]
keywords words = ["赌博", "賭博"]
campaign camp { title: "c" max_action: review }
rule r(c: R) {
  campaign: camp
  when: c.text has_any words and c.score == 0.5
  then: review
  reason: "r"
}
test "fires" { given R { text: "赌博", score: 0.5 } expect r }
"#;

fn workspace(name: &str, policy: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qlp-lint-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.qlp"), policy).unwrap();
    dir
}

fn qlp(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qlp"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn require(value: &Value, path: &[&str]) -> Value {
    let mut current = value;
    for key in path {
        current = current
            .get(*key)
            .unwrap_or_else(|| panic!("SARIF lacks {}", path.join(".")));
    }
    current.clone()
}

/// The structure SARIF 2.1.0 requires of the properties qlp writes
/// (sarif-schema-2.1.0: sarifLog, run, tool, toolComponent, result,
/// location, physicalLocation, region).
fn assert_valid_sarif(log: &Value) {
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let runs = log["runs"].as_array().expect("runs is an array");
    assert_eq!(runs.len(), 1);
    let driver = require(&runs[0], &["tool", "driver"]);
    assert!(driver["name"].is_string());
    let rules = driver["rules"].as_array().expect("rules is an array");
    for rule in rules {
        assert!(rule["id"].is_string());
        assert!(rule["shortDescription"]["text"].is_string());
        let level = rule["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(["none", "note", "warning", "error"].contains(&level));
    }
    for result in runs[0]["results"].as_array().expect("results is an array") {
        assert!(result["message"]["text"].is_string(), "result.message.text is required");
        let level = result["level"].as_str().unwrap();
        assert!(["none", "note", "warning", "error"].contains(&level));
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"], "ruleIndex points at ruleId");
        for location in result["locations"].as_array().unwrap() {
            let physical = &location["physicalLocation"];
            assert!(physical["artifactLocation"]["uri"].is_string());
            let region = &physical["region"];
            for key in ["startLine", "startColumn", "endLine", "endColumn"] {
                assert!(region[key].as_u64().unwrap() >= 1, "{key} is 1-based");
            }
        }
    }
}

#[test]
fn human_json_github_and_sarif_outputs() {
    let dir = workspace("formats", POLICY);
    let human = qlp(&dir, &["lint", "p.qlp"]);
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert!(stderr.contains("keyword set `unused_words` is never used"), "{stderr}");
    assert!(stderr.contains("`賭博` repeats `赌博` once normalized"), "{stderr}");
    assert!(stderr.contains("`==` on floats is unreliable"), "{stderr}");
    // Only warnings: the default fail level is error.
    assert_eq!(human.status.code(), Some(0), "{stderr}");
    assert_eq!(
        qlp(&dir, &["lint", "--fail-level", "warning", "p.qlp"]).status.code(),
        Some(1)
    );

    let json = qlp(&dir, &["lint", "--format", "json", "p.qlp"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines
        .iter()
        .any(|l| l["code"] == "QLP101" && l["name"] == "unused-keywords" && l["line"] == 2));

    let github = qlp(&dir, &["lint", "--format", "github", "p.qlp"]);
    let stdout = String::from_utf8_lossy(&github.stdout);
    assert!(stdout.contains("::warning file=p.qlp,line=2,col=1,"), "{stdout}");
    assert!(stdout.contains("title=QLP101 unused-keywords::"), "{stdout}");

    let sarif = qlp(&dir, &["lint", "--format", "sarif", "p.qlp"]);
    let log: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_valid_sarif(&log);
    assert!(log["runs"][0]["results"].as_array().unwrap().len() >= 3);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn suppressions_need_a_reason() {
    let policy = POLICY.replace(
        "keywords unused_words",
        "// qlp: allow(QLP101) reason: kept for the next campaign\nkeywords unused_words",
    );
    let policy = policy.replace(
        "  when: c.text has_any words and c.score == 0.5",
        "  // qlp: allow(float-equality)\n  when: c.text has_any words and c.score == 0.5",
    );
    let dir = workspace("suppress", &policy);
    let out = qlp(&dir, &["lint", "p.qlp"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("never used"), "suppressed with a reason: {stderr}");
    assert!(stderr.contains("a suppression needs a reason"), "{stderr}");
    assert!(
        stderr.contains("on floats is unreliable"),
        "no reason, no suppression: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "QLP100 is an error");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn configuration_sets_levels_and_ignores_paths() {
    let dir = workspace("config", POLICY);
    std::fs::write(
        dir.join("qlp.toml"),
        "[lint]\ntoday = \"2022-06-01\"\n[lint.levels]\nunused-keywords = \"error\"\nQLP113 = \"allow\"\n",
    )
    .unwrap();
    let out = qlp(&dir, &["lint", "p.qlp"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "unused-keywords is an error now: {stderr}");
    assert!(!stderr.contains("on floats"), "{stderr}");
    std::fs::write(dir.join("qlp.toml"), "[lint]\nignore = [\"p.qlp\"]\n").unwrap();
    let out = qlp(&dir, &["lint", "--fail-level", "warning", "p.qlp"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(dir.join("qlp.toml"), "[lint.levels]\nno-such-lint = \"allow\"\n").unwrap();
    let out = qlp(&dir, &["lint", "p.qlp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown lint `no-such-lint`"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn fix_removes_duplicates_and_unused_declarations() {
    let dir = workspace("fix", POLICY);
    let out = qlp(&dir, &["lint", "--fix", "p.qlp"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fixed = std::fs::read_to_string(dir.join("p.qlp")).unwrap();
    assert!(!fixed.contains("unused_words"), "{fixed}");
    assert!(fixed.contains("keywords words = [\"赌博\"]"), "{fixed}");
    // The fixed policy still checks and passes its test.
    let test = qlp(&dir, &["test", "p.qlp"]);
    assert!(test.status.success(), "{}", String::from_utf8_lossy(&test.stdout));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_shipped_policies_lint_clean() {
    let out = Command::new(env!("CARGO_BIN_EXE_qlp"))
        .args(["lint", "--fail-level", "warning", "policies"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_repeated_keyword_is_one_finding_with_one_code() {
    let dir = workspace("repeat", POLICY);
    let check = qlp(&dir, &["check", "--format", "json", "p.qlp"]);
    let checked = String::from_utf8_lossy(&check.stdout);
    assert!(!checked.contains("duplicate"), "the checker reports it too:\n{checked}");
    let lint = qlp(&dir, &["lint", "--format", "json", "p.qlp"]);
    let findings: Vec<Value> = String::from_utf8_lossy(&lint.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|f: &Value| f["message"].as_str().unwrap().contains("賭博"))
        .collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["code"], "QLP108");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unknown_codes_in_suppressions_are_reported_and_the_help_names_the_code() {
    let policy = POLICY.replace(
        "keywords unused_words",
        "// qlp: allow(QLP999, unused-keyword) reason: typo'd\nkeywords unused_words",
    );
    let policy = policy.replace(
        "  when: c.text has_any words and c.score == 0.5",
        "  // qlp: allow(float-equality)\n  when: c.text has_any words and c.score == 0.5",
    );
    let dir = workspace("unknown-suppression", &policy);
    let out = qlp(&dir, &["lint", "p.qlp"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`QLP999` is not a lint: this suppression suppresses nothing"),
        "{stderr}"
    );
    assert!(stderr.contains("`unused-keyword` is not a lint"), "{stderr}");
    assert!(stderr.contains("did you mean `unused-keywords`?"), "{stderr}");
    assert!(
        stderr.contains("never used"),
        "a misspelled suppression suppresses nothing: {stderr}"
    );
    assert!(
        stderr.contains("write `// qlp: allow(float-equality) reason:"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn machine_formats_carry_check_errors_and_columns_count_characters() {
    let policy = POLICY.replace(
        "c.score == 0.5\n",
        "c.score == 0.5 and c.text == \"中文中文\" and c.nope\n",
    );
    let dir = workspace("check-errors", &policy);
    let out = qlp(&dir, &["lint", "--format", "sarif", "p.qlp"]);
    assert_eq!(out.status.code(), Some(1));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&log);
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{log:#}");
    assert_eq!(results[0]["ruleId"], "qlp::unknown_field");
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    let line = policy
        .lines()
        .nth(region["startLine"].as_u64().unwrap() as usize - 1)
        .unwrap();
    let chars_before: usize = line[..line.find("nope").unwrap()].chars().count();
    assert_eq!(
        region["startColumn"].as_u64().unwrap() as usize,
        chars_before + 1,
        "a character column"
    );
    assert!(
        log["runs"][0]["tool"]["driver"]["rules"][0].get("helpUri").is_none(),
        "no placeholder URL"
    );
    assert!(log["runs"][0]["tool"]["driver"]["rules"][0]["help"]["markdown"].is_string());

    let out = qlp(&dir, &["lint", "--format", "json", "p.qlp"]);
    let json: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(json["code"], "qlp::unknown_field");
    let out = qlp(&dir, &["lint", "--format", "github", "p.qlp"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("::error file=p.qlp"));
    // People see the same column as machines.
    let out = qlp(&dir, &["check", "p.qlp"]);
    let human = String::from_utf8_lossy(&out.stderr);
    let column = json["column"].as_u64().unwrap();
    assert!(human.contains(&format!("p.qlp:{}:{column}]", json["line"])), "{human}");

    std::fs::write(
        dir.join("qlp.toml"),
        "[lint]\ndocs_url = \"https://example.org/qlp/lints/\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("p.qlp"), POLICY).unwrap();
    let out = qlp(&dir, &["lint", "--format", "sarif", "p.qlp"]);
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        log["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"],
        "https://example.org/qlp/lints/unused-keywords.md"
    );
    std::fs::remove_dir_all(dir).ok();
}
