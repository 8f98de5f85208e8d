//! A keyword listed twice in one set, once normalized.
//!
//! ## What it does
//! Reports entries of an inline keyword list that equal an earlier entry
//! after normalization (`赌博`, `賭博` and `赌 博` are one keyword), and
//! keyword files with such repeats (the set merges them either way).
//!
//! ## Why is this bad?
//! Repeats add nothing and hide how small the list really is; in reviews
//! they look like coverage that is not there.
//!
//! ## Example
//! ```qlp
//! keywords gambling_words = ["赌博", "賭博", "网赌"]
//! ```
//!
//! Use instead:
//! ```qlp
//! keywords gambling_words = ["赌博", "网赌"]
//! ```

use qlp_grammar::ast::{Item, KeywordsSource};
use qlp_grammar::{FileId, Span};

use super::{Fix, LintContext, LintHit};
use qlp_compiler::text::normalize;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for (index, ast) in cx.program.files.iter().enumerate() {
        let file = FileId(index as u32);
        for item in &ast.items {
            let Item::Keywords(decl) = item else { continue };
            let KeywordsSource::Inline(entries) = &decl.source else {
                file_repeats(cx, file, decl, hits);
                continue;
            };
            let mut seen: Vec<(String, &str)> = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                let key = normalize(&entry.value);
                if key.is_empty() {
                    continue;
                }
                if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                    // Delete the entry and the separator before it.
                    let start = entries
                        .get(i.wrapping_sub(1))
                        .filter(|_| i > 0)
                        .map_or(entry.span.start, |previous| previous.span.end);
                    hits.push(
                        LintHit::new(
                            file,
                            entry.span,
                            format!("`{}` repeats `{first}` once normalized", entry.value),
                        )
                        .help("remove the repeat")
                        .fix(Fix {
                            file,
                            span: Span::new(start as usize, entry.span.end as usize),
                            replacement: String::new(),
                        }),
                    );
                } else {
                    seen.push((key, &entry.value));
                }
            }
        }
    }
}

/// One finding for a keyword file with repeats: the file is not ours to fix.
fn file_repeats(cx: &LintContext<'_>, file: FileId, decl: &qlp_grammar::ast::KeywordsDecl, hits: &mut Vec<LintHit>) {
    let Some(set) = cx
        .program
        .keyword_sets
        .iter()
        .find(|s| s.name == decl.name.name && s.location.file == file)
    else {
        return;
    };
    if set.repeated == 0 {
        return;
    }
    let examples: Vec<String> = set
        .repeat_examples
        .iter()
        .map(|(repeat, first)| {
            if repeat == first {
                format!("`{repeat}`")
            } else {
                format!("`{repeat}` = `{first}`")
            }
        })
        .collect();
    hits.push(
        LintHit::new(
            file,
            decl.name.span,
            format!(
                "keyword set `{}` repeats {} entr{} once normalized (merged)",
                set.name,
                set.repeated,
                if set.repeated == 1 { "y" } else { "ies" }
            ),
        )
        .help(format!(
            "for example {}; remove the repeats from the file",
            examples.join(", ")
        )),
    );
}
