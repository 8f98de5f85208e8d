//! `docs/lints/` is generated from the lints' doc comments; this test fails
//! when it is stale. Regenerate with `QLP_UPDATE_DOCS=1 cargo test --test lint_docs`.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use qlp_lint::REGISTRY;

fn expected_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut index = String::from(
        "# Lints\n\nGenerated from `lint/src/*.rs` by `tests/lint_docs.rs`; do not edit by hand.\n\n\
         | code | name | default | what it reports |\n|---|---|---|---|\n\
         | QLP100 | [`suppressions`](suppressions.md) | error | A suppression without a reason, or naming no lint. |\n",
    );
    files.push((String::from("suppressions.md"), qlp_lint::SUPPRESSIONS_DOC.to_string()));
    for lint in REGISTRY {
        index.push_str(&format!(
            "| {} | [`{}`]({}.md) | {} | {} |\n",
            lint.code,
            lint.name,
            lint.name,
            lint.default_level.as_str(),
            lint.summary()
        ));
        let page = format!(
            "# {} `{}`\n\nDefault level: {}. Turn it off in `qlp.toml` (`[lint.levels]` `{} = \"allow\"`) or on one line with `// qlp: allow({}) reason: ...`.\n\n{}\n",
            lint.code,
            lint.name,
            lint.default_level.as_str(),
            lint.name,
            lint.code,
            lint.doc()
        );
        files.push((format!("{}.md", lint.name), page));
    }
    files.push((String::from("README.md"), index));
    files
}

#[test]
fn lint_docs_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lints");
    let update = std::env::var_os("QLP_UPDATE_DOCS").is_some();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    for (name, content) in expected_files() {
        let path = dir.join(&name);
        if update {
            std::fs::write(&path, &content).unwrap();
        }
        if std::fs::read_to_string(&path).unwrap_or_default() != content {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/lints is stale ({stale:?}): run `QLP_UPDATE_DOCS=1 cargo test --test lint_docs`"
    );
}
