//! Hostile policy trees and inputs (docs/security.md): a policy tree from a
//! pull request must not read outside its root, hang, or exhaust memory, and
//! no command may destroy its input.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const CANARY: &str = "qlp-canary-7f3a9c";

/// Runs `qlp` in `dir`, killing it (and failing) past `limit`.
fn qlp_within(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qlp"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("QLP_TEST_SECRET", CANARY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained while it runs: output past a pipe's buffer would block it.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("`qlp {}` did not finish within {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn qlp(dir: &Path, args: &[&str]) -> Output {
    qlp_within(dir, args, Duration::from_secs(20))
}

fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A policy tree in a temporary directory: `root/qlp.toml` marks the root,
/// policies live in `root/p`, and `outside/` is beside the root.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("root/p")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("root/qlp.toml"), "").unwrap();
        std::fs::write(dir.path().join("outside/secret.txt"), format!("{CANARY}\n")).unwrap();
        Tree { dir }
    }

    fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("root")
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.root().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn symlink(&self, target: &Path, relative: &str) {
        std::os::unix::fs::symlink(target, self.root().join(relative)).unwrap();
    }

    fn check(&self) -> Output {
        qlp_within(&self.root(), &["check", "p"], Duration::from_secs(5))
    }
}

/// A command's standard output, one JSON value a line.
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn assert_refused(out: &Output, expected: &str) {
    let text = all_output(out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    assert!(!text.contains(CANARY), "a secret leaked:\n{text}");
    assert!(!text.contains("root:x:0"), "/etc/passwd leaked:\n{text}");
}

#[test]
fn importing_the_environment_is_refused_without_printing_it() {
    let tree = Tree::new();
    tree.write("p/a.qlp", "import \"/proc/self/environ\"\n");
    assert_refused(
        &tree.check(),
        "cannot import `/proc/self/environ`: the path is absolute",
    );
}

#[test]
fn importing_passwd_through_dot_dot_is_refused() {
    let tree = Tree::new();
    tree.write("p/a.qlp", "import \"../../../../../../../../etc/passwd\"\n");
    assert_refused(&tree.check(), "is outside the policy root");
    tree.write("p/a.qlp", "import \"../../outside/secret.txt\"\n");
    assert_refused(&tree.check(), "is outside the policy root");
}

#[test]
fn keyword_files_outside_the_root_are_refused() {
    let tree = Tree::new();
    tree.write("p/a.qlp", "keywords k = file(\"/etc/passwd\")\n");
    assert_refused(
        &tree.check(),
        "cannot read keyword file `/etc/passwd`: the path is absolute",
    );
    tree.write("p/a.qlp", "keywords k = file(\"../../outside/secret.txt\")\n");
    assert_refused(&tree.check(), "is outside the policy root");
}

#[test]
fn symlinks_out_of_the_root_are_refused() {
    let tree = Tree::new();
    let secret = tree.dir.path().join("outside/secret.txt");
    tree.symlink(&secret, "p/x.qlp");
    assert_refused(&tree.check(), "is outside the policy root");

    let tree = Tree::new();
    tree.symlink(&secret, "p/kw.txt");
    tree.write("p/a.qlp", "keywords k = file(\"kw.txt\")\n");
    assert_refused(&tree.check(), "is outside the policy root");
}

#[test]
fn hidden_directories_such_as_git_are_never_read() {
    let tree = Tree::new();
    tree.write(".git/config", &format!("[http] extraheader = {CANARY}\n"));
    tree.write("p/a.qlp", "import \"../.git/config\"\n");
    assert_refused(&tree.check(), "goes through the hidden entry `.git`");
}

#[test]
fn devices_and_fifos_are_refused_within_a_second() {
    let limit = Duration::from_secs(1);
    let tree = Tree::new();
    tree.symlink(Path::new("/dev/zero"), "p/zero.qlp");
    let out = qlp_within(&tree.root(), &["check", "p"], limit);
    assert_refused(&out, "is outside the policy root");

    let tree = Tree::new();
    let fifo = tree.root().join("p/x.qlp");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = qlp_within(&tree.root(), &["check", "p"], limit);
    assert_refused(&out, "it is not a regular file");

    let tree = Tree::new();
    let fifo = tree.root().join("p/words.txt");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    tree.write("p/a.qlp", "keywords k = file(\"words.txt\")\n");
    let out = qlp_within(&tree.root(), &["check", "p"], limit);
    assert_refused(&out, "it is not a regular file");
}

#[test]
fn directory_symlink_loops_are_walked_once() {
    let tree = Tree::new();
    tree.write("p/a.qlp", "enum E { x }\n");
    for name in ["a", "b", "c", "d"] {
        tree.symlink(Path::new("."), &format!("p/{name}"));
    }
    let out = qlp_within(&tree.root(), &["check", "p"], Duration::from_secs(1));
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(all_output(&out).contains("checked 1 file(s)"), "{}", all_output(&out));
}

#[test]
fn oversized_files_are_refused_before_they_are_read() {
    let tree = Tree::new();
    // A sparse 64 MiB keyword file: reading it would take time and memory.
    let big = std::fs::File::create(tree.root().join("p/big.txt")).unwrap();
    big.set_len(64 << 20).unwrap();
    tree.write("p/a.qlp", "keywords k = file(\"big.txt\")\n");
    let out = qlp_within(&tree.root(), &["check", "p"], Duration::from_secs(1));
    assert_refused(&out, "it is larger than the limit of 16777216 bytes");

    // The limit is configurable at the root.
    tree.write("qlp.toml", "[limits]\nkeyword_file_bytes = 1024\n");
    let mut words = String::new();
    for i in 0..200 {
        words.push_str(&format!("word{i}\n"));
    }
    tree.write("p/big.txt", &words);
    let out = tree.check();
    assert_refused(&out, "it is larger than the limit of 1024 bytes");
    tree.write("qlp.toml", "[limits]\nkeyword_file_bytes = 4096\n");
    let out = tree.check();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
}

#[test]
fn keyword_sets_are_bounded_together_by_a_configurable_limit() {
    // Tiny sets cost ~16 KB each, however small: 2,000 of them in 60 KB of
    // policy take ~32 MB. The limit is the root's to lower (or raise).
    let tree = Tree::new();
    let mut policy = String::new();
    for i in 0..2_000 {
        policy.push_str(&format!("keywords k{i} = [\"词{i}甲\", \"词{i}乙\"]\n"));
    }
    tree.write("p/a.qlp", &policy);
    let out = tree.check();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    tree.write("qlp.toml", "[limits]\nkeyword_memory_bytes = 8388608\n");
    let out = tree.check();
    assert_refused(&out, "keyword sets take more than 8 MiB together");
    assert!(
        all_output(&out).contains("qlp::keywords_too_large"),
        "{}",
        all_output(&out)
    );
}

#[test]
fn fmt_never_writes_through_a_link_out_of_the_tree() {
    let tree = Tree::new();
    let victim = tree.dir.path().join("outside/victim.qlp");
    std::fs::write(&victim, "enum   E {x}\n").unwrap();
    tree.symlink(&victim, "p/v.qlp");
    tree.write("p/a.qlp", "enum   F {y}\n");
    let out = qlp(&tree.root(), &["fmt", "p"]);
    assert_ne!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "enum   E {x}\n");
}

#[test]
fn a_tree_without_qlp_toml_is_rooted_at_its_repository() {
    let tree = Tree::new();
    std::fs::remove_file(tree.root().join("qlp.toml")).unwrap();
    std::fs::create_dir_all(tree.root().join(".git")).unwrap();
    tree.write("schema.qlp", "enum E { x }\n");
    tree.write("p/a.qlp", "import \"../schema.qlp\"\nconst c: E = x\n");
    let out = tree.check();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(tree.root().join("p/a.qlp"))
        .unwrap();
    writeln!(file, "import \"../../outside/secret.txt\"").unwrap();
    assert_refused(&tree.check(), "is outside the policy root");
}

#[test]
fn a_policy_directory_that_is_a_link_does_not_move_the_root() {
    let tree = Tree::new();
    let outside = tree.dir.path().join("outside");
    std::fs::write(outside.join("qlp.toml"), "").unwrap();
    std::fs::write(outside.join("a.qlp"), "import \"secret.txt\"\n").unwrap();
    std::fs::remove_dir(tree.root().join("p")).unwrap();
    tree.symlink(&outside, "p");
    let out = tree.check();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("`p` is outside the policy root"), "{text}");
    assert!(!text.contains(CANARY), "a secret leaked:\n{text}");
    // A file named on the command line that links out is refused too.
    let tree = Tree::new();
    tree.symlink(&outside.join("secret.txt"), "p/x.qlp");
    let out = qlp(&tree.root(), &["check", "p/x.qlp"]);
    assert_refused(&out, "is outside the policy root");
}

/// The largest peak resident memory of any child this test process waited for, in KiB.
fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes one plain struct that we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    usage.ru_maxrss
}

#[test]
fn exponential_functions_and_huge_lists_are_too_complex_within_a_second() {
    let tree = Tree::new();
    let mut doubling = String::from("record M { n: int }\nfn f0(x: int) -> int = x + 1\n");
    for level in 1..=16 {
        doubling.push_str(&format!(
            "fn f{level}(x: int) -> int = f{}(x) + f{}(x)\n",
            level - 1,
            level - 1
        ));
    }
    doubling.push_str("rule r(m: M) { when: f16(m.n) > 3 then: review }\n");
    tree.write("p/a.qlp", &doubling);
    for engine in ["jit", "interp"] {
        let out = qlp_within(
            &tree.root(),
            &["check", "--engine", engine, "p"],
            Duration::from_secs(1),
        );
        assert_refused(
            &out,
            "rule `r` expands to 524288 expression nodes, more than the limit of 20000",
        );
    }
    let out = qlp_within(&tree.root(), &["test", "p"], Duration::from_secs(1));
    assert_refused(&out, "expands to 524288 expression nodes");

    // A million-element list (7.9 MB, with the file limit raised to let it in).
    let tree = Tree::new();
    tree.write("qlp.toml", "[limits]\npolicy_file_bytes = 16777216\n");
    let items: Vec<String> = (0..1_000_000).map(|i| i.to_string()).collect();
    tree.write(
        "p/a.qlp",
        &format!(
            "record M {{ n: int }}\nrule r(m: M) {{ when: m.n in [{}] then: review }}\n",
            items.join(", ")
        ),
    );
    let out = qlp_within(&tree.root(), &["check", "p"], Duration::from_secs(1));
    assert_refused(&out, "this list has more than 100000 elements");
    // Every child of this test stayed small: nothing was expanded or compiled.
    assert!(
        children_peak_rss_kib() < 256 * 1024,
        "peak RSS {} KiB",
        children_peak_rss_kib()
    );
}

/// A record type `Post` and 600 rules, each matching a pattern whose lazy
/// DFA has 2^13 states (`r{i}` ends in `c{i}`).
fn hostile_patterns() -> String {
    let mut source = String::from("record Post { id: string text: string }\n");
    for i in 0..600 {
        source.push_str(&format!(
            "rule r{i}(p: Post) {{ when: p.text matches \"(a|b)*a(a|b){{12}}c{i}\" then: review }}\n"
        ));
    }
    source
}

/// A fixed pseudo-random text of `a`s and `b`s: it leads a pattern such as
/// `(a|b)*a(a|b){12}` through all of its 2^13 DFA states.
fn random_walk(len: usize) -> String {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            if seed & 1 == 0 {
                'a'
            } else {
                'b'
            }
        })
        .collect()
}

#[test]
fn test_runs_are_bounded_in_the_text_they_read() {
    // 600 patterns and one test that gives a 200 KB text 20 times: each
    // record reads the text once per pattern on each engine. `qlp test` did
    // not finish in 5 minutes (release).
    let tree = Tree::new();
    let mut source = hostile_patterns();
    source.push_str(&format!(
        "test \"long\" {{\n  given 20 Post {{ id: \"x\", text: \"{}\" }}\n  expect nothing\n}}\n",
        random_walk(200_000)
    ));
    tree.write("p/p.qlp", &source);
    let out = qlp_within(&tree.root(), &["test", "p"], Duration::from_secs(30));
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("running the tests up to test `long` takes more than"),
        "{text}"
    );
}

#[test]
fn patterns_match_hostile_text_within_a_memory_budget() {
    // 600 patterns whose lazy DFAs have 2^13 states, on text that visits
    // them: each cache grew to its limit, 1.8 GB for two records (release).
    let tree = Tree::new();
    tree.write("p/a.qlp", &hostile_patterns());
    let mut text = random_walk(20_000);
    // `a`, twelve more letters, `c599`.
    text.push_str(&format!("a{}c599", "ab".repeat(6)));
    tree.write("r.jsonl", &format!("{{\"id\":\"x\",\"text\":\"{text}\"}}\n"));
    // Two threads, so that the bound (per thread) is the same everywhere.
    let out = Command::new(env!("CARGO_BIN_EXE_qlp"))
        .args(["eval", "-p", "p", "-t", "Post", "r.jsonl"])
        .current_dir(tree.root())
        .env("RAYON_NUM_THREADS", "2")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", all_output(&out));
    // It still matches: the text ends as rule r599's pattern asks.
    assert!(stdout.contains("\"r599\""), "{stdout}");
    assert!(
        children_peak_rss_kib() < 512 * 1024,
        "peak RSS {} KiB",
        children_peak_rss_kib()
    );
}

// ---------------------------------------------------------------- tests that cannot pass vacuously

#[test]
fn expect_not_without_a_clock_fails_as_vacuous() {
    let tree = Tree::new();
    tree.write(
        "p/a.qlp",
        "record M { n: int }\n\
         campaign c { title: \"c\" active: 2022-01-01 .. 2022-12-31 }\n\
         rule r(m: M) { campaign: c when: m.n > 1 then: review }\n\
         test \"near miss\" { given M { n: 0 } expect not r }\n\
         test \"outside the period\" { now: 2023-06-01 given M { n: 5 } expect not r }\n\
         test \"in the period\" { now: 2022-06-01 given M { n: 5 } expect r }\n",
    );
    let out = qlp(&tree.root(), &["test", "p"]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  p/a.qlp:4  near miss"), "{text}");
    assert!(
        text.contains("the test has no `now:`, so its clock is 1970-01-01"),
        "{text}"
    );
    assert!(text.contains("2 passed, 1 failed"), "{text}");
}

#[test]
fn coverage_counts_the_default_of_a_coalesce() {
    let tree = Tree::new();
    tree.write(
        "p/a.qlp",
        "record M { age: int? }\n\
         rule minor(m: M) { when: (m.age ?? 0) < 18 then: review }\n\
         test \"a minor\" { given M { age: 15 } expect minor }\n\
         test \"an adult\" { given M { age: 30 } expect not minor }\n",
    );
    let out = qlp(&tree.root(), &["test", "--coverage", "p"]);
    let text = all_output(&out);
    assert!(text.contains("3/4 condition outcomes (75.0%)"), "{text}");
    assert!(text.contains("`(m.age ?? 0)` never used its default"), "{text}");
    tree.write(
        "p/b.qlp",
        "import \"a.qlp\"\ntest \"age unknown\" { given M { } expect minor }\n",
    );
    let out = qlp(&tree.root(), &["test", "--coverage", "p"]);
    assert!(
        all_output(&out).contains("4/4 condition outcomes (100.0%)"),
        "{}",
        all_output(&out)
    );
}

#[test]
fn a_tree_without_tests_fails_unless_allowed() {
    let tree = Tree::new();
    tree.write(
        "p/a.qlp",
        "record M { n: int }\nrule r(m: M) { when: m.n > 1 then: review }\n",
    );
    let out = qlp(&tree.root(), &["test", "p"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        all_output(&out).contains("no `test` blocks in 1 file(s)"),
        "{}",
        all_output(&out)
    );
    let out = qlp(&tree.root(), &["test", "--allow-empty", "p"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let out = qlp(&tree.root(), &["test", "--min-coverage", "150", "p"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn time_offsets_beyond_a_day_are_refused() {
    let tree = Tree::new();
    tree.write(
        "p/a.qlp",
        "record M { at: time }\nrule r(m: M) { when: m.at > 2022-01-01 then: review }\n",
    );
    let records = tree.root().join("in.jsonl");
    std::fs::write(
        &records,
        "{\"at\": \"2022-05-01T08:00:00+25:00\"}\n{\"at\": \"2022-05-01T08:00:00+08:00\"}\n",
    )
    .unwrap();
    let out = qlp(
        &tree.root(),
        &["eval", "-p", "p", "--now", "2022-06-01T00:00:00+23:60", "in.jsonl"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        all_output(&out).contains("offsets run from -23:59 to +23:59"),
        "{}",
        all_output(&out)
    );
    let out = qlp(&tree.root(), &["eval", "-p", "p", "--now", "2022-06-01", "in.jsonl"]);
    let text = all_output(&out);
    assert!(
        text.contains("error: line 1: `at`: `2022-05-01T08:00:00+25:00` has the offset +25:00"),
        "{text}"
    );
    assert!(text.contains("1 evaluated, 1 rejected"), "{text}");
}

#[test]
fn functions_called_from_several_places_are_compiled_once() {
    let clif_lines = |depth: usize| {
        let tree = Tree::new();
        let mut text = String::from("record M { n: int }\nfn f0(x: int) -> int = x + 1\n");
        for level in 1..=depth {
            text.push_str(&format!(
                "fn f{level}(x: int) -> int = f{}(x) + f{}(x)\n",
                level - 1,
                level - 1
            ));
        }
        text.push_str(&format!(
            "rule r(m: M) {{ when: f{depth}(m.n) > 3 then: review }}\n\
             test \"fires\" {{ given M {{ n: 1 }} expect r }}\n\
             test \"overflows inside a function\" {{ given M {{ n: 9223372036854775000 }} expect error r }}\n"
        ));
        tree.write("p/a.qlp", &text);
        let out = qlp_within(&tree.root(), &["test", "p"], Duration::from_secs(2));
        assert!(all_output(&out).contains("2 passed, 0 failed"), "{}", all_output(&out));
        let out = qlp_within(&tree.root(), &["compile", "p"], Duration::from_secs(2));
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    // Inlined, ten levels would be 32 times five levels' code; compiled once, about twice.
    let (five, ten) = (clif_lines(5), clif_lines(10));
    assert!(ten < 3 * five, "{five} lines at 5 levels, {ten} at 10");
}

#[test]
fn the_record_limit_is_configurable_at_the_root() {
    let tree = Tree::new();
    tree.write("qlp.toml", "[limits]\nrecord_bytes = 64\n");
    tree.write(
        "p/a.qlp",
        "record M { s: string }\nrule r(m: M) { when: m.s == \"x\" then: review }\n",
    );
    std::fs::write(
        tree.root().join("in.jsonl"),
        format!(
            "{{\"s\": \"x\"}}\n{{\"s\": \"{}\"}}\n{{\"s\": \"y\"}}\n",
            "z".repeat(100)
        ),
    )
    .unwrap();
    let out = qlp(&tree.root(), &["eval", "-p", "p", "--now", "2022-06-01", "in.jsonl"]);
    let text = all_output(&out);
    assert!(
        text.contains("error: line 2: the record is 110 bytes, more than the limit of 64"),
        "{text}"
    );
    assert!(text.contains("2 evaluated, 1 rejected"), "{text}");
    let out = qlp(
        &tree.root(),
        &[
            "eval",
            "-p",
            "p",
            "--now",
            "2022-06-01",
            "--max-record-bytes",
            "1000",
            "in.jsonl",
        ],
    );
    assert!(
        all_output(&out).contains("3 evaluated, 0 rejected"),
        "{}",
        all_output(&out)
    );
}

/// A file of 50,000 errors is reported at once, not in minutes (each
/// diagnostic's line and column were found by a scan from the file's start,
/// and each rendering copied the file): people see the first 200 and a count
/// of the rest, `--format json` every one.
#[test]
fn lint_takes_time_linear_in_the_rules() {
    // The shadowed-rule lint searched the files for each rule's condition
    // and cloned every pair, and suppressions split the file into lines
    // per finding: 4,000 one-line rules took 5.7 s to lint in release, and
    // 20,000 more than 5 minutes in a debug build.
    let tree = Tree::new();
    let mut policy = String::from("record R { n: int }\n");
    for i in 0..20_000 {
        policy.push_str(&format!(
            "rule r{i}(x: R) {{ when: x.n == {i} then: remove reason: \"r\" }}\n"
        ));
    }
    policy.push_str("rule copy(x: R) { when: x.n == 7 then: review reason: \"r\" }\n");
    policy.push_str("// qlp: allow(shadowed-rule)\nrule copy2(x: R) { when: x.n == 8 then: review reason: \"r\" }\n");
    tree.write("p/a.qlp", &policy);
    let out = qlp_within(
        &tree.root(),
        &["lint", "--format", "json", "p"],
        Duration::from_secs(60),
    );
    let findings = json_lines(&out);
    let find = |message: &str| {
        findings
            .iter()
            .find(|f| f["message"] == message)
            .unwrap_or_else(|| panic!("no finding {message:?}"))
    };
    assert_eq!(find("rule `copy` is shadowed by `r7`")["line"], 20_002);
    assert_eq!(find("rule `copy2` is shadowed by `r8`")["line"], 20_004);
    // The suppression has no reason: an error, where it is written.
    let suppression = find("a suppression needs a reason");
    assert_eq!(
        (&suppression["line"], &suppression["column"]),
        (&20_003.into(), &4.into())
    );
}

#[test]
fn did_you_mean_hints_are_bounded_in_time_and_size() {
    // Each error compared its name with every name in scope: 10,000 calls
    // to unknown functions among 10,000 functions took a minute to check
    // in release (a megabyte; the 4 MiB file limit allows a quarter hour),
    // and each missing import listed its directory again.
    let tree = Tree::new();
    let mut policy = String::from("record R { n: int }\n");
    for i in 0..10_000 {
        policy.push_str(&format!("fn fun{i}(x: R) -> bool = x.n == {i}\n"));
    }
    for i in 0..10_000 {
        policy.push_str(&format!(
            "rule r{i}(x: R) {{ when: fnu{i}(x) then: remove reason: \"r\" }}\n"
        ));
    }
    tree.write("p/a.qlp", &policy);
    for i in 0..2_000 {
        tree.write(&format!("p/m{i}.qlp"), &format!("import \"m{i}x.qlp\"\n"));
    }
    let out = qlp_within(
        &tree.root(),
        &["check", "--format", "json", "p"],
        Duration::from_secs(60),
    );
    let errors = json_lines(&out);
    let of = |code: &str| errors.iter().filter(|e| e["code"] == code).collect::<Vec<_>>();
    assert_eq!(of("qlp::unknown_function").len(), 10_000);
    assert_eq!(of("qlp::import_not_found").len(), 2_000);
    // The first errors found still get their hints.
    let hinted = |e: &&serde_json::Value| e["help"].as_str().unwrap_or("").starts_with("did you mean");
    assert!(of("qlp::import_not_found").iter().any(hinted));
    assert!(of("qlp::unknown_function").iter().any(hinted));

    // A help lists at most 20 names: a record of 5,000 fields, 1,000 times
    // misread, made 1,000 helps of 5,000 names each.
    let mut fields = String::new();
    for i in 0..5_000 {
        fields.push_str(&format!("  field{i}: int\n"));
    }
    let mut policy = format!("record Wide {{\n{fields}}}\n");
    for i in 0..1_000 {
        policy.push_str(&format!(
            "rule w{i}(x: Wide) {{ when: x.zzz{i} > 0 then: remove reason: \"w\" }}\n"
        ));
    }
    let tree = Tree::new();
    tree.write("p/a.qlp", &policy);
    let out = qlp_within(
        &tree.root(),
        &["check", "--format", "json", "p"],
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.len() < 2_000_000, "{} bytes of diagnostics", stdout.len());
    assert!(
        stdout.contains("`field18`, `field19` and 4980 more"),
        "{}",
        &stdout[..2_000]
    );
}

#[test]
fn a_long_import_chain_checks_in_linear_time() {
    // Which files each file sees was a walk per file with a list of the
    // files seen: a chain of 5,000 imports took 208 s to check (debug).
    let tree = Tree::new();
    for i in 0..5_000 {
        let import = if i < 4_999 {
            format!("import \"c{}.qlp\"\n", i + 1)
        } else {
            String::new()
        };
        tree.write(&format!("p/c{i}.qlp"), &format!("{import}enum E{i} {{ a{i} }}\n"));
    }
    tree.write("p/top.qlp", "import \"c0.qlp\"\nconst last: E4999 = a4999\n");
    let out = qlp_within(&tree.root(), &["check", "p/top.qlp"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("checked 5001 file(s)"),
        "{}",
        all_output(&out)
    );
}

#[test]
fn a_flood_of_errors_is_reported_in_bounded_time_and_output() {
    let tree = Tree::new();
    tree.write("p/a.qlp", &format!("record B {{\n{}}}\n", "  a: int\n".repeat(50_000)));
    let out = qlp_within(&tree.root(), &["check", "p"], Duration::from_secs(30));
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text.matches("qlp::duplicate_field").count(), 200);
    assert!(
        text.contains("... and 49799 more not shown"),
        "{}",
        &text[text.len() - 500..]
    );
    assert!(text.contains("49999 error(s)"));
    // Read while it runs: 15 MB would fill a pipe nobody empties.
    let out = Command::new(env!("CARGO_BIN_EXE_qlp"))
        .args(["check", "--format", "json", "p"])
        .current_dir(tree.root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().filter(|l| l.contains("duplicate_field")).count(), 49_999);
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().rfind(|l| l.contains("duplicate_field")).unwrap()).unwrap();
    assert_eq!(last["line"], 50_001);
    assert_eq!(last["column"], 3);
}

#[test]
fn test_runs_are_bounded_in_work() {
    // Each `given` may repeat its record 10,000 times: 1,000 tests of 20
    // such records (900 KB of policy) asked for 200 million evaluations on
    // each engine, minutes of `qlp test` in CI on a pull request.
    let tree = Tree::new();
    let mut source = String::from("record R { id: string  n: int }\nrule r(c: R) { when: c.n > 3 then: review }\n");
    for t in 0..1_000 {
        source.push_str(&format!("test \"t{t}\" {{\n  now: 2022-06-01\n"));
        for n in 0..20 {
            source.push_str(&format!("  given 10000 R {{ id: \"a\", n: {n} }}\n"));
        }
        source.push_str("  expect r\n}\n");
    }
    tree.write("p/p.qlp", &source);
    let out = qlp_within(&tree.root(), &["test", "p"], Duration::from_secs(30));
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(text.matches("qlp::too_complex").count(), 1, "{text}");
    assert!(text.contains("running the tests up to test `t"), "{text}");
}
