//! One fixture per lint (`tests/data/lint/<name>.qlp`): lines marked
//! `// expect` must get a finding of that lint and no other line may.
//! Each fixture is snapshotted with its findings rendered.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use qlp_compiler::SourceLoader;
use qlp_lint::{run_lint, to_diagnostic, LintContext, REGISTRY};

struct Fs;

impl SourceLoader for Fs {
    fn read(&self, path: &Path, _kind: qlp_compiler::load::FileKind) -> std::io::Result<Vec<u8>> {
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
    }
}

#[test]
fn every_lint_has_a_fixture_that_it_matches_exactly() {
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let today = qlp_grammar::time::parse_time("2022-06-01").unwrap();
    let mut failures = Vec::new();
    for lint in REGISTRY {
        let path = PathBuf::from(format!("tests/data/lint/{}.qlp", lint.name));
        let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(&path);
        let source = std::fs::read_to_string(&full).unwrap_or_else(|_| panic!("missing fixture {}", path.display()));
        let checked = qlp_compiler::check(std::slice::from_ref(&path), &Fs);
        let program = checked
            .program
            .unwrap_or_else(|| panic!("{} does not check: {:?}", path.display(), checked.diagnostics));
        let hits = run_lint(
            lint,
            &LintContext {
                program: &program,
                today,
            },
        );
        let expected: BTreeSet<usize> = source
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("// expect"))
            .map(|(i, _)| i + 1)
            .collect();
        let root = program.sources.files().next().map(|(id, _)| id).unwrap();
        let found: BTreeSet<usize> = hits
            .iter()
            .filter(|h| h.file == root)
            .map(|h| program.sources.line_col(h.file, h.span.start).0)
            .collect();
        if expected != found || expected.is_empty() {
            failures.push(format!(
                "{} {}: expected lines {expected:?}, found {found:?}",
                lint.code, lint.name
            ));
        }
        let mut rendered = format!("----- SOURCE CODE\n{source}\n----- FINDINGS\n");
        for hit in &hits {
            let diagnostic = to_diagnostic(lint, hit, lint.default_level);
            let _ = handler.render_report(&mut rendered, &diagnostic.with_source(&program.sources));
            rendered.push('\n');
        }
        insta::assert_snapshot!(format!("lint_{}", lint.name.replace('-', "_")), rendered);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn lint_docs_have_the_fixed_sections() {
    for lint in REGISTRY {
        let doc = lint.doc();
        for section in ["## What it does", "## Why is this bad?", "## Example", "Use instead"] {
            assert!(doc.contains(section), "{} lacks `{section}`", lint.name);
        }
        assert!(lint.code.starts_with("QLP1"), "{}", lint.code);
        assert!(
            !lint.name.starts_with("no-") && !lint.name.starts_with("banned-"),
            "{}",
            lint.name
        );
    }
}
