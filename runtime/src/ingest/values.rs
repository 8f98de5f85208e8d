//! Values that are not plain JSON values of their type: JSON errors said
//! as problems of a record, defaults as JSON, numbers given for times.

use qlp_compiler::program::Program;
use qlp_compiler::Type;

/// serde_json's message, said as a problem with the record: a record is
/// one line, so its position is a column (in characters, from 1) of that
/// line, not serde's "line 1".
pub(super) fn json_message(error: &serde_json::Error, json: &[u8]) -> String {
    let text = error.to_string();
    let text = match text.rsplit_once(" at line ") {
        Some((message, _)) => message,
        None => &text,
    };
    let line = json.trim_ascii_end();
    // serde counts bytes; past the end (a newline was read) is the end.
    let ended = error.classify() == serde_json::error::Category::Eof;
    let byte = if error.line() > 1 || ended {
        line.len()
    } else {
        error.column().saturating_sub(1).min(line.len())
    };
    let column = line
        .get(..byte)
        .map_or(byte, |before| String::from_utf8_lossy(before).chars().count())
        + 1;
    match error.classify() {
        serde_json::error::Category::Eof => format!("invalid JSON: the record ends early, at column {column}"),
        serde_json::error::Category::Syntax => format!("invalid JSON at column {column}: {text}"),
        _ => text.to_string(),
    }
}

/// A value of type `ty` as the JSON a record would carry (an absent
/// optional as `null`): how ingestion decodes schema defaults (so they need
/// no second decoder), and how `qlp schema` shows them.
pub fn value_json(program: &Program, ty: &Type, value: &qlp_compiler::Value) -> serde_json::Value {
    use qlp_compiler::Value;
    use serde_json::Value as Json;
    let ty = ty.strip_optional();
    match value {
        Value::Absent => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.to_string()),
        Value::Time(t) => Json::String(qlp_grammar::time::format_time(*t)),
        Value::Duration(d) => Json::String(qlp_grammar::time::format_duration(*d)),
        Value::Enum(index) => match ty {
            Type::Enum(id) => program
                .enum_def(*id)
                .and_then(|e| e.variants.get(*index as usize))
                .map_or(Json::Null, |v| Json::String(v.clone())),
            _ => Json::Null,
        },
        Value::List(items) => {
            let element = match ty {
                Type::List(element) => element.as_ref(),
                other => other,
            };
            Json::Array(items.iter().map(|v| value_json(program, element, v)).collect())
        }
        Value::Record(fields) => match ty {
            Type::Record(id) => {
                let Some(def) = program.record(*id) else {
                    return Json::Null;
                };
                let object = def
                    .fields
                    .iter()
                    .zip(fields.iter())
                    .map(|(f, v)| (f.name.clone(), value_json(program, &f.ty, v)))
                    .collect();
                Json::Object(object)
            }
            _ => Json::Null,
        },
    }
}

/// Seconds below this are epoch seconds, above it epoch milliseconds: 10^11
/// seconds is the year 5138, 10^11 milliseconds 1973-03-03.
const EPOCH_MILLIS_FROM: i64 = 100_000_000_000;

/// A number given for a `time`: epoch seconds or milliseconds, told apart
/// by size (see [`EPOCH_MILLIS_FROM`]).
pub(super) fn epoch_micros(seconds_or_millis: f64) -> Result<i64, String> {
    let magnitude = seconds_or_millis.abs();
    let micros = if magnitude < EPOCH_MILLIS_FROM as f64 {
        seconds_or_millis * 1e6
    } else if magnitude < EPOCH_MILLIS_FROM as f64 * 1000.0 {
        seconds_or_millis * 1e3
    } else {
        return Err(format!(
            "{seconds_or_millis} is too large for epoch seconds or milliseconds (give an RFC 3339 time)"
        ));
    };
    Ok(micros.round() as i64)
}

/// How a JSON value becomes the word stored in a slot of type `ty`, for
/// both ways of decoding a record (so they cannot differ): `None` when `ty`
/// takes no value of that kind (a mismatch), `Err` with the problem when
/// the value does not fit it.
pub(super) type Word = Option<Result<u64, String>>;

/// A JSON integer that fits an `i64`.
#[inline]
pub(super) fn int_word(ty: &Type, v: i64) -> Word {
    match ty {
        Type::Int => Some(Ok(v as u64)),
        Type::Float => Some(Ok((v as f64).to_bits())),
        Type::Time => float_word(ty, v as f64),
        _ => None,
    }
}

/// A JSON integer read as a `u64` (a positive one).
#[inline]
pub(super) fn uint_word(ty: &Type, v: u64) -> Word {
    match (ty, i64::try_from(v)) {
        (Type::Int | Type::Time, Ok(v)) => int_word(ty, v),
        (Type::Int, Err(_)) => Some(Err(format!("{v} does not fit a 64-bit `int`"))),
        (Type::Float | Type::Time, _) => float_word(ty, v as f64),
        _ => None,
    }
}

/// A JSON number with a fraction or an exponent.
#[inline]
pub(super) fn float_word(ty: &Type, v: f64) -> Word {
    match ty {
        Type::Float => Some(Ok(v.to_bits())),
        Type::Int => Some(Err(format!("expected an integer, found {v}"))),
        Type::Time => Some(epoch_micros(v).map(|micros| micros as u64)),
        _ => None,
    }
}

/// A JSON string in a slot other than a `string`'s (whose text goes to the
/// row's arena): a time, a duration or an enum variant.
#[inline]
pub(super) fn text_word(program: &Program, ty: &Type, v: &str) -> Word {
    match ty {
        Type::Time => Some(qlp_grammar::time::parse_time_in(v, &program.zone).map(|micros| micros as u64)),
        Type::Duration => Some(qlp_grammar::time::parse_duration(v).map(|micros| micros as u64)),
        Type::Enum(id) => {
            let def = program.enum_def(*id);
            Some(match def.and_then(|e| e.variants.iter().position(|name| name == v)) {
                Some(index) => Ok(index as u64),
                None => {
                    let variants = def.map(|e| e.variants.join(", ")).unwrap_or_default();
                    let name = ty.display(program);
                    let shown: String = v.chars().take(64).collect();
                    Err(format!("`{shown}` is not a `{name}` (one of: {variants})"))
                }
            })
        }
        _ => None,
    }
}
