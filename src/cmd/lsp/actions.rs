//! Quick fixes: every diagnostic that carries a fix (parse mistakes,
//! "did you mean", lint fixes) offers it as a code action.

use super::*;

/// The fixes of the diagnostics last published for one file.
pub(super) type Fixes = Vec<(LspDiagnostic, TextEdit)>;

/// The quick fix of `diagnostic`, if it has one, as an edit of `text`.
pub(super) fn fix_of(diagnostic: &Diagnostic, text: &str) -> Option<TextEdit> {
    let fix = diagnostic.fix.as_ref()?;
    Some(TextEdit::new(
        range(text, fix.span.start as usize, fix.span.end as usize),
        fix.text.clone(),
    ))
}

/// The quick fixes for the diagnostics that touch `params.range`.
#[expect(
    clippy::mutable_key_type,
    reason = "lsp-types keys `WorkspaceEdit::changes` by `Uri`"
)]
pub(super) fn code_actions(
    documents: &Documents,
    params: &lsp_types::CodeActionParams,
) -> Option<Vec<CodeActionOrCommand>> {
    let path = path_of(&params.text_document.uri)?;
    let (_, text) = text_of(documents, &params.text_document.uri)?;
    let fixes = documents.fixes.get(&path)?;
    let wanted = params.range;
    let actions = fixes
        .iter()
        .filter(|(diagnostic, _)| diagnostic.range.start <= wanted.end && wanted.start <= diagnostic.range.end)
        .map(|(diagnostic, edit)| {
            let old = offset_of(&text, edit.range.start)
                .zip(offset_of(&text, edit.range.end))
                .and_then(|(start, end)| text.get(start..end))
                .unwrap_or("");
            let title = if old.is_empty() {
                format!("Insert `{}`", edit.new_text)
            } else if edit.new_text.is_empty() {
                format!("Remove `{old}`")
            } else if old.chars().count() <= 40 {
                format!("Replace `{old}` with `{}`", edit.new_text)
            } else {
                format!("Replace with `{}`", edit.new_text)
            };
            let changes = HashMap::from([(params.text_document.uri.clone(), vec![edit.clone()])]);
            CodeActionOrCommand::CodeAction(lsp_types::CodeAction {
                title,
                kind: Some(lsp_types::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic.clone()]),
                edit: Some(lsp_types::WorkspaceEdit {
                    changes: Some(changes),
                    ..lsp_types::WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..lsp_types::CodeAction::default()
            })
        })
        .collect();
    Some(actions)
}
