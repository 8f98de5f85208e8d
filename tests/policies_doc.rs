//! `docs/policies.md` is generated from the shipped policies; this test
//! fails when it is stale. Regenerate with `QLP_UPDATE_DOCS=1 cargo test --test policies_doc`.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::path::Path;

use qlp_compiler::program::Program;
use qlp_runtime::{Limits, PolicyTree};

fn table(program: &Program) -> String {
    let mut out = String::from(
        "# Shipped policies\n\n\
         Generated from `policies/` by `tests/policies_doc.rs`; do not edit by hand.\n\n\
         | campaign | period | file | rule | actions | reason |\n|---|---|---|---|---|---|\n",
    );
    for (campaign_index, campaign) in program.campaigns.iter().enumerate() {
        let period = campaign.active.map_or(String::from("always"), |(start, end)| {
            format!(
                "{} .. {}",
                qlp_grammar::time::format_time(start),
                qlp_grammar::time::format_time(end - 1).get(..10).unwrap_or("")
            )
        });
        let file = program.sources.name(campaign.location.file).to_string();
        for rule in program
            .rules
            .iter()
            .filter(|r| r.campaign.map(|c| c.index()) == Some(campaign_index))
        {
            let actions: Vec<String> = rule
                .actions
                .iter()
                .map(|a| match (&a.label, a.duration) {
                    (Some(l), _) => format!("label({l})"),
                    (None, Some(d)) => format!("suspend({})", qlp_grammar::time::format_duration(d)),
                    _ => a.kind.as_str().to_string(),
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} {} | {period} | `{file}` | `{}` | {} | {} |",
                campaign.name,
                campaign.title.as_deref().unwrap_or(""),
                rule.name,
                actions.join(", "),
                rule.reason.as_deref().unwrap_or("")
            );
        }
    }
    let exemptions: Vec<String> = program
        .exemptions
        .iter()
        .map(|e| format!("- `{}`: {}", e.name, e.reason.as_deref().unwrap_or("")))
        .collect();
    if !exemptions.is_empty() {
        let _ = write!(out, "\nExemptions:\n\n{}\n", exemptions.join("\n"));
    }
    out
}

#[test]
fn policies_doc_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root).unwrap();
    let tree = PolicyTree::open(&[Path::new("policies").to_path_buf()], Limits::DEFAULT).unwrap();
    let checked = qlp_compiler::check(&tree.files, &tree.loader);
    let program = checked.program.expect("the shipped policies check");
    let expected = table(&program);
    let path = root.join("docs/policies.md");
    if std::env::var_os("QLP_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/policies.md is stale: run `QLP_UPDATE_DOCS=1 cargo test --test policies_doc`"
    );
}
