//! A real editor as the client: headless Neovim's built-in LSP client starts
//! `qlp lsp`, opens a policy with a mistake, receives the diagnostic, fixes
//! the line in the buffer (Neovim sends the change), waits for the
//! diagnostic to clear, and asks for hover and definition. Skips when `nvim`
//! is absent, unless `QLP_REQUIRE_EDITOR=1` (set by `.ci/run`, which
//! installs the Debian package `neovim`).

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SCHEMA: &str =
    "enum Kind { post, article }\n\nrecord Item {\n  kind: Kind\n  // What the author wrote.\n  text: string\n}\n";

const RULES: &str = "import \"schema.qlp\"\n\nrule articles(x: Item) {\n  when: x.kind == \"article\" and len(x.text) > 3\n  then: review\n}\n";

/// Neovim 0.7+ (Debian's): `start_client`, `buf_attach_client`,
/// `vim.diagnostic`, `buf_request_sync`. Writes what it saw as JSON.
const SCRIPT: &str = r#"
local result = {}
local ok, err = pcall(function()
  local root = os.getenv("QLP_ROOT")
  vim.cmd("edit " .. vim.fn.fnameescape(root .. "/rules.qlp"))
  local buf = vim.api.nvim_get_current_buf()
  local id = vim.lsp.start_client({ name = "qlp", cmd = { os.getenv("QLP_BIN"), "lsp" }, root_dir = root })
  vim.lsp.buf_attach_client(buf, id)
  vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
  result.before = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local code = d.code
    if code == nil and d.user_data and d.user_data.lsp then code = d.user_data.lsp.code end
    table.insert(result.before, { lnum = d.lnum, col = d.col, code = code, message = d.message })
  end
  -- Fix the mistake in the buffer: the client sends didChange.
  vim.api.nvim_buf_set_lines(buf, 3, 4, false, { "  when: x.kind == article and len(x.text) > 3" })
  local errors = function() return #vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR }) end
  vim.wait(30000, function() return errors() == 0 end, 50)
  result.after = errors()
  local function request(method, line, col)
    local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = line, character = col } }
    local responses = vim.lsp.buf_request_sync(buf, method, params, 10000) or {}
    for _, response in pairs(responses) do
      if response.result then return response.result end
    end
    return "no answer"
  end
  -- `x.text` in `len(x.text)`: line 3, after "  when: x.kind == article and len(x."
  local col = #"  when: x.kind == article and len(x."
  result.hover = request("textDocument/hover", 3, col)
  result.definition = request("textDocument/definition", 3, col)
  vim.lsp.stop_client(id)
end)
if not ok then result.error = tostring(err) end
local file = io.open(os.getenv("QLP_NVIM_OUT"), "w")
file:write(vim.fn.json_encode(result))
file:close()
vim.cmd("qa!")
"#;

#[test]
fn neovim_receives_the_diagnostic_and_answers_hover_and_definition() {
    let required = std::env::var("QLP_REQUIRE_EDITOR").is_ok_and(|v| v == "1");
    if !Command::new("nvim")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert!(!required, "QLP_REQUIRE_EDITOR=1 but `nvim` is not installed");
        eprintln!("skipped: `nvim` is not installed (apt-get install neovim)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("qlp.toml"), "").unwrap();
    std::fs::write(root.join("schema.qlp"), SCHEMA).unwrap();
    std::fs::write(root.join("rules.qlp"), RULES).unwrap();
    let script = root.join("client.lua");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = root.join("out.json");
    let mut child = Command::new("nvim")
        .args(["--headless", "--clean", "-n", "-i", "NONE"])
        .arg("-c")
        .arg(format!("luafile {}", script.display()))
        .env("QLP_ROOT", &root)
        .env("QLP_BIN", env!("CARGO_BIN_EXE_qlp"))
        .env("QLP_NVIM_OUT", &out)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("nvim did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("nvim wrote no result: {e}"));
    let result: Value = serde_json::from_str(&text).unwrap();
    assert!(result["error"].is_null(), "{result}");

    // The diagnostic, where the quoted enum value is, with its help.
    let before = result["before"].as_array().unwrap();
    let mismatch = before
        .iter()
        .find(|d| d["code"] == "qlp::type_mismatch")
        .unwrap_or_else(|| panic!("{result}"));
    assert_eq!(mismatch["lnum"], 3);
    assert_eq!(mismatch["col"], "  when: ".len());
    assert!(
        mismatch["message"]
            .as_str()
            .unwrap()
            .contains("write `x.kind == article` without quotes"),
        "{result}"
    );
    // Fixed in the buffer (never saved): the error clears (lint warnings,
    // which run once the set checks, may remain).
    assert_eq!(result["after"], 0, "{result}");

    // Hover: the type, and the field's comment from the other file.
    let hover = result["hover"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{result}"));
    assert!(hover.starts_with("`x.text`: `string`"), "{hover}");
    assert!(hover.contains("What the author wrote."), "{hover}");
    // Definition: the field in schema.qlp.
    let definition = &result["definition"];
    let location = if definition.is_array() {
        &definition[0]
    } else {
        definition
    };
    assert!(location["uri"].as_str().unwrap().ends_with("/schema.qlp"), "{result}");
    assert_eq!(
        location["range"]["start"],
        serde_json::json!({"line": 5, "character": 2}),
        "{result}"
    );
    assert_eq!(
        location["range"]["end"],
        serde_json::json!({"line": 5, "character": 6}),
        "{result}"
    );
}
