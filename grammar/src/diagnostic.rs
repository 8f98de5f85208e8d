//! Diagnostics shared by every stage: one error or warning, with a stable
//! code, a primary span, a help line, and how to render it with miette.

use std::fmt;

use crate::source::{FileId, SourceMap};
use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
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
    pub severity: Severity,
    /// A stable code such as `qlp::type_mismatch`.
    pub code: &'static str,
    pub message: String,
    pub file: FileId,
    pub span: Span,
    /// The text under the primary span.
    pub label: String,
    pub help: Option<String>,
    /// Secondary spans in the same file.
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
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
        }
    }

    pub fn warning(code: &'static str, file: FileId, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, span, message)
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

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

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Pairs this diagnostic with its source text, for miette to render.
    pub fn with_source(&self, sources: &SourceMap) -> SourcedDiagnostic {
        let (name, text) = match sources.get(self.file) {
            Some(file) => (file.name.clone(), file.text.clone()),
            None => (String::from("<unknown>"), String::new()),
        };
        SourcedDiagnostic {
            diagnostic: self.clone(),
            source: miette::NamedSource::new(name, text),
        }
    }
}

/// A diagnostic with its source attached: what miette renders.
#[derive(Debug)]
pub struct SourcedDiagnostic {
    diagnostic: Diagnostic,
    source: miette::NamedSource<String>,
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
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
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
