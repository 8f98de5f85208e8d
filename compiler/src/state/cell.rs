//! What a store keeps per key ([`Cell`]): a counter's or distinct count's
//! buckets, a first-seen record, a tag's end; distinct values exact up to a
//! bound, then a HyperLogLog sketch; and the bytes a store writes.

use super::floor;
use crate::program::{StateDef, StateKind};
#[cfg(test)]
use crate::text::stable_hash;
use compact_str::CompactString;

/// Distinct values counted exactly, per window, before the count becomes
/// a HyperLogLog estimate.
pub const DISTINCT_EXACT: usize = 1024;
/// HyperLogLog precision: 2^12 registers, a standard error of 1.6%.
const HLL_BITS: u32 = 12;
const HLL_REGISTERS: usize = 1 << HLL_BITS;

/// One key's stored state.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A counter's buckets.
    Counter(Window<u64>),
    /// A distinct count's buckets.
    Distinct(Window<DistinctSet>),
    /// The earliest record seen: its event time and id.
    FirstSeen {
        /// Event time, microseconds.
        time: i64,
        /// The record's `id:`.
        id: CompactString,
    },
    /// A tag, set until `expires` (event time, exclusive).
    Tag {
        /// Event time the tag ends at.
        expires: i64,
    },
}

impl Cell {
    /// Whether no read can see it again once `def`'s watermark is `mark`,
    /// so that a store may drop it.
    pub fn expired(&self, def: &StateDef, mark: i64) -> bool {
        match self {
            Cell::Counter(w) => w.newest().is_none_or(|n| n <= floor(def, mark)),
            Cell::Distinct(w) => w.newest().is_none_or(|n| n <= floor(def, mark)),
            Cell::FirstSeen { .. } => false,
            Cell::Tag { expires } => *expires <= mark.saturating_sub(def.ttl),
        }
    }

    /// Bytes it takes in memory, roughly (for store limits and reports).
    pub fn memory(&self) -> usize {
        std::mem::size_of::<Cell>()
            + match self {
                Cell::Counter(w) => w.buckets.capacity() * std::mem::size_of::<(i64, u64)>(),
                Cell::Distinct(w) => w.buckets.iter().map(|(_, s)| 16 + s.memory()).sum(),
                Cell::FirstSeen { id, .. } if id.is_heap_allocated() => id.capacity(),
                Cell::FirstSeen { .. } => 0,
                Cell::Tag { .. } => 0,
            }
    }
}

/// Where a declaration's cells live in a store that outlives the policy
/// set: its name, kind and window (or ttl). Changing a declaration's shape
/// starts it afresh rather than reading cells counted another way.
pub fn namespace(def: &StateDef) -> String {
    match def.kind {
        StateKind::Counter | StateKind::Distinct => {
            format!("{}:{}:{}:{}", def.name, def.kind.as_str(), def.window, def.bucket)
        }
        StateKind::FirstSeen => format!("{}:{}", def.name, def.kind.as_str()),
        StateKind::Tag => format!("{}:{}", def.name, def.kind.as_str()),
    }
}

impl Cell {
    /// The cell as bytes, for stores that keep bytes (little-endian words,
    /// a tag byte first).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let word = |out: &mut Vec<u8>, w: u64| out.extend_from_slice(&w.to_le_bytes());
        match self {
            Cell::Counter(window) => {
                out.push(1);
                word(&mut out, window.buckets.len() as u64);
                for (bucket, count) in &window.buckets {
                    word(&mut out, *bucket as u64);
                    word(&mut out, *count);
                }
            }
            Cell::Distinct(window) => {
                out.push(2);
                word(&mut out, window.buckets.len() as u64);
                for (bucket, set) in &window.buckets {
                    word(&mut out, *bucket as u64);
                    match set {
                        DistinctSet::Exact(hashes) => {
                            out.push(0);
                            word(&mut out, hashes.len() as u64);
                            hashes.iter().for_each(|h| word(&mut out, *h));
                        }
                        DistinctSet::Sketch(registers) => {
                            out.push(1);
                            out.extend_from_slice(registers);
                        }
                    }
                }
            }
            Cell::FirstSeen { time, id } => {
                out.push(3);
                word(&mut out, *time as u64);
                out.extend_from_slice(id.as_bytes());
            }
            Cell::Tag { expires } => {
                out.push(4);
                word(&mut out, *expires as u64);
            }
        }
        out
    }

    /// A cell from [`Cell::encode`]'s bytes; `None` for bytes that are not
    /// one (a store written by something else, or damaged).
    pub fn decode(bytes: &[u8]) -> Option<Cell> {
        let mut reader = Reader(bytes);
        let cell = match reader.byte()? {
            1 => {
                let n = reader.len(16)?;
                let mut buckets = Vec::with_capacity(n);
                for _ in 0..n {
                    buckets.push((reader.word()? as i64, reader.word()?));
                }
                Cell::Counter(Window { buckets })
            }
            2 => {
                let n = reader.len(9)?;
                let mut buckets = Vec::with_capacity(n);
                for _ in 0..n {
                    let bucket = reader.word()? as i64;
                    let set = match reader.byte()? {
                        0 => {
                            let len = reader.len(8)?;
                            DistinctSet::Exact((0..len).map(|_| reader.word()).collect::<Option<Vec<u64>>>()?)
                        }
                        1 => DistinctSet::Sketch(Box::from(reader.take(HLL_REGISTERS)?)),
                        _ => return None,
                    };
                    buckets.push((bucket, set));
                }
                Cell::Distinct(Window { buckets })
            }
            3 => {
                let time = reader.word()? as i64;
                let id = CompactString::from(std::str::from_utf8(reader.take(reader.0.len())?).ok()?);
                Cell::FirstSeen { time, id }
            }
            4 => Cell::Tag {
                expires: reader.word()? as i64,
            },
            _ => return None,
        };
        reader.0.is_empty().then_some(cell)
    }
}

/// Reads [`Cell::encode`]'s bytes, never past their end.
struct Reader<'b>(&'b [u8]);

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn word(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A count of items at least `min_size` bytes each, bounded by what is left.
    fn len(&mut self, min_size: usize) -> Option<usize> {
        let n = usize::try_from(self.word()?).ok()?;
        (n.checked_mul(min_size)? <= self.0.len()).then_some(n)
    }
}

/// A key's buckets, oldest first: only those a read may still see.
#[derive(Debug, Clone, PartialEq)]
pub struct Window<T> {
    /// Bucket number and content, ascending.
    pub buckets: Vec<(i64, T)>,
}

impl<T> Default for Window<T> {
    fn default() -> Self {
        Window { buckets: Vec::new() }
    }
}

impl<T: Default> Window<T> {
    /// The content of bucket `b` to write into, after dropping the buckets
    /// at or before `low` (`b` is after it).
    pub(super) fn slot(&mut self, b: i64, low: i64) -> &mut T {
        self.buckets.retain(|(bucket, _)| *bucket > low);
        let at = match self.buckets.binary_search_by_key(&b, |(bucket, _)| *bucket) {
            Ok(at) => at,
            Err(at) => {
                self.buckets.insert(at, (b, T::default()));
                at
            }
        };
        // INVARIANT: `at` is the index of bucket `b`, found or just inserted.
        #[expect(clippy::indexing_slicing, reason = "the bucket is at `at`")]
        &mut self.buckets[at].1
    }
}

impl<T> Window<T> {
    /// The newest bucket kept.
    pub fn newest(&self) -> Option<i64> {
        self.buckets.last().map(|(b, _)| *b)
    }

    /// The buckets after `low`, up to `high`.
    pub(super) fn in_range(&self, low: i64, high: i64) -> impl Iterator<Item = &T> {
        self.buckets
            .iter()
            .filter(move |(bucket, _)| *bucket > low && *bucket <= high)
            .map(|(_, content)| content)
    }
}

impl Window<u64> {
    pub(super) fn sum_in(&self, low: i64, high: i64) -> i64 {
        let sum = self.in_range(low, high).fold(0u64, |sum, c| sum.saturating_add(*c));
        i64::try_from(sum).unwrap_or(i64::MAX)
    }
}

/// The values of one bucket of a distinct count: their hashes, exactly,
/// up to [`DISTINCT_EXACT`], then a HyperLogLog sketch.
#[derive(Debug, Clone, PartialEq)]
pub enum DistinctSet {
    /// Sorted hashes.
    Exact(Vec<u64>),
    /// HyperLogLog registers.
    Sketch(Box<[u8]>),
}

impl Default for DistinctSet {
    fn default() -> Self {
        DistinctSet::Exact(Vec::new())
    }
}

impl DistinctSet {
    /// Adds a value's hash.
    pub fn insert(&mut self, hash: u64) {
        match self {
            DistinctSet::Exact(hashes) => {
                if let Err(at) = hashes.binary_search(&hash) {
                    hashes.insert(at, hash);
                }
                if hashes.len() > DISTINCT_EXACT {
                    let mut registers = vec![0u8; HLL_REGISTERS].into_boxed_slice();
                    for h in hashes.iter() {
                        hll_add(&mut registers, *h);
                    }
                    *self = DistinctSet::Sketch(registers);
                }
            }
            DistinctSet::Sketch(registers) => hll_add(registers, hash),
        }
    }

    fn memory(&self) -> usize {
        match self {
            DistinctSet::Exact(h) => h.capacity() * 8,
            DistinctSet::Sketch(r) => r.len(),
        }
    }
}

/// The union of a window's buckets, counted.
#[derive(Default)]
pub(super) struct Union {
    exact: Vec<u64>,
    sketch: Option<Box<[u8]>>,
}

impl Union {
    pub(super) fn add(&mut self, hash: u64) {
        match &mut self.sketch {
            Some(registers) => hll_add(registers, hash),
            None => self.exact.push(hash),
        }
    }

    pub(super) fn add_set(&mut self, set: &DistinctSet) {
        match set {
            DistinctSet::Exact(hashes) => {
                for h in hashes {
                    self.add(*h);
                }
            }
            DistinctSet::Sketch(registers) => {
                let own = self.sketch();
                for (mine, theirs) in own.iter_mut().zip(registers.iter()) {
                    *mine = (*mine).max(*theirs);
                }
            }
        }
    }

    /// Switches to a sketch, adding the exact values so far.
    fn sketch(&mut self) -> &mut Box<[u8]> {
        let exact = std::mem::take(&mut self.exact);
        self.sketch.get_or_insert_with(|| {
            let mut registers = vec![0u8; HLL_REGISTERS].into_boxed_slice();
            for h in exact {
                hll_add(&mut registers, h);
            }
            registers
        })
    }

    pub(super) fn count(mut self) -> i64 {
        if self.sketch.is_none() {
            self.exact.sort_unstable();
            self.exact.dedup();
            if self.exact.len() <= DISTINCT_EXACT {
                return self.exact.len() as i64;
            }
        }
        hll_estimate(self.sketch())
    }
}

fn hll_add(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - HLL_BITS)) as usize;
    let rest = hash << HLL_BITS;
    let rank = (rest.leading_zeros().min(64 - HLL_BITS) + 1) as u8;
    if let Some(register) = registers.get_mut(index) {
        *register = (*register).max(rank);
    }
}

/// The HyperLogLog estimate, with linear counting for small cardinalities.
fn hll_estimate(registers: &[u8]) -> i64 {
    let m = registers.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = registers.iter().map(|r| 2f64.powi(-i32::from(*r))).sum();
    let zeros = registers.iter().filter(|r| **r == 0).count();
    let raw = alpha * m * m / sum;
    let estimate = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    estimate.round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keep_only_what_a_read_can_see() {
        let mut w: Window<u64> = Window::default();
        *w.slot(10, 7) += 1;
        *w.slot(12, 7) += 1;
        assert_eq!(w.sum_in(9, 12), 2);
        // With the watermark at bucket 13 and 3 buckets a window, bucket 10 is dropped.
        *w.slot(13, 10) += 1;
        assert_eq!(w.sum_in(10, 13), 2);
        assert_eq!(w.buckets.len(), 2);
        *w.slot(11, 10) += 1;
        assert_eq!(w.sum_in(10, 13), 3);
        assert_eq!(w.sum_in(10, 11), 1);
    }

    #[test]
    fn cells_round_trip_through_bytes_and_damaged_bytes_are_refused() {
        let mut sketch = DistinctSet::default();
        for i in 0..2_000u64 {
            sketch.insert(stable_hash(&i.to_le_bytes()));
        }
        let cells = [
            Cell::Counter(Window {
                buckets: vec![(-3, 1), (7, u64::MAX)],
            }),
            Cell::Distinct(Window {
                buckets: vec![(1, DistinctSet::Exact(vec![1, 2, 3])), (2, sketch)],
            }),
            Cell::FirstSeen {
                time: -5,
                id: CompactString::from("帖子 1"),
            },
            Cell::Tag { expires: i64::MAX },
        ];
        for cell in cells {
            let bytes = cell.encode();
            assert_eq!(Cell::decode(&bytes), Some(cell.clone()));
            for cut in 0..bytes.len() {
                if !matches!(cell, Cell::FirstSeen { .. }) || cut < 9 {
                    assert_eq!(Cell::decode(&bytes[..cut]), None, "{cell:?} cut at {cut}");
                }
            }
        }
        assert_eq!(Cell::decode(&[1, 255, 255, 255, 255, 255, 255, 255, 255]), None);
    }

    #[test]
    fn distinct_counts_are_exact_up_to_the_bound_then_close() {
        let mut union = Union::default();
        for i in 0..DISTINCT_EXACT as u64 {
            union.add(stable_hash(&i.to_le_bytes()));
            union.add(stable_hash(&i.to_le_bytes()));
        }
        assert_eq!(union.count(), DISTINCT_EXACT as i64);
        for n in [2_000u64, 10_000, 100_000] {
            let mut set = DistinctSet::default();
            for i in 0..n {
                set.insert(stable_hash(&i.to_le_bytes()));
            }
            let mut union = Union::default();
            union.add_set(&set);
            let estimate = union.count() as f64;
            let error = (estimate - n as f64).abs() / n as f64;
            assert!(error < 0.05, "{n}: estimated {estimate}");
        }
    }
}
