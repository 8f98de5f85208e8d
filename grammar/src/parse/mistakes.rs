//! Mistakes policy authors make when they write what another language
//! accepts: `30days`, `1.5h`, `'text'`, `x.startsWith(..)`, `suspend(7)`,
//! an unquoted `reason:`. Each is recognized where pest stops, reported with
//! the fix, and repaired in place (same length, so every span stays right) so
//! that parsing goes on and one slip does not hide the rest of the
//! declaration or make later references to it fail.

use crate::diagnostic::Diagnostic;
use crate::source::FileId;
use crate::span::Span;
use crate::time::{format_duration, parse_duration, MICROS_PER_SECOND};

use super::{parse_error, Builder, InputLocation, Item, QlpParser, Rule};
use pest::Parser as _;

/// A recognized mistake: its diagnostic and the rewrite of `start..end` of
/// the declaration's text (same length) that lets parsing continue.
pub(super) struct Mistake {
    pub diagnostic: Diagnostic,
    pub repair: Option<(usize, String)>,
}

/// Recognizes a mistake at `pos`, where pest stopped in `text` (a
/// declaration at `offset` in its file).
fn recognize(text: &str, pos: usize, offset: usize, file: FileId) -> Option<Mistake> {
    let rest = text.get(pos..)?;
    let before = text.get(..pos)?;
    bad_duration(text, pos, offset, file)
        .or_else(|| duration_without_unit(before, rest, pos, offset, file))
        .or_else(|| single_quotes(rest, pos, offset, file))
        .or_else(|| method_call(text, pos, offset, file))
        .or_else(|| unquoted_text(before, rest, pos, offset, file))
}

fn error(code: &'static str, file: FileId, offset: usize, start: usize, end: usize, message: String) -> Diagnostic {
    Diagnostic::error(code, file, Span::new(offset + start, offset + end), message)
}

/// `replacement` padded with spaces to `len` bytes, if it fits.
fn padded(replacement: &str, len: usize) -> Option<String> {
    (replacement.len() <= len).then(|| format!("{replacement}{}", " ".repeat(len - replacement.len())))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The run of word characters and dots around `pos`.
fn token_around(text: &str, pos: usize) -> (usize, usize) {
    let start = text
        .get(..pos)
        .and_then(|t| t.char_indices().rev().find(|&(_, c)| !(is_word(c) || c == '.')))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text
        .get(pos..)
        .and_then(|t| t.char_indices().find(|&(_, c)| !(is_word(c) || c == '.')))
        .map_or(text.len(), |(i, _)| pos + i);
    (start, end)
}

/// The units people write, in qlp's spelling.
fn unit(word: &str) -> Option<&'static str> {
    Some(match word.to_lowercase().as_str() {
        "us" | "µs" | "usec" | "usecs" | "micros" | "microsecond" | "microseconds" => "us",
        "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        "d" | "day" | "days" => "d",
        "w" | "wk" | "wks" | "week" | "weeks" => "w",
        _ => return None,
    })
}

const DURATION_FORM: &str =
    "a duration is whole numbers, each followed by a unit (`us`, `ms`, `s`, `m`, `h`, `d`, `w`), largest first: `30d`, `1h30m`";

/// `30days`, `30D`, `1.5h`, `2hours`, `1y`: a number with a unit qlp does
/// not spell that way.
fn bad_duration(text: &str, pos: usize, offset: usize, file: FileId) -> Option<Mistake> {
    let (start, end) = token_around(text, pos);
    let token = text.get(start..end)?;
    let inside_time = text.get(..start).is_some_and(|t| t.ends_with(['-', ':', '+']));
    if !token.starts_with(|c: char| c.is_ascii_digit())
        || !token.contains(|c: char| c.is_alphabetic())
        || inside_time
        || parse_duration(token).is_ok()
        || token.parse::<f64>().is_ok()
    {
        return None;
    }
    let written = token.to_string();
    let diagnostic = |help: String| {
        error(
            "qlp::bad_duration",
            file,
            offset,
            start,
            end,
            format!("`{written}` is not a duration"),
        )
        .with_label("not a duration")
        .with_help(help)
    };
    let Some(micros) = duration_value(token) else {
        let help = if token.to_lowercase().contains(['y', 'o']) {
            format!("qlp has no months or years: count days, e.g. `30d` or `365d`; {DURATION_FORM}")
        } else {
            DURATION_FORM.to_string()
        };
        return Some(Mistake {
            diagnostic: diagnostic(help),
            repair: padded("1s", token.len()).map(|r| (start, r)),
        });
    };
    let fixed = format_duration(micros);
    let repair = padded(&fixed, token.len())
        .or_else(|| padded(&shortest_duration(micros), token.len()))
        .or_else(|| padded("1s", token.len()));
    Some(Mistake {
        diagnostic: diagnostic(format!("write `{fixed}`: {DURATION_FORM}"))
            .with_fix(Span::new(offset + start, offset + end), fixed.clone()),
        repair: repair.map(|r| (start, r)),
    })
}

/// The value of a duration written with other unit words or a fraction
/// (`1.5h`, `30days`, `2 hours` is not one token and is not handled).
fn duration_value(token: &str) -> Option<i64> {
    let mut total: f64 = 0.0;
    let mut rest = token;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_end);
        let amount: f64 = number.parse().ok()?;
        let unit_end = tail.find(|c: char| !c.is_alphabetic()).unwrap_or(tail.len());
        let (word, tail) = tail.split_at(unit_end);
        let micros = parse_duration(&format!("1{}", unit(word)?)).ok()?;
        total += amount * micros as f64;
        rest = tail;
    }
    let micros = total.round();
    (1.0..9.0e18).contains(&micros).then_some(micros as i64)
}

/// A duration in one unit when that is shorter: `90m` for `1h30m`.
fn shortest_duration(micros: i64) -> String {
    for (unit, scale) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        let scale = scale * MICROS_PER_SECOND;
        if micros % scale == 0 {
            return format!("{}{unit}", micros / scale);
        }
    }
    format_duration(micros)
}

/// `suspend(7)`, `tag(x, 30)`: a number where a duration is expected.
fn duration_without_unit(before: &str, rest: &str, pos: usize, offset: usize, file: FileId) -> Option<Mistake> {
    let trimmed = before.trim_end();
    let open_tag = before
        .rfind("tag(")
        .filter(|&at| !before.get(at..).is_some_and(|t| t.contains(')')));
    let (name, call_start) = if trimmed.ends_with("suspend(") {
        ("suspend", trimmed.len() - "suspend(".len())
    } else if trimmed.ends_with(',') && open_tag.is_some() {
        ("tag", open_tag?)
    } else {
        return None;
    };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let number = rest.get(..digits)?;
    let close = rest.find(')')?;
    let example = if name == "suspend" {
        format!("suspend({number}d)")
    } else {
        format!("tag(NAME, {number}d)")
    };
    let diagnostic = error(
        "qlp::bad_duration",
        file,
        offset,
        pos,
        pos + digits,
        format!("`{name}` takes a duration, found the number `{number}`"),
    )
    .with_label("a number without a unit")
    .with_help(format!(
        "write the unit, e.g. `{example}` for {number} days: {DURATION_FORM}"
    ))
    .with_fix(Span::new(offset + pos, offset + pos + digits), format!("{number}d"));
    // The whole action becomes `review`, so the rule keeps its `then:`.
    let span_len = pos + close + 1 - call_start;
    let repair = padded("review", span_len).map(|r| (call_start, r));
    Some(Mistake { diagnostic, repair })
}

/// `'text'`: strings are double-quoted.
fn single_quotes(rest: &str, pos: usize, offset: usize, file: FileId) -> Option<Mistake> {
    let line = rest.lines().next()?;
    let inner = line.strip_prefix('\'')?;
    let close = inner.find('\'')?;
    let content = inner.get(..close)?;
    let len = close + 2;
    let quoted = crate::print::quote(content);
    let diagnostic = error(
        "qlp::single_quotes",
        file,
        offset,
        pos,
        pos + len,
        String::from("strings are written in double quotes"),
    )
    .with_label("single quotes")
    .with_help(format!("write `{quoted}`"))
    .with_fix(Span::new(offset + pos, offset + pos + len), quoted.clone());
    let repair = format!("\"{}\"", content.replace(['"', '\\'], "'"));
    Some(Mistake {
        diagnostic,
        repair: Some((pos, repair)),
    })
}

/// A method from another language, the qlp function that does it, and what
/// it returns (a placeholder of that type keeps the rest type-checking).
const METHODS: &[(&[&str], &str, &str)] = &[
    (&["startswith", "hasprefix", "starts_with"], "starts_with", "true"),
    (&["endswith", "hassuffix", "ends_with"], "ends_with", "true"),
    (&["contains", "includes", "has"], "contains", "true"),
    (
        &["tolowercase", "tolower", "lower", "lowercase", "casefold"],
        "lower",
        "\"\"",
    ),
    (&["touppercase", "toupper", "upper", "uppercase"], "upper", "\"\""),
    (&["trim", "strip"], "trim", "\"\""),
    (&["length", "size", "len", "count"], "len", "0"),
    (&["toint", "parseint"], "to_int", "0"),
    (&["tofloat", "parsefloat"], "to_float", "0"),
];

/// The qlp function for a name another language gives it (`size`,
/// `startsWith`, `toLowerCase`), when qlp spells it differently.
pub fn function_named_elsewhere(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    METHODS
        .iter()
        .find(|(names, _, _)| names.contains(&lower.as_str()))
        .map(|(_, function, _)| *function)
        .filter(|function| *function != name)
}

/// `c.text.startsWith("x")`: qlp has functions, not methods.
fn method_call(text: &str, pos: usize, offset: usize, file: FileId) -> Option<Mistake> {
    let rest = text.get(pos..)?;
    if !rest.starts_with('(') {
        return None;
    }
    let (start, _) = token_around(text, pos);
    let chain = text.get(start..pos)?;
    let (receiver, method) = chain.rsplit_once('.')?;
    if receiver.is_empty() || method.is_empty() || receiver.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let close = pos + closing_paren(rest)?;
    let args = text.get(pos + 1..close)?.trim();
    let known = METHODS
        .iter()
        .find(|(names, _, _)| names.contains(&method.to_lowercase().as_str()));
    let (help, placeholder, call) = match known {
        Some((_, function, placeholder)) => {
            let call = if args.is_empty() {
                format!("{function}({receiver})")
            } else {
                format!("{function}({receiver}, {args})")
            };
            (format!("write `{call}`"), *placeholder, Some(call))
        }
        None => (
            String::from("call a built-in function with the value as its first argument, e.g. `starts_with(c.text, \"x\")`; `qlp explain --builtins` lists them"),
            "true",
            None,
        ),
    };
    let mut diagnostic = error(
        "qlp::method_call",
        file,
        offset,
        start,
        close + 1,
        format!("`.{method}(..)` is a method call; qlp has functions, not methods"),
    )
    .with_label("not a qlp call")
    .with_help(help);
    if let Some(call) = call {
        diagnostic.set_fix(Span::new(offset + start, offset + close + 1), call);
    }
    Some(Mistake {
        diagnostic,
        repair: padded(placeholder, close + 1 - start).map(|r| (start, r)),
    })
}

/// Where the `)` closing the `(` that `text` starts with is, outside strings.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            '\n' => return None,
            _ => {}
        }
    }
    None
}

/// `reason: spam offers` or `title: ...` without quotes.
fn unquoted_text(before: &str, rest: &str, pos: usize, offset: usize, file: FileId) -> Option<Mistake> {
    let trimmed = before.trim_end();
    let item = ["reason:", "title:"].into_iter().find(|item| {
        trimmed.ends_with(item)
            && !trimmed
                .get(..trimmed.len() - item.len())
                .is_some_and(|b| b.ends_with(|c: char| is_word(c)))
    })?;
    if rest.starts_with('"') || rest.starts_with('\'') {
        return None;
    }
    let line = rest.lines().next()?;
    let value = line.trim_end().trim_end_matches([',', '}']).trim_end();
    if value.is_empty() {
        return None;
    }
    let name = item.trim_end_matches(':');
    let diagnostic = error(
        "qlp::unquoted_text",
        file,
        offset,
        pos,
        pos + value.len(),
        format!("a `{name}` is text in double quotes"),
    )
    .with_label("not quoted")
    .with_help(format!("write `{item} {}`", crate::print::quote(value)))
    .with_fix(
        Span::new(offset + pos, offset + pos + value.len()),
        crate::print::quote(value),
    );
    let repair = if value.len() >= 2 {
        format!("\"{}\"", " ".repeat(value.len() - 2))
    } else if name == "reason" {
        // Too short to quote in place: the reason is optional, drop the item.
        let item_start = trimmed.len() - item.len();
        return Some(Mistake {
            diagnostic,
            repair: padded("", pos + value.len() - item_start).map(|r| (item_start, r)),
        });
    } else {
        return Some(Mistake {
            diagnostic,
            repair: None,
        });
    };
    Some(Mistake {
        diagnostic,
        repair: Some((pos, repair)),
    })
}

/// The most mistakes repaired in one declaration before parsing gives up on it.
const MAX_REPAIRS: usize = 16;

impl Builder {
    /// Parses one declaration (`text`; `after` is the rest of the file) into
    /// `items`. A recognized mistake is reported and repaired in place, and
    /// the declaration parsed again, so one slip does not hide the rest.
    pub(super) fn declaration(&mut self, text: &str, after: Option<&str>, items: &mut Vec<Item>) {
        let mut repaired = std::borrow::Cow::Borrowed(text);
        for _ in 0..=MAX_REPAIRS {
            match QlpParser::parse(Rule::file, &repaired) {
                Ok(mut pairs) => {
                    let Some(file_pair) = pairs.next() else { return };
                    for pair in file_pair.into_inner() {
                        if pair.as_rule() != Rule::EOI {
                            if let Some(item) = self.item(pair) {
                                items.push(item);
                            }
                        }
                    }
                    return;
                }
                Err(error) => {
                    let pos = match error.location {
                        InputLocation::Pos(pos) | InputLocation::Span((pos, _)) => pos,
                    };
                    let Some(mistake) = recognize(&repaired, pos, self.offset, self.file) else {
                        let diagnostic = parse_error(&error, &repaired, self.offset, self.file, after);
                        self.diagnostics.push(diagnostic);
                        return;
                    };
                    self.diagnostics.push(mistake.diagnostic);
                    let Some((at, replacement)) = mistake.repair else {
                        return;
                    };
                    let mut owned = repaired.into_owned();
                    let end = at + replacement.len();
                    if !owned.is_char_boundary(at) || !owned.is_char_boundary(end) || end > owned.len() {
                        return;
                    }
                    owned.replace_range(at..end, &replacement);
                    repaired = std::borrow::Cow::Owned(owned);
                }
            }
        }
    }
}
