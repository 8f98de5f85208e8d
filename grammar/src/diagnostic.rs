//! Diagnostics shared by every stage: one error or warning, with a stable
//! code, a primary span, a help line, and how to render it with miette.

use std::fmt;

use crate::source::{FileId, SourceMap};
use crate::span::Span;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Reported; does not stop anything.
    Warning,
    /// Reported; the policies are not used.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem found in a policy.
///
/// Messages follow the project style: lowercase, no trailing period, the
/// user's text in backticks, extra detail in `help`.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code such as `qlp::type_mismatch`.
    pub code: &'static str,
    /// What is wrong, in a policy author's words.
    pub message: String,
    /// The file it is in.
    pub file: FileId,
    /// Where in the file.
    pub span: Span,
    /// The text under the primary span.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Secondary spans in the same file.
    pub related: Vec<(Span, String)>,
    /// An edit of the same file that fixes it, for editors' quick fixes.
    pub fix: Option<Replacement>,
}

/// Replace `span` (of the diagnostic's file) with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The bytes to replace.
    pub span: Span,
    /// What replaces them.
    pub text: String,
}

impl Diagnostic {
    /// An error at `span` of `file`.
    pub fn error(code: &'static str, file: FileId, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            file,
            span,
            label: String::new(),
            help: None,
            related: Vec::new(),
            fix: None,
        }
    }

    /// A warning at `span` of `file`.
    pub fn warning(code: &'static str, file: FileId, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, span, message)
        }
    }

    /// Sets the label under the span.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds the edit that fixes it: `span` becomes `text`.
    pub fn with_fix(mut self, span: Span, text: impl Into<String>) -> Self {
        self.fix = Some(Replacement {
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the fix in place, for diagnostics already pushed to a list.
    pub fn set_fix(&mut self, span: Span, text: impl Into<String>) -> &mut Self {
        self.fix = Some(Replacement {
            span,
            text: text.into(),
        });
        self
    }

    /// Adds another span with a label.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    /// Sets the label in place, for diagnostics already pushed to a list.
    pub fn set_label(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = label.into();
        self
    }

    /// Sets the help in place, for diagnostics already pushed to a list.
    pub fn set_help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }

    /// Whether it is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Pairs this diagnostic with its source text, for miette to render.
    /// When a line miette would show is longer than [`MAX_SNIPPET_LINE`]
    /// bytes, no snippet is shown and the message says where instead, so
    /// that output stays bounded whatever the input.
    pub fn with_source(&self, sources: &SourceMap) -> SourcedDiagnostic {
        let Some(file) = sources.get(self.file) else {
            return SourcedDiagnostic {
                diagnostic: self.clone(),
                source: None,
            };
        };
        let mut shown = self.clone();
        shown.span = first_lines(&file.text, shown.span);
        for (span, _) in &mut shown.related {
            *span = first_lines(&file.text, *span);
        }
        let spans = std::iter::once(shown.span).chain(shown.related.iter().map(|(span, _)| *span));
        let snippet_fits = spans.into_iter().all(|span| snippet_lines_fit(&file.text, span));
        if snippet_fits {
            return SourcedDiagnostic {
                diagnostic: shown,
                source: Some(CharColumns {
                    name: file.name.clone(),
                    text: file.text.clone(),
                }),
            };
        }
        let mut diagnostic = self.clone();
        diagnostic.message = format!(
            "{} (at {}; the line is too long to show)",
            diagnostic.message,
            sources.location(self.file, self.span.start)
        );
        SourcedDiagnostic {
            diagnostic,
            source: None,
        }
    }
}

/// The longest source line shown in a rendered diagnostic.
pub const MAX_SNIPPET_LINE: usize = 1000;

/// The most lines of a span a rendered diagnostic shows.
pub const MAX_SNIPPET_LINES: usize = 20;

/// `span`, or its first line when it covers more than [`MAX_SNIPPET_LINES`]
/// (a record of 100,000 fields is shown by its first line, not in full).
fn first_lines(text: &str, span: Span) -> Span {
    let bytes = text.as_bytes();
    let start = (span.start as usize).min(bytes.len());
    let end = (span.end as usize).clamp(start, bytes.len());
    let inside = bytes.get(start..end).unwrap_or(&[]);
    if inside.iter().filter(|c| **c == b'\n').nth(MAX_SNIPPET_LINES).is_none() {
        return span;
    }
    let first_end = inside.iter().position(|c| *c == b'\n').unwrap_or(inside.len());
    Span {
        start: span.start,
        end: span.start.saturating_add(first_end as u32),
    }
}

/// Whether the lines around `span` (one line of context either side, as
/// miette shows them) are each at most [`MAX_SNIPPET_LINE`] bytes.
fn snippet_lines_fit(text: &str, span: Span) -> bool {
    let bytes = text.as_bytes();
    let start = (span.start as usize).min(bytes.len());
    let end = (span.end as usize).clamp(start, bytes.len());
    let line_start = |at: usize| {
        bytes
            .get(..at)
            .and_then(|b| b.iter().rposition(|c| *c == b'\n'))
            .map_or(0, |p| p + 1)
    };
    let line_end = |at: usize| {
        bytes
            .get(at..)
            .and_then(|b| b.iter().position(|c| *c == b'\n'))
            .map_or(bytes.len(), |p| at + p)
    };
    let first = line_start(start);
    let last = line_end(end);
    // One line of context before and after.
    let from = line_start(first.saturating_sub(1));
    let to = line_end((last + 1).min(bytes.len()));
    bytes
        .get(from..to)
        .unwrap_or(&[])
        .split(|c| *c == b'\n')
        .all(|line| line.len() <= MAX_SNIPPET_LINE)
}

/// A source file as miette reads it, with columns counted in characters
/// (as `qlp check --format json`, SARIF and editors count them), not in
/// bytes: on a line of Chinese text the two differ.
#[derive(Debug)]
struct CharColumns {
    name: String,
    text: String,
}

impl miette::SourceCode for CharColumns {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self.text.read_span(span, before, after)?;
        // The column miette prints in `[file:line:column]` is that of the
        // span's start, read with no context lines.
        let column = if before == 0 && after == 0 {
            let start = contents.span().offset().min(self.text.len());
            let before_start = self.text.get(..start).unwrap_or("");
            let line_start = before_start.rfind('\n').map_or(0, |i| i + 1);
            before_start.get(line_start..).map_or(0, |s| s.chars().count())
        } else {
            contents.column()
        };
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            *contents.span(),
            contents.line(),
            column,
            contents.line_count(),
        )))
    }
}

/// A diagnostic with its source attached: what miette renders.
#[derive(Debug)]
pub struct SourcedDiagnostic {
    diagnostic: Diagnostic,
    source: Option<CharColumns>,
}

impl fmt::Display for SourcedDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for SourcedDiagnostic {}

impl miette::Diagnostic for SourcedDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let d = &self.diagnostic;
        let primary =
            miette::LabeledSpan::new_primary_with_span((!d.label.is_empty()).then(|| d.label.clone()), d.span);
        let related = d
            .related
            .iter()
            .map(|(span, label)| miette::LabeledSpan::new_with_span(Some(label.clone()), *span));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}
