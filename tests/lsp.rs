//! `qlp lsp` driven over stdio with real JSON-RPC messages: initialize,
//! didOpen of a file with a mistake, diagnostics, didChange that fixes it,
//! hover, definition, completion, formatting, document symbols, shutdown.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

struct Client {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl Client {
    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stdout.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == id {
                return message;
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let message = self.receive();
            if message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == uri {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_qlp"))
        .arg("lsp")
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut client = Client {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
        next_id: 0,
    };
    let init = client.request(
        "initialize",
        json!({"processId": null, "rootUri": format!("file://{}", root.display()), "capabilities": {}}),
    );
    assert_eq!(init["result"]["capabilities"]["documentFormattingProvider"], true);
    client.notify("initialized", json!({}));

    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "qlp", "version": 1, "text": BROKEN}}),
    );
    let diagnostics = client.diagnostics(&uri);
    let unknown = diagnostics
        .iter()
        .find(|d| d["code"] == "qlp::unknown_field")
        .unwrap_or_else(|| panic!("{diagnostics:?}"));
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
    assert_eq!(hover["result"]["contents"]["value"], "`x.n`: `int`", "{hover}");
    let definition = client.request("textDocument/definition", at);
    assert_eq!(definition["result"]["uri"], uri.as_str());
    let field = "record R { text: string  ".encode_utf16().count();
    assert_eq!(
        definition["result"]["range"]["start"],
        json!({"line": 0, "character": field})
    );
    let text_at = json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 11}});
    let hover = client.request("textDocument/hover", text_at);
    assert_eq!(hover["result"]["contents"]["value"], "`x.text`: `string`", "{hover}");

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

    let symbols = client.request("textDocument/documentSymbol", json!({"textDocument": {"uri": uri}}));
    let names: Vec<&str> = symbols["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["R", "r"]);

    let shutdown = client.request("shutdown", Value::Null);
    assert!(shutdown["error"].is_null());
    client.notify("exit", Value::Null);
    assert!(child.wait().unwrap().success());
}
