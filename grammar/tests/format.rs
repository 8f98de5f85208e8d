//! `qlp fmt` on every policy in the repository: idempotent, the same AST,
//! and every comment kept.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use qlp_grammar::format::format_source;
use qlp_grammar::{parse_file, FileId};

fn qlp_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            qlp_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "qlp") {
            out.push(path);
        }
    }
}

fn comment_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        for (i, c) in line.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '/' if !in_string && line[i..].starts_with("//") => {
                    out.push(line[i..].trim_end().to_string());
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn formatting_every_policy_keeps_meaning_and_comments() {
    for path in repository_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_formats(&text, &path.display().to_string());
    }
}

/// Formats `text` and checks: idempotent, the same AST, the same comments.
fn assert_formats(text: &str, name: &str) -> String {
    let once = format_source(text, FileId(0)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let twice = format_source(&once, FileId(0)).unwrap();
    assert_eq!(
        once, twice,
        "{name}: formatting is not idempotent:\n{text}\n----\n{once}"
    );
    assert_eq!(parse_file(text, FileId(0)).0, parse_file(&once, FileId(0)).0, "{name}");
    let mut before = comment_lines(text);
    let mut after = comment_lines(&once);
    before.sort();
    after.sort();
    assert_eq!(before, after, "{name}: comments changed:\n{once}");
    once
}

fn repository_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    qlp_files(&root.join("policies"), &mut files);
    qlp_files(&root.join("compiler/tests/data/ok"), &mut files);
    qlp_files(&root.join("compiler/tests/data/clif"), &mut files);
    qlp_files(&root.join("lint/tests/data/lint"), &mut files);
    qlp_files(&root.join("grammar/tests/data/ok"), &mut files);
    qlp_files(&root.join("grammar/tests/data/fmt"), &mut files);
    assert!(files.len() > 40);
    files
}

#[test]
fn a_heavily_commented_file_formats_in_place() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fmt/commented.qlp");
    let text = std::fs::read_to_string(&path).unwrap();
    let once = assert_formats(&text, "commented.qlp");
    insta::assert_snapshot!(once);
    // Nothing is kept verbatim: the messy spacing of the source is gone,
    // and the author's literals stay as written.
    assert!(once.contains("const LIMIT = 1_000  // digit separators stay"), "{once}");
    assert!(once.contains("const WINDOW: duration = 90m"), "{once}");
    assert!(
        once.contains("reason: \"\\u{8d4c}博\"  // escapes as written"),
        "{once}"
    );
    assert!(once.contains("  when: c.kind == live_stream  // only live rooms\n    and c.text has_any gambling  // the keywords\n    // the stream is new\n    and now"), "{once}");
}

/// Comments dropped between random tokens of every file in the repository
/// (on their own line, or after code): formatting keeps every one, keeps
/// the AST and is idempotent.
#[test]
fn comments_between_any_tokens_survive_formatting() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut cases = 0;
    for path in repository_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        // A line break before a declaration word starts a new declaration
        // (items are split at them), so comments go elsewhere.
        let ends: Vec<usize> = token_ends(&text)
            .into_iter()
            .filter(|&end| {
                let next = text[end..].trim_start();
                !qlp_grammar::parse::DECLARATION_WORDS.iter().any(|w| {
                    next.starts_with(w) && !next[w.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
            .collect();
        if ends.is_empty() {
            continue;
        }
        for variant in 0..6 {
            let mut at: Vec<usize> = (0..4).map(|_| ends[(next() % ends.len() as u64) as usize]).collect();
            at.sort_unstable();
            at.dedup();
            let mut mixed = text.clone();
            for (k, &offset) in at.iter().enumerate().rev() {
                let comment = if (variant + k) % 2 == 0 {
                    format!(" // trailing {k}\n")
                } else {
                    format!("\n// own line {k}\n")
                };
                mixed.insert_str(offset, &comment);
            }
            assert_formats(&mixed, &format!("{} variant {variant}", path.display()));
            cases += 1;
        }
    }
    assert!(cases > 200, "{cases}");
}

/// Where tokens end in `text`: after a word, a string or a punctuation
/// character, outside comments and strings.
fn token_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    in_string = false;
                    ends.push(end);
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if text[end..].starts_with('/') => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
            c if c.is_whitespace() => {}
            // Numbers, times and durations are one token with their `-`,
            // `:`, `.` and `+` (`2022-01-01T08:00:00+08:00`).
            c if c.is_ascii_digit() => {
                let mut last = end;
                while let Some((j, d)) = chars.next_if(|&(_, d)| d.is_alphanumeric() || "_-:.+".contains(d)) {
                    last = j + d.len_utf8();
                }
                ends.push(last);
            }
            c if c.is_alphanumeric() || c == '_' => {
                if !chars.peek().is_some_and(|&(_, d)| d.is_alphanumeric() || d == '_') {
                    ends.push(end);
                }
            }
            // Inside multi-character operators (`==`, `..`, `->`, `??`) a
            // comment would split them.
            _ => {
                if !chars.peek().is_some_and(|&(_, d)| "=.>?<!-/".contains(d)) {
                    ends.push(end);
                }
            }
        }
    }
    ends
}
