//! A "run test" lens above every `test`, and the `qlp.runTest` command it
//! runs: the set's tests on both engines (as `qlp test` runs them), the
//! result shown as a message and, from then on, in the lens's title.

use std::sync::Arc;

use lsp_types::{CodeLens, Command};

use super::*;

/// The command a lens runs.
pub(super) const RUN_TEST: &str = "qlp.runTest";

/// What the last run said of each test, by name: passed, or its failures.
pub(super) type TestResults = HashMap<String, Vec<String>>;

/// A lens above each `test "name"` of the document.
pub(super) fn code_lenses(documents: &Documents, uri: &Uri) -> Option<Vec<CodeLens>> {
    let (_, text) = text_of(documents, uri)?;
    let mut lenses = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some(rest) = line.strip_prefix("test") else {
            continue;
        };
        let Some(name) = rest.trim_start().strip_prefix('"').and_then(|r| r.split('"').next()) else {
            continue;
        };
        let title = match documents.test_results.get(name) {
            None => String::from("▶ run test"),
            Some(failures) if failures.is_empty() => String::from("✓ passed (interpreter and JIT) · run again"),
            Some(failures) => format!("✗ failed: {} · run again", failures.first().map_or("", String::as_str)),
        };
        lenses.push(CodeLens {
            range: range(&text, start, start + "test".len()),
            command: Some(Command {
                title,
                command: RUN_TEST.to_string(),
                arguments: Some(vec![
                    serde_json::Value::String(uri.as_str().to_string()),
                    serde_json::Value::String(name.to_string()),
                ]),
            }),
            data: None,
        });
    }
    Some(lenses)
}

/// Runs the tests of the last set that checked and answers with the named
/// test's result (`{"name", "passed", "failures"}`), plus a message for the
/// editor to show.
pub(super) fn run_test(
    documents: &mut Documents,
    params: &lsp_types::ExecuteCommandParams,
) -> (serde_json::Value, Message) {
    let name = params
        .arguments
        .get(1)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    let (kind, text, answer) = match run_all(documents) {
        Err(error) => (
            lsp_types::MessageType::ERROR,
            format!("qlp: {error}"),
            serde_json::Value::Null,
        ),
        Ok(()) => match documents.test_results.get(&name) {
            None => (
                lsp_types::MessageType::WARNING,
                format!("qlp: no test named `{name}` in the set that last checked"),
                serde_json::Value::Null,
            ),
            Some(failures) => {
                let passed = failures.is_empty();
                let text = if passed {
                    format!("qlp: test `{name}` passed (interpreter and JIT)")
                } else {
                    format!("qlp: test `{name}` failed: {}", failures.join("; "))
                };
                let kind = if passed {
                    lsp_types::MessageType::INFO
                } else {
                    lsp_types::MessageType::ERROR
                };
                let answer = serde_json::json!({"name": name, "passed": passed, "failures": failures});
                (kind, text, answer)
            }
        },
    };
    let message = Message::Notification(lsp_server::Notification::new(
        lsp_types::notification::ShowMessage::METHOD.to_string(),
        lsp_types::ShowMessageParams {
            typ: kind,
            message: text,
        },
    ));
    (answer, message)
}

fn run_all(documents: &mut Documents) -> Result<(), String> {
    let (program, _) = documents
        .program
        .as_ref()
        .ok_or_else(|| String::from("the policy set has not checked yet"))?;
    let compiled = qlp_compiler::jit::CompiledPolicySet::compile(Arc::clone(program)).map_err(|e| e.to_string())?;
    documents.test_results = qlp_compiler::policy_test::run_tests_both(&compiled, qlp_compiler::Engine::Jit)
        .into_iter()
        .map(|result| (result.name, result.failures))
        .collect();
    Ok(())
}
