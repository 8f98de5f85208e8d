//! Hostile-input generators, one per surface an attacker controls: policy
//! trees (files, links, FIFOs, imports and keyword files pointing anywhere),
//! policy sources built to blow up compilation, keyword files, and JSON
//! records. Each runs a bounded number of cases in CI; proptest keeps every
//! failure in `tests/hostile_inputs.proptest-regressions`, which is checked
//! in and replayed first. (Random bytes and mutated sources are in
//! `compiler/tests/robustness.rs`.)

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use qlp_compiler::MemoryLoader;
use qlp_runtime::{EngineKind, Limits, PolicySet, PolicyTree};

const CANARY: &str = "qlp-canary-41d2e8";

/// Where a hostile path in a policy tree may point.
const TARGETS: &[&str] = &[
    "a.qlp",
    "sub/b.qlp",
    "../p/a.qlp",
    "../../outside/secret.txt",
    "../../outside/s.qlp",
    "../secret.txt",
    "/etc/passwd",
    "/proc/self/environ",
    "/dev/zero",
    "/dev/stdin",
    "fifo.qlp",
    "words.txt",
    "../.git/config",
    ".hidden/h.qlp",
    "loop/loop/loop/a.qlp",
    "sub",
    "",
    "\u{0}x",
];

#[derive(Debug, Clone)]
enum Entry {
    /// A policy importing one target and reading another as keywords.
    Policy {
        name: &'static str,
        import: usize,
        keywords: usize,
    },
    /// A symlink to a target (relative to its directory, or absolute).
    Link {
        name: &'static str,
        target: usize,
    },
    Fifo {
        name: &'static str,
    },
}

const NAMES: &[&str] = &[
    "a.qlp",
    "sub/b.qlp",
    "c.qlp",
    "fifo.qlp",
    "words.txt",
    "loop",
    "sub",
    ".hidden/h.qlp",
];

fn entry() -> impl Strategy<Value = Entry> {
    let name = prop::sample::select(NAMES);
    let target = 0..TARGETS.len();
    prop_oneof![
        (name.clone(), target.clone(), target.clone()).prop_map(|(name, import, keywords)| Entry::Policy {
            name,
            import,
            keywords
        }),
        (name.clone(), target).prop_map(|(name, target)| Entry::Link { name, target }),
        name.prop_map(|name| Entry::Fifo { name }),
    ]
}

/// Builds a tree: `root/qlp.toml`, the entries under `root/p`, and secrets
/// outside the root and in `root/.git`.
fn build(dir: &Path, entries: &[Entry]) {
    let root = dir.join("root");
    let p = root.join("p");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join("qlp.toml"), "").unwrap();
    std::fs::write(root.join(".git/config"), format!("token = {CANARY}\n")).unwrap();
    std::fs::write(root.join("secret.txt"), "not secret: inside the root\n").unwrap();
    std::fs::write(dir.join("outside/secret.txt"), format!("{CANARY}\n")).unwrap();
    std::fs::write(dir.join("outside/s.qlp"), format!("const S: string = \"{CANARY}\"\n")).unwrap();
    for entry in entries {
        let name = match entry {
            Entry::Policy { name, .. } | Entry::Link { name, .. } | Entry::Fifo { name } => *name,
        };
        let path = p.join(name);
        if path.symlink_metadata().is_ok() {
            continue;
        }
        let _ = std::fs::create_dir_all(path.parent().unwrap());
        match entry {
            Entry::Policy { import, keywords, .. } => {
                let text = format!(
                    "import \"{}\"\nkeywords k_{} = file(\"{}\")\n",
                    TARGETS[*import].escape_default(),
                    name.len(),
                    TARGETS[*keywords].escape_default()
                );
                let _ = std::fs::write(&path, text);
            }
            Entry::Link { target, .. } => {
                let _ = std::os::unix::fs::symlink(TARGETS[*target], &path);
            }
            Entry::Fifo { .. } => {
                let _ = std::process::Command::new("mkfifo")
                    .arg(&path)
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}

/// Runs `work` on a thread and fails if it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// No tree reads outside its root, hangs, or quotes a secret.
    #[test]
    fn policy_trees_stay_inside_their_root(entries in prop::collection::vec(entry(), 1..10)) {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &entries);
        let root = dir.path().join("root");
        let checked = within(Duration::from_secs(5), move || {
            let tree = PolicyTree::open_in(&root, &[root.join("p")], Limits::DEFAULT);
            tree.map(|tree| qlp_compiler::check(&tree.files, &tree.loader))
        });
        if let Ok(checked) = checked {
            for (_, file) in checked.sources.files() {
                prop_assert!(!file.text.contains(CANARY), "read a secret through {}", file.name);
            }
            for d in &checked.diagnostics {
                let text = format!("{} {} {:?}", d.message, d.label, d.help);
                prop_assert!(!text.contains(CANARY), "a diagnostic quotes a secret: {text}");
            }
        }
    }
}

/// A chain of functions where each calls the one below `fan_out` times.
fn fan_out_policy(depth: usize, fan_out: usize, list: usize) -> String {
    let mut text = String::from("record M { n: int }\nfn f0(x: int) -> int = x + 1\n");
    for level in 1..=depth {
        let calls: Vec<String> = (0..fan_out).map(|_| format!("f{}(x)", level - 1)).collect();
        text.push_str(&format!("fn f{level}(x: int) -> int = {}\n", calls.join(" + ")));
    }
    let items: Vec<String> = (0..list).map(|i| i.to_string()).collect();
    text.push_str(&format!(
        "rule r(m: M) {{ when: f{depth}(m.n) > 3 and m.n in [{}] then: review }}\n",
        items.join(", ")
    ));
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Compilation stays bounded however a policy multiplies its work: it
    /// either fits the budget and compiles, or is `qlp::too_complex`.
    #[test]
    fn compilation_is_bounded(depth in 1usize..40, fan_out in 1usize..4, list in 0usize..120_000) {
        let started = Instant::now();
        let text = fan_out_policy(depth, fan_out, list);
        let expanded = (0..=depth as u32).map(|d| (fan_out as f64).powi(d as i32)).sum::<f64>();
        let checked = within(Duration::from_secs(20), move || {
            let loader = MemoryLoader::new().with("p.qlp", text);
            let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
            if let Some(program) = checked.program {
                qlp_compiler::jit::CompiledPolicySet::compile(std::sync::Arc::new(program)).unwrap();
                None
            } else {
                Some(checked.diagnostics)
            }
        });
        match checked {
            // Every call instance is at least one node of the expanded rule.
            None => prop_assert!(expanded <= 20_000.0, "{expanded} calls compiled"),
            Some(diagnostics) => prop_assert!(
                diagnostics.iter().any(|d| d.code == "qlp::too_complex"),
                "{diagnostics:?}"
            ),
        }
        prop_assert!(started.elapsed() < Duration::from_secs(20));
    }
}

fn sample_records() -> Vec<String> {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/examples/records.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn shipped() -> &'static PolicySet {
    static SET: std::sync::OnceLock<PolicySet> = std::sync::OnceLock::new();
    SET.get_or_init(|| PolicySet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")).unwrap())
}

/// JSON fragments an attacker would splice into a record.
const FRAGMENTS: &[&str] = &[
    "null",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e308",
    "-0.0",
    "\"\"",
    "\"2022-01-01T00:00:00+25:00\"",
    "\"9999-12-31T23:59:59Z\"",
    "\"\\u0000\\ud800\"",
    "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]",
    "{\"a\":{\"a\":{\"a\":{}}}}",
    "\"赌博博彩网赌下注\"",
    "true",
    "\"livestream\"",
    "\"\\u200b赌\\u200b博\"",
    "}",
    "\"id\":\"x\",\"id\":\"y\"",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A mutated record is rejected with a message or decided, never a
    /// panic, and when decided both engines agree.
    #[test]
    fn mutated_records_are_rejected_or_decided_alike(
        index in 0usize..300,
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(FRAGMENTS), 0usize..8), 1..4),
    ) {
        let set = shipped();
        let record = set.record_type("Content").unwrap();
        let mut json = sample_records()[index].clone().into_bytes();
        for (at, fragment, cut) in edits {
            // Replace the value after a random `:` (or cut a few bytes) with the fragment.
            let colons: Vec<usize> = json.iter().enumerate().filter(|(_, b)| **b == b':').map(|(i, _)| i).collect();
            if colons.is_empty() {
                break;
            }
            let start = colons[at.index(colons.len())] + 1;
            let end = json[start..]
                .iter()
                .position(|b| *b == b',' || *b == b'}')
                .map_or(json.len(), |p| start + p);
            let end = (end + cut / 4).min(json.len());
            json.splice(start..end, fragment.bytes());
        }
        let mut context = set.context();
        let now = qlp_grammar::time::parse_time("2022-06-01").unwrap();
        match set.ingest(record, &json) {
            Err(error) => prop_assert!(!error.to_string().is_empty()),
            Ok(row) => {
                let jit = set.evaluate(EngineKind::Jit, record, &row, now, &mut context);
                let interp = set.evaluate(EngineKind::Interp, record, &row, now, &mut context);
                prop_assert_eq!(jit, interp);
            }
        }
    }
}

fn keyword_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,12}".prop_map(String::into_bytes),
        "[赌博彩网下注ａＡ\u{200b}\u{feff}\u{301}İΣς]{0,6}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..16),
        Just(vec![b'x'; 5000]),
        Just(b"\r".to_vec()),
        Just(b"# comment".to_vec()),
        Just(b"\0".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any keyword file is loaded or refused with a diagnostic, and a loaded
    /// set matches alike on both engines.
    #[test]
    fn keyword_files_load_or_are_refused(
        lines in prop::collection::vec(keyword_line(), 0..40),
        text in "[赌博彩网下注ａa-z \u{200b}.]{0,40}",
    ) {
        let file = lines.join(&b'\n');
        let policy = "record M { t: string }\nkeywords k = file(\"k.txt\")\nrule r(m: M) { when: m.t has_any k then: review }\n";
        let loader = MemoryLoader::new().with("p.qlp", policy).with("k.txt", file);
        let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
        let Some(program) = checked.program else {
            prop_assert!(checked.diagnostics.iter().any(|d| d.is_error()));
            return Ok(());
        };
        let set = PolicySet::new(program).unwrap();
        let record = set.record_type("M").unwrap();
        let json = serde_json::json!({ "t": text }).to_string();
        let row = set.ingest(record, json.as_bytes()).unwrap();
        let mut context = set.context();
        let jit = set.evaluate(EngineKind::Jit, record, &row, 0, &mut context);
        let interp = set.evaluate(EngineKind::Interp, record, &row, 0, &mut context);
        prop_assert_eq!(jit, interp);
    }
}

#[test]
fn a_record_of_many_unknown_fields_is_read_in_bounded_time() {
    // Each unknown key was compared with every field for a "did you mean"
    // though only 16 are kept: a 3.5 MB record of 200,000 unknown keys took
    // 4.8 s to read (release), as would every such request to `qlp serve`.
    let mut record: serde_json::Value = serde_json::from_str(&sample_records()[0]).unwrap();
    let object = record.as_object_mut().unwrap();
    for i in 0..200_000 {
        object.insert(format!("folowers{i}"), serde_json::Value::from(i));
    }
    let json = serde_json::to_vec(&record).unwrap();
    let set = shipped();
    let content = set.record_type("Content").unwrap();
    for strict in [false, true] {
        let json = json.clone();
        let (result, warnings) = within(Duration::from_secs(15), move || {
            let mut warnings = Vec::new();
            let result = shipped()
                .ingest_checked(content, &json, strict, &mut warnings)
                .map(|_| ());
            (result.map_err(|e| e.to_string()), warnings)
        });
        match strict {
            false => {
                assert!(result.is_ok());
                assert_eq!(warnings.len(), qlp_runtime::ingest::MAX_PROBLEMS);
            }
            true => {
                let message = result.unwrap_err();
                assert!(message.contains("and 199984 more"), "{message}");
            }
        }
    }
}
