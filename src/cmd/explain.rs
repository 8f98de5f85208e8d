//! `qlp explain`: why each rule did or did not fire on one record.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use qlp_compiler::explain::{explain_condition, keyword_evidence, Explanation};
use qlp_grammar::time::format_time;

use crate::cmd::{load_policies, parse_now, record_type};

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The policy directory (or file).
    #[arg(long, short = 'p')]
    pub policies: PathBuf,
    /// One JSON record.
    pub record: PathBuf,
    /// The record's type (default: the only type rules apply to).
    #[arg(long = "type", short = 't')]
    pub record_type: Option<String>,
    /// The evaluation clock (default: the record's `created_at`, else the Unix epoch).
    #[arg(long)]
    pub now: Option<String>,
    /// Read counters, distinct counts, first-seen records and tags from this
    /// store (a store file or `redis://host:port`) as `qlp eval --state`
    /// left them. The record is not written to it. Without a store, rules
    /// that read state are explained as if it were empty.
    #[arg(long, value_name = "STORE")]
    pub state: Option<String>,
}

/// Reads one record, never more than the record limit of `qlp eval`.
fn read_record(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let limit = crate::cmd::eval::DEFAULT_MAX_RECORD_BYTES;
    let file = std::fs::File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut json = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut json)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    anyhow::ensure!(
        json.len() as u64 <= limit,
        "`{}` is larger than the record limit of {limit} bytes",
        path.display()
    );
    Ok(crate::cmd::eval::input::without_bom(&json).to_vec())
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let Some(set) = load_policies(&args.policies)? else {
        return Ok(ExitCode::from(1));
    };
    let record = record_type(&set, args.record_type.as_deref())?;
    let json = read_record(&args.record)?;
    let row = match set.ingest(record, &json) {
        Ok(row) => row,
        Err(error) => {
            eprintln!("error: {}: {error}", args.record.display());
            return Ok(ExitCode::from(1));
        }
    };
    let now = match &args.now {
        Some(text) => parse_now(text, &set)?,
        None => match set.field(record, &row, "created_at") {
            Some(qlp_compiler::Value::Time(t)) => t,
            _ => 0,
        },
    };
    // The state the record reads: from the store, or as if it were empty
    // (the record alone). Nothing is written.
    let state = match &args.state {
        Some(spec) => qlp_runtime::State::open(spec)?,
        None => qlp_runtime::State::memory(),
    };
    let explained = explain(&set, record, &row, now, &state)?;
    println!("record {} at {}", args.record.display(), explained.now);
    println!("verdict: {}", explained.verdict);
    for rule in &explained.rules {
        println!();
        let campaign_text = rule.campaign.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default();
        println!("rule {}{campaign_text}: {}", rule.rule, rule.status);
        if let Some(exemption) = &rule.exempted_by {
            println!("  cancelled by exemption `{exemption}`");
        }
        print_explanation(&rule.condition, 1);
        for line in rule.state.iter().chain(&rule.keywords) {
            println!("  {line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Why each rule of a record's type did or did not fire: what `qlp explain`
/// prints and `qlp serve` returns as JSON.
#[derive(Debug, serde::Serialize)]
pub struct RecordExplanation {
    /// The evaluation clock, RFC 3339.
    pub now: String,
    pub verdict: String,
    pub rules: Vec<RuleExplanation>,
}

/// One rule on one record.
#[derive(Debug, serde::Serialize)]
pub struct RuleExplanation {
    pub rule: String,
    pub campaign: Option<String>,
    /// `FIRES`, `fires in shadow (...)`, `does not fire`, `exempted`, `error`
    /// or `inactive (campaign period)`.
    pub status: &'static str,
    pub exempted_by: Option<String>,
    /// Each sub-condition's value, as the interpreter computed it.
    pub condition: Condition,
    /// The state values the condition read.
    pub state: Vec<String>,
    /// The keywords it matched, and where.
    pub keywords: Vec<String>,
}

/// A sub-condition, its value, and its parts.
#[derive(Debug, serde::Serialize)]
pub struct Condition {
    pub source: String,
    pub value: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Condition>,
}

impl From<Explanation> for Condition {
    fn from(explanation: Explanation) -> Condition {
        Condition {
            source: explanation.source,
            value: explanation.value,
            children: explanation.children.into_iter().map(Condition::from).collect(),
        }
    }
}

/// Explains every rule of `record`'s type on `row` at `now`, reading state
/// from `state` without writing to it.
pub fn explain(
    set: &qlp_runtime::PolicySet,
    record: qlp_compiler::program::RecordId,
    row: &qlp_compiler::layout::Row,
    now: i64,
    state: &qlp_runtime::State,
) -> anyhow::Result<RecordExplanation> {
    let program = set.program();
    let value = row
        .decode(program, set.layout(), record)
        .context("the record could not be decoded")?;
    let mut context = set.context();
    let prepared = set.prepare(qlp_runtime::EngineKind::Interp, record, row, &mut context);
    // The batch is dropped, not committed: nothing is written.
    let values = qlp_runtime::Batch::begin(state, program, [&prepared])?.read(program, &prepared);
    let outcome = set.evaluate_with_state(qlp_runtime::EngineKind::Jit, record, row, now, &values, &mut context);
    let mut rules = Vec::new();
    for (id, rule) in program.rule_ids() {
        if rule.record != record {
            continue;
        }
        let status = if !program.rule_active(rule, now) {
            "inactive (campaign period)"
        } else if outcome.fired.contains(&id) {
            "FIRES"
        } else if outcome.shadow_fired.contains(&id) {
            "fires in shadow (not part of the verdict)"
        } else if outcome.exempted.iter().any(|(r, _)| *r == id) {
            "exempted"
        } else if outcome.errored(id) {
            "error"
        } else {
            "does not fire"
        };
        let exempted_by = outcome
            .exempted
            .iter()
            .find(|(r, _)| *r == id)
            .and_then(|(_, exempt)| program.exemptions.get(exempt.index()))
            .map(|e| e.name.clone());
        let (file, when, n_locals) = (rule.location.file, &rule.when, rule.n_locals);
        let condition = explain_condition(program, file, when, n_locals, &value, now, &values.values).into();
        let state = qlp_compiler::state::values_read(program, &rule.reads, &prepared, &values)
            .map(|(_, def, touch, value)| {
                let shown = qlp_compiler::explain::show(program, &value, &def.read_type());
                format!(
                    "{} `{}` for key `{}` is {shown}",
                    def.kind.as_str(),
                    def.name,
                    touch.key.key
                )
            })
            .collect();
        let evidence = keyword_evidence(program, file, when, n_locals, &value, now, &values.values);
        let mut keywords: Vec<String> = evidence
            .hits
            .iter()
            .map(|hit| {
                format!(
                    "keyword `{}` from `{}` matched {:?} in {} at bytes {}..{}",
                    hit.keyword, hit.set, hit.matched, hit.field, hit.start, hit.end
                )
            })
            .collect();
        for (field, count) in &evidence.omitted {
            keywords.push(format!("... and {count} more keyword match(es) in {field}"));
        }
        rules.push(RuleExplanation {
            rule: rule.name.clone(),
            campaign: rule.campaign.and_then(|c| program.campaign(c)).map(|c| c.name.clone()),
            status,
            exempted_by,
            condition,
            state,
            keywords,
        });
    }
    Ok(RecordExplanation {
        now: format_time(now),
        verdict: outcome
            .verdict(program)
            .map_or("allow", qlp_grammar::ast::ActionKind::as_str)
            .to_string(),
        rules,
    })
}

fn print_explanation(explanation: &Condition, depth: usize) {
    println!("{}{}  => {}", "  ".repeat(depth), explanation.source, explanation.value);
    for child in &explanation.children {
        print_explanation(child, depth + 1);
    }
}
