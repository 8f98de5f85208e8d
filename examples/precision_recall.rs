//! Precision and recall of a sample keyword rule (the porn, ads and weapons
//! lists of `../shared/data/lexicon`) against the offensive-language labels
//! of the COLD comments. Not a target: a number policy authors can use.
//!
//! ```sh
//! cargo run --release --example precision_recall
//! ```

// An example program: it stops on missing data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use qlp_compiler::text::{normalize, KeywordMatcher, MatchMode};

fn main() {
    let data = std::env::var_os("QLP_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if !data.is_dir() {
        eprintln!("skipped: {} is absent", data.display());
        return;
    }
    let mut keywords: Vec<String> = ["porn.txt", "ads.txt", "weapons.txt"]
        .iter()
        .flat_map(|name| {
            std::fs::read_to_string(data.join("lexicon").join(name))
                .unwrap()
                .lines()
                .map(normalize)
                .filter(|k| !k.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
    keywords.sort();
    keywords.dedup();
    let matcher = KeywordMatcher::new(keywords.clone(), MatchMode::Normalized).unwrap();

    let mut reader = csv::Reader::from_path(data.join("cold/test.csv")).unwrap();
    let (mut tp, mut fp, mut fn_, mut tn) = (0u32, 0u32, 0u32, 0u32);
    for record in reader.records().filter_map(Result::ok) {
        let (Some(label), Some(text)) = (record.get(3), record.get(record.len() - 1)) else {
            continue;
        };
        let offensive = label.trim() == "1";
        match (matcher.is_match(text), offensive) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    println!(
        "rule: text has_any (porn + ads + weapons), {} normalized keywords",
        keywords.len()
    );
    println!(
        "COLD test split: {} comments, {} labelled offensive",
        tp + fp + fn_ + tn,
        tp + fn_
    );
    println!(
        "flagged {}: {tp} true positives, {fp} false positives; missed {fn_}",
        tp + fp
    );
    println!(
        "precision {:.1}%  recall {:.1}%  F1 {:.3}",
        precision * 100.0,
        recall * 100.0,
        f1
    );
    println!("(COLD labels offensive language about race, gender and region; these lists target porn, ads and weapons, so low recall is expected)");
}
