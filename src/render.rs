//! Printing diagnostics for people (miette) and for machines (JSON).

use std::io::Write;

use clap::ValueEnum;
use qlp_grammar::{Diagnostic, SourceMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Renders one diagnostic as miette does on a terminal.
pub fn human(diagnostic: &Diagnostic, sources: &SourceMap) -> String {
    let report = miette::Report::new(diagnostic.with_source(sources));
    format!("{report:?}")
}

/// One diagnostic as a JSON object with 1-based line and column.
pub fn json(diagnostic: &Diagnostic, sources: &SourceMap) -> serde_json::Value {
    let (line, column) = sources.line_col(diagnostic.file, diagnostic.span.start);
    let (end_line, end_column) = sources.line_col(diagnostic.file, diagnostic.span.end);
    serde_json::json!({
        "severity": diagnostic.severity.as_str(),
        "code": diagnostic.code,
        "message": diagnostic.message,
        "file": sources.name(diagnostic.file),
        "span": { "start": diagnostic.span.start, "end": diagnostic.span.end },
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "label": diagnostic.label,
        "help": diagnostic.help,
    })
}

/// The most diagnostics printed for people in one run: a hostile policy can
/// hold a hundred thousand errors, each a dozen lines; the rest are counted
/// (`--format json` lists every one).
pub const MAX_HUMAN: usize = 200;

/// Renders the first [`MAX_HUMAN`] of `diagnostics` for people, each with
/// `line` (a diagnostic rendered), then a line counting the rest.
pub fn human_bounded<'a>(
    diagnostics: impl ExactSizeIterator<Item = &'a Diagnostic>,
    sources: &SourceMap,
    mut line: impl FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let total = diagnostics.len();
    for diagnostic in diagnostics.take(MAX_HUMAN) {
        line(&human(diagnostic, sources))?;
    }
    if total > MAX_HUMAN {
        line(&format!(
            "... and {} more not shown (`--format json` lists every one)",
            total - MAX_HUMAN
        ))?;
    }
    Ok(())
}

/// Prints diagnostics in the chosen format to stderr (human, the first
/// [`MAX_HUMAN`]) or stdout (JSON, all).
pub fn print_diagnostics(diagnostics: &[Diagnostic], sources: &SourceMap, format: Format) -> std::io::Result<()> {
    match format {
        Format::Human => {
            let mut err = std::io::stderr().lock();
            human_bounded(diagnostics.iter(), sources, |text| writeln!(err, "{text}"))?;
        }
        Format::Json => {
            let mut out = std::io::stdout().lock();
            for diagnostic in diagnostics {
                writeln!(out, "{}", json(diagnostic, sources))?;
            }
        }
    }
    Ok(())
}

/// `N errors, N warnings` for a summary line.
pub fn counts(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    (errors, diagnostics.len() - errors)
}
