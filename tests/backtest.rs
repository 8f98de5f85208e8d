//! `qlp backtest` on a labelled fixture whose confusion counts are known
//! (tests/data/backtest: nine posts, two campaigns, two policy versions).

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::{Command, Output};

use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/backtest");

fn backtest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qlp"))
        .current_dir(DIR)
        .arg("backtest")
        .args(args)
        .output()
        .unwrap()
}

/// The JSON report of a successful run.
fn report(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json", "records.jsonl"]);
    let output = backtest(&all);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The row `name` of the label column `column`: (fired, TP, FP, FN, TN).
fn counts(report: &Value, column: &str, name: &str) -> (u64, u64, u64, u64, u64) {
    let target = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["column"] == column)
        .unwrap_or_else(|| panic!("no column {column}: {report:#}"));
    let row = target["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}: {target:#}"));
    let n = |key: &str| row[key].as_u64().unwrap();
    (
        n("fired"),
        n("true_positives"),
        n("false_positives"),
        n("false_negatives"),
        n("true_negatives"),
    )
}

#[test]
fn every_rule_campaign_and_the_whole_set_are_measured_against_a_label() {
    let report = report(&["-p", "v1", "--labels", "labels.csv", "--label", "offensive=any"]);
    assert_eq!(report["records"], 9);
    assert_eq!(report["unlabelled"], 1, "p9 has no label");
    assert_eq!(report["labels_without_record"], 1, "p_gone has no record");
    // p1 p3 p5 p7 p8 are offensive; p8 is posted after the gambling campaign ended.
    assert_eq!(counts(&report, "offensive", "all rules"), (5, 3, 2, 2, 1));
    assert_eq!(counts(&report, "offensive", "gambling_2022"), (3, 2, 1, 3, 2));
    assert_eq!(counts(&report, "offensive", "gambling_post"), (3, 2, 1, 3, 2));
    assert_eq!(counts(&report, "offensive", "ads_post"), (3, 2, 1, 3, 2));
    let overall = report["targets"][0]["rows"][0].clone();
    assert_eq!(overall["precision"], 0.6);
    assert_eq!(overall["recall"], 0.6);
    // Examples of mistakes carry the record's text and the evidence.
    let fp = &overall["false_positive_examples"][0];
    assert_eq!(fp["id"], "p2");
    assert_eq!(fp["text"], "这家赌场真大，新闻报道", "times are not texts: {fp}");
    assert_eq!(fp["evidence"][0], "p.text has “赌场” (gambling: 赌场)");
    let fns: Vec<&Value> = overall["false_negative_examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(fns, ["p3", "p8"]);
}

#[test]
fn columns_named_after_a_campaign_or_a_rule_label_it_and_json_labels_read_like_csv() {
    let csv = report(&["-p", "v1", "--labels", "labels.csv"]);
    let columns: Vec<&Value> = csv["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["column"])
        .collect();
    assert_eq!(columns, ["gambling_2022", "ads_post"], "`offensive` names nothing");
    assert_eq!(counts(&csv, "gambling_2022", "gambling_2022"), (3, 2, 1, 2, 3));
    assert_eq!(counts(&csv, "ads_post", "ads_post"), (3, 2, 1, 0, 5));

    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("labels.jsonl");
    let text = std::fs::read_to_string(format!("{DIR}/labels.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let objects: Vec<String> = lines
        .map(|line| {
            let mut object = serde_json::Map::new();
            for (key, value) in header.iter().zip(line.split(',')) {
                let value = if *key == "id" {
                    Value::from(value)
                } else {
                    Value::from(value == "1")
                };
                object.insert(key.to_string(), value);
            }
            Value::Object(object).to_string()
        })
        .collect();
    std::fs::write(&jsonl, objects.join("\n")).unwrap();
    let json = report(&["-p", "v1", "--labels", jsonl.to_str().unwrap()]);
    let by_column = |report: &Value| {
        let mut targets = report["targets"].as_array().unwrap().clone();
        targets.sort_by_key(|t| t["column"].as_str().unwrap().to_string());
        targets
    };
    assert_eq!(by_column(&json), by_column(&csv));
}

#[test]
fn all_active_replays_campaigns_outside_their_period_and_selection_narrows_the_rules() {
    let all = report(&["-p", "v1", "--labels", "labels.csv", "--all-active"]);
    assert_eq!(all["all_active"], true);
    assert_eq!(
        counts(&all, "gambling_2022", "gambling_post"),
        (4, 3, 1, 1, 3),
        "p8 now caught"
    );

    let one = report(&[
        "-p",
        "v1",
        "--labels",
        "labels.csv",
        "--label",
        "offensive=any",
        "--rule",
        "ads_post",
    ]);
    assert_eq!(counts(&one, "offensive", "all rules"), (3, 2, 1, 3, 2));
    assert_eq!(one["verdicts"]["remove"], Value::Null, "gambling_post does not run");

    let fixed = report(&["-p", "v1", "--labels", "labels.csv", "--as-of", "2022-01-01"]);
    assert_eq!(fixed["as_of"], "2022-01-01");
    assert_eq!(
        counts(&fixed, "gambling_2022", "gambling_post").0,
        0,
        "no campaign active yet"
    );
}

#[test]
fn a_baseline_shows_which_decisions_a_change_changes() {
    let report = report(&["-p", "v2", "--baseline", "v1", "--labels", "labels.csv"]);
    let comparison = &report["comparison"];
    assert_eq!(comparison["compared"], 9);
    assert_eq!(comparison["changed"], 3, "{comparison:#}");
    let verdicts: Vec<(String, String, u64)> = comparison["verdict_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["from"].as_str().unwrap().to_string(),
                c["to"].as_str().unwrap().to_string(),
                c["records"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("allow".into(), "remove".into(), 1),
            ("review".into(), "allow".into(), 1)
        ]
    );
    let rule = |name: &str| {
        comparison["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == name)
            .unwrap()
            .clone()
    };
    let campaign = comparison["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "ads_2022")
        .unwrap()
        .clone();
    assert_eq!(
        (&campaign["baseline_fired"], &campaign["fired"], &campaign["stopped"]),
        (&3.into(), &1.into(), &2.into())
    );
    let ads = rule("ads_post");
    assert_eq!(
        (&ads["baseline_fired"], &ads["fired"], &ads["started"], &ads["stopped"]),
        (&3.into(), &1.into(), &0.into(), &2.into())
    );
    let gambling = rule("gambling_post");
    assert_eq!(gambling["started"], 1);
    assert_eq!(gambling["started_examples"][0]["id"], "p3");
    assert_eq!(
        gambling["started_examples"][0]["evidence"][0],
        "p.text has “下注” (gambling: 下注)"
    );
    // Both versions measured against the same labels.
    assert_eq!(counts(&report, "ads_post", "ads_post"), (1, 1, 0, 1, 6));
    let baseline = &comparison["baseline_targets"];
    let old_ads = baseline
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["column"] == "ads_post")
        .unwrap();
    assert_eq!(old_ads["rows"][0]["true_positives"], 2);

    // Without labels, the comparison alone.
    let unlabelled = self::report(&["-p", "v2", "--baseline", "v1"]);
    assert_eq!(unlabelled["comparison"]["changed"], 3);
    assert_eq!(unlabelled["targets"], Value::Array(Vec::new()));
}

#[test]
fn bad_labels_and_mappings_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,label\np1,1\np2,maybe\n").unwrap();
    let output = backtest(&["-p", "v1", "--labels", bad.to_str().unwrap(), "records.jsonl"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.csv:3: `label` is \"maybe\": a label is 1/0, true/false or yes/no"),
        "{stderr}"
    );

    let output = backtest(&[
        "-p",
        "v1",
        "--labels",
        "labels.csv",
        "--label",
        "offensive=rule:nope",
        "records.jsonl",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`rule:nope` is not `any`, a campaign or a rule"),
        "{stderr}"
    );

    let nothing = dir.path().join("nothing.csv");
    std::fs::write(&nothing, "id,offensive\np1,1\n").unwrap();
    let output = backtest(&["-p", "v1", "--labels", nothing.to_str().unwrap(), "records.jsonl"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("map one with `--label COLUMN=any`"), "{stderr}");

    let output = backtest(&[
        "-p",
        "v1",
        "--labels",
        "labels.csv",
        "--rule",
        "gambling_pots",
        "records.jsonl",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no rule `gambling_pots` (did you mean `gambling_post`?)"),
        "{stderr}"
    );

    let output = backtest(&["-p", "v1", "records.jsonl"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing to measure"));
}

#[test]
fn the_table_lists_rules_that_fired_and_examples() {
    let output = backtest(&[
        "-p",
        "v1",
        "--labels",
        "labels.csv",
        "--label",
        "offensive=any",
        "records.jsonl",
    ]);
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table.contains("label `offensive` (any rule): 5 positive, 3 negative, 1 unlabelled"),
        "{table}"
    );
    let overall = table.lines().find(|l| l.starts_with("all rules")).unwrap();
    let cells: Vec<&str> = overall.split_whitespace().collect();
    assert_eq!(cells, ["all", "rules", "5", "3", "2", "2", "60.0%", "60.0%", "0.600"]);
    assert!(table.contains("line 2 `p2`: 这家赌场真大，新闻报道"), "{table}");
}

/// The HTML report is one self-contained page: a browser renders it (a
/// screenshot is taken) and its chart has a bar per measure and rule.
#[test]
fn the_html_report_renders_in_a_headless_browser() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let output = backtest(&[
        "-p",
        "v1",
        "--labels",
        "labels.csv",
        "--label",
        "offensive=any",
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
        "records.jsonl",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        !page.contains("<script") && !page.contains("src=\"http"),
        "self-contained"
    );
    // all rules, two campaigns, two rules: a precision and a recall bar each.
    assert_eq!(page.matches("<rect ").count(), 10);
    assert!(page.contains("这家赌场真大，新闻报道"));

    let required = std::env::var("QLP_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let Some(browser) = ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        assert!(!required, "QLP_REQUIRE_BROWSER=1 but `chromium` is not installed");
        eprintln!("skipped the browser: `chromium` is not installed (apt-get install chromium)");
        return;
    };
    let screenshot = dir.path().join("report.png");
    let profile = dir.path().join("profile");
    let headless = |extra: &[&str]| {
        Command::new(browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap()
    };
    let dom = headless(&["--dump-dom"]);
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("<rect ").count(), 10, "the browser parsed the chart");
    assert!(dom.contains("60.0%"));
    let shot = headless(&[
        &format!("--screenshot={}", screenshot.display()),
        "--window-size=1200,1600",
    ]);
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "a real screenshot: {} bytes",
        png.len()
    );
}
