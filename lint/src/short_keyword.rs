//! A keyword so short it matches almost everything.
//!
//! ## What it does
//! Reports keywords of a single Han character, or of one or two Latin
//! letters or digits, once normalized.
//!
//! ## Why is this bad?
//! Normalized matching ignores separators, so `赌` matches every text that
//! mentions 赌 anywhere (赌气, 打赌); the rule fires on innocent content.
//!
//! ## Example
//! ```qlp
//! keywords gambling_words = ["赌", "网赌"]
//! ```
//!
//! Use instead:
//! ```qlp
//! keywords gambling_words = ["赌博", "网赌"]
//! ```

use super::{LintContext, LintHit};
use qlp_compiler::text::MatchMode;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for set in &cx.program.keyword_sets {
        if set.matcher.mode() == MatchMode::Exact {
            continue;
        }
        let short: Vec<&String> = set
            .matcher
            .keywords()
            .iter()
            .zip(&set.entries)
            .filter(|(k, _)| {
                let k = k.trim();
                let n = k.chars().count();
                n == 1 && !k.is_ascii() || k.is_ascii() && n <= 2
            })
            .map(|(_, e)| e)
            .collect();
        if !short.is_empty() {
            let list: Vec<String> = short.iter().take(5).map(|e| format!("`{e}`")).collect();
            hits.push(
                LintHit::new(
                    set.location.file,
                    set.location.span,
                    format!(
                        "keyword set `{}` has keywords short enough to match almost anything: {}",
                        set.name,
                        list.join(", ")
                    ),
                )
                .help("use whole words or phrases (`赌博`, not `赌`)"),
            );
        }
    }
}
