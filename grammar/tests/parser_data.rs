//! Parser data tests: each `data/ok/*.qlp` parses without a diagnostic and
//! each `data/err/*.qlp` with some; the snapshot next to them shows the
//! source, every diagnostic as rendered, and the syntax tree of what parsed
//! (in its canonical print, which `parse(print(ast)) == ast` ties to the
//! tree). Adding a case is adding a file.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::path::Path;

use qlp_grammar::{parse_file, print, FileId, SourceMap};

fn snapshot(path: &Path, expect_errors: bool) -> String {
    let source = std::fs::read_to_string(path).unwrap();
    let (file, diagnostics) = parse_file(&source, FileId(0));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut sources = SourceMap::new();
    sources.add(name, source.clone());
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    writeln!(out, "----- SOURCE CODE\n{source}").unwrap();
    writeln!(out, "----- DIAGNOSTICS").unwrap();
    for diagnostic in &diagnostics {
        handler
            .render_report(&mut out, &diagnostic.with_source(&sources))
            .unwrap();
        out.push('\n');
    }
    writeln!(out, "----- AST ({} items)", file.items.len()).unwrap();
    out.push_str(&print::print_file(&file));
    if expect_errors {
        assert!(!diagnostics.is_empty(), "{}: expected diagnostics", path.display());
    } else {
        assert!(
            diagnostics.is_empty(),
            "{}: unexpected diagnostics:\n{out}",
            path.display()
        );
        // What parsed prints back to the same tree.
        let (again, more) = parse_file(&print::print_file(&file), FileId(0));
        assert!(
            more.is_empty() && again == file,
            "{}: print does not round-trip",
            path.display()
        );
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

/// Without tests, a file's `test` declarations are left out unparsed (a
/// broken one says nothing) and every other declaration parses as before,
/// wherever the tests are; a word `test` that declares nothing stays.
#[test]
fn files_parse_without_their_tests() {
    let source = "test \"first\" {\n  given Post { id: \"a\" }\n  expect r\n}\n\
                  rule r(p: Post) {\n  when: p.id == \"test\"\n  then: remove\n}\n\
                  test \"broken\" {\n  given Post { id: \n}\n\
                  fn test(p: Post) -> bool = true\n";
    let (with_tests, diagnostics) = parse_file(source, FileId(0));
    assert!(
        !diagnostics.is_empty(),
        "the broken test is an error when tests are parsed"
    );
    assert!(with_tests
        .items
        .iter()
        .any(|i| matches!(i, qlp_grammar::ast::Item::Test(_))));

    let (without, diagnostics) = qlp_grammar::parse_file_with(source, FileId(0), false);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert!(!without
        .items
        .iter()
        .any(|i| matches!(i, qlp_grammar::ast::Item::Test(_))));
    let names: Vec<String> = without
        .items
        .iter()
        .filter_map(|i| match i {
            qlp_grammar::ast::Item::Rule(r) => Some(r.name.name.clone()),
            qlp_grammar::ast::Item::Fn(f) => Some(f.name.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["r", "test"]);
}
