//! Data-driven checker tests: every `tests/data/ok/*.qlp` must check without
//! errors and pass its own `test` blocks; every `tests/data/err/*.qlp` must
//! report at least one error. Each case is snapshotted with its source and
//! the rendered diagnostics together.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use qlp_compiler::jit::CompiledPolicySet;
use qlp_compiler::policy_test::{run_tests, run_tests_both, Engine};
use qlp_compiler::SourceLoader;
use qlp_grammar::{Diagnostic, SourceMap};

struct Fs;

impl SourceLoader for Fs {
    fn read(&self, path: &Path, _kind: qlp_compiler::load::FileKind) -> std::io::Result<Vec<u8>> {
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
    }

    fn policy_files_in(&self, dir: &Path) -> Vec<String> {
        let entries = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).unwrap();
        entries
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".qlp"))
            .collect()
    }
}

fn render(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let sourced = diagnostic.with_source(sources);
        let _ = handler.render_report(&mut out, &sourced);
        out.push('\n');
    }
    out
}

fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .to_path_buf()
}

fn snapshot(path: &Path, expect_errors: bool) -> String {
    let source = std::fs::read_to_string(path).unwrap();
    let checked = qlp_compiler::check(&[relative(path)], &Fs);
    let mut out = String::new();
    writeln!(out, "----- SOURCE CODE\n{source}").unwrap();
    writeln!(out, "----- DIAGNOSTICS").unwrap();
    out.push_str(&render(&checked.diagnostics, &checked.sources));
    if expect_errors {
        assert!(checked.has_errors(), "{}: expected errors, found none", path.display());
    } else {
        assert!(!checked.has_errors(), "{}: unexpected errors:\n{out}", path.display());
        let program = std::sync::Arc::new(checked.program.unwrap());
        // Every case also runs on the JIT, which must agree with the interpreter.
        let compiled = CompiledPolicySet::compile(program.clone()).unwrap();
        for result in run_tests_both(&compiled, Engine::Jit) {
            assert!(
                result.passed(),
                "{}: JIT test `{}` failed: {:?}",
                path.display(),
                result.name,
                result.failures
            );
        }
        writeln!(out, "----- TESTS").unwrap();
        for result in run_tests(&program) {
            assert!(
                result.passed(),
                "{}: test `{}` failed: {:?}",
                path.display(),
                result.name,
                result.failures
            );
            writeln!(out, "ok {}", result.name).unwrap();
        }
    }
    out
}

#[test]
fn ok_cases() {
    insta::glob!("data/ok/*.qlp", |path| {
        insta::assert_snapshot!(snapshot(path, false));
    });
}

#[test]
fn err_cases() {
    insta::glob!("data/err/*.qlp", |path| {
        insta::assert_snapshot!(snapshot(path, true));
    });
}

/// Every fix the analyst-mistake cases offer (what an editor's quick fix
/// applies) repairs its mistake: with the fixes applied, no error is left
/// but those that offered none.
#[test]
fn quick_fixes_repair_the_analyst_mistakes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/err");
    let schema = std::fs::read_to_string(dir.join("support/listings.qlp")).unwrap();
    let mut fixed_count = 0;
    for number in 50..=63 {
        let path = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("00{number}_"))
            })
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let loader = qlp_compiler::load::MemoryLoader::new()
            .with("support/listings.qlp", schema.clone())
            .with("case.qlp", text.clone());
        let before = qlp_compiler::check(&[PathBuf::from("case.qlp")], &loader);
        let mut fixes: Vec<_> = before.diagnostics.iter().filter_map(|d| d.fix.clone()).collect();
        let unfixed: Vec<&str> = before
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.fix.is_none())
            .map(|d| d.code)
            .collect();
        assert!(
            !fixes.is_empty() || !unfixed.is_empty(),
            "{}: no diagnostics",
            path.display()
        );
        fixes.sort_by_key(|f| std::cmp::Reverse(f.span.start));
        let mut repaired = text.clone();
        for fix in &fixes {
            repaired.replace_range(fix.span.start as usize..fix.span.end as usize, &fix.text);
            fixed_count += 1;
        }
        let loader = qlp_compiler::load::MemoryLoader::new()
            .with("support/listings.qlp", schema.clone())
            .with("support/listing_typo.qlp", "")
            .with("case.qlp", repaired.clone());
        let after = qlp_compiler::check(&[PathBuf::from("case.qlp")], &loader);
        let left: Vec<&str> = after
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        // What is left had no fix (a cascade of a fixed mistake may go too).
        let mut expected = unfixed.clone();
        for code in &left {
            let at = expected.iter().position(|c| c == code);
            assert!(
                at.is_some(),
                "{}: `{code}` after the fixes:\n{repaired}",
                path.display()
            );
            expected.remove(at.unwrap());
        }
    }
    assert!(fixed_count >= 16, "{fixed_count} fixes");
}
