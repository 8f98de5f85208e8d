//! A backtest report as a readable table and as a self-contained HTML page.

use std::fmt::Write as _;

use super::compare::Comparison;
use super::report::{Report, Row, RowKind, Sample, Target};

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| String::from("–"), |v| format!("{:.1}%", v * 100.0))
}

fn score(value: Option<f64>) -> String {
    value.map_or_else(|| String::from("–"), |v| format!("{v:.3}"))
}

/// Rows worth a line: the whole set, and campaigns and rules that fired.
fn shown(row: &Row) -> bool {
    row.kind == RowKind::Overall || row.fired > 0
}

fn row_label(row: &Row) -> String {
    match row.kind {
        RowKind::Overall => row.name.clone(),
        RowKind::Campaign => format!("campaign {}", row.name),
        RowKind::Rule => format!("  {}", row.name),
    }
}

fn header(report: &Report) -> String {
    let mut out = String::new();
    let active = if report.all_active {
        " (every campaign active)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "backtest of `{}` on `{}`, as of {}{active}",
        report.policies, report.records_file, report.as_of
    );
    let _ = writeln!(
        out,
        "records:  {} evaluated, {} rejected; {} without a label; {} label(s) matched no record",
        report.records, report.rejected, report.unlabelled, report.labels_without_record
    );
    let verdicts: Vec<String> = report.verdicts.iter().map(|(v, n)| format!("{v} {n}")).collect();
    let _ = writeln!(out, "verdicts: {}", verdicts.join(", "));
    out
}

/// The report as text for a terminal.
pub fn table(report: &Report) -> String {
    let mut out = header(report);
    for target in &report.targets {
        target_table(&mut out, target);
    }
    if let Some(comparison) = &report.comparison {
        comparison_table(&mut out, comparison);
    }
    out
}

fn target_table(out: &mut String, target: &Target) {
    let _ = writeln!(
        out,
        "\nlabel `{}` ({}): {} positive, {} negative, {} unlabelled",
        target.column, target.scope, target.positives, target.negatives, target.unlabelled
    );
    let width = target
        .rows
        .iter()
        .filter(|r| shown(r))
        .map(|r| row_label(r).chars().count())
        .max()
        .unwrap_or(10)
        .max(10);
    let _ = writeln!(
        out,
        "{:width$}  {:>7} {:>6} {:>6} {:>6} {:>10} {:>7} {:>6}",
        "", "fired", "TP", "FP", "FN", "precision", "recall", "F1"
    );
    for row in target.rows.iter().filter(|r| shown(r)) {
        let c = &row.confusion;
        let _ = writeln!(
            out,
            "{:width$}  {:>7} {:>6} {:>6} {:>6} {:>10} {:>7} {:>6}",
            row_label(row),
            row.fired,
            c.true_positives,
            c.false_positives,
            c.false_negatives,
            percent(row.precision),
            percent(row.recall),
            score(row.f1)
        );
    }
    let silent_rules = target
        .rows
        .iter()
        .filter(|r| r.kind == RowKind::Rule && r.fired == 0)
        .count();
    if silent_rules > 0 {
        let _ = writeln!(
            out,
            "({silent_rules} rule(s) fired on no record and are not listed; `--format json` has every row)"
        );
    }
    for (title, samples) in example_lists(target) {
        examples(out, &title, samples);
    }
}

/// The examples a report shows for a label column: the false positives of
/// the whole set and of each rule (a campaign's are its rules'), and the
/// false negatives of the whole set (or of the one row a column has).
fn example_lists(target: &Target) -> Vec<(String, &[Sample])> {
    let mut lists = Vec::new();
    for row in target.rows.iter().filter(|r| r.kind != RowKind::Campaign) {
        lists.push((
            format!("false positives of {}", row.name),
            row.false_positive_examples.as_slice(),
        ));
        if row.kind == RowKind::Overall || target.rows.len() == 1 {
            lists.push((
                format!("false negatives of {}", row.name),
                row.false_negative_examples.as_slice(),
            ));
        }
    }
    lists
}

fn examples(out: &mut String, title: &str, samples: &[Sample]) {
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title} (first {}):", samples.len());
    for sample in samples {
        let id = sample.id.as_deref().unwrap_or("(no id)");
        let _ = writeln!(out, "  line {} `{id}`: {}", sample.line, sample.text);
        if !sample.rules.is_empty() {
            let _ = writeln!(out, "    fired: {}", sample.rules.join(", "));
        }
        for evidence in &sample.evidence {
            let _ = writeln!(out, "    {evidence}");
        }
    }
}

fn comparison_table(out: &mut String, comparison: &Comparison) {
    let _ = writeln!(
        out,
        "\ncompared with `{}`: {} record(s) decided by both, {} changed",
        comparison.baseline, comparison.compared, comparison.changed
    );
    if !comparison.verdict_changes.is_empty() {
        let changes: Vec<String> = comparison
            .verdict_changes
            .iter()
            .map(|c| format!("{} → {} {}", c.from, c.to, c.records))
            .collect();
        let _ = writeln!(out, "verdicts: {}", changes.join(", "));
    }
    for (title, changes) in [("campaign", &comparison.campaigns), ("rule", &comparison.rules)] {
        if changes.is_empty() {
            continue;
        }
        let width = changes.iter().map(|r| r.rule.chars().count()).max().unwrap_or(8).max(8);
        let _ = writeln!(
            out,
            "{title:width$}  {:>8} {:>8} {:>8} {:>8}",
            "before", "after", "started", "stopped"
        );
        for change in changes {
            let _ = writeln!(
                out,
                "{:width$}  {:>8} {:>8} {:>8} {:>8}",
                change.rule, change.baseline_fired, change.fired, change.started, change.stopped
            );
        }
    }
    for change in &comparison.verdict_changes {
        examples(out, &format!("{} → {}", change.from, change.to), &change.examples);
    }
    for rule in &comparison.rules {
        examples(out, &format!("{} now fires on", rule.rule), &rule.started_examples);
        examples(
            out,
            &format!("{} no longer fires on", rule.rule),
            &rule.stopped_examples,
        );
    }
    if !comparison.baseline_targets.is_empty() {
        let _ = writeln!(out, "\nthe baseline `{}` against the same labels:", comparison.baseline);
    }
    for target in &comparison.baseline_targets {
        target_table(out, target);
    }
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:70em}\
table{border-collapse:collapse;margin:1em 0}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:right}\
td:first-child,th:first-child{text-align:left}tr.campaign td{font-weight:600;background:#f4f4f8}\
tr.overall td{font-weight:700}.sample{margin:.3em 0 .6em 1em}.evidence{color:#555;font-size:90%}\
.legend span{display:inline-block;width:1em;height:1em;vertical-align:middle;margin:0 .3em 0 1em}\
svg text{font-size:12px;font-family:system-ui,sans-serif}";

/// The report as one HTML page: no scripts, no files beside it.
pub fn html(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>qlp backtest: {}</title><style>{STYLE}</style></head><body>\n",
        escape(&report.policies)
    );
    let _ = write!(out, "<h1>qlp backtest</h1>\n<pre>{}</pre>\n", escape(&header(report)));
    for target in &report.targets {
        target_html(&mut out, target, "");
    }
    if let Some(comparison) = &report.comparison {
        comparison_html(&mut out, comparison);
    }
    out.push_str("</body></html>\n");
    out
}

fn comparison_html(out: &mut String, comparison: &Comparison) {
    let _ = write!(
        out,
        "<h2>Compared with <code>{}</code></h2>\n<p>{} record(s) decided by both, {} changed.</p>\n",
        escape(&comparison.baseline),
        comparison.compared,
        comparison.changed
    );
    if !comparison.verdict_changes.is_empty() {
        out.push_str("<table><tr><th>verdict before</th><th>after</th><th>records</th></tr>\n");
        for change in &comparison.verdict_changes {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&change.from),
                escape(&change.to),
                change.records
            );
        }
        out.push_str("</table>\n");
    }
    for (title, changes) in [("campaign", &comparison.campaigns), ("rule", &comparison.rules)] {
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<table><tr><th>{title}</th><th>fired before</th><th>after</th><th>started</th><th>stopped</th></tr>"
        );
        for change in changes {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&change.rule),
                change.baseline_fired,
                change.fired,
                change.started,
                change.stopped
            );
        }
        out.push_str("</table>\n");
    }
    for change in &comparison.verdict_changes {
        samples_html(out, &format!("{} → {}", change.from, change.to), &change.examples);
    }
    for rule in &comparison.rules {
        samples_html(out, &format!("{} now fires on", rule.rule), &rule.started_examples);
        samples_html(
            out,
            &format!("{} no longer fires on", rule.rule),
            &rule.stopped_examples,
        );
    }
    for target in &comparison.baseline_targets {
        target_html(out, target, "Baseline: ");
    }
}

fn target_html(out: &mut String, target: &Target, prefix: &str) {
    let _ = write!(
        out,
        "<h2>{prefix}Label <code>{}</code> ({})</h2>\n<p>{} positive, {} negative, {} unlabelled.</p>\n",
        escape(&target.column),
        escape(&target.scope.to_string()),
        target.positives,
        target.negatives,
        target.unlabelled
    );
    out.push_str("<table><tr><th></th><th>fired</th><th>TP</th><th>FP</th><th>FN</th><th>precision</th><th>recall</th><th>F1</th></tr>\n");
    for row in target.rows.iter().filter(|r| shown(r)) {
        let class = match row.kind {
            RowKind::Overall => "overall",
            RowKind::Campaign => "campaign",
            RowKind::Rule => "rule",
        };
        let c = &row.confusion;
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(row_label(row).trim()),
            row.fired,
            c.true_positives,
            c.false_positives,
            c.false_negatives,
            percent(row.precision),
            percent(row.recall),
            score(row.f1)
        );
    }
    out.push_str("</table>\n");
    chart(out, target);
    for (title, samples) in example_lists(target) {
        samples_html(out, &title, samples);
    }
}

/// Precision and recall of each row that fired, as pairs of bars.
fn chart(out: &mut String, target: &Target) {
    const BAR: f64 = 360.0;
    const LABEL: f64 = 260.0;
    let rows: Vec<&Row> = target.rows.iter().filter(|r| r.fired > 0).collect();
    if rows.is_empty() {
        return;
    }
    let height = rows.len() as f64 * 34.0 + 10.0;
    let _ = write!(
        out,
        "<p class=\"legend\">Precision and recall per rule:<span style=\"background:#3b6fb6\"></span>precision<span style=\"background:#e08a2c\"></span>recall</p>\n<svg role=\"img\" aria-label=\"precision and recall per rule\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\">\n",
        LABEL + BAR + 60.0
    );
    for (index, row) in rows.iter().enumerate() {
        let y = index as f64 * 34.0 + 5.0;
        let _ = writeln!(
            out,
            "<text x=\"0\" y=\"{}\">{}</text>",
            y + 17.0,
            escape(row_label(row).trim())
        );
        for (offset, value, color) in [(0.0, row.precision, "#3b6fb6"), (14.0, row.recall, "#e08a2c")] {
            let width = value.unwrap_or(0.0) * BAR;
            let _ = writeln!(
                out,
                "<rect x=\"{LABEL}\" y=\"{}\" width=\"{width:.1}\" height=\"12\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\">{}</text>",
                y + offset,
                LABEL + width + 4.0,
                y + offset + 10.0,
                percent(value)
            );
        }
    }
    out.push_str("</svg>\n");
}

fn samples_html(out: &mut String, title: &str, samples: &[Sample]) {
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "<details><summary>{} ({})</summary>", escape(title), samples.len());
    for sample in samples {
        let _ = write!(
            out,
            "<div class=\"sample\">line {} <code>{}</code>: {}",
            sample.line,
            escape(sample.id.as_deref().unwrap_or("(no id)")),
            escape(&sample.text)
        );
        if !sample.rules.is_empty() {
            let _ = write!(
                out,
                "<div class=\"evidence\">fired: {}</div>",
                escape(&sample.rules.join(", "))
            );
        }
        for evidence in &sample.evidence {
            let _ = write!(out, "<div class=\"evidence\">{}</div>", escape(evidence));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</details>\n");
}
