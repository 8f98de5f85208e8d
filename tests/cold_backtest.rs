//! `qlp backtest` of the shipped policies on the COLD comments
//! (`../shared/data/cold/test.csv`, label 1 = offensive), as a platform
//! engineer would run it: the comments mapped onto `Content` records, the
//! labels into a CSV, every campaign replayed as active. Skips with a
//! message when the data is absent, unless `QLP_REQUIRE_DATA=1`.
//!
//! `cargo test --release --test cold_backtest -- --nocapture` prints the
//! report.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("QLP_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("QLP_REQUIRE_DATA").is_none(),
        "QLP_REQUIRE_DATA is set but {} is missing",
        dir.display()
    );
    eprintln!("skipped: {} is absent", dir.display());
    None
}

/// The COLD test split as comment records and a labels file; returns the
/// number of comments and of offensive ones.
fn write_cold(data: &Path, records: &Path, labels: &Path) -> (usize, usize) {
    let mut reader = csv::Reader::from_path(data.join("cold/test.csv")).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(records).unwrap());
    let mut label_out = std::io::BufWriter::new(std::fs::File::create(labels).unwrap());
    writeln!(label_out, "id,offensive").unwrap();
    let (mut n, mut offensive) = (0, 0);
    for row in reader.records() {
        let row = row.unwrap();
        let (index, label, text) = (&row[0], &row[3], &row[row.len() - 1]);
        let id = format!("cold-{index}");
        // Only what a platform knows about a comment; the schema's
        // defaults fill in the rest.
        let record = json!({
            "id": id,
            "kind": "comment",
            "text": text,
            "created_at": "2022-06-01T12:00:00",
            "author": {"id": format!("u{index}"), "kind": "personal", "created_at": "2020-01-01", "followers": 10},
        });
        writeln!(out, "{record}").unwrap();
        writeln!(label_out, "{id},{}", label.trim()).unwrap();
        n += 1;
        offensive += usize::from(label.trim() == "1");
    }
    (n, offensive)
}

#[test]
fn the_shipped_policies_on_cold_comments() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (records, labels) = (dir.path().join("cold.jsonl"), dir.path().join("labels.csv"));
    let (comments, offensive) = write_cold(&data, &records, &labels);
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_qlp"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "backtest",
                "-p",
                "policies",
                "-t",
                "Content",
                "--all-active",
                "--label",
                "offensive=any",
            ])
            .arg("--labels")
            .arg(&labels)
            .args(["--format", format, "--samples", "3"])
            .arg(&records)
            .output()
            .unwrap()
    };
    let output = run("table");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    println!("{}", String::from_utf8_lossy(&output.stdout));

    let output = run("json");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["records"], comments, "every comment is a valid record");
    assert_eq!(report["rejected"], 0);
    assert_eq!(report["unlabelled"], 0);
    let target = &report["targets"][0];
    assert_eq!(target["positives"], offensive);
    assert_eq!(target["negatives"], comments - offensive);
    let overall = &target["rows"][0];
    let (tp, fp, fn_) = (
        overall["true_positives"].as_u64().unwrap(),
        overall["false_positives"].as_u64().unwrap(),
        overall["false_negatives"].as_u64().unwrap(),
    );
    assert_eq!((tp + fn_) as usize, offensive);
    // What the policies flag on ordinary comments is mostly offensive:
    // a rule that fires on talk about a topic would show up here.
    assert!(tp + fp > 0, "the policies flag some offensive comments");
    assert!(
        tp >= fp,
        "the policies flag more clean comments ({fp}) than offensive ones ({tp})"
    );
    // No severe action on a clean comment for a mere mention.
    for row in target["rows"].as_array().unwrap() {
        for example in row["false_positive_examples"].as_array().unwrap() {
            let rules: Vec<&str> = example["rules"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert!(
                !rules.contains(&"paid_poster_offer") && !rules.contains(&"paid_posters_2021"),
                "a paid-poster rule removed a clean comment: {example}"
            );
        }
    }
}

/// The false-positive cost of the evasion modes: for each shipped keyword
/// list, how many clean COLD comments (label 0) it matches in the default
/// `normalized` mode, with `lookalike`, with `sound` and with `initials`;
/// and the property that `lookalike` and `sound` match every text the
/// default mode does (`initials` leaves the characters themselves to it). `--nocapture`
/// prints the table quoted in docs/language.md.
#[test]
fn the_evasion_modes_cost_on_clean_cold_comments() {
    use qlp_compiler::text::{prepare, KeywordMatcher, MatchMode};
    let Some(data) = data_dir() else { return };
    let mut reader = csv::Reader::from_path(data.join("cold/test.csv")).unwrap();
    let clean: Vec<String> = reader
        .records()
        .map(Result::unwrap)
        .filter(|row| row[3].trim() == "0")
        .map(|row| row[row.len() - 1].to_string())
        .collect();
    assert!(clean.len() > 1000, "{} clean comments", clean.len());
    let lists = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/keywords");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&lists).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let matcher = |entries: &[String], mode: MatchMode| {
        let mut prepared: Vec<String> = entries
            .iter()
            .map(|e| prepare(e, mode))
            .filter(|e| !e.is_empty())
            .collect();
        prepared.sort();
        prepared.dedup();
        KeywordMatcher::new(prepared, mode).unwrap()
    };
    let (mut total_plain, mut total_shape, mut total_sound, mut total_initials) = (0, 0, 0, 0);
    eprintln!("| list | clean comments matched, normalized | lookalike | sound | initials |");
    for path in names {
        let entries: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        let plain = matcher(&entries, MatchMode::Normalized);
        let shape = matcher(&entries, MatchMode::Lookalike);
        let sound = matcher(&entries, MatchMode::Sound);
        let initials = matcher(&entries, MatchMode::Initials);
        let (mut by_plain, mut by_shape, mut by_sound, mut by_initials) = (0, 0, 0, 0);
        for text in &clean {
            let (p, l, s) = (plain.is_match(text), shape.is_match(text), sound.is_match(text));
            assert!(
                !p || (l && s),
                "{}: a mode misses what `normalized` matches: {text}",
                path.display()
            );
            by_plain += usize::from(p);
            by_shape += usize::from(l);
            by_sound += usize::from(s);
            by_initials += usize::from(initials.is_match(text));
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        eprintln!("| {name} | {by_plain} | {by_shape} | {by_sound} | {by_initials} |");
        total_initials += by_initials;
        total_plain += by_plain;
        total_shape += by_shape;
        total_sound += by_sound;
    }
    eprintln!(
        "| all {} clean comments | {total_plain} | {total_shape} | {total_sound} | {total_initials} |",
        clean.len()
    );
}
