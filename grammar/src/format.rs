//! `qlp fmt`: the canonical layout of a file, keeping every comment.
//!
//! Items are printed by `print.rs`. Comments between items stay above the
//! item that follows them; comments inside a record stay with their field
//! (above it, or after it on its line). An item with comments anywhere else
//! inside it is kept exactly as written, so formatting never drops or moves a
//! comment away from what it describes.

use crate::ast::{File, Item};
use crate::diagnostic::Diagnostic;
use crate::parse::parse_file;
use crate::print::print_item;
use crate::source::FileId;
use crate::span::Span;

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
    Ok(format_file(text, &ast))
}

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
        out.push_str(&format_item(text, item, &item_comments, end));
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

/// One item with the comments inside it (or trailing its last line).
fn format_item(text: &str, item: &Item, comments: &[&Comment], end: usize) -> String {
    let mut printed = String::new();
    print_item(&mut printed, item);
    if comments.is_empty() {
        return printed;
    }
    // A single comment after the item's last token, on its line.
    if let [comment] = comments {
        if comment.start >= end {
            return format!("{printed}  {}", comment_text(text, comment));
        }
    }
    if let Item::Record(record) = item {
        return format_record(text, record, comments);
    }
    // Comments inside other items: keep the item exactly as written.
    let last = comments.iter().map(|c| c.end).max().unwrap_or(end).max(end);
    text.get(item.span().start as usize..last).unwrap_or("").to_string()
}

fn format_record(text: &str, record: &crate::ast::RecordDecl, comments: &[&Comment]) -> String {
    let mut out = format!("record {} {{", record.name.name);
    let mut remaining: Vec<&Comment> = comments.to_vec();
    // A comment on the record's first line, after `{`.
    let header_end = line_end(text, record.name.span.end as usize);
    let first_field = record.fields.first().map_or(usize::MAX, |f| f.span.start as usize);
    if let Some(pos) = remaining
        .iter()
        .position(|c| c.start < header_end && c.start < first_field)
    {
        out.push_str("  ");
        out.push_str(&comment_text(text, remaining.remove(pos)));
    }
    out.push('\n');
    let all: Vec<Comment> = comments.iter().map(|c| (*c).clone()).collect();
    // (comments above, the field, its trailing comment), then aligned.
    let mut lines: Vec<(Vec<String>, String, Option<String>)> = Vec::new();
    for field in &record.fields {
        let Span { start, end } = field.span;
        let start = start as usize;
        let end = effective_end(text, start, end as usize, &all);
        let field_line_end = line_end(text, end);
        let (before, after): (Vec<&Comment>, Vec<&Comment>) = remaining.iter().partition(|c| c.end <= start);
        let (trailing, later): (Vec<&Comment>, Vec<&Comment>) =
            after.into_iter().partition(|c| c.trailing && c.start < field_line_end);
        let trailing: Vec<String> = trailing.iter().map(|c| comment_text(text, c)).collect();
        lines.push((
            before.iter().map(|c| comment_text(text, c)).collect(),
            crate::print::print_field(field),
            (!trailing.is_empty()).then(|| trailing.join(" ")),
        ));
        remaining = later;
    }
    let width = lines
        .iter()
        .filter(|(_, _, trailing)| trailing.is_some())
        .map(|(_, code, _)| code.chars().count())
        .max()
        .unwrap_or(0);
    for (before, code, trailing) in lines {
        for comment in before {
            out.push_str(&format!("  {comment}\n"));
        }
        match trailing {
            Some(comment) => {
                let pad = width.saturating_sub(code.chars().count()) + 2;
                out.push_str(&format!("  {code}{}{comment}\n", " ".repeat(pad)));
            }
            None => out.push_str(&format!("  {code}\n")),
        }
    }
    for comment in remaining {
        out.push_str("  ");
        out.push_str(&comment_text(text, comment));
        out.push('\n');
    }
    out.push('}');
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
