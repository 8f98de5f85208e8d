//! `qlp fmt`: the canonical layout of a file, keeping every comment.
//!
//! Items are printed by `print.rs`, with literals as the author spelled
//! them. Comments between items stay above the item that follows them.
//! Comments inside an item are attached to the tokens around them and put
//! back: one after code on its line stays at the end of the line that holds
//! the token before it, one on its own line stays above the line that holds
//! the token after it; an `and`/`or` chain with a comment inside is printed
//! one operand per line so that each comment stays with its operand.

use crate::ast::{File, Item};
use crate::diagnostic::Diagnostic;
use crate::parse::parse_file;
use crate::print::Printer;
use crate::source::FileId;

/// A `//` comment: its byte range (without the line break) and whether code
/// precedes it on its line.
#[derive(Debug, Clone)]
struct Comment {
    start: usize,
    end: usize,
    trailing: bool,
}

/// Finds the `//` comments of a file, outside string literals.
fn comments(text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    let mut line_has_code = false;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(b'\n');
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                _ => {}
            }
            if b == b'\n' {
                line_has_code = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                line_has_code = true;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text
                    .get(i..)
                    .and_then(|rest| rest.find('\n'))
                    .map_or(text.len(), |n| i + n);
                out.push(Comment {
                    start: i,
                    end,
                    trailing: line_has_code,
                });
                i = end;
                continue;
            }
            b'\n' => line_has_code = false,
            b' ' | b'\t' | b'\r' => {}
            _ => line_has_code = true,
        }
        i += 1;
    }
    out
}

/// Formats a file. Returns the parse errors instead if it does not parse.
pub fn format_source(text: &str, file: FileId) -> Result<String, Vec<Diagnostic>> {
    let (ast, diagnostics) = parse_file(text, file);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    let mut formatted = format_file(text, &ast);
    // Where a comment lands can decide whether a chain is broken over lines
    // (a comment that ends up after the last operand no longer keeps it
    // broken): formatting again until nothing moves makes `fmt` idempotent.
    for _ in 0..MAX_PASSES {
        let (ast, _) = parse_file(&formatted, file);
        let again = format_file(&formatted, &ast);
        if again == formatted {
            break;
        }
        formatted = again;
    }
    Ok(formatted)
}

/// Passes after the first that `format_source` makes to reach a fixed point.
const MAX_PASSES: usize = 3;

fn comment_text(text: &str, comment: &Comment) -> String {
    text.get(comment.start..comment.end)
        .unwrap_or("")
        .trim_end()
        .to_string()
}

/// Where an item's last token ends: pest spans can run on over whitespace
/// and comments that follow it.
fn effective_end(text: &str, start: usize, end: usize, comments: &[Comment]) -> usize {
    let mut end = end.min(text.len());
    loop {
        let trimmed = text.get(start..end).map_or(0, |t| t.trim_end().len());
        end = start + trimmed;
        match comments
            .iter()
            .find(|c| c.start >= start && c.start < end && c.end >= end)
        {
            Some(comment) => end = comment.start,
            None => return end,
        }
    }
}

/// The end of the line `offset` is on.
fn line_end(text: &str, offset: usize) -> usize {
    text.get(offset..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |n| offset + n)
}

fn format_file(text: &str, ast: &File) -> String {
    let all = comments(text);
    let offsets: Vec<u32> = all.iter().map(|c| c.start as u32).collect();
    let printer = Printer::with_source(text, &offsets);
    let mut used = vec![false; all.len()];
    let mut out = String::new();
    let mut previous: Option<&Item> = None;
    for item in &ast.items {
        let span = item.span();
        let start = span.start as usize;
        let end = effective_end(text, start, span.end as usize, &all);
        // The item's extent includes a comment trailing its last line.
        let extent_end = line_end(text, end);
        let leading: Vec<usize> = (0..all.len())
            .filter(|&i| !used.get(i).copied().unwrap_or(true) && all.get(i).is_some_and(|c| c.end <= start))
            .collect();
        let inside: Vec<usize> = (0..all.len())
            .filter(|&i| all.get(i).is_some_and(|c| c.start >= start && c.start < extent_end))
            .collect();
        if let Some(previous) = previous {
            let both_imports = matches!(previous, Item::Import(_)) && matches!(item, Item::Import(_));
            out.push_str(if both_imports && leading.is_empty() {
                "\n"
            } else {
                "\n\n"
            });
        }
        for (k, &i) in leading.iter().enumerate() {
            if let (Some(c), Some(u)) = (all.get(i), used.get_mut(i)) {
                out.push_str(&comment_text(text, c));
                out.push('\n');
                *u = true;
                // Keep a blank line that separated the comment from what follows.
                let next = leading.get(k + 1).and_then(|&j| all.get(j)).map_or(start, |n| n.start);
                if text.get(c.end..next).is_some_and(|gap| gap.matches('\n').count() >= 2) {
                    out.push('\n');
                }
            }
        }
        let item_comments: Vec<&Comment> = inside.iter().filter_map(|&i| all.get(i)).collect();
        let mut printed = String::new();
        printer.item(&mut printed, item);
        let aligned = matches!(item, Item::Record(_));
        out.push_str(&place_comments(text, (start, end), &printed, &item_comments, aligned));
        for &i in &inside {
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
        }
        previous = Some(item);
    }
    let rest: Vec<&Comment> = all
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(c, _)| c)
        .collect();
    if !rest.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        let lines: Vec<String> = rest.iter().map(|c| comment_text(text, c)).collect();
        out.push_str(&lines.join("\n"));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// The tokens of `text[start..end]` as byte ranges (the pre-passes'
/// lexer: strings and words whole, comments and line breaks skipped). Only
/// used to line the source and the printed item up.
fn tokens(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    crate::scan::tokens(text.get(start..end).unwrap_or(""))
        .into_iter()
        .filter(|t| t.kind != crate::scan::TokenKind::Newline)
        .map(|t| (start + t.start, start + t.start + t.text.len()))
        .collect()
}

/// For each source token, the printed token it became (`None` for the
/// tokens printing drops, such as trailing commas). The two sequences differ
/// only in such tokens, so a greedy walk that resynchronizes over a short
/// window lines them up in linear time.
fn align(source: &[&str], printed: &[&str]) -> Vec<Option<usize>> {
    const WINDOW: usize = 8;
    let mut map = vec![None; source.len()];
    let (mut i, mut j) = (0, 0);
    while i < source.len() && j < printed.len() {
        if source.get(i) == printed.get(j) {
            if let Some(m) = map.get_mut(i) {
                *m = Some(j);
            }
            i += 1;
            j += 1;
            continue;
        }
        let skip_source = (1..=WINDOW).find(|&k| source.get(i + k).is_some() && source.get(i + k) == printed.get(j));
        let skip_printed = (1..=WINDOW).find(|&k| printed.get(j + k).is_some() && printed.get(j + k) == source.get(i));
        match (skip_source, skip_printed) {
            (Some(k), Some(l)) if l < k => j += l,
            (Some(k), _) => i += k,
            (None, Some(l)) => j += l,
            (None, None) => {
                // A token printed differently: take it as its replacement.
                if let Some(m) = map.get_mut(i) {
                    *m = Some(j);
                }
                i += 1;
                j += 1;
            }
        }
    }
    map
}

/// Puts an item's comments back into its printed form: a comment after code
/// on its line goes at the end of the printed line holding the token before
/// it; a comment on its own line goes on its own line above the printed
/// line holding the token after it. In records, trailing comments are
/// aligned.
fn place_comments(
    text: &str,
    (start, end): (usize, usize),
    printed: &str,
    comments: &[&Comment],
    aligned: bool,
) -> String {
    if comments.is_empty() {
        return printed.to_string();
    }
    let source_tokens = tokens(text, start, end);
    let printed_tokens = tokens(printed, 0, printed.len());
    let words = |t: &str, tokens: &[(usize, usize)]| -> Vec<String> {
        tokens
            .iter()
            .map(|&(a, b)| t.get(a..b).unwrap_or("").to_string())
            .collect()
    };
    let source_words = words(text, &source_tokens);
    let printed_words = words(printed, &printed_tokens);
    let map = align(
        &source_words.iter().map(String::as_str).collect::<Vec<_>>(),
        &printed_words.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mut lines: Vec<(String, Vec<String>, Vec<String>)> = printed
        .split('\n')
        .map(|l| (l.to_string(), Vec::new(), Vec::new()))
        .collect();
    let line_of = |offset: usize| printed.get(..offset).map_or(0, |b| b.matches('\n').count());
    let last = lines.len().saturating_sub(1);
    for comment in comments {
        let body = comment_text(text, comment);
        if comment.trailing {
            // The last source token before the comment that was printed.
            let before = source_tokens.iter().rposition(|&(_, e)| e <= comment.start);
            let printed_at = before.and_then(|p| (0..=p).rev().find_map(|k| map.get(k).copied().flatten()));
            let line = printed_at
                .and_then(|q| printed_tokens.get(q))
                .map_or(last, |&(_, e)| line_of(e));
            if let Some((_, _, trailing)) = lines.get_mut(line) {
                trailing.push(body);
            }
        } else {
            let after = source_tokens.iter().position(|&(s, _)| s >= comment.end);
            let printed_at = after.and_then(|n| (n..source_tokens.len()).find_map(|k| map.get(k).copied().flatten()));
            let line = printed_at
                .and_then(|q| printed_tokens.get(q))
                .map_or(last, |&(s, _)| line_of(s));
            if let Some((_, above, _)) = lines.get_mut(line) {
                above.push(body);
            }
        }
    }
    let width = lines
        .iter()
        .filter(|(_, _, trailing)| !trailing.is_empty())
        .map(|(code, _, _)| code.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, (code, above, trailing)) in lines.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let indent: String = code.chars().take_while(|c| *c == ' ').collect();
        // Above a closing bracket, a comment is indented like the lines inside.
        let indent = if code.trim_start().starts_with(['}', ']', ')']) {
            format!("{indent}  ")
        } else {
            indent
        };
        // A line holds one trailing comment; more that land on it (their
        // tokens were joined onto one line) go above it, in order.
        let (last, earlier) = trailing.split_last().map_or((None, &[][..]), |(l, e)| (Some(l), e));
        for comment in above.iter().chain(earlier) {
            out.push_str(&indent);
            out.push_str(comment);
            out.push('\n');
        }
        out.push_str(code);
        if let Some(comment) = last {
            let pad = if aligned { width - code.chars().count() + 2 } else { 2 };
            out.push_str(&" ".repeat(pad));
            out.push_str(comment);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_survive_and_formatting_is_idempotent() {
        let source = "// header\nimport \"a.qlp\"\n// about R\nrecord R {   // the record\n  // first\n  a: int // trailing\n  b:   string?\n  // last\n}\nconst X=1 // one\n// between\nrule r(c: R) {\n  // inside\n  when: c.a>1\n  then: review\n}\n// end\n";
        let once = format_source(source, FileId(0)).unwrap();
        let twice = format_source(&once, FileId(0)).unwrap();
        assert_eq!(once, twice);
        for comment in [
            "// header",
            "// about R",
            "// the record",
            "// first",
            "// trailing",
            "// last",
            "// one",
            "// between",
            "// inside",
            "// end",
        ] {
            assert!(once.contains(comment), "{comment} lost:\n{once}");
        }
        assert!(once.contains("const X = 1  // one"), "{once}");
        assert!(once.contains("  b: string?\n"), "{once}");
        let (a, _) = parse_file(source, FileId(0));
        let (b, _) = parse_file(&once, FileId(0));
        assert_eq!(a, b);
    }
}
