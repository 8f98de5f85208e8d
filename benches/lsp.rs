//! Editor latency of `qlp lsp` on the shipped policies, measured as an
//! editor sees it (JSON-RPC over stdio, the release binary):
//!
//! - `recheck`: a one-character edit (`didChange` of a threshold in
//!   `policies/2022/09_traffic_fraud.qlp`) followed by a hover request: the
//!   server re-checks and re-lints the whole set (every file of `policies/`)
//!   and publishes its diagnostics before it answers, so the time to the
//!   answer is the time from a keystroke to fresh diagnostics. Target
//!   < 20 ms.
//! - `completion`: a completion request after `c.author.` in the same file.
//!   Target < 10 ms.
//!
//! ```sh
//! cargo bench --bench lsp
//! ```

// A measuring program: it stops loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;

#[path = "../tests/support/lsp_client.rs"]
mod lsp_client;

const FILE: &str = "policies/2022/09_traffic_fraud.qlp";

fn latency(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let path = root.join(FILE);
    let uri = format!("file://{}", path.display());
    let text = std::fs::read_to_string(&path).unwrap();
    // Two versions one character apart, and a spot to hover and complete at.
    let threshold = "c.likes > 1000";
    assert!(text.contains(threshold), "{FILE} changed: pick another edit");
    let edited = text.replace(threshold, "c.likes > 1001");
    let offset = text.find("c.author.followers").unwrap() + "c.author.".len();
    let line = text[..offset].matches('\n').count();
    let character = text[..offset][text[..offset].rfind('\n').map_or(0, |i| i + 1)..]
        .encode_utf16()
        .count();
    let position = json!({"line": line, "character": character});

    let (child, mut client) = lsp_client::start(env!("CARGO_BIN_EXE_qlp"), &root);
    client.open(&uri, &text);
    // The set checks: hover answers.
    let hover = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": position}),
    );
    assert!(hover["result"]["contents"]["value"].is_string(), "{hover}");

    let mut group = c.benchmark_group("lsp");
    group.measurement_time(Duration::from_secs(10));
    let mut version = 1;
    group.bench_function("recheck after a one-character edit", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                version += 1;
                let text = if version % 2 == 0 { &edited } else { &text };
                let started = Instant::now();
                client.notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
                );
                let hover = client.request(
                    "textDocument/hover",
                    json!({"textDocument": {"uri": uri}, "position": position}),
                );
                total += started.elapsed();
                assert!(hover["result"].is_object(), "{hover}");
            }
            total
        });
    });
    group.bench_function("completion after a dot", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let started = Instant::now();
                let items = client.request(
                    "textDocument/completion",
                    json!({"textDocument": {"uri": uri}, "position": position}),
                );
                total += started.elapsed();
                assert!(items["result"].as_array().is_some_and(|a| !a.is_empty()), "{items}");
            }
            total
        });
    });
    group.finish();
    lsp_client::stop(child, client);
}

criterion_group!(benches, latency);
criterion_main!(benches);
