//! A test on the raw text that rules out a keyword set without normalizing
//! the text: normalization maps each character on its own, so a normalized
//! text can contain a keyword only if the raw text contains, for one of the
//! keywords, a character whose normalized form holds that keyword's
//! *marker* (one character of it, chosen to be rare). The characters whose
//! normalized form holds a given character (its traditional forms,
//! full-width and circled forms, capitals, compatibility characters) are
//! found once, by normalizing every code point where normalization can
//! change one.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::utf8::{code_in, three, TWO_SHAPE, TWO_SHAPE_MASK};
use crate::MatchMode;

/// Code points whose normalized form may differ from themselves: the basic
/// and supplementary planes and the CJK compatibility supplement. Beyond
/// them are ideographs, their own normalized form.
const SCANNED: [std::ops::RangeInclusive<u32>; 3] = [0..=0xFFFF, 0x10000..=0x1FFFF, 0x2F800..=0x2FA1F];

/// For each character, the other characters whose normalized form holds it.
static PREIMAGES: LazyLock<HashMap<char, Vec<char>>> = LazyLock::new(|| {
    let mut preimages: HashMap<char, Vec<char>> = HashMap::new();
    let mut out = String::new();
    let mut buffer = [0u8; 4];
    let kept = crate::kept_table();
    for code in SCANNED.into_iter().flatten() {
        let Some(c) = char::from_u32(code) else { continue };
        if normalizes_to_itself_or_nothing(c, kept) {
            continue;
        }
        out.clear();
        crate::prepare_bytes_into(
            c.encode_utf8(&mut buffer).as_bytes(),
            MatchMode::Normalized,
            &mut out,
            None,
        );
        if out.chars().eq(std::iter::once(c)) {
            continue;
        }
        for d in out.chars() {
            let list = preimages.entry(d).or_default();
            if list.last() != Some(&c) {
                list.push(c);
            }
        }
    }
    preimages
});

/// Whether `c` is an ideograph the conversion leaves alone, or is already
/// in NFKC, its own lowercase, and outside the traditional-to-simplified
/// table (and not the final sigma, which folds): then it normalizes to
/// itself (a letter or number) or to nothing, and is nobody's preimage. A
/// few table lookups instead of the normalization's many: most characters
/// are skipped so (checked for every one of them by
/// `characters_skipped_normalize_to_themselves_or_nothing`).
fn normalizes_to_itself_or_nothing(c: char, kept: &[u64]) -> bool {
    if crate::is_simplified_ideograph(c as u32, kept) {
        return true;
    }
    !crate::in_simplified_table(c)
        && c != 'ς'
        && (is_own_decomposition(c)
            || unicode_normalization::is_nfkc_quick(std::iter::once(c)) == unicode_normalization::IsNormalized::Yes)
        && c.to_lowercase().eq(std::iter::once(c))
}

/// Whether `c`'s compatibility decomposition is `c` itself: then NFKC
/// leaves it as it is (one character, nothing to compose with). Two hash
/// lookups, where the quick check searches a long table: most characters
/// are answered so.
fn is_own_decomposition(c: char) -> bool {
    let mut parts = 0;
    let mut itself = true;
    unicode_normalization::char::decompose_compatible(c, |d| {
        parts += 1;
        itself &= d == c;
    });
    itself && parts == 1
}

/// Frequent characters of Chinese text (and Latin vowels), avoided as
/// markers when a keyword has a rarer one.
const COMMON: &str = "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切府阿iaeou";

static COMMON_SET: LazyLock<std::collections::HashSet<char>> = LazyLock::new(|| COMMON.chars().collect());

/// Words of the basic plane's bitset: a 16-bit code point's word is its top
/// ten bits, so indexing needs no bounds check.
const BASIC_WORDS: usize = 0x10000 / 64;

/// The raw-text test of one keyword set in the `normalized` mode. Each
/// keyword has two markers (two of its characters; one when it has one) and
/// falls in one of 64 groups; a text passes when, for some group, it holds
/// a character that produces a first marker of the group and one that
/// produces a second (a keyword present puts both of its own there).
#[derive(Debug, Clone)]
pub struct RawPrefilter {
    /// Whether a code point of the basic plane produces a marker, a bit
    /// each: most characters of a text are answered by this bit alone.
    basic: Box<[u64; BASIC_WORDS]>,
    /// For each word of `basic`, how many bits the words before it set:
    /// where a character's masks are in `basic_masks`.
    rank: Vec<u32>,
    /// For each producing character of the basic plane, in code order: the
    /// groups whose first markers it produces, and those whose second.
    basic_masks: Vec<(u64, u64)>,
    /// The same for characters beyond the basic plane (few).
    astral: HashMap<char, (u64, u64)>,
}

impl RawPrefilter {
    /// The test for keywords already normalized (`None` when one is empty).
    pub fn new(keywords: &[String]) -> Option<RawPrefilter> {
        let mut masks: std::collections::BTreeMap<char, (u64, u64)> = std::collections::BTreeMap::new();
        for (index, keyword) in keywords.iter().enumerate() {
            let group = 1u64 << (index % 64);
            let (first, second) = markers(keyword)?;
            for (marker, is_second) in [(first, false), (second, true)] {
                let producers = std::iter::once(marker).chain(PREIMAGES.get(&marker).into_iter().flatten().copied());
                for c in producers {
                    let entry = masks.entry(c).or_default();
                    if is_second {
                        entry.1 |= group;
                    } else {
                        entry.0 |= group;
                    }
                }
            }
        }
        let mut basic = Box::new([0u64; BASIC_WORDS]);
        let mut basic_masks = Vec::new();
        let mut astral = HashMap::new();
        // In code order, so that a character's place is its rank.
        for (c, entry) in masks {
            match basic.get_mut(c as usize / 64).filter(|_| (c as u32) < 0x10000) {
                Some(word) => {
                    *word |= 1 << (c as u32 % 64);
                    basic_masks.push(entry);
                }
                None => {
                    astral.insert(c, entry);
                }
            }
        }
        let rank = basic
            .iter()
            .scan(0u32, |before, word| {
                let here = *before;
                *before += word.count_ones();
                Some(here)
            })
            .collect();
        Some(RawPrefilter {
            basic,
            rank,
            basic_masks,
            astral,
        })
    }

    /// Whether the raw text (UTF-8; invalid bytes read as U+FFFD, which
    /// normalizes to nothing) may contain a keyword once normalized. Never
    /// false when it does.
    ///
    /// One pass over the bytes, decoding as it goes (no validation pass
    /// first).
    pub fn may_match(&self, bytes: &[u8]) -> bool {
        let continues = |b: &u8| b & 0xC0 == 0x80;
        let (mut firsts, mut seconds) = (0u64, 0u64);
        let mut rest = bytes;
        loop {
            // Two three-byte characters (Chinese text) that produce no
            // marker, the common case, skipped together: their six bytes'
            // shapes tested at once in one word.
            if let Some(word) = rest.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                let word = u64::from_le_bytes(word);
                if word & TWO_SHAPE_MASK == TWO_SHAPE
                    && !self.produces(code_in(word))
                    && !self.produces(code_in(word >> 24))
                {
                    rest = rest.get(6..).unwrap_or_default();
                    continue;
                }
            }
            let code = match rest {
                // Three bytes: the code point's bits as they are, without
                // the general decoder's checks for overlong forms and
                // surrogates, which a bitset lookup does not need.
                [lead @ 0xE0..=0xEF, b1, b2, tail @ ..] if continues(b1) && continues(b2) => {
                    rest = tail;
                    three(*lead, *b1, *b2)
                }
                [ascii @ 0..=0x7F, tail @ ..] => {
                    rest = tail;
                    u32::from(*ascii)
                }
                [lead, tail @ ..] => {
                    // A malformed byte is skipped alone, so the character
                    // after it is read from its own first byte.
                    let (code, len) = crate::utf8::decode(*lead, tail).map_or((0xFFFD, 1), |(c, len)| (c as u32, len));
                    rest = rest.get(len..).unwrap_or_default();
                    code
                }
                [] => return false,
            };
            if let Some((first, second)) = self.masks(code) {
                firsts |= first;
                seconds |= second;
                if firsts & seconds != 0 {
                    return true;
                }
            }
        }
    }

    /// Heap bytes of the tables every prefilter has, whatever its keywords.
    pub const TABLE_BYTES: usize = std::mem::size_of::<[u64; BASIC_WORDS]>() + BASIC_WORDS * 4;

    /// Heap bytes used.
    pub fn memory_usage(&self) -> usize {
        let entry = std::mem::size_of::<(char, (u64, u64))>();
        std::mem::size_of::<[u64; BASIC_WORDS]>()
            + self.rank.capacity() * std::mem::size_of::<u32>()
            + self.basic_masks.capacity() * std::mem::size_of::<(u64, u64)>()
            + self.astral.capacity() * (entry + 1)
    }

    /// Whether the basic-plane character `code` produces a marker (a bit
    /// test the branch reads directly: ~10% faster than joining two
    /// characters' bits first).
    #[inline(always)]
    fn produces(&self, code: u32) -> bool {
        let word = self.basic.get((code as usize >> 6) % BASIC_WORDS).copied().unwrap_or(0);
        (word >> (code % 64)) & 1 != 0
    }

    /// The masks of the groups the character `code` produces markers of.
    #[inline(always)]
    fn masks(&self, code: u32) -> Option<(u64, u64)> {
        if code >= 0x10000 {
            return self.astral.get(&char::from_u32(code)?).copied();
        }
        let at = (code as usize >> 6) % BASIC_WORDS;
        let word = *self.basic.get(at)?;
        let bit = 1u64 << (code % 64);
        if word & bit == 0 {
            return None;
        }
        let place = self.rank.get(at).copied().unwrap_or(0) + (word & (bit - 1)).count_ones();
        self.basic_masks.get(place as usize).copied()
    }
}

/// Two characters of a normalized keyword least likely in ordinary text
/// (not common ones when it has others; later ones first: the last
/// characters of a Chinese phrase are often its rarer noun).
fn markers(keyword: &str) -> Option<(char, char)> {
    let mut chars: Vec<char> = keyword.chars().rev().collect();
    // Stable: rare characters first, each kind in reverse order.
    chars.sort_by_key(|c| COMMON_SET.contains(c));
    chars.dedup();
    let first = *chars.first()?;
    Some((first, chars.get(1).copied().unwrap_or(first)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize;

    #[test]
    fn every_spelling_that_normalizes_to_a_keyword_passes() {
        let keywords: Vec<String> = ["赌博", "bet", "下注"].iter().map(|k| normalize(k)).collect();
        let prefilter = RawPrefilter::new(&keywords).unwrap();
        for text in ["賭博", "ＢＥＴ now", "Ⓑⓔⓣ", "赌 博", "下.注", "B\u{200B}ET", "𝐛𝐞𝐭"] {
            assert!(prefilter.may_match(text.as_bytes()), "{text}");
        }
        assert!(!prefilter.may_match("今天天气很好，一起去公园".as_bytes()));
    }

    #[test]
    fn characters_skipped_normalize_to_themselves_or_nothing() {
        let mut out = String::new();
        let mut skipped = 0;
        for c in SCANNED.into_iter().flatten().filter_map(char::from_u32) {
            if !normalizes_to_itself_or_nothing(c, crate::kept_table()) {
                continue;
            }
            skipped += 1;
            out.clear();
            crate::prepare_bytes_into(
                c.encode_utf8(&mut [0; 4]).as_bytes(),
                MatchMode::Normalized,
                &mut out,
                None,
            );
            assert!(out.is_empty() || out.chars().eq(std::iter::once(c)), "{c:?} -> {out:?}");
        }
        // Most characters (else the skip saves nothing).
        assert!(skipped > 90_000, "{skipped}");
    }
}
