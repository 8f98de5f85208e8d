//! Text normalization and keyword matching, shared by the interpreter and
//! the JIT's helpers so that both see exactly the same text.
//!
//! Normalization (the default match mode), character by character:
//! traditional Chinese to simplified (`fast2s`, character-level), Unicode
//! NFKC (folds full-width, circled, parenthesized and mathematical letters
//! and digits), lowercase, and only letters and digits kept: spaces,
//! punctuation, symbols, line breaks, zero-width and format characters are
//! dropped wherever they are. So `賭.博`, `赌 博`, `ＢＥＴ` and `Ⓑⓔⓣ` match
//! `赌博` and `bet`. Because separators vanish everywhere, a keyword also
//! matches across a line break or across two adjacent words; sets that need
//! word boundaries use the `word` mode, and sets that must match verbatim the
//! `exact` mode.
//!
//! Every output byte maps back to the input character it came from, so
//! evidence can point at the original text.

#![warn(missing_docs)]

mod markup;
mod matcher;
mod prefilter;
mod utf8;

pub use markup::unescape;
pub use matcher::{dfa_cost, dfa_memory, keyword_bytes, KeywordMatcher, MergedKeywords, MAX_DFA_MEMORY};
pub use prefilter::RawPrefilter;

use unicode_normalization::UnicodeNormalization;

/// How a keyword set matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MatchMode {
    /// Normalized text, separators ignored (the default).
    #[default]
    Normalized,
    /// Normalized text with separators kept as single spaces; keywords made
    /// of Latin letters or digits only match as whole words.
    Word,
    /// The text as it is: case-sensitive, no normalization.
    Exact,
    /// Normalized text with every Chinese character replaced by its toneless
    /// pinyin (its most common reading, from the `pinyin` crate's data):
    /// a keyword matches its homophones (`菠菜` for `博彩`), variant
    /// characters that sound the same (`愽`, `睹`) and its spelling in
    /// pinyin (`dubo`, `bocai`). Syllables are not delimited, so a run of
    /// characters that sounds like a keyword matches (`读博` sounds like
    /// `赌博`): the false-positive cost is measured in docs/language.md.
    /// Look-alikes are folded first, as in [`MatchMode::Lookalike`].
    Sound,
    /// Normalized text with look-alikes from other scripts folded to what
    /// they imitate, by the Unicode confusables table (UTS #39, from the
    /// `unicode-security` crate): Cyrillic and Greek letters that look Latin
    /// (`ВЕТ` for `bet`), Cherokee and IPA look-alikes, and CJK radicals to
    /// their ideographs (`⻢` for `马`).
    Lookalike,
    /// Normalized text with every Chinese character replaced by the first
    /// letter of its pinyin, as a capital (`赌博` is `DB`; Latin letters
    /// stay small): a keyword matches its abbreviation written in Latin
    /// letters (`db`, `zfb` for `支付宝`), alone or mixed with characters
    /// (`d博`, `赌b`), but not other characters whose initials are the same
    /// (`大部` is `DB` too: a match needs one Latin letter), nor inside a
    /// longer Latin word (`feedback`). Look-alikes are folded first.
    Initials,
}

impl MatchMode {
    /// A small number per mode, for keys and caches.
    pub fn code(self) -> u64 {
        match self {
            MatchMode::Normalized => 0,
            MatchMode::Word => 1,
            MatchMode::Exact => 2,
            MatchMode::Sound => 3,
            MatchMode::Lookalike => 4,
            MatchMode::Initials => 5,
        }
    }
}

/// The normalized form of a text, as keyword matching sees it.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, &mut out);
    out
}

/// Appends the normalized form of `text` to `out` (reusing its allocation).
pub fn normalize_into(text: &str, out: &mut String) {
    prepare_into(text, MatchMode::Normalized, out, None);
}

/// Whether two short byte strings (names, keys) are equal, compared
/// inline, not by a call to `memcmp`: in overlapping word loads of their
/// first and last bytes (no loop: a byte-by-byte tail after whole words
/// was most of a field lookup's cost in ingestion, ~1.6k instructions a
/// record on the shipped schema), four for up to 32 bytes; longer ones
/// with `==`.
#[inline]
pub fn short_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    let word = |s: &[u8], at: usize| word_at(s, at).unwrap_or(0);
    let half = |s: &[u8], at: usize| half_at(s, at).unwrap_or(0);
    let byte = |s: &[u8], at: usize| s.get(at).copied().unwrap_or(0);
    match n {
        0 => true,
        1..=3 => (0..3).all(|i| byte(a, i * (n - 1) / 2) == byte(b, i * (n - 1) / 2)),
        4..=8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        9..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        17..=32 => (0..4).all(|i| word(a, i * (n - 8) / 3) == word(b, i * (n - 8) / 3)),
        _ => a == b,
    }
}

/// Whether `bytes`, at most 16 of them, are all ASCII: two overlapping
/// words (or halves) tested at once; false for longer slices.
#[inline]
pub fn is_short_ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = |at: usize| word_at(bytes, at).unwrap_or(HIGH);
    let half = |at: usize| half_at(bytes, at).unwrap_or(0x8080_8080);
    let n = bytes.len();
    match n {
        0 => true,
        1..=3 => bytes.iter().all(u8::is_ascii),
        4..=8 => (half(0) | half(n - 4)) & 0x8080_8080 == 0,
        9..=16 => (word(0) | word(n - 8)) & HIGH == 0,
        _ => false,
    }
}

/// The little-endian word of the eight bytes of `s` from `at`, if there.
#[inline(always)]
fn word_at(s: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(s.get(at..at + 8)?.try_into().ok()?))
}

/// The little-endian half word of the four bytes of `s` from `at`, if there.
#[inline(always)]
fn half_at(s: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(s.get(at..at + 4)?.try_into().ok()?))
}

/// A stable 64-bit hash: FNV-1a over the bytes, then SplitMix64's finalizer
/// to spread the bits. The same on every machine and in every version, since
/// stored state (keys, distinct counts) depends on it.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// `fingerprint(text)`: the stable hash of the text as keyword matching
/// normalizes it, as a non-negative int, so that the spellings of one text
/// that matching does not tell apart (width, case, punctuation, spacing,
/// traditional characters) share one key.
pub fn fingerprint(text: &str) -> i64 {
    let mut normalized = String::with_capacity(text.len());
    normalize_into(text, &mut normalized);
    fingerprint_of_normalized(&normalized)
}

/// [`fingerprint`] of a text already normalized.
pub fn fingerprint_of_normalized(normalized: &str) -> i64 {
    (stable_hash(normalized.as_bytes()) >> 1) as i64
}

/// The text a matcher of `mode` scans.
pub fn prepare(text: &str, mode: MatchMode) -> String {
    let mut out = String::with_capacity(text.len());
    prepare_into(text, mode, &mut out, None);
    out
}

/// Traditional Chinese to simplified, character by character.
pub fn to_simplified(text: &str) -> String {
    text.chars().map(simplify).collect()
}

/// First and last code point the conversion table covers (the CJK
/// extension A and unified ideograph blocks, where the conversions are).
const TABLE_START: u32 = 0x3400;
const TABLE_END: u32 = 0x9FFF;

/// The simplified form of each ideograph, from `fast2s`, computed once.
static SIMPLIFIED: std::sync::LazyLock<Vec<char>> =
    std::sync::LazyLock::new(|| (TABLE_START..=TABLE_END).map(convert_one).collect());

/// For each code point of the table, whether conversion changes it, a bit
/// each (3.4 KiB, where the table is 108 KiB): most characters of a text
/// are already simplified, and are answered without touching the table.
static CHANGED: std::sync::LazyLock<Vec<u64>> = std::sync::LazyLock::new(|| {
    let mut bits = vec![0u64; SIMPLIFIED.len().div_ceil(64)];
    for (i, c) in SIMPLIFIED.iter().enumerate() {
        if *c as u32 != TABLE_START + i as u32 {
            if let Some(word) = bits.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        }
    }
    bits
});

/// Whether conversion changes `code`, of the table's range; `changed` is
/// [`CHANGED`].
#[inline(always)]
fn simplify_changes(code: u32, changed: &[u64]) -> bool {
    let i = code.wrapping_sub(TABLE_START) as usize;
    changed.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}

/// The simplified form of `c`, whose code is in the table's range.
#[inline(always)]
fn simplify_ideograph(c: char, changed: &[u64], table: &[char]) -> char {
    if simplify_changes(c as u32, changed) {
        let i = (c as u32).wrapping_sub(TABLE_START) as usize;
        table.get(i).copied().unwrap_or(c)
    } else {
        c
    }
}

/// Whether `c` is in a range the traditional-to-simplified conversion covers.
pub(crate) fn in_simplified_table(c: char) -> bool {
    let code = c as u32;
    (TABLE_START..=TABLE_END).contains(&code) || (COMPAT_START..=COMPAT_END).contains(&code)
}

/// The simplified form of one character (itself if it has none).
fn simplify(c: char) -> char {
    let code = c as u32;
    if (TABLE_START..=TABLE_END).contains(&code) {
        simplify_ideograph(c, &CHANGED, &SIMPLIFIED)
    } else if (COMPAT_START..=COMPAT_END).contains(&code) {
        SIMPLIFIED_COMPAT
            .get((code - COMPAT_START) as usize)
            .copied()
            .unwrap_or(c)
    } else {
        // Traditional characters are ideographs: everything else is itself.
        c
    }
}

/// The CJK compatibility ideographs, which `fast2s` may also convert.
const COMPAT_START: u32 = 0xF900;
const COMPAT_END: u32 = 0xFAFF;

static SIMPLIFIED_COMPAT: std::sync::LazyLock<Vec<char>> =
    std::sync::LazyLock::new(|| (COMPAT_START..=COMPAT_END).map(convert_one).collect());

fn convert_one(code: u32) -> char {
    let c = char::from_u32(code).unwrap_or(' ');
    let mut buffer = [0u8; 4];
    fast2s::convert(c.encode_utf8(&mut buffer)).chars().next().unwrap_or(c)
}

/// What a character imitates, by the Unicode confusables table: a letter of
/// another script that looks like a Latin letter becomes that letter, a CJK
/// radical its ideograph. ASCII, ideographs and compatibility characters
/// stay (the table would turn `0` into `O` and `丶` into `\`; NFKC folds
/// the others), and so does anything whose prototype is not one letter or
/// one ideograph.
fn lookalike(c: char) -> char {
    let code = c as u32;
    if code < 0x80 || (0x3400..=0x9FFF).contains(&code) || (0x20000..=0x3134F).contains(&code) {
        return c;
    }
    // Compatibility characters (`１`, `ｂ`, `⼈`) are NFKC's to fold: the
    // table would read a full-width `１` as the letter `l`.
    if !std::iter::once(c).nfkc().eq(std::iter::once(c)) {
        return c;
    }
    let mut buffer = [0u8; 4];
    let mut prototype = unicode_security::skeleton(c.encode_utf8(&mut buffer));
    match (prototype.next(), prototype.next()) {
        (Some(d), None) if d.is_ascii_alphabetic() || (0x3400..=0x9FFF).contains(&(d as u32)) => d,
        _ => c,
    }
}

/// The pinyin letters of a zhuyin (Bopomofo) symbol, or `""` for a tone
/// mark. Symbol by symbol, so an initial and a final spell the syllable
/// (`ㄉㄨ` du, `ㄅㄛ` bo, `ㄘㄞ` cai, `ㄓㄨ` zhu); syllables pinyin spells
/// with `y`/`w` (`ㄧㄠ`, `ㄨㄤ`) or an implied vowel (`ㄓ` zhi) come out
/// otherwise (`iao`, `uang`, `zh`).
fn zhuyin(c: char) -> Option<&'static str> {
    Some(match c {
        'ㄅ' => "b",
        'ㄆ' => "p",
        'ㄇ' => "m",
        'ㄈ' => "f",
        'ㄉ' => "d",
        'ㄊ' => "t",
        'ㄋ' => "n",
        'ㄌ' => "l",
        'ㄍ' => "g",
        'ㄎ' => "k",
        'ㄏ' => "h",
        'ㄐ' => "j",
        'ㄑ' => "q",
        'ㄒ' => "x",
        'ㄓ' => "zh",
        'ㄔ' => "ch",
        'ㄕ' => "sh",
        'ㄖ' => "r",
        'ㄗ' => "z",
        'ㄘ' => "c",
        'ㄙ' => "s",
        'ㄚ' => "a",
        'ㄛ' => "o",
        'ㄜ' | 'ㄝ' => "e",
        'ㄞ' => "ai",
        'ㄟ' => "ei",
        'ㄠ' => "ao",
        'ㄡ' => "ou",
        'ㄢ' => "an",
        'ㄣ' => "en",
        'ㄤ' => "ang",
        'ㄥ' => "eng",
        'ㄦ' => "er",
        'ㄧ' => "i",
        'ㄨ' => "u",
        'ㄩ' => "v",
        'ˉ' | 'ˊ' | 'ˇ' | 'ˋ' | '˙' => "",
        _ => return None,
    })
}

/// Zero-width and format characters that posters insert to split words.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{E0000}'..='\u{E007F}'
    )
}

/// Prepares `text` for `mode` into `out`; `origin`, when given, receives for
/// each output byte the byte offset of the input character it came from.
pub fn prepare_into(text: &str, mode: MatchMode, out: &mut String, origin: Option<&mut Vec<u32>>) {
    prepare_bytes_into(text.as_bytes(), mode, out, origin);
}

/// Like [`prepare_into`] for UTF-8 bytes; invalid sequences read as U+FFFD
/// (and so match nothing), so the bytes need no separate validation pass.
pub fn prepare_bytes_into(bytes: &[u8], mode: MatchMode, out: &mut String, mut origin: Option<&mut Vec<u32>>) {
    if mode == MatchMode::Normalized {
        let (out_len, origin_len) = (out.len(), origin.as_ref().map_or(0, |o| o.len()));
        let done = match origin.as_deref_mut() {
            // Two calls, so that each is compiled for its case.
            None => normalize_bytes_into(bytes, out, None),
            Some(origin) => normalize_bytes_into(bytes, out, Some(origin)),
        };
        if done {
            return;
        }
        out.truncate(out_len);
        if let Some(origin) = origin.as_deref_mut() {
            origin.truncate(origin_len);
        }
    }
    prepare_bytes_by_character(bytes, mode, out, origin);
}

/// [`prepare_bytes_into`] one character at a time, in every mode: the
/// reference the `normalized` mode's byte loop is tested against.
#[doc(hidden)]
pub fn prepare_bytes_by_character(bytes: &[u8], mode: MatchMode, out: &mut String, origin: Option<&mut Vec<u32>>) {
    use bstr::ByteSlice;
    // Valid UTF-8 (what rows hold) is decoded as it is prepared, in one
    // pass; at a malformed sequence the output is undone and the text
    // prepared again with `bstr`'s decoder, which reads each maximal
    // malformed part as one U+FFFD.
    let (out_len, origin_len) = (out.len(), origin.as_ref().map_or(0, |o| o.len()));
    let mut chars = utf8::Chars::new(bytes);
    let mut origin = origin;
    prepare_chars(&mut chars, mode, out, origin.as_deref_mut());
    if chars.malformed {
        out.truncate(out_len);
        if let Some(origin) = origin.as_deref_mut() {
            origin.truncate(origin_len);
        }
        prepare_chars(bytes.char_indices().map(|(start, _, c)| (start, c)), mode, out, origin);
    }
}

/// The `normalized` mode over bytes: runs of characters that are their own
/// normalized form — simplified ideographs (the bulk of Chinese text),
/// lowercase letters and digits — are copied as they are, without decoding
/// and encoding each one (with `origin`, each byte's offset is its
/// character's); every other character takes [`prepare_char`]. False at
/// the first malformed sequence (what was appended is then the caller's to
/// undo).
#[inline(always)]
fn normalize_bytes_into(bytes: &[u8], out: &mut String, mut origin: Option<&mut Vec<u32>>) -> bool {
    let table: &[char] = &SIMPLIFIED;
    let changed: &[u64] = &CHANGED;
    let kept: &[u64] = &KEPT[..];
    let mut at = 0;
    let mut run = 0;
    loop {
        // Two simplified ideographs (the bulk of Chinese text) at once: one
        // word's mask shows two three-byte sequences, a bit each says the
        // character is kept (an invalid sequence's bits are never kept).
        while let Some(word) = bytes.get(at..at + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            let word = u64::from_le_bytes(word);
            if word & utf8::TWO_SHAPE_MASK != utf8::TWO_SHAPE
                || !is_simplified_ideograph(utf8::code_in(word), kept)
                || !is_simplified_ideograph(utf8::code_in(word >> 24), kept)
            {
                break;
            }
            if let Some(origin) = origin.as_deref_mut() {
                let (first, second) = (at as u32, at as u32 + 3);
                origin.extend([first, first, first, second, second, second]);
            }
            at += 6;
        }
        let Some(&lead) = bytes.get(at) else { break };
        // A three-byte sequence's code point, its bits as they are: an
        // overlong form or a surrogate is neither kept nor dropped below.
        let code = match bytes.get(at + 1..at + 3) {
            Some(&[b1, b2]) if lead & 0xF0 == 0xE0 && b1 & 0xC0 == 0x80 && b2 & 0xC0 == 0x80 => {
                Some(utf8::three(lead, b1, b2))
            }
            _ => None,
        };
        if matches!(lead, b'a'..=b'z' | b'0'..=b'9') || code.is_some_and(|code| is_simplified_ideograph(code, kept)) {
            let len = if lead < 0x80 { 1 } else { 3 };
            if let Some(origin) = origin.as_deref_mut() {
                origin.extend(std::iter::repeat_n(at as u32, len));
            }
            at += len;
            continue;
        }
        push_run(bytes.get(run..at).unwrap_or_default(), out);
        // The punctuation of Chinese text (`，`, `。`, `…`): nothing, without
        // decoding it again.
        if code.is_some_and(normalizes_to_nothing) {
            at += 3;
            run = at;
            continue;
        }
        let Some((c, len)) = bytes.get(at + 1..).and_then(|tail| utf8::decode(lead, tail)) else {
            return false;
        };
        prepare_char(at, c, MatchMode::Normalized, out, origin.as_deref_mut(), table, changed);
        at += len;
        run = at;
    }
    push_run(bytes.get(run..).unwrap_or_default(), out);
    true
}

/// Words of [`KEPT`]: a bit for each code point of the basic plane.
const KEPT_WORDS: usize = 0x10000 / 64;

/// For each code point of the basic plane, whether it is an ideograph the
/// conversion leaves alone (see [`is_simplified_ideograph`]).
static KEPT: std::sync::LazyLock<Box<[u64; KEPT_WORDS]>> = std::sync::LazyLock::new(|| {
    let mut bits = Box::new([0u64; KEPT_WORDS]);
    let ideographs = (0x3400..=0x4DBF).chain(0x4E00..=0x9FFF);
    for code in ideographs.filter(|code| !simplify_changes(*code, &CHANGED)) {
        if let Some(word) = bits.get_mut(code as usize / 64) {
            *word |= 1 << (code % 64);
        }
    }
    bits
});

/// Whether `code` is an ideograph the conversion leaves alone: then it is
/// its own normalized form (ideographs are in NFKC and have no case). One
/// bit test; `kept` is [`KEPT`] (any code beyond the basic plane is not).
#[inline(always)]
pub(crate) fn is_simplified_ideograph(code: u32, kept: &[u64]) -> bool {
    kept.get(code as usize >> 6).is_some_and(|w| w >> (code % 64) & 1 == 1)
}

/// The table [`is_simplified_ideograph`] reads.
pub(crate) fn kept_table() -> &'static [u64] {
    &KEPT[..]
}

/// Appends bytes that [`normalize_bytes_into`] found to be whole characters.
fn push_run(run: &[u8], out: &mut String) {
    // SAFETY: a run holds only ASCII bytes and three-byte sequences whose
    // two continuation bytes were checked and whose code point is a kept
    // ideograph (U+3400..U+9FFF, so the lead is E3..E9): valid UTF-8 (no
    // overlong form, no surrogate: those need E0 or ED).
    out.push_str(unsafe { std::str::from_utf8_unchecked(run) });
}

/// [`prepare_bytes_into`] over decoded characters and their byte offsets.
#[inline(always)]
fn prepare_chars(
    chars: impl Iterator<Item = (usize, char)>,
    mode: MatchMode,
    out: &mut String,
    mut origin: Option<&mut Vec<u32>>,
) {
    if mode == MatchMode::Exact {
        for (start, c) in chars {
            let before = out.len();
            out.push(c);
            if let Some(origin) = origin.as_deref_mut() {
                origin.extend(std::iter::repeat_n(start as u32, out.len() - before));
            }
        }
        return;
    }
    let table: &[char] = &SIMPLIFIED;
    let changed: &[u64] = &CHANGED;
    for (offset, original) in chars {
        prepare_char(offset, original, mode, out, origin.as_deref_mut(), table, changed);
    }
}

/// Appends the prepared form of one character, `original`, at byte
/// `offset` of its text (with `origin`, one offset per byte appended).
#[inline(always)]
fn prepare_char(
    offset: usize,
    original: char,
    mode: MatchMode,
    out: &mut String,
    mut origin: Option<&mut Vec<u32>>,
    table: &[char],
    changed: &[u64],
) {
    let before = out.len();
    let code = original as u32;
    if mode == MatchMode::Normalized && origin.is_none() {
        // Fast paths for the bulk of Chinese and Latin text.
        if code < 0x80 {
            if original.is_ascii_alphanumeric() {
                out.push(original.to_ascii_lowercase());
            }
            return;
        }
        if (0x3400..=0x4DBF).contains(&code) || (0x4E00..=0x9FFF).contains(&code) {
            // Ideographs: letters without case, their own NFKC form.
            out.push(simplify_ideograph(original, changed, table));
            return;
        }
        match code {
            // Full-width forms of ASCII: NFKC maps them to ASCII.
            0xFF01..=0xFF5E => {
                let ascii = char::from_u32(code - 0xFEE0).unwrap_or(' ');
                if ascii.is_ascii_alphanumeric() {
                    out.push(ascii.to_ascii_lowercase());
                }
                return;
            }
            // General punctuation and spaces, CJK punctuation, emoji:
            // their NFKC forms are never letters or digits, so only the
            // few letters among them survive.
            0x2000..=0x206F => return,
            0x3000..=0x303F if !is_cjk_symbol_letter(code) => return,
            0x1F300..=0x1FAFF if !original.is_alphanumeric() => return,
            _ => {}
        }
    }
    let mut c = simplify(original);
    if is_invisible(c) {
        return;
    }
    if matches!(mode, MatchMode::Lookalike | MatchMode::Sound | MatchMode::Initials) {
        c = lookalike(c);
    }
    if mode == MatchMode::Initials {
        if let Some(initial) = pinyin::ToPinyin::to_pinyin(&c).and_then(|p| p.first_letter().chars().next()) {
            out.push(initial.to_ascii_uppercase());
            if let Some(origin) = origin.as_deref_mut() {
                origin.push(offset as u32);
            }
            return;
        }
    }
    if mode == MatchMode::Sound {
        // An ideograph is its own normalized form: its sound replaces
        // it; zhuyin (Bopomofo) is spelled in pinyin letters, its tone
        // marks dropped.
        if let Some(sound) = pinyin::ToPinyin::to_pinyin(&c)
            .map(pinyin::Pinyin::plain)
            .or_else(|| zhuyin(c))
        {
            out.push_str(sound);
            if let Some(origin) = origin.as_deref_mut() {
                origin.extend(std::iter::repeat_n(offset as u32, out.len() - before));
            }
            return;
        }
    }
    if !push_normalized(c, out) && mode == MatchMode::Word && !out.is_empty() && !out.ends_with(' ') {
        out.push(' ');
    }
    if let Some(origin) = origin {
        origin.extend(std::iter::repeat_n(offset as u32, out.len() - before));
    }
}

/// A normalized text and, for each of its bytes, the byte offset in the
/// original text of the character it came from.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// The normalized text.
    pub text: String,
    origin: Vec<u32>,
}

impl Normalized {
    /// The byte range in the original text that normalized bytes `start..end` came from.
    pub fn original_range(&self, start: usize, end: usize, original: &str) -> (usize, usize) {
        let from = self.origin.get(start).map_or(original.len(), |o| *o as usize);
        let last = end
            .checked_sub(1)
            .and_then(|i| self.origin.get(i))
            .map_or(from, |o| *o as usize);
        let to = original
            .get(last..)
            .and_then(|rest| rest.chars().next())
            .map_or(original.len(), |c| last + c.len_utf8());
        (from, to)
    }
}

/// Normalizes like [`normalize`] and keeps the map back to the original.
pub fn normalize_mapped(text: &str) -> Normalized {
    prepare_mapped(text, MatchMode::Normalized)
}

/// Prepares like [`prepare`] and keeps the map back to the original.
pub fn prepare_mapped(text: &str, mode: MatchMode) -> Normalized {
    prepare_normalized(text, mode, true)
}

/// Prepares like [`prepare`], keeping the map back to the original only
/// when `mapped` (without it, [`Normalized::original_range`] knows nothing).
pub fn prepare_normalized(text: &str, mode: MatchMode, mapped: bool) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(text.len()),
        origin: Vec::with_capacity(if mapped { text.len() } else { 0 }),
    };
    prepare_into(text, mode, &mut out.text, mapped.then_some(&mut out.origin));
    out
}

/// Appends the normalized form of one character: NFKC of the character,
/// lowercased, letters and digits only. Returns whether anything was kept.
fn push_normalized(c: char, out: &mut String) -> bool {
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            return true;
        }
        return false;
    }
    // CJK unified ideographs (the bulk of Chinese text) are their own NFKC
    // form, letters, and have no case.
    if ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c) {
        out.push(c);
        return true;
    }
    // The punctuation and spaces of Chinese text keep nothing; fullwidth
    // ASCII is ASCII under NFKC. Each block below is checked against the
    // general path character by character (`fast_paths_agree`).
    match c {
        '\u{2000}'..='\u{206F}' => return false,
        '\u{3000}'..='\u{303F}' if !is_cjk_symbol_letter(u32::from(c)) => return false,
        '\u{FF01}'..='\u{FF5E}' => return push_normalized(char::from((u32::from(c) - 0xFEE0) as u8), out),
        // Hangul and Yi syllables: letters without case, their own NFKC form;
        // the private use area: no letters.
        '\u{AC00}'..='\u{D7A3}' | '\u{A000}'..='\u{A48C}' => {
            out.push(c);
            return true;
        }
        '\u{E000}'..='\u{F8FF}' => return false,
        _ => {}
    }
    push_normalized_in_full(c, out)
}

/// Whether the character `code` of three UTF-8 bytes (its bits as they
/// are: an overlong form or a surrogate is in none of these blocks) is
/// punctuation or a space that the `normalized` mode drops: general
/// punctuation (`…`, `“`), CJK punctuation (`。`, `、`) and full-width ASCII
/// punctuation (`，`, `？`). [`prepare_char`]'s fast paths give the same
/// answer, and `fast_paths_agree_with_the_general_path` holds both to the
/// general path for every character.
#[inline(always)]
fn normalizes_to_nothing(code: u32) -> bool {
    match code {
        0x2000..=0x206F => true,
        0x3000..=0x303F => !is_cjk_symbol_letter(code),
        0xFF01..=0xFF5E => !char::from_u32(code - 0xFEE0).is_some_and(|c| c.is_ascii_alphanumeric()),
        _ => false,
    }
}

/// The letters and numbers of the CJK Symbols and Punctuation block
/// (U+3000 to U+303F, a bit each: `々`, `〆`, `〇`, the Hangzhou numerals,
/// the kana repeat marks), checked against the standard library by a test.
const CJK_SYMBOL_LETTERS: u64 = 0x1f3e_03fe_0000_00e0;

/// Whether `code`, of the CJK Symbols and Punctuation block, is a letter or number.
fn is_cjk_symbol_letter(code: u32) -> bool {
    CJK_SYMBOL_LETTERS >> (code.wrapping_sub(0x3000) % 64) & 1 == 1
}

/// [`push_normalized`] for any character, by the Unicode tables.
fn push_normalized_in_full(c: char, out: &mut String) -> bool {
    let before = out.len();
    if unicode_normalization::is_nfkc_quick(std::iter::once(c)) == unicode_normalization::IsNormalized::Yes {
        // Already in NFKC (most punctuation, symbols and emoji): no decomposition.
        if c.is_alphanumeric() {
            push_lowercase(c, out);
        }
        return out.len() > before;
    }
    for d in std::iter::once(c).nfkc() {
        if d.is_alphanumeric() {
            push_lowercase(d, out);
        }
    }
    out.len() > before
}

/// The lowercase of a letter, letters only (`İ` lowercases to `i` and a
/// combining dot, which is dropped), with the final sigma `ς` as `σ`: a
/// keyword is lowercased letter by letter, so `ΟΔΟΣ` must meet `οδος`.
fn push_lowercase(c: char, out: &mut String) {
    for lower in c.to_lowercase() {
        match lower {
            'ς' => out.push('σ'),
            lower if lower.is_alphanumeric() => out.push(lower),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
