//! What a backtest measures: for each label column, a confusion matrix per
//! rule, per campaign and overall, with examples of its mistakes; and, with
//! a baseline, which decisions a change of the policies changes.

use std::collections::{BTreeMap, HashMap};

use qlp_compiler::program::{Program, RecordId};
use qlp_compiler::Type;
use qlp_runtime::Decision;

use super::labels::{Labels, Scope};

/// Whole counts of one row against one label column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Confusion {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
}

impl Confusion {
    fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.true_positives += 1,
            (true, false) => self.false_positives += 1,
            (false, true) => self.false_negatives += 1,
            (false, false) => self.true_negatives += 1,
        }
    }

    /// Of the records flagged, the share labelled positive (`None`: none flagged).
    pub fn precision(&self) -> Option<f64> {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }

    /// Of the records labelled positive, the share flagged (`None`: none labelled positive).
    pub fn recall(&self) -> Option<f64> {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }

    /// The harmonic mean of precision and recall (`None` when either is).
    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        Some(if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 })
    }
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A record shown as an example of a mistake or a change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sample {
    pub id: Option<String>,
    /// Its line in the records file.
    pub line: usize,
    /// The rules of the row that fired on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// What those rules found: keywords and state values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The record's texts, shortened.
    pub text: String,
}

/// What a row of a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    Overall,
    Campaign,
    Rule,
}

/// One rule, campaign or the whole set, against one label column.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub kind: RowKind,
    pub name: String,
    /// Records it flagged, labelled or not.
    pub fired: usize,
    #[serde(flatten)]
    pub confusion: Confusion,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub false_positive_examples: Vec<Sample>,
    pub false_negative_examples: Vec<Sample>,
    /// Which rules (by index) it covers.
    #[serde(skip)]
    rules: Vec<bool>,
}

/// The rows measured against one label column.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Target {
    pub column: String,
    pub scope: Scope,
    /// Records labelled positive and negative in this column.
    pub positives: usize,
    pub negatives: usize,
    /// Records evaluated without a label in this column.
    pub unlabelled: usize,
    pub rows: Vec<Row>,
}

/// Everything a backtest reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub policies: String,
    pub records_file: String,
    /// Records evaluated.
    pub records: usize,
    /// Lines rejected (not valid records).
    pub rejected: usize,
    /// Evaluated records with no label in any column.
    pub unlabelled: usize,
    /// Labels whose id matched no evaluated record.
    pub labels_without_record: usize,
    /// When records were evaluated: `each record's `created_at`` or a time.
    pub as_of: String,
    pub all_active: bool,
    /// Verdicts over every evaluated record.
    pub verdicts: BTreeMap<String, usize>,
    pub targets: Vec<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<super::compare::Comparison>,
}

/// Builds a report record by record, as decisions arrive.
pub struct Builder<'a> {
    program: &'a Program,
    record: RecordId,
    labels: Option<&'a Labels>,
    rule_index: HashMap<&'a str, usize>,
    samples: usize,
    pub report: Report,
    matched_labels: usize,
}

impl<'a> Builder<'a> {
    pub fn new(
        program: &'a Program,
        record: RecordId,
        labels: Option<&'a Labels>,
        samples: usize,
        report: Report,
    ) -> Self {
        let mut report = report;
        let runs = |index: usize| {
            program
                .rules
                .get(index)
                .is_some_and(|r| r.record == record && r.selected)
        };
        let rule_row = |index: usize, name: &str| Row::new(RowKind::Rule, name, program.rules.len(), |i| i == index);
        let campaign_rows = |name: &str| {
            let mut rows = vec![Row::new(RowKind::Campaign, name, program.rules.len(), |i| {
                runs(i) && campaign_of(program, i) == Some(name)
            })];
            rows.extend(
                program
                    .rules
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| runs(*i) && campaign_of(program, *i) == Some(name))
                    .map(|(i, rule)| rule_row(i, &rule.name)),
            );
            rows
        };
        if let Some(labels) = labels {
            for column in &labels.columns {
                let rows = match &column.scope {
                    Scope::Any => {
                        let mut rows = vec![Row::new(RowKind::Overall, "all rules", program.rules.len(), runs)];
                        for campaign in &program.campaigns {
                            let has_rules = (0..program.rules.len())
                                .any(|i| runs(i) && campaign_of(program, i) == Some(campaign.name.as_str()));
                            if has_rules {
                                rows.extend(campaign_rows(&campaign.name));
                            }
                        }
                        rows.extend(
                            program
                                .rules
                                .iter()
                                .enumerate()
                                .filter(|(i, _)| runs(*i) && campaign_of(program, *i).is_none())
                                .map(|(i, rule)| rule_row(i, &rule.name)),
                        );
                        rows
                    }
                    Scope::Campaign(name) => campaign_rows(name),
                    Scope::Rule(name) => program
                        .rules
                        .iter()
                        .position(|r| r.name == *name)
                        .map(|i| vec![rule_row(i, name)])
                        .unwrap_or_default(),
                };
                report.targets.push(Target {
                    column: column.name.clone(),
                    scope: column.scope.clone(),
                    positives: 0,
                    negatives: 0,
                    unlabelled: 0,
                    rows,
                });
            }
        }
        Builder {
            program,
            record,
            labels,
            rule_index: program
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| (r.name.as_str(), i))
                .collect(),
            samples,
            report,
            matched_labels: 0,
        }
    }

    /// Adds one decided record.
    pub fn add(&mut self, line: usize, id: Option<&str>, decision: &Decision, input: Option<&[u8]>) {
        let report = &mut self.report;
        report.records += 1;
        *report.verdicts.entry(decision.verdict.to_string()).or_default() += 1;
        let fired: Vec<usize> = decision
            .fired
            .iter()
            .filter_map(|f| self.rule_index.get(f.rule.as_str()).copied())
            .collect();
        let labels = id.and_then(|id| self.labels.and_then(|l| l.by_id.get(id)));
        if labels.is_some() {
            self.matched_labels += 1;
        } else {
            report.unlabelled += 1;
        }
        for (column, target) in report.targets.iter_mut().enumerate() {
            let actual = labels.and_then(|l| l.get(column).copied().flatten());
            match actual {
                Some(true) => target.positives += 1,
                Some(false) => target.negatives += 1,
                None => target.unlabelled += 1,
            }
            for row in &mut target.rows {
                let predicted = fired.iter().any(|&r| row.rules.get(r).copied().unwrap_or(false));
                row.fired += usize::from(predicted);
                let Some(actual) = actual else { continue };
                row.confusion.add(predicted, actual);
                let examples = match (predicted, actual) {
                    (true, false) => &mut row.false_positive_examples,
                    (false, true) => &mut row.false_negative_examples,
                    _ => continue,
                };
                if examples.len() < self.samples {
                    let text = input
                        .map(|json| texts(self.program, self.record, json))
                        .unwrap_or_default();
                    examples.push(sample(line, id, decision, &row.rules, &self.rule_index, text));
                }
            }
        }
    }

    /// The finished report.
    pub fn finish(mut self) -> Report {
        let labelled = self.labels.map_or(0, |l| l.by_id.len());
        self.report.labels_without_record = labelled.saturating_sub(self.matched_labels);
        for row in self.report.targets.iter_mut().flat_map(|t| t.rows.iter_mut()) {
            row.precision = row.confusion.precision();
            row.recall = row.confusion.recall();
            row.f1 = row.confusion.f1();
        }
        self.report
    }
}

impl Row {
    fn new(kind: RowKind, name: &str, rules: usize, covers: impl Fn(usize) -> bool) -> Row {
        Row {
            kind,
            name: name.to_string(),
            fired: 0,
            confusion: Confusion::default(),
            precision: None,
            recall: None,
            f1: None,
            false_positive_examples: Vec::new(),
            false_negative_examples: Vec::new(),
            rules: (0..rules).map(covers).collect(),
        }
    }
}

fn campaign_of(program: &Program, rule: usize) -> Option<&str> {
    let campaign = program.rules.get(rule)?.campaign?;
    program.campaign(campaign).map(|c| c.name.as_str())
}

/// An example record: the fired rules among `covered` (all, when empty),
/// their evidence, and the record's texts.
pub fn sample(
    line: usize,
    id: Option<&str>,
    decision: &Decision,
    covered: &[bool],
    rule_index: &HashMap<&str, usize>,
    text: String,
) -> Sample {
    let mut rules = Vec::new();
    let mut evidence = Vec::new();
    for fired in &decision.fired {
        let index = rule_index.get(fired.rule.as_str()).copied();
        if !covered.is_empty() && !index.is_some_and(|i| covered.get(i).copied().unwrap_or(false)) {
            continue;
        }
        rules.push(fired.rule.clone());
        for hit in &fired.evidence {
            evidence.push(format!(
                "{} has “{}” ({}: {})",
                hit.field, hit.matched, hit.keyword_set, hit.keyword
            ));
        }
        for state in &fired.state {
            evidence.push(format!("{}({}) = {}", state.name, state.key, state.value));
        }
    }
    evidence.dedup();
    Sample {
        id: id.map(str::to_string),
        line,
        rules,
        evidence,
        text,
    }
}

/// The longest text shown for an example.
const TEXT_CHARS: usize = 240;

/// The texts of a JSON record of type `record` (the values of its `string`
/// fields, nested records' and lists' included, ids aside), joined and
/// shortened: enough for a reviewer to see what the record says.
pub fn texts(program: &Program, record: RecordId, json: &[u8]) -> String {
    fn walk(program: &Program, ty: &Type, value: &serde_json::Value, out: &mut Vec<String>) {
        match (ty, value) {
            (Type::Optional(inner), value) => walk(program, inner, value, out),
            (Type::String, serde_json::Value::String(text)) if !text.trim().is_empty() => out.push(text.clone()),
            (Type::List(element), serde_json::Value::Array(items)) => {
                items.iter().for_each(|item| walk(program, element, item, out));
            }
            (Type::Record(id), serde_json::Value::Object(map)) => {
                let Some(def) = program.record(*id) else { return };
                for field in def.fields.iter().filter(|f| f.name != "id") {
                    if let Some(value) = map.get(&field.name) {
                        walk(program, &field.ty, value, out);
                    }
                }
            }
            _ => {}
        }
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return String::new();
    };
    let mut parts = Vec::new();
    walk(program, &Type::Record(record), &value, &mut parts);
    let joined = parts.join(" · ");
    match joined.char_indices().nth(TEXT_CHARS) {
        Some((at, _)) => format!("{}…", joined.get(..at).unwrap_or_default()),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::Confusion;

    #[test]
    fn metrics_are_undefined_without_their_denominator() {
        let none = Confusion::default();
        assert_eq!((none.precision(), none.recall(), none.f1()), (None, None, None));
        let some = Confusion {
            true_positives: 3,
            false_positives: 1,
            false_negatives: 3,
            true_negatives: 10,
        };
        assert_eq!(some.precision(), Some(0.75));
        assert_eq!(some.recall(), Some(0.5));
        assert_eq!(some.f1(), Some(0.6));
    }
}
