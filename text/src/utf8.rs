//! UTF-8 decoded in the same pass that uses the characters: validating a
//! text first and decoding it after reads every byte twice, and on Chinese
//! text (three bytes a character) the validation alone cost as much as the
//! keyword prefilter that followed it.

/// The character that starts with `lead` (followed by `tail`) and its
/// length in bytes, or `None` where the bytes are not valid UTF-8 (a
/// missing or stray continuation byte, an overlong form, a surrogate, a
/// code point past U+10FFFF).
#[inline(always)]
pub(crate) fn decode(lead: u8, tail: &[u8]) -> Option<(char, usize)> {
    let continues = |b: &u8| b & 0xC0 == 0x80;
    let bits = |b: &u8| u32::from(b & 0x3F);
    let (code, len, least) = match (lead, tail) {
        (0..=0x7F, _) => return Some((char::from(lead), 1)),
        (0xC2..=0xDF, [b1, ..]) if continues(b1) => ((u32::from(lead & 0x1F) << 6) | bits(b1), 2, 0x80),
        (0xE0..=0xEF, [b1, b2, ..]) if continues(b1) && continues(b2) => (three(lead, *b1, *b2), 3, 0x800),
        (0xF0..=0xF4, [b1, b2, b3, ..]) if continues(b1) && continues(b2) && continues(b3) => (
            (u32::from(lead & 0x07) << 18) | (bits(b1) << 12) | (bits(b2) << 6) | bits(b3),
            4,
            0x10000,
        ),
        _ => return None,
    };
    if code < least {
        return None;
    }
    char::from_u32(code).map(|c| (c, len))
}

/// The code point of a three-byte UTF-8 sequence, its bits as they are
/// (no check for overlong forms or surrogates: the callers rule them out,
/// or look the code up in a table where either is harmless).
#[inline(always)]
pub(crate) fn three(lead: u8, b1: u8, b2: u8) -> u32 {
    (u32::from(lead & 0x0F) << 12) | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F)
}

/// Two three-byte UTF-8 sequences in the low six bytes of a word
/// (little-endian): each lead's top four bits, each continuation byte's
/// top two.
pub(crate) const TWO_SHAPE_MASK: u64 = 0xC0C0_F0C0_C0F0;
pub(crate) const TWO_SHAPE: u64 = 0x8080_E080_80E0;

/// The code point (its bits as they are) of the three-byte sequence in the
/// low three bytes of `word` (little-endian).
#[inline(always)]
pub(crate) fn code_in(word: u64) -> u32 {
    three(word as u8, (word >> 8) as u8, (word >> 16) as u8)
}

/// The characters of valid UTF-8 and their byte offsets; at the first
/// malformed sequence it ends and sets `malformed`.
pub(crate) struct Chars<'a> {
    bytes: &'a [u8],
    at: usize,
    pub(crate) malformed: bool,
}

impl<'a> Chars<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Chars<'a> {
        Chars {
            bytes,
            at: 0,
            malformed: false,
        }
    }
}

impl Iterator for Chars<'_> {
    type Item = (usize, char);

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, char)> {
        let (lead, tail) = self.bytes.get(self.at..)?.split_first()?;
        match decode(*lead, tail) {
            Some((c, len)) => {
                let start = self.at;
                self.at += len;
                Some((start, c))
            }
            None => {
                self.malformed = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decoder against the standard library's, on every prefix of
    /// valid and malformed sequences.
    #[test]
    fn decoding_agrees_with_the_standard_library() {
        let mut samples: Vec<Vec<u8>> = Vec::new();
        for code in (0..0x11_0000u32)
            .step_by(97)
            .chain([0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF])
        {
            if let Some(c) = char::from_u32(code) {
                samples.push(c.to_string().into_bytes());
            }
        }
        for bad in [
            &b"\xC0\x80"[..],
            b"\xC1\xBF",
            b"\xE0\x80\x80",
            b"\xED\xA0\x80",
            b"\xF0\x80\x80\x80",
            b"\xF4\x90\x80\x80",
            b"\xF5\x80\x80\x80",
            b"\xFF",
            b"\x80",
            b"\xE8\xB5",
            b"\xE8\x41",
        ] {
            samples.push(bad.to_vec());
        }
        for sample in samples {
            let (lead, tail) = sample.split_first().unwrap();
            let ours = decode(*lead, tail);
            let std = std::str::from_utf8(&sample).ok().and_then(|s| s.chars().next());
            assert_eq!(ours.map(|(c, _)| c), std, "{sample:x?}");
            if let Some((c, len)) = ours {
                assert_eq!(len, c.len_utf8());
            }
        }
    }
}
