// Starts `qlp lsp` for .qlp files. Everything else — diagnostics, hover,
// definition, references, completion, quick fixes, formatting, the
// "run test" lenses — comes from the server.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("qlp").get("path") || "qlp";
  client = new LanguageClient(
    "qlp",
    "qlp language server",
    { command, args: ["lsp"] },
    { documentSelector: [{ scheme: "file", language: "qlp" }] }
  );
  context.subscriptions.push(client);
  client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
