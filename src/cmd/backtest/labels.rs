//! The labels a backtest measures against: a JSONL or CSV file of record
//! ids and one or more label columns, each mapped to what it labels.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};
use qlp_compiler::program::Program;

/// What a label column says is right: that some rule of this scope fires.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Scope {
    /// Any rule (the record is flagged at all).
    Any,
    /// A rule of this campaign.
    Campaign(String),
    /// This rule.
    Rule(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Any => f.write_str("any rule"),
            Scope::Campaign(name) => write!(f, "campaign `{name}`"),
            Scope::Rule(name) => write!(f, "rule `{name}`"),
        }
    }
}

/// A label column and what it labels.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub scope: Scope,
}

/// The labels of a file: for each record id, one value per column (`None`:
/// this record is not labelled in that column).
#[derive(Debug)]
pub struct Labels {
    pub columns: Vec<Column>,
    pub by_id: HashMap<String, Vec<Option<bool>>>,
}

/// The largest labels file read.
const LABELS_BYTES: u64 = 1 << 30;

impl Labels {
    /// Reads `path` (CSV when it ends in `.csv`, JSON Lines otherwise),
    /// with ids in column `id_column` and the columns `mapping` names
    /// (`COLUMN=any|campaign:NAME|rule:NAME|NAME`); without a mapping, every
    /// column named after a campaign or rule, and a column `label` (any rule).
    pub fn read(path: &Path, id_column: &str, mapping: &[String], program: &Program) -> anyhow::Result<Labels> {
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read the labels `{}`", path.display()))?
            .len();
        anyhow::ensure!(
            size <= LABELS_BYTES,
            "the labels `{}` are {size} bytes, more than the limit of {LABELS_BYTES}",
            path.display()
        );
        let rows = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
            read_csv(path)?
        } else {
            read_jsonl(path)?
        };
        let header: Vec<&str> = rows.header.iter().map(String::as_str).collect();
        let id_at = header.iter().position(|h| *h == id_column).with_context(|| {
            format!(
                "the labels `{}` have no id column `{id_column}` (columns: {}); name it with `--label-id`",
                path.display(),
                header.join(", ")
            )
        })?;
        let columns = columns(&header, id_column, mapping, program)?;
        let positions: Vec<usize> = columns
            .iter()
            .filter_map(|c| header.iter().position(|h| *h == c.name))
            .collect();
        let mut by_id = HashMap::with_capacity(rows.rows.len());
        for (line, row) in &rows.rows {
            let Some(id) = row.get(id_at).and_then(Option::as_deref) else {
                bail!("{}:{line}: the label has no `{id_column}`", path.display());
            };
            let mut values = Vec::with_capacity(positions.len());
            for (&at, column) in positions.iter().zip(&columns) {
                let value = row.get(at).and_then(Option::as_deref);
                values.push(truth(value).with_context(|| {
                    format!(
                        "{}:{line}: `{}` is {:?}: a label is 1/0, true/false or yes/no (empty: not labelled)",
                        path.display(),
                        column.name,
                        value.unwrap_or_default()
                    )
                })?);
            }
            if by_id.insert(id.to_string(), values).is_some() {
                bail!("{}:{line}: the id `{id}` is labelled twice", path.display());
            }
        }
        Ok(Labels { columns, by_id })
    }
}

/// A label's value: `None` when it is empty (not labelled).
fn truth(value: Option<&str>) -> Option<Option<bool>> {
    let value = value.map(str::trim).unwrap_or_default();
    match value.to_ascii_lowercase().as_str() {
        "" | "null" => Some(None),
        "1" | "true" | "yes" | "y" => Some(Some(true)),
        "0" | "false" | "no" | "n" => Some(Some(false)),
        _ => None,
    }
}

/// The label columns and their scopes.
fn columns(header: &[&str], id_column: &str, mapping: &[String], program: &Program) -> anyhow::Result<Vec<Column>> {
    let is_campaign = |name: &str| program.campaigns.iter().any(|c| c.name == name);
    let is_rule = |name: &str| program.rules.iter().any(|r| r.name == name);
    let mut columns = Vec::new();
    for entry in mapping {
        let Some((column, target)) = entry.split_once('=') else {
            bail!("`--label {entry}`: write `COLUMN=TARGET`, the target being `any`, `campaign:NAME` or `rule:NAME`");
        };
        anyhow::ensure!(
            header.contains(&column),
            "`--label {entry}`: the labels have no column `{column}` (columns: {})",
            header.join(", ")
        );
        let scope = match target.split_once(':') {
            None if target == "any" => Scope::Any,
            Some(("campaign", name)) if is_campaign(name) => Scope::Campaign(name.to_string()),
            Some(("rule", name)) if is_rule(name) => Scope::Rule(name.to_string()),
            None if is_campaign(target) => Scope::Campaign(target.to_string()),
            None if is_rule(target) => Scope::Rule(target.to_string()),
            _ => bail!("`--label {entry}`: `{target}` is not `any`, a campaign or a rule of the policies"),
        };
        columns.push(Column {
            name: column.to_string(),
            scope,
        });
    }
    if mapping.is_empty() {
        for &name in header.iter().filter(|h| **h != id_column) {
            let scope = if name == "label" {
                Scope::Any
            } else if is_campaign(name) {
                Scope::Campaign(name.to_string())
            } else if is_rule(name) {
                Scope::Rule(name.to_string())
            } else {
                continue;
            };
            columns.push(Column {
                name: name.to_string(),
                scope,
            });
        }
    }
    if columns.is_empty() {
        bail!(
            "no label column says what it labels (columns: {}): map one with `--label COLUMN=any` (or `campaign:NAME`, `rule:NAME`), or name a column `label` or after a campaign or rule",
            header.join(", ")
        );
    }
    Ok(columns)
}

/// A table read from a labels file: its header, then each row (with its
/// line number) as one optional text per header column.
struct Table {
    header: Vec<String>,
    rows: Vec<(usize, Vec<Option<String>>)>,
}

fn read_csv(path: &Path) -> anyhow::Result<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("cannot read the labels `{}`", path.display()))?;
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of `{}`", path.display()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("cannot read the labels `{}`", path.display()))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let values = record
            .iter()
            .map(|v| Some(v.to_string()).filter(|v| !v.is_empty()))
            .collect();
        rows.push((line, values));
    }
    Ok(Table { header, rows })
}

fn read_jsonl(path: &Path) -> anyhow::Result<Table> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the labels `{}`", path.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut header: Vec<String> = Vec::new();
    let mut objects = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: a label is a JSON object per line (`{{\"id\": \"c1\", \"label\": 1}}`)",
                path.display(),
                index + 1
            )
        })?;
        for key in object.keys() {
            if !header.contains(key) {
                header.push(key.clone());
            }
        }
        objects.push((index + 1, object));
    }
    let rows = objects
        .into_iter()
        .map(|(line, object)| {
            let values = header
                .iter()
                .map(|key| match object.get(key) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                })
                .collect();
            (line, values)
        })
        .collect();
    Ok(Table { header, rows })
}

#[cfg(test)]
mod tests {
    use super::truth;

    #[test]
    fn label_values_are_read_strictly() {
        assert_eq!(truth(Some("1")), Some(Some(true)));
        assert_eq!(truth(Some(" TRUE ")), Some(Some(true)));
        assert_eq!(truth(Some("no")), Some(Some(false)));
        assert_eq!(truth(Some("")), Some(None));
        assert_eq!(truth(None), Some(None));
        assert_eq!(truth(Some("2")), None);
        assert_eq!(truth(Some("rumour")), None);
    }
}
