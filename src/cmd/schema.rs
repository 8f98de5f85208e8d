//! `qlp schema`: what records the policies expect — a template record, a
//! JSON Schema of the record types, and a check that a file of records
//! conforms (every problem of every record, as `qlp eval` would see them).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use qlp_compiler::program::{Program, RecordId};
use qlp_compiler::Type;
use serde_json::{json, Value as Json};

use crate::cmd::{load_policies_in, record_type};

#[derive(clap::Args)]
pub struct SchemaArgs {
    /// The policy directory (or file).
    #[arg(long, short = 'p')]
    pub policies: PathBuf,
    /// The record type (default: the only type rules apply to).
    #[arg(long = "type", short = 't')]
    pub record_type: Option<String>,
    /// `template` (a record with every field, defaults filled in) or
    /// `json-schema` (JSON Schema 2020-12 of the record type).
    #[arg(long, default_value = "template", value_parser = ["template", "json-schema"])]
    pub format: String,
    /// Instead, check that every record (line) of this JSONL file conforms:
    /// every problem of every record, and fields the schema does not declare.
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
    /// With `--check`: a field the schema does not declare is an error.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let workspace = crate::config::Workspace::open(std::slice::from_ref(&args.policies), None)?;
    let Some(set) = load_policies_in(
        &workspace,
        &args.policies,
        qlp_compiler::Engine::Interp,
        &Default::default(),
    )?
    else {
        return Ok(ExitCode::from(1));
    };
    let record = record_type(&set, args.record_type.as_deref())?;
    let program = set.program();
    if let Some(path) = &args.check {
        return check(&set, record, path, args.strict);
    }
    let out = match args.format.as_str() {
        "json-schema" => json_schema(program, record),
        _ => template(program, &Type::Record(record)),
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// Checks each line of `path`; exit 1 when any record has a problem.
fn check(
    set: &qlp_runtime::PolicySet,
    record: RecordId,
    path: &std::path::Path,
    strict: bool,
) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let mut reader = BufReader::new(file);
    let (mut good, mut bad, mut warned) = (0usize, 0usize, 0usize);
    let mut line = Vec::new();
    let mut number = 0usize;
    let limit = crate::cmd::eval::DEFAULT_MAX_RECORD_BYTES;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(limit + 2)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        if read == 0 {
            break;
        }
        number += 1;
        if !line.ends_with(b"\n") && read as u64 > limit {
            anyhow::bail!("{}:{number}: the record is longer than {limit} bytes", path.display());
        }
        let bytes = match number {
            1 => crate::cmd::eval::input::without_bom(&line),
            _ => &line,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut warnings = Vec::new();
        match set.ingest_checked(record, bytes, strict, &mut warnings) {
            Ok(_) => good += 1,
            Err(error) => {
                bad += 1;
                for problem in &error.problems {
                    println!("{}:{number}: error: {problem}", path.display());
                }
                if error.more > 0 {
                    println!("{}:{number}: error: ... and {} more", path.display(), error.more);
                }
            }
        }
        warned += usize::from(!warnings.is_empty());
        for warning in &warnings {
            println!("{}:{number}: warning: {warning}", path.display());
        }
    }
    eprintln!("{good} record(s) conform, {bad} do not; {warned} with fields the schema does not declare");
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

use std::io::Read as _;

/// A record with every field: its default, or a value of its type.
fn template(program: &Program, ty: &Type) -> Json {
    match ty {
        Type::Bool => Json::Bool(false),
        Type::Int => json!(0),
        Type::Float => json!(0.0),
        Type::String => json!(""),
        Type::Time => json!("2022-01-01T00:00:00+08:00"),
        Type::Duration => json!("1h"),
        Type::Enum(id) => program
            .enum_def(*id)
            .and_then(|e| e.variants.first())
            .map_or(Json::Null, |v| json!(v)),
        // A list of records shows one element's fields; other lists are empty.
        Type::List(element) => match element.as_ref() {
            Type::Record(_) => Json::Array(vec![template(program, element)]),
            _ => Json::Array(Vec::new()),
        },
        Type::Optional(_) | Type::Error => Json::Null,
        Type::Record(id) => {
            let Some(def) = program.record(*id) else {
                return Json::Null;
            };
            let fields = def
                .fields
                .iter()
                .map(|f| {
                    let value = match &f.default {
                        Some(default) => qlp_runtime::ingest::value_json(program, &f.ty, default),
                        None => template(program, &f.ty),
                    };
                    (f.name.clone(), value)
                })
                .collect();
            Json::Object(fields)
        }
    }
}

/// JSON Schema (2020-12) of record type `record` and the records it contains.
fn json_schema(program: &Program, record: RecordId) -> Json {
    let mut defs = BTreeMap::new();
    let mut pending = vec![record];
    while let Some(id) = pending.pop() {
        let Some(def) = program.record(id) else { continue };
        if defs.contains_key(&def.name) {
            continue;
        }
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for field in &def.fields {
            let mut schema = type_schema(program, &field.ty, &mut pending);
            if let (Some(default), Json::Object(map)) = (&field.default, &mut schema) {
                map.insert(
                    "default".into(),
                    qlp_runtime::ingest::value_json(program, &field.ty, default),
                );
            }
            if field.default.is_none() && !matches!(field.ty, Type::Optional(_)) {
                required.push(json!(field.name));
            }
            properties.insert(field.name.clone(), schema);
        }
        defs.insert(
            def.name.clone(),
            json!({
                "type": "object",
                "properties": properties,
                "required": required,
            }),
        );
    }
    let name = program.record(record).map_or("", |r| r.name.as_str());
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("qlp record `{name}`"),
        "description": "Fields the schema does not declare are ignored with a warning (`--strict` refuses them). Times: RFC 3339 (with `Z`, `+08:00` or `+0800`), a date, or epoch seconds/milliseconds; see docs/records.md.",
        "$ref": format!("#/$defs/{name}"),
        "$defs": defs,
    })
}

fn type_schema(program: &Program, ty: &Type, pending: &mut Vec<RecordId>) -> Json {
    match ty {
        Type::Bool => json!({"type": "boolean"}),
        Type::Int => json!({"type": "integer"}),
        Type::Float => json!({"type": "number"}),
        Type::String => json!({"type": "string"}),
        Type::Time => json!({"anyOf": [
            {"type": "string", "format": "date-time"},
            {"type": "string", "format": "date"},
            {"type": "number", "description": "epoch seconds (below 10^11) or milliseconds"}
        ]}),
        Type::Duration => json!({"type": "string", "pattern": "^([0-9]+(us|ms|s|m|h|d|w))+$"}),
        Type::Enum(id) => json!({"enum": program.enum_def(*id).map(|e| e.variants.clone()).unwrap_or_default()}),
        Type::List(element) => json!({"type": "array", "items": type_schema(program, element, pending)}),
        Type::Optional(inner) => json!({"anyOf": [type_schema(program, inner, pending), {"type": "null"}]}),
        Type::Record(id) => {
            pending.push(*id);
            let name = program.record(*id).map_or("", |r| r.name.as_str());
            json!({"$ref": format!("#/$defs/{name}")})
        }
        Type::Error => json!({}),
    }
}
