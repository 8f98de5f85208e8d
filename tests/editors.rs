//! The editor support files in `editors/vscode`: the extension manifest
//! points at files that exist, the TextMate grammar is valid JSON whose
//! patterns compile, and it highlights every keyword of the grammar and
//! every built-in function (so it does not fall behind the language).

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use serde_json::Value;

fn vscode() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/editors/vscode"))
}

fn json(name: &str) -> Value {
    let text = std::fs::read_to_string(vscode().join(name)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every `match`, `begin` and `end` pattern in the grammar.
fn patterns(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                if ["match", "begin", "end"].contains(&key.as_str()) {
                    out.push(value.as_str().unwrap().to_string());
                } else {
                    patterns(value, out);
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|v| patterns(v, out)),
        _ => {}
    }
}

#[test]
fn the_extension_manifest_names_files_that_exist() {
    let manifest = json("package.json");
    let language = &manifest["contributes"]["languages"][0];
    assert_eq!(language["extensions"][0], ".qlp");
    for path in [
        language["configuration"].as_str().unwrap(),
        manifest["contributes"]["grammars"][0]["path"].as_str().unwrap(),
        manifest["main"].as_str().unwrap(),
    ] {
        assert!(vscode().join(path).is_file(), "{path} is missing");
    }
    let extension = std::fs::read_to_string(vscode().join("extension.js")).unwrap();
    assert!(extension.contains(r#"args: ["lsp"]"#), "the extension starts `qlp lsp`");
    json("language-configuration.json");
}

#[test]
fn the_textmate_grammar_compiles_and_covers_the_language() {
    let grammar = json("syntaxes/qlp.tmLanguage.json");
    assert_eq!(grammar["scopeName"], "source.qlp");
    let mut all = Vec::new();
    patterns(&grammar, &mut all);
    assert!(all.len() > 15);
    for pattern in &all {
        regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    }
    let text = all.join("\n");
    // Every keyword of the pest grammar (`kw_rule = @{ "rule" ... }`).
    let pest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/src/qlp.pest")).unwrap();
    let keywords: Vec<&str> = pest
        .lines()
        .filter(|l| l.starts_with("kw_"))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    assert!(keywords.len() > 50);
    for keyword in keywords {
        let word = regex::Regex::new(&format!(r"\b{keyword}\b")).unwrap();
        assert!(
            word.is_match(&text),
            "the TextMate grammar does not highlight `{keyword}`"
        );
    }
    for builtin in qlp_compiler::builtins::BUILTINS {
        assert!(
            text.contains(builtin.name),
            "built-in `{}` is not highlighted",
            builtin.name
        );
    }
    // Literals as the language spells them.
    let find = |name: &str| {
        let repository = &grammar["repository"]["literal"]["patterns"];
        let pattern = repository
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["match"]
            .as_str()
            .unwrap();
        regex::Regex::new(&format!("^(?:{pattern})$")).unwrap()
    };
    let duration = find("constant.numeric.duration.qlp");
    assert!(duration.is_match("30d") && duration.is_match("1h30m") && !duration.is_match("30days"));
    let time = find("constant.other.time.qlp");
    assert!(time.is_match("2022-01-01") && time.is_match("2022-06-01T08:00:00+08:00"));
}
