//! Markup and percent-encoding decoded before matching, for fields that
//! hold HTML or URLs (`unescape(c.html) has_any SET`).

/// Markup and percent-encoding decoded, for fields that hold HTML or URLs:
/// tags removed (`赌<b></b>博`), character references decoded (`&#36172;`,
/// `&#x535A;`, `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;`), and
/// `%XX` escapes decoded as UTF-8 (`%E8%B5%8C`). A `<` that does not close
/// within 256 bytes stays, and so does an escape that is not valid UTF-8,
/// so no text is lost. Linear in the text.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['<', '&', '%']) {
        out.push_str(rest.get(..at).unwrap_or(""));
        rest = rest.get(at..).unwrap_or("");
        let (decoded, used) = match rest.as_bytes().first() {
            Some(b'<') => match rest.get(..rest.len().min(256)).and_then(|r| r.find('>')) {
                Some(close) => (String::new(), close + 1),
                None => (String::from("<"), 1),
            },
            Some(b'&') => entity(rest).unwrap_or((String::from("&"), 1)),
            _ => percent(rest).unwrap_or((String::from("%"), 1)),
        };
        out.push_str(&decoded);
        rest = rest.get(used..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// A character reference at the start of `text`, and its length.
fn entity(text: &str) -> Option<(String, usize)> {
    let end = text.get(..text.len().min(12))?.find(';')?;
    let name = text.get(1..end)?;
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{A0}',
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((c.to_string(), end + 1))
}

/// One character escaped as `%XX` (one to four escapes, as UTF-8) at the
/// start of `text`, and the length of its escapes. One character at a
/// time, so that a long run of escapes that are not UTF-8 costs linear time.
fn percent(text: &str) -> Option<(String, usize)> {
    let byte = |i: usize| {
        let at = i * 3;
        (text.as_bytes().get(at) == Some(&b'%'))
            .then(|| text.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
    };
    let len = match byte(0)? {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let bytes: Vec<u8> = (0..len).map(byte).collect::<Option<_>>()?;
    let decoded = std::str::from_utf8(&bytes).ok()?;
    Some((decoded.to_string(), len * 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_decodes_markup_and_keeps_what_does_not_decode() {
        for (text, expected) in [
            ("赌<b></b>博", "赌博"),
            ("&#36172;&#x535A;", "赌博"),
            ("a &amp; b &lt;c&gt;", "a & b <c>"),
            ("%E8%B5%8C%E5%8D%9A", "赌博"),
            ("100% sure", "100% sure"),
            ("%E8%B5", "%E8%B5"),
            ("&bogus; &#xZZ;", "&bogus; &#xZZ;"),
            ("a < b", "a < b"),
            ("", ""),
        ] {
            assert_eq!(unescape(text), expected, "{text}");
        }
        // Bounded work: a `<` that never closes is kept, not searched to the
        // end; a long run of escapes that are not UTF-8 is kept as written.
        let long = format!("<{}赌博", "x".repeat(10_000));
        assert!(unescape(&long).ends_with("赌博"));
        let run = "%E8".repeat(100_000);
        assert_eq!(unescape(&run), run);
    }
}
