//! `qlp lint`: the linter for policy repositories' CI. Human, JSON, SARIF
//! 2.1.0 and GitHub-annotation output; levels and ignored paths from
//! `qlp.toml`; inline suppressions with a required reason; safe autofixes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use qlp_runtime::FsLoader;

use crate::config::Workspace;
use anyhow::Context;
use qlp_grammar::{Diagnostic, FileId, Severity, SourceMap, Span};
use qlp_lint::{self as lint, Level, LintContext, REGISTRY};
use serde_json::json;

use crate::render::{self, print_diagnostics};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailLevel {
    Error,
    Warning,
    Never,
}

#[derive(clap::Args)]
pub struct LintArgs {
    /// Policy files or directories.
    #[arg(required_unless_present = "list")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: LintFormat,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_level: FailLevel,
    /// Apply the safe fixes (remove duplicate keywords, unused declarations).
    #[arg(long)]
    pub fix: bool,
    /// The configuration file (default: `qlp.toml` at the policy root, if any).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The date lints about campaign periods take as today (default: `today` in
    /// the configuration, else the current date).
    #[arg(long)]
    pub today: Option<String>,
    /// List the lints and exit.
    #[arg(long)]
    pub list: bool,
}

/// A finding, ready to print.
pub struct Finding {
    pub diagnostic: Diagnostic,
    name: &'static str,
    fix: Option<lint::Fix>,
}

/// The level of each lint: its default, or what `qlp.toml` says (an
/// unknown lint or level there is an error).
pub fn levels(config: &crate::config::Config) -> anyhow::Result<HashMap<&'static str, Level>> {
    let mut levels: HashMap<&'static str, Level> = REGISTRY.iter().map(|l| (l.code, l.default_level)).collect();
    for (key, value) in &config.lint.levels {
        let lint =
            lint::find(key).with_context(|| format!("qlp.toml: unknown lint `{key}` (see `qlp lint --list`)"))?;
        let level =
            Level::parse(value).with_context(|| format!("qlp.toml: `{key}`: level must be allow, warn or error"))?;
        levels.insert(lint.code, level);
    }
    Ok(levels)
}

/// The date lints about campaign periods take as today: `flag`, else
/// `today` in the configuration, else the current time.
pub fn today(flag: Option<&str>, config: &crate::config::Config) -> anyhow::Result<i64> {
    match flag.or(config.lint.today.as_deref()) {
        Some(text) => qlp_grammar::time::parse_time(text).map_err(|e| anyhow::anyhow!("today: {e}")),
        None => Ok(qlp_runtime::Timestamp::now().micros()),
    }
}

/// Every finding of a checked program: each lint at its level, with
/// suppressions applied (and their own problems reported), ignored paths
/// dropped, in source order. What `qlp lint` prints and `qlp lsp` publishes.
pub fn findings(
    program: &qlp_compiler::Program,
    config: &crate::config::Config,
    levels: &HashMap<&'static str, Level>,
    today: i64,
) -> Vec<Finding> {
    let context = LintContext { program, today };
    let mut findings = Vec::new();
    for lint in REGISTRY {
        let level = levels.get(lint.code).copied().unwrap_or(lint.default_level);
        if level == Level::Allow {
            continue;
        }
        for hit in lint::run_lint(lint, &context) {
            findings.push(Finding {
                diagnostic: lint::to_diagnostic(lint, &hit, level),
                name: lint.name,
                fix: hit.fix.clone(),
            });
        }
    }
    let mut findings = apply_suppressions(findings, &program.sources);
    findings.extend(unknown_suppressions(&program.sources));
    findings.retain(|f| !ignored(&config.lint.ignore, program.sources.name(f.diagnostic.file)));
    findings.sort_by_key(|f| (f.diagnostic.file, f.diagnostic.span.start));
    findings
}

pub fn run(args: &LintArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        for lint in REGISTRY {
            println!(
                "{} {:<26} {:<8} {}",
                lint.code,
                lint.name,
                lint.default_level.as_str(),
                lint.summary()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let config = Workspace::open(&args.paths, args.config.as_deref())?.config;
    let levels = levels(&config)?;
    let today = today(args.today.as_deref(), &config)?;

    let docs_url = config.lint.docs_url.as_deref();
    let mut fixed_any = false;
    for round in 0..4 {
        let workspace = Workspace::open(&args.paths, args.config.as_deref())?;
        let checked = workspace.check();
        let Some(program) = checked.program else {
            // Machine formats carry the check's errors too: CI must not
            // upload an empty report for policies that do not compile.
            if args.format == LintFormat::Human {
                print_diagnostics(&checked.diagnostics, &checked.sources, render::Format::Human)?;
            } else {
                let findings: Vec<Finding> = checked
                    .diagnostics
                    .iter()
                    .map(|d| Finding {
                        diagnostic: d.clone(),
                        name: "check",
                        fix: None,
                    })
                    .collect();
                print_findings(&findings, &checked.sources, args.format, docs_url)?;
            }
            eprintln!("the policies have errors: fix them before linting");
            return Ok(ExitCode::from(1));
        };
        let findings = findings(&program, &config, &levels, today);

        if args.fix && round < 3 {
            let applied = apply_fixes(&findings, &program.sources, &workspace.tree.loader)?;
            if applied > 0 {
                eprintln!("fixed {applied} finding(s)");
                fixed_any = true;
                continue;
            }
        }
        let _ = fixed_any;
        print_findings(&findings, &program.sources, args.format, docs_url)?;
        let worst = findings.iter().map(|f| f.diagnostic.severity).max();
        let failed = match (args.fail_level, worst) {
            (FailLevel::Never, _) | (_, None) => false,
            (FailLevel::Error, Some(s)) => s == Severity::Error,
            (FailLevel::Warning, Some(_)) => true,
        };
        return Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS });
    }
    Ok(ExitCode::SUCCESS)
}

fn ignored(patterns: &[String], file: &str) -> bool {
    patterns.iter().any(|pattern| {
        let prefix = pattern.trim_end_matches("**").trim_end_matches('/');
        file == pattern
            || file.starts_with(&format!("{prefix}/"))
            || (pattern.ends_with("**") && file.starts_with(prefix))
    })
}

/// Drops findings suppressed by `// qlp: allow(CODE, ...) reason: ...` on
/// their line or the line above; a suppression without a reason is itself
/// an error (QLP100) and suppresses nothing.
fn apply_suppressions(findings: Vec<Finding>, sources: &SourceMap) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut reported: HashSet<(FileId, usize)> = HashSet::new();
    // Each file's lines and where they start, split once (per finding, 4,000
    // findings in a 400 KB file took seconds).
    let mut split: HashMap<FileId, Vec<(usize, &str)>> = HashMap::new();
    for finding in findings {
        let d = &finding.diagnostic;
        let (line, _) = sources.line_col(d.file, d.span.start);
        let lines = split.entry(d.file).or_insert_with(|| {
            let text = sources.get(d.file).map_or("", |f| f.text.as_str());
            let mut start = 0;
            text.split_inclusive('\n')
                .map(|raw| {
                    let at = start;
                    start += raw.len();
                    let line = raw
                        .strip_suffix('\n')
                        .map_or(raw, |l| l.strip_suffix('\r').unwrap_or(l));
                    (at, line)
                })
                .collect()
        });
        let mut suppressed = false;
        for candidate in [line.saturating_sub(1), line.saturating_sub(2)] {
            let Some(&(line_start, content)) = lines.get(candidate) else {
                continue;
            };
            let Some(at) = content.find("qlp: allow(") else {
                continue;
            };
            let rest = content.get(at + "qlp: allow(".len()..).unwrap_or("");
            let Some(close) = rest.find(')') else { continue };
            let codes = rest.get(..close).unwrap_or("");
            let names: Vec<&str> = codes.split(',').map(str::trim).collect();
            if !names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(d.code) || *n == finding.name)
            {
                continue;
            }
            let reason = rest.get(close + 1..).unwrap_or("").trim();
            let has_reason = reason.strip_prefix("reason:").is_some_and(|r| !r.trim().is_empty());
            if has_reason {
                suppressed = true;
            } else if reported.insert((d.file, candidate)) {
                let offset = line_start + at;
                out.push(Finding {
                    diagnostic: Diagnostic::error(
                        "QLP100",
                        d.file,
                        Span::new(offset, offset + content.len().saturating_sub(at)),
                        "a suppression needs a reason",
                    )
                    .with_label("suppression-without-reason")
                    .with_help(format!(
                        "write `// qlp: allow({}) reason: why this is fine here`",
                        codes.trim()
                    )),
                    name: "suppression-without-reason",
                    fix: None,
                });
            }
        }
        if !suppressed {
            out.push(finding);
        }
    }
    out
}

/// Applies every fix that does not overlap another in the same file.
fn apply_fixes(findings: &[Finding], sources: &SourceMap, files: &FsLoader) -> anyhow::Result<usize> {
    let mut by_file: HashMap<FileId, Vec<&lint::Fix>> = HashMap::new();
    for fix in findings.iter().filter_map(|f| f.fix.as_ref()) {
        by_file.entry(fix.file).or_default().push(fix);
    }
    let mut applied = 0;
    for (file, mut fixes) in by_file {
        let Some(source) = sources.get(file) else { continue };
        fixes.sort_by_key(|f| std::cmp::Reverse(f.span.start));
        let mut text = source.text.clone();
        let mut floor = usize::MAX;
        for fix in fixes {
            let (start, end) = (fix.span.start as usize, fix.span.end as usize);
            if end > floor || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                continue;
            }
            text.replace_range(start..end, &fix.replacement);
            floor = start;
            applied += 1;
        }
        files
            .write(Path::new(&source.name), text.as_bytes())
            .with_context(|| format!("cannot write `{}`", source.name))?;
    }
    Ok(applied)
}

/// `QLP100` for every code or name in a suppression that is no lint: such a
/// suppression silently suppresses nothing.
fn unknown_suppressions(sources: &SourceMap) -> Vec<Finding> {
    let mut out = Vec::new();
    for (file, source) in sources.files() {
        let mut offset = 0;
        for line in source.text.split_inclusive('\n') {
            let line_start = offset;
            offset += line.len();
            let Some(at) = line.find("qlp: allow(") else { continue };
            let rest = line.get(at + "qlp: allow(".len()..).unwrap_or("");
            let Some(close) = rest.find(')') else { continue };
            for name in rest.get(..close).unwrap_or("").split(',').map(str::trim) {
                if name.is_empty() || lint::find(name).is_some() || name.eq_ignore_ascii_case("QLP100") {
                    continue;
                }
                let shown: String = name.chars().take(40).collect();
                let names = REGISTRY.iter().flat_map(|l| [l.code, l.name]);
                let hint = qlp_compiler::resolve::suggest(&shown, names)
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                let start = line_start + at;
                out.push(Finding {
                    diagnostic: Diagnostic::error(
                        "QLP100",
                        file,
                        Span::new(start, start + "qlp: allow(".len() + close + 1),
                        format!("`{shown}` is not a lint: this suppression suppresses nothing"),
                    )
                    .with_label("unknown-lint-in-suppression")
                    .with_help(format!("{hint}`qlp lint --list` lists the codes and names")),
                    name: "unknown-lint-in-suppression",
                    fix: None,
                });
            }
        }
    }
    out
}

fn print_findings(
    findings: &[Finding],
    sources: &SourceMap,
    format: LintFormat,
    docs_url: Option<&str>,
) -> anyhow::Result<()> {
    match format {
        LintFormat::Human => {
            render::human_bounded(findings.iter().map(|f| &f.diagnostic), sources, |text| {
                eprintln!("{text}");
                Ok(())
            })?;
            let errors = findings.iter().filter(|f| f.diagnostic.is_error()).count();
            eprintln!(
                "{} finding(s): {errors} error(s), {} warning(s)",
                findings.len(),
                findings.len() - errors
            );
        }
        LintFormat::Json => {
            for finding in findings {
                let mut value = render::json(&finding.diagnostic, sources);
                if let Some(object) = value.as_object_mut() {
                    object.insert(String::from("name"), json!(finding.name));
                    object.insert(String::from("fixable"), json!(finding.fix.is_some()));
                }
                println!("{value}");
            }
        }
        LintFormat::Github => {
            for finding in findings {
                let d = &finding.diagnostic;
                let (line, col) = sources.line_col(d.file, d.span.start);
                let (end_line, end_col) = sources.line_col(d.file, d.span.end);
                let kind = if d.is_error() { "error" } else { "warning" };
                let escape = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
                let mut message = d.message.clone();
                if let Some(help) = &d.help {
                    message.push_str(&format!(" (help: {help})"));
                }
                println!(
                    "::{kind} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={} {}::{}",
                    sources.name(d.file),
                    d.code,
                    finding.name,
                    escape(&message)
                );
            }
        }
        LintFormat::Sarif => println!("{}", serde_json::to_string_pretty(&sarif(findings, sources, docs_url))?),
    }
    Ok(())
}

/// A SARIF 2.1.0 log of the findings. Each rule carries its documentation
/// as `help` (what code-scanning UIs show); `helpUri` only when `[lint]
/// docs_url` in `qlp.toml` says where the lint pages are published.
pub fn sarif_log(
    diagnostics: &[(Diagnostic, &'static str)],
    sources: &SourceMap,
    docs_url: Option<&str>,
) -> serde_json::Value {
    let mut rules: Vec<serde_json::Value> = REGISTRY
        .iter()
        .map(|l| {
            let mut rule = json!({
                "id": l.code,
                "name": l.name,
                "shortDescription": { "text": l.summary() },
                "fullDescription": { "text": l.doc() },
                "help": { "text": l.doc(), "markdown": l.doc() },
                "defaultConfiguration": { "level": sarif_level(l.default_level) },
            });
            if let (Some(base), Some(object)) = (docs_url, rule.as_object_mut()) {
                let base = base.trim_end_matches('/');
                object.insert(String::from("helpUri"), json!(format!("{base}/{}.md", l.name)));
            }
            rule
        })
        .collect();
    // Codes that are not lints (check errors, QLP100) get descriptors too,
    // so every result points at its rule.
    let mut ids: Vec<String> = REGISTRY.iter().map(|l| l.code.to_string()).collect();
    for (d, name) in diagnostics {
        if ids.iter().any(|id| id == d.code) {
            continue;
        }
        let summary = qlp_grammar::codes::CODES
            .iter()
            .find(|c| c.code == d.code)
            .map_or(*name, |c| c.summary);
        rules.push(json!({
            "id": d.code,
            "name": name,
            "shortDescription": { "text": summary },
            "defaultConfiguration": { "level": "error" },
        }));
        ids.push(d.code.to_string());
    }
    let results: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|(d, name)| {
            let (line, col) = sources.line_col(d.file, d.span.start);
            let (end_line, end_col) = sources.line_col(d.file, d.span.end);
            let mut text = d.message.clone();
            if let Some(help) = &d.help {
                text.push_str(&format!("\nhelp: {help}"));
            }
            let mut result = json!({
                "ruleId": d.code,
                "level": if d.severity == Severity::Error { "error" } else { "warning" },
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": sources.name(d.file) },
                        "region": { "startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col }
                    }
                }],
                "properties": { "name": name },
            });
            if let (Some(index), Some(object)) = (ids.iter().position(|id| id == d.code), result.as_object_mut()) {
                object.insert(String::from("ruleIndex"), json!(index));
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "qlp", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn sarif(findings: &[Finding], sources: &SourceMap, docs_url: Option<&str>) -> serde_json::Value {
    let diagnostics: Vec<(Diagnostic, &'static str)> =
        findings.iter().map(|f| (f.diagnostic.clone(), f.name)).collect();
    sarif_log(&diagnostics, sources, docs_url)
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Allow => "none",
    }
}
