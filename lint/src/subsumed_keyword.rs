//! A keyword that contains another keyword of the same set.
//!
//! ## What it does
//! Reports entries that contain a shorter entry of the same set once both
//! are normalized, such as `网赌平台` next to `网赌`.
//!
//! ## Why is this bad?
//! `has_any` already matches every text the longer entry would; the longer
//! entry adds nothing but suggests a precision the set does not have.
//!
//! ## Example
//! ```qlp
//! keywords gambling_words = ["网赌", "网赌平台"]
//! ```
//!
//! Use instead:
//! ```qlp
//! keywords gambling_words = ["网赌"]
//! ```

use super::{LintContext, LintHit};
use qlp_compiler::text::MatchMode;

/// Sets larger than this are checked only for their first entries, to keep
/// the lint fast on 10^5-entry lists.
const MAX_CHECKED: usize = 5_000;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for set in &cx.program.keyword_sets {
        if set.matcher.mode() != MatchMode::Normalized {
            continue;
        }
        let keywords = set.matcher.keywords();
        let mut examples = Vec::new();
        for (i, long) in keywords.iter().enumerate().take(MAX_CHECKED) {
            let found = set
                .matcher
                .find_all_prepared(long)
                .into_iter()
                .find(|(pattern, _, _)| *pattern != i);
            if let Some((pattern, _, _)) = found {
                let short = set.entries.get(pattern).cloned().unwrap_or_default();
                let long_entry = set.entries.get(i).cloned().unwrap_or_default();
                examples.push(format!("`{long_entry}` (contains `{short}`)"));
            }
        }
        if !examples.is_empty() {
            let count = examples.len();
            examples.truncate(3);
            hits.push(
                LintHit::new(
                    set.location.file,
                    set.location.span,
                    format!(
                        "keyword set `{}` has {count} entr{} that a shorter entry already matches",
                        set.name,
                        if count == 1 { "y" } else { "ies" }
                    ),
                )
                .help(format!(
                    "for example {}; remove the longer entries",
                    examples.join(", ")
                )),
            );
        }
    }
}
