//! Decisions written as JSON without `serde`'s per-field machinery: the
//! same bytes `serde_json::to_writer` writes for a [`Decision`], with each
//! rule's fixed part (name, campaign, actions, reason) rendered once when
//! the policies load, and strings escaped eight bytes at a time.
//!
//! `qlp eval` writes a decision per record; with `serde_json` the escaping
//! of campaign titles and reasons (Chinese text, escaped byte by byte) and
//! the serializer's calls were a fifth of the time spent deciding.

use std::collections::HashMap;

use qlp_compiler::program::Program;
use serde::Serialize;

use super::{Decision, Evidence, FiredRule};

/// Writes decisions of one program as JSON.
#[derive(Debug)]
pub struct DecisionWriter {
    /// Rule name → the rule's fixed fields and their JSON, without the
    /// closing brace (`{"rule":"r",...,"reason":"..."`).
    rules: HashMap<String, (FiredRule, Box<[u8]>)>,
}

impl DecisionWriter {
    /// Renders the fixed part of every rule of `program`.
    pub fn new(program: &Program) -> DecisionWriter {
        let rules = program
            .rules
            .iter()
            .filter_map(|rule| {
                let fixed = FiredRule::fixed(program, rule);
                let mut json = serde_json::to_vec(&fixed).ok()?;
                // With nothing to list, the object ends with its last fixed
                // field; `write_fired` reopens it there. (A rule without a
                // template is written by `serde_json` in full.)
                (json.pop() == Some(b'}')).then(|| (rule.name.clone(), (fixed, json.into_boxed_slice())))
            })
            .collect();
        DecisionWriter { rules }
    }

    /// Appends `decision` as JSON to `out`: what `serde_json::to_writer`
    /// writes for it, byte for byte.
    pub fn write(&self, decision: &Decision, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"verdict\":\"");
        out.extend_from_slice(decision.verdict.as_str().as_bytes());
        out.extend_from_slice(b"\",\"labels\":");
        write_list(out, &decision.labels, |out, label| write_str(out, label));
        if let Some(suspend) = &decision.suspend {
            out.extend_from_slice(b",\"suspend\":");
            write_str(out, suspend);
        }
        out.extend_from_slice(b",\"fired\":");
        self.write_rules(&decision.fired, out);
        if !decision.shadow.is_empty() {
            out.extend_from_slice(b",\"shadow\":");
            self.write_rules(&decision.shadow, out);
        }
        if !decision.exempted.is_empty() {
            write_serde_field(out, "exempted", &decision.exempted);
        }
        if !decision.errors.is_empty() {
            write_serde_field(out, "errors", &decision.errors);
        }
        if decision.undecided {
            out.extend_from_slice(b",\"undecided\":true");
        }
        out.push(b'}');
    }

    fn write_rules(&self, rules: &[FiredRule], out: &mut Vec<u8>) {
        write_list(out, rules, |out, fired| self.write_fired(fired, out));
    }

    fn write_fired(&self, fired: &FiredRule, out: &mut Vec<u8>) {
        // A decision an embedder changed has fields of its own: written in full.
        let Some((_, prefix)) = self
            .rules
            .get(&fired.rule)
            .filter(|(fixed, _)| same_fixed(fixed, fired))
        else {
            write_serde(out, fired);
            return;
        };
        out.extend_from_slice(prefix);
        if !fired.evidence.is_empty() {
            out.extend_from_slice(b",\"evidence\":");
            write_list(out, &fired.evidence, |out, evidence| write_evidence(evidence, out));
        }
        if !fired.evidence_omitted.is_empty() {
            write_serde_field(out, "evidence_omitted", &fired.evidence_omitted);
        }
        if !fired.state.is_empty() {
            write_serde_field(out, "state", &fired.state);
        }
        out.push(b'}');
    }
}

/// Appends `[a,b,...]`, each item written by `write`.
fn write_list<T>(out: &mut Vec<u8>, items: &[T], mut write: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Whether `fired` has the rule's fixed fields as the program gives them.
fn same_fixed(fixed: &FiredRule, fired: &FiredRule) -> bool {
    fixed.campaign == fired.campaign
        && fixed.campaign_title == fired.campaign_title
        && fixed.actions == fired.actions
        && fixed.reason == fired.reason
}

fn write_evidence(evidence: &Evidence, out: &mut Vec<u8>) {
    let texts: [(&[u8], &str); 4] = [
        (b"{\"keyword_set\":", &evidence.keyword_set),
        (b",\"field\":", &evidence.field),
        (b",\"keyword\":", &evidence.keyword),
        (b",\"matched\":", &evidence.matched),
    ];
    for (key, text) in texts {
        out.extend_from_slice(key);
        write_str(out, text);
    }
    out.extend_from_slice(b",\"start\":");
    write_serde(out, &evidence.start);
    out.extend_from_slice(b",\"end\":");
    write_serde(out, &evidence.end);
    out.push(b'}');
}

/// Appends `,"name":` and `value` as `serde_json` writes it.
fn write_serde_field<T: Serialize + ?Sized>(out: &mut Vec<u8>, name: &str, value: &T) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    write_serde(out, value);
}

/// Appends what `serde_json` writes for `value` (parts that are rare in
/// decisions, and numbers).
pub fn write_serde<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing to a vector fails only for a map with non-string keys, which
    // decisions do not have.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        // Eight bytes at a time while none of them needs escaping.
        if let Some(word) = bytes.get(at..at + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            if !needs_escape(word) {
                at += 8;
                continue;
            }
        }
        let Some(&byte) = bytes.get(at) else { break };
        if let Some(escape) = escape(byte) {
            out.extend_from_slice(bytes.get(start..at).unwrap_or_default());
            match escape {
                Escape::Short(c) => out.extend_from_slice(&[b'\\', c]),
                Escape::Unicode => {
                    // A control character: `\u00XX` in lowercase hex.
                    let hex = |n: u8| if n < 10 { b'0' + n } else { b'a' + n - 10 };
                    out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(byte >> 4), hex(byte & 0xf)]);
                }
            }
            start = at + 1;
        }
        at += 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Whether any of the eight bytes of `word` is a quote, a backslash or a
/// control character (below 0x20): exact, not a heuristic.
fn needs_escape(word: u64) -> bool {
    escape_bits(word) != 0
}

/// The high bit of each byte of `word` (little-endian) that is a quote, a
/// backslash or a control character, and possibly of bytes above one: the
/// lowest bit set is exact (a borrow only carries upwards), so
/// `trailing_zeros() / 8` is the first such byte. Ingestion finds where a
/// string ends with it.
#[inline]
pub(crate) fn escape_bits(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    below_space | has_zero(word ^ (ONES * u64::from(b'"'))) | has_zero(word ^ (ONES * u64::from(b'\\')))
}

enum Escape {
    /// `\n`, `\"`, ...
    Short(u8),
    /// `\u00XX`.
    Unicode,
}

/// How `serde_json` escapes a byte, if it does.
fn escape(byte: u8) -> Option<Escape> {
    Some(match byte {
        b'"' => Escape::Short(b'"'),
        b'\\' => Escape::Short(b'\\'),
        0x08 => Escape::Short(b'b'),
        0x0c => Escape::Short(b'f'),
        b'\n' => Escape::Short(b'n'),
        b'\r' => Escape::Short(b'r'),
        b'\t' => Escape::Short(b't'),
        0..=0x1f => Escape::Unicode,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut every_byte = String::new();
        for c in (0u8..0x80).map(char::from) {
            every_byte.push(c);
        }
        let cases = [
            "",
            "plain",
            "清朗·2022年春节网络环境整治",
            "a\"b\\c\nd\te\u{0}\u{1f}\u{7f}",
            "\"\"\"\"\"\"\"\"\"",
            "0123456\"89abcdef\\",
            "末尾\u{8}",
            every_byte.as_str(),
        ];
        for case in cases {
            let mut out = Vec::new();
            write_str(&mut out, case);
            assert_eq!(
                String::from_utf8_lossy(&out),
                serde_json::to_string(case).unwrap_or_default()
            );
        }
    }

    #[test]
    fn the_word_test_is_exact() {
        for byte in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                if let Some(b) = word.get_mut(at) {
                    *b = byte;
                }
                let expected = escape(byte).is_some();
                assert_eq!(
                    needs_escape(u64::from_le_bytes(word)),
                    expected,
                    "byte {byte:#x} at {at}"
                );
            }
        }
    }
}
