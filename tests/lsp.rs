//! `qlp lsp` driven over stdio with real JSON-RPC messages: initialize,
//! didOpen of a file with a mistake, diagnostics, didChange that fixes it,
//! hover, definition, completion, formatting, document symbols, shutdown.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{json, Value};

#[path = "support/lsp_client.rs"]
mod lsp_client;

use lsp_client::{stop, Client};

fn start(root: &std::path::Path) -> (std::process::Child, Client) {
    lsp_client::start(env!("CARGO_BIN_EXE_qlp"), root)
}

/// The labels of a completion answer.
fn labels(answer: &Value) -> Vec<String> {
    answer["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

/// The LSP position of the first `needle` in `text` (plus `after` UTF-16
/// units), as JSON.
fn at(uri: &str, text: &str, needle: &str, after: usize) -> Value {
    let offset = text.find(needle).unwrap_or_else(|| panic!("{needle} not in text"));
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..].encode_utf16().count() + after;
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": column}})
}

const BROKEN: &str =
    "record R { text: string  n: int }\nrule r(x: R) {\n  when: x.text == \"中文\" and x.m > 1\n  then: review\n}\n";

#[test]
fn the_server_checks_as_you_type_formats_and_lists_symbols() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("qlp.toml"), "").unwrap();
    let file = root.join("p.qlp");
    std::fs::write(&file, BROKEN).unwrap();
    let uri = format!("file://{}", file.display());
    let (child, mut client) = start(&root);

    client.open(&uri, BROKEN);
    let unknown = client.diagnostic(&uri, "qlp::unknown_field");
    // `m` on line 3 (0-based 2), after `  when: x.text == "中文" and x.`:
    // the two Han characters are two UTF-16 units each one.
    let column = "  when: x.text == \"中文\" and x.".encode_utf16().count();
    assert_eq!(unknown["range"]["start"], json!({"line": 2, "character": column}));
    assert!(
        unknown["message"].as_str().unwrap().contains("help: did you mean `n`?"),
        "{unknown}"
    );

    // An unsaved fix clears the diagnostic (the file on disk is unchanged).
    let fixed = BROKEN.replace("x.m > 1", "x.n > 1");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let diagnostics = client.diagnostics(&uri);
    assert!(
        diagnostics.iter().all(|d| d["severity"] != 1),
        "no errors once fixed: {diagnostics:?}"
    );

    // Hover: the type of the expression under the cursor; definition: where
    // the field is declared.
    let at = json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": column}});
    let hover = client.request("textDocument/hover", at.clone());
    assert_eq!(
        hover["result"]["contents"]["value"], "`x.n`: `int`\n\nfield of `R`",
        "{hover}"
    );
    let definition = client.request("textDocument/definition", at);
    assert_eq!(definition["result"]["uri"], uri.as_str());
    let field = "record R { text: string  ".encode_utf16().count();
    assert_eq!(
        definition["result"]["range"]["start"],
        json!({"line": 0, "character": field})
    );
    let text_at = json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 11}});
    let hover = client.request("textDocument/hover", text_at);
    assert_eq!(
        hover["result"]["contents"]["value"], "`x.text`: `string`\n\nfield of `R`",
        "{hover}"
    );

    // Completion after `x.`: the fields of `R` (typed, unparsable text
    // meanwhile); elsewhere the built-in functions among others.
    let typing = fixed.replace("x.n > 1", "x.n > 1 and x.");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": typing}]}),
    );
    let line = "  when: x.text == \"中文\" and x.n > 1 and x.".encode_utf16().count();
    let completion = client.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": line}}),
    );
    let labels: Vec<&str> = completion["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["text", "n"], "{completion}");
    let anywhere = client.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 8}}),
    );
    assert!(anywhere["result"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["label"] == "hour_of"));

    // Formatting the whole document.
    let messy = fixed.replace("rule r(x: R) {", "rule r( x : R ){");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": messy}]}),
    );
    let formatted = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let edits = formatted["result"].as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert!(
        edits[0]["newText"].as_str().unwrap().contains("rule r(x: R) {"),
        "{formatted}"
    );

    // Parameters that do not decode are an error that says why, not `null`.
    let bad = client.request("textDocument/hover", json!({"textDocument": {"uri": uri}}));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    assert!(bad["error"]["message"].as_str().unwrap().contains("position"), "{bad}");

    let symbols = client.request("textDocument/documentSymbol", json!({"textDocument": {"uri": uri}}));
    let names: Vec<&str> = symbols["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["R", "r"]);

    stop(child, client);
}

const SCHEMA: &str =
    "enum Kind { post, article }\n\nrecord Item {\n  kind: Kind\n  text: string\n}\n\nkeywords spam = [\"加微信\"]\n";

const RULES: &str = r#"import "schema.qlp"

// The 2022 spring campaign.
campaign spring {
  title: "清朗·春节"
  active: 2022-01-20 .. 2022-02-28
}

rule spam_articles(x: Item) {
  campaign: spring
  when: x.kind == "article" and x.text has_any spam
  then: review
}

exempt quiet(x: Item) {
  when: x.text == ""
  cancels: spam_articles
}

test "spam articles" {
  now: 2022-02-01
  given Item { kind: article, text: "加微信" }
  expect spam_articles
}
"#;

#[test]
fn the_server_fixes_navigates_across_files_and_completes_by_context() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("qlp.toml"), "").unwrap();
    std::fs::write(root.join("schema.qlp"), SCHEMA).unwrap();
    std::fs::write(root.join("rules.qlp"), RULES).unwrap();
    let uri = format!("file://{}", root.join("rules.qlp").display());
    let schema_uri = format!("file://{}", root.join("schema.qlp").display());
    let (child, mut client) = start(&root);
    client.open(&uri, RULES);

    // A string compared with an enum: the diagnostic carries a quick fix.
    let mismatch = client.diagnostic(&uri, "qlp::type_mismatch");
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": mismatch["range"], "context": {"diagnostics": [mismatch]}}),
    );
    let action = &actions["result"][0];
    assert_eq!(action["kind"], "quickfix", "{actions}");
    assert_eq!(action["title"], "Replace `\"article\"` with `article`", "{actions}");
    let edit = &action["edit"]["changes"][&uri][0];
    assert_eq!(edit["newText"], "article");
    let quoted = at(&uri, RULES, "\"article\"", 0);
    assert_eq!(edit["range"]["start"], quoted["position"]);
    let fixed = RULES.replace("\"article\" and", "article and");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let diagnostics = client.diagnostics(&uri);
    assert!(diagnostics.iter().all(|d| d["severity"] != 1), "{diagnostics:?}");

    // References of a rule: its declaration, the exemption, the test.
    let refs = client.request(
        "textDocument/references",
        json!({"textDocument": {"uri": uri}, "position": at(&uri, &fixed, "spam_articles(", 3)["position"], "context": {"includeDeclaration": true}}),
    );
    let lines: Vec<u64> = refs["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [8, 16, 22], "{refs}");
    // References of a field across files: the declaration and the uses,
    // each covering the field's name only.
    let refs = client.request(
        "textDocument/references",
        json!({"textDocument": {"uri": uri}, "position": at(&uri, &fixed, "x.text has_any", 3)["position"], "context": {"includeDeclaration": true}}),
    );
    let found: Vec<(String, u64, u64)> = refs["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let file = l["uri"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
            (
                file,
                l["range"]["start"]["line"].as_u64().unwrap(),
                l["range"]["end"]["character"].as_u64().unwrap() - l["range"]["start"]["character"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("rules.qlp".into(), 10, 4),
            ("rules.qlp".into(), 15, 4),
            ("schema.qlp".into(), 4, 4)
        ],
        "{refs}"
    );

    // Definition of a campaign named outside expressions, and of a variant.
    let definition = client.request("textDocument/definition", at(&uri, &fixed, "campaign: spring", 11));
    assert_eq!(definition["result"]["range"]["start"]["line"], 3, "{definition}");
    let definition = client.request("textDocument/definition", at(&uri, &fixed, "kind: article", 7));
    assert_eq!(definition["result"]["uri"], schema_uri.as_str(), "{definition}");

    // Hover on a campaign: title, period and the comment above it.
    let hover = client.request("textDocument/hover", at(&uri, &fixed, "campaign: spring", 11));
    let value = hover["result"]["contents"]["value"].as_str().unwrap().to_string();
    for part in ["清朗·春节", "active 2022-01-20", "The 2022 spring campaign."] {
        assert!(value.contains(part), "{part} not in {value}");
    }
    // Hover on a keyword set used in a rule: its size and file.
    let hover = client.request("textDocument/hover", at(&uri, &fixed, "has_any spam", 9));
    let value = hover["result"]["contents"]["value"].as_str().unwrap().to_string();
    assert!(value.contains("1 keyword(s), declared in `schema.qlp`"), "{value}");

    // A lens above the test runs it on both engines; its title then says how it went.
    let lenses = client.request("textDocument/codeLens", json!({"textDocument": {"uri": uri}}));
    let lens = &lenses["result"][0];
    assert_eq!(lens["command"]["title"], "▶ run test", "{lenses}");
    assert_eq!(lens["command"]["arguments"], json!([uri, "spam articles"]));
    assert_eq!(lens["range"]["start"]["line"], 19);
    let ran = client.request(
        "workspace/executeCommand",
        json!({"command": "qlp.runTest", "arguments": lens["command"]["arguments"]}),
    );
    assert_eq!(ran["result"]["passed"], true, "{ran}");
    let lenses = client.request("textDocument/codeLens", json!({"textDocument": {"uri": uri}}));
    assert!(
        lenses["result"][0]["command"]["title"]
            .as_str()
            .unwrap()
            .starts_with("✓ passed"),
        "{lenses}"
    );

    // Semantic tokens: names by what they name.
    let legend = client.request(
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": uri}}),
    );
    let data: Vec<u64> = legend["result"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let mut tokens = Vec::new();
    let (mut line, mut column) = (0, 0);
    for token in data.chunks(5) {
        if token[0] > 0 {
            column = 0;
        }
        line += token[0];
        column += token[1];
        tokens.push((line, column, token[2], token[3], token[4]));
    }
    let token_at = |needle: &str, after: usize| {
        let position = at(&uri, &fixed, needle, after)["position"].clone();
        let (line, column) = (
            position["line"].as_u64().unwrap(),
            position["character"].as_u64().unwrap(),
        );
        tokens
            .iter()
            .find(|t| t.0 == line && t.1 == column)
            .map(|t| (t.3, t.4))
            .unwrap_or_else(|| panic!("no token at {needle}: {tokens:?}"))
    };
    // Types by the server's legend: 3 enum member, 5 property, 6 variable,
    // 9 comment, 10 namespace, 11 method; modifier 1 declaration, 2 readonly.
    assert_eq!(
        token_at("spam_articles(", 0),
        (11, 1),
        "a rule's name where it is declared"
    );
    assert_eq!(token_at("article and", 0), (3, 0), "a variant");
    assert_eq!(token_at("x.text has_any", 2), (5, 0), "a field");
    assert_eq!(token_at("has_any spam", 8), (6, 2), "a keyword set");
    assert_eq!(token_at("campaign: spring", 10), (10, 0), "a campaign");
    assert_eq!(token_at("// The 2022", 0).0, 9, "a comment");

    // Completion by context.
    let typing = fixed.replace("  then: review\n}\n\nexempt", "  then: review\n}\n\nrule t(x: Item) {\n  campaign: \n  when: x.kind == \n  when: x.text has_any \n}\n\n\nexempt");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": typing}]}),
    );
    let variants = client.request("textDocument/completion", at(&uri, &typing, "x.kind == \n", 10));
    assert_eq!(labels(&variants), ["post", "article"]);
    let sets = client.request("textDocument/completion", at(&uri, &typing, "has_any \n", 8));
    assert_eq!(labels(&sets), ["spam"]);
    let campaigns = client.request("textDocument/completion", at(&uri, &typing, "campaign: \n", 10));
    assert_eq!(labels(&campaigns), ["spring"]);
    let mut blank = at(&uri, &typing, "\n\n\nexempt", 0);
    blank["position"] = json!({"line": blank["position"]["line"].as_u64().unwrap() + 1, "character": 0});
    let snippets = client.request("textDocument/completion", blank);
    let snippet_labels = labels(&snippets);
    assert!(
        snippet_labels.contains(&"rule".to_string()) && snippet_labels.contains(&"test".to_string()),
        "{snippets}"
    );
    assert_eq!(snippets["result"][0]["insertTextFormat"], 2);

    stop(child, client);
}

/// A repository with fixtures next to its policies (as this one has): the
/// editor checks the policies' directory as a set, so a broken fixture
/// elsewhere under the root does not stop hover on the policies.
#[test]
fn a_broken_file_in_another_directory_is_another_set() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("qlp.toml"), "").unwrap();
    std::fs::create_dir_all(root.join("policies")).unwrap();
    std::fs::create_dir_all(root.join("fixtures")).unwrap();
    std::fs::write(root.join("policies/schema.qlp"), SCHEMA).unwrap();
    std::fs::write(root.join("policies/rules.qlp"), RULES.replace("\"article\"", "article")).unwrap();
    std::fs::write(
        root.join("fixtures/broken.qlp"),
        "import \"../policies/schema.qlp\"\nrule broken(x: Item) {\n  when: x.nope\n",
    )
    .unwrap();
    let file = root.join("policies/rules.qlp");
    let uri = format!("file://{}", file.display());
    let text = std::fs::read_to_string(&file).unwrap();
    let (child, mut client) = start(&root);
    client.open(&uri, &text);
    let hover = client.request("textDocument/hover", at(&uri, &text, "x.text has_any", 2));
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.starts_with("`x.text`: `string`")),
        "the policies checked: {hover}"
    );
    stop(child, client);
}

/// The shipped policies, opened from this repository as an editor would:
/// the set checks (the fixtures elsewhere under the root do not stop it),
/// and references, definition and hover reach across its files.
#[test]
fn the_shipped_policies_navigate_across_files() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let file = root.join("policies/2022/09_traffic_fraud.qlp");
    let uri = format!("file://{}", file.display());
    let text = std::fs::read_to_string(&file).unwrap();
    let (child, mut client) = start(&root);
    client.open(&uri, &text);
    // `all_text` is declared in common.qlp and used all over the set.
    let use_site = at(&uri, &text, "all_text(c) has_any paid_poster_offers", 0);
    let definition = client.request("textDocument/definition", use_site.clone());
    assert!(
        definition["result"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("/policies/common.qlp"),
        "{definition}"
    );
    let mut params = use_site.clone();
    params["context"] = json!({"includeDeclaration": true});
    let refs = client.request("textDocument/references", params);
    let files: std::collections::BTreeSet<String> = refs["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["uri"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    for name in ["common.qlp", "09_traffic_fraud.qlp", "03_rumours.qlp"] {
        assert!(files.contains(name), "{name} not among {files:?}");
    }
    assert!(refs["result"].as_array().unwrap().len() > 20, "{refs}");
    // A rule's references: its declaration and every test that expects it.
    let refs = client.request(
        "textDocument/references",
        json!({"textDocument": {"uri": uri}, "position": at(&uri, &text, "paid_poster_offer(c", 0)["position"], "context": {"includeDeclaration": true}}),
    );
    let expected =
        1 + text.matches("expect paid_poster_offer").count() + text.matches("expect not paid_poster_offer").count();
    assert_eq!(refs["result"].as_array().unwrap().len(), expected, "{refs}");
    // Hover on the campaign of a rule: its title and period.
    let hover = client.request("textDocument/hover", at(&uri, &text, "campaign: traffic_2022", 10));
    let value = hover["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        value.contains("清朗·打击流量造假") && value.contains("active 2022-03-17"),
        "{value}"
    );
    stop(child, client);
}
