//! Find references and the declarations named outside expressions (rules
//! after `cancels:` and `expect`, campaigns after `campaign:`, types), across
//! every file of the set.

use qlp_compiler::program::{TExpr, TExprKind};

use super::*;

/// What a name at the cursor stands for.
enum Symbol {
    /// A field of a record, by record and index: found by type, so `c.id`
    /// and `a.id` of different records are different fields.
    Field(qlp_compiler::program::RecordId, u32),
    /// A declaration with a set-wide name: a rule, campaign, function,
    /// constant, keyword set, record, enum or state.
    Global(String),
}

/// Where a declaration with a set-wide name is declared.
pub(super) fn declared_at(program: &qlp_compiler::Program, name: &str) -> Option<qlp_compiler::program::Location> {
    program
        .rules
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.location)
        .or_else(|| program.campaigns.iter().find(|c| c.name == name).map(|c| c.location))
        .or_else(|| program.fns.iter().find(|f| f.name == name).map(|f| f.location))
        .or_else(|| program.consts.iter().find(|c| c.name == name).map(|c| c.location))
        .or_else(|| program.keyword_sets.iter().find(|k| k.name == name).map(|k| k.location))
        .or_else(|| program.records.iter().find(|r| r.name == name).map(|r| r.location))
        .or_else(|| program.enums.iter().find(|e| e.name == name).map(|e| e.location))
        .or_else(|| program.states.iter().find(|s| s.name == name).map(|s| s.location))
        .or_else(|| {
            // A variant: its enum.
            program
                .enums
                .iter()
                .find(|e| e.variants.iter().any(|v| v == name))
                .map(|e| e.location)
        })
}

/// Every place the name at the cursor is used (and declared).
pub(super) fn references(documents: &Documents, at: &lsp_types::TextDocumentPositionParams) -> Option<Vec<Location>> {
    let (program, root) = documents.program.as_ref()?;
    let symbol = match expression_at(documents, at) {
        Some((_, expr, _, _)) if matches!(expr.kind, TExprKind::Field(..)) => {
            let TExprKind::Field(base, index) = &expr.kind else {
                return None;
            };
            let qlp_compiler::Type::Record(record) = base.ty.strip_optional() else {
                return None;
            };
            Symbol::Field(*record, *index)
        }
        _ => {
            let (_, text) = text_of(documents, &at.text_document.uri)?;
            let word = word_at(&text, offset_of(&text, at.position)?)?;
            // A field declaration's own name.
            let field = program.records.iter().enumerate().find_map(|(i, r)| {
                let offset = offset_of(&text, at.position)? as u32;
                let index = r
                    .fields
                    .iter()
                    .position(|f| f.span.start <= offset && offset <= f.span.end && f.name == word)?;
                let same_file = program.sources.get(r.location.file).map(|f| f.text == text)?;
                same_file.then_some(Symbol::Field(qlp_compiler::program::RecordId(i as u32), index as u32))
            });
            match field {
                Some(field) => field,
                None => {
                    declared_at(program, &word)?;
                    Symbol::Global(word)
                }
            }
        }
    };
    let mut found: Vec<(qlp_grammar::FileId, usize, usize)> = Vec::new();
    match &symbol {
        Symbol::Field(record, index) => {
            let def = program.record(*record)?;
            let field = def.fields.get(*index as usize)?;
            found.push((
                def.location.file,
                field.span.start as usize,
                field.span.start as usize + field.name.len(),
            ));
            for (file, root) in roots(program) {
                let mut stack = vec![root];
                while let Some(expr) = stack.pop() {
                    if let TExprKind::Field(base, i) = &expr.kind {
                        if i == index
                            && matches!(base.ty.strip_optional(), qlp_compiler::Type::Record(r) if r == record)
                        {
                            let end = expr.span.end as usize;
                            found.push((file, end - field.name.len(), end));
                        }
                    }
                    stack.extend(expr.children());
                }
            }
        }
        Symbol::Global(name) => {
            for (file, source) in program.sources.files() {
                for start in name_tokens(&source.text, name) {
                    found.push((file, start, start + name.len()));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    Some(
        found
            .into_iter()
            .filter_map(|(file, start, end)| {
                let source = program.sources.get(file)?;
                let uri = uri_of(&canonical(root, &source.name)?)?;
                Some(Location::new(uri, range(&source.text, start, end)))
            })
            .collect(),
    )
}

/// Every typed expression tree of the program, with its file.
fn roots(program: &qlp_compiler::Program) -> Vec<(qlp_grammar::FileId, &TExpr)> {
    let mut roots: Vec<(qlp_grammar::FileId, &TExpr)> = Vec::new();
    roots.extend(program.rules.iter().map(|r| (r.location.file, &r.when)));
    roots.extend(program.exemptions.iter().map(|e| (e.location.file, &e.when)));
    roots.extend(program.fns.iter().map(|f| (f.location.file, &f.body)));
    for state in &program.states {
        roots.extend(state.exprs().map(|e| (state.location.file, e)));
    }
    roots
}

/// Where `name` is written as a whole name in `text`: not inside a comment
/// or a string, not after a `.` (a field of the same name).
fn name_tokens(text: &str, name: &str) -> Vec<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut in_string = false;
    let mut chars = text.char_indices().peekable();
    let mut previous = ' ';
    while let Some((i, c)) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' | '\n' => in_string = false,
                _ => {}
            }
            previous = c;
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if text.get(i + 1..).is_some_and(|r| r.starts_with('/')) => {
                while chars.peek().is_some_and(|(_, c)| *c != '\n') {
                    chars.next();
                }
            }
            c if is_word(c) && !is_word(previous) => {
                let end = text
                    .get(i..)
                    .and_then(|r| r.char_indices().find(|(_, c)| !is_word(*c)).map(|(n, _)| i + n))
                    .unwrap_or(text.len());
                if text.get(i..end) == Some(name) && previous != '.' {
                    out.push(i);
                }
            }
            _ => {}
        }
        previous = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_outside_comments_strings_and_fields() {
        let text = "rule r(c: C) { when: r_x and c.r // r\n reason: \"r\" }\nexpect r";
        let found = name_tokens(text, "r");
        assert_eq!(found, vec![5, text.len() - 1]);
    }
}
