//! How a moderation service embeds qlp: load the policies once, share the
//! engine between threads, decide records, and reload the policies without
//! stopping.
//!
//! ```sh
//! cargo run -p qlp-runtime --example embed
//! ```

use std::path::Path;
use std::sync::Arc;

use qlp_runtime::{Engine, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let engine = Arc::new(Engine::load(&policies)?);

    let record = r#"{
        "id": "c-1", "kind": "livestream", "title": "深夜直播", "text": "兄弟们一起 下.注 百家乐",
        "tags": [], "declared_labels": [], "created_at": "2022-06-01T20:00:00Z", "is_news": false,
        "likes": 10, "shares": 0, "comments": 3, "reports": 0, "viewers": 120,
        "tips_total": 880.0, "tippers": 4, "minor_tippers": 1, "max_single_tip": 500.0,
        "scores": {},
        "author": { "id": "a-1", "kind": "personal", "nickname": "主播小A", "verification": "none",
                    "created_at": "2021-01-01", "followers": 3000, 
                    "strikes": 0, "banned_before": false, "linked_banned_accounts": 0, "real_name_shown": true }
    }"#
    .as_bytes();
    // The clock is always the caller's: here, when the content was posted.
    let now: Timestamp = "2022-06-01T20:00:00Z".parse()?;

    // Each thread gets its own evaluator; evaluation takes no lock.
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let mut evaluator = engine.evaluator("Content");
                evaluator.decide(record, now).map(|d| d.verdict)
            })
        })
        .collect();
    for worker in workers {
        println!(
            "verdict from a worker: {:?}",
            worker.join().map_err(|_| "worker panicked")?
        );
    }

    let mut evaluator = engine.evaluator("Content");
    let decision = evaluator.decide(record, now)?;
    println!("{}", serde_json::to_string_pretty(&decision)?);

    // Hot reload: evaluations in flight finish on the old set.
    engine.reload(&policies)?;
    println!("reloaded; verdict now {}", evaluator.decide(record, now)?.verdict);
    Ok(())
}
