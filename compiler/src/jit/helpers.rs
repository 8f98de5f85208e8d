//! The `extern "C"` helpers that compiled code calls for text, keyword,
//! regex and float-remainder operations. Each one catches panics, so none
//! ever unwinds into machine code; each reports through its return value.

use std::panic::{catch_unwind, AssertUnwindSafe};

use cranelift_codegen::ir::{types, AbiParam, Signature};
use cranelift_jit::JITBuilder;
use cranelift_module::{FuncId, Linkage, Module};

use super::JitError;
use crate::program::Program;
use crate::text::{prepare_bytes_into, MatchMode};

/// The evaluation context compiled code receives. The first five fields are
/// read by machine code at fixed offsets.
#[repr(C)]
pub struct EvalCtx {
    /// The evaluation clock, in microseconds (offset 0).
    pub now: i64,
    /// Bit per rule: its campaign is active (offset 8).
    pub active_rules: *const u64,
    /// Bit per exemption: its campaign is active (offset 16).
    pub active_exempts: *const u64,
    /// The program, for keyword sets and regexes (offset 24).
    pub program: *const Program,
    /// The values read from state, one word per state declaration
    /// (offset 32).
    pub state: *const i64,
    /// Strings made during one evaluation (`lower`, `+`). Each is a buffer
    /// of its own, which does not move while the evaluation runs.
    scratch: Vec<Vec<u8>>,
    /// Buffers of earlier evaluations, reused: a record's joins then
    /// allocate nothing.
    spare_scratch: Vec<Vec<u8>>,
    /// Strings joined during this evaluation, by the (pointer, length) of
    /// their parts (a range of `joined_parts`), and the scratch entry
    /// holding the result: a function
    /// such as `all_text(c)` called by many rules joins its parts once, and
    /// so its text is normalized and scanned once (the text cache goes by
    /// pointer). Sound because every string an evaluation sees (row,
    /// constants, scratch) stays put and unchanged until `clear_scratch`.
    joined: Vec<(std::ops::Range<usize>, usize)>,
    /// The (pointer, length) words of the parts of `joined`'s strings.
    joined_parts: Vec<u64>,
    /// Texts of this record prepared for keyword matching, by the (pointer,
    /// length) of the original and the match mode: a text is normalized and
    /// scanned once per record however many keyword sets are matched against it.
    texts: Vec<TextEntry>,
    /// Spare entries, reused across records.
    spare: Vec<TextEntry>,
    /// In an evidence run (see `CompiledPolicySet::evidence`): the hits of
    /// the keyword searches that matched so far.
    pub(super) evidence: Option<crate::explain::KeywordEvidence>,
    /// In an evidence run: by search site, the text it searched as written,
    /// owned by the compiled set, alive while it can be called.
    pub(super) evidence_fields: *const [String],
}

#[derive(Default)]
struct TextEntry {
    ptr: usize,
    len: u64,
    mode: MatchMode,
    prepared: String,
    /// For each keyword set: the distinct keywords found, when `scanned`
    /// (with the merged automaton of the mode; a mode with one set is matched
    /// with that set's own automaton instead).
    found: Vec<Vec<u32>>,
    scanned: bool,
    /// The fingerprint of `prepared`, once asked for (a text several state
    /// declarations key by is hashed once).
    fingerprint: Option<i64>,
}

/// Normalized texts cached per record.
const NORMALIZED_CACHE: usize = 16;

/// The largest scratch buffer kept from one evaluation to the next, in bytes.
const SCRATCH_KEPT: usize = 1 << 16;

/// Joined strings remembered per evaluation.
const JOINED_CACHE: usize = 64;

pub const CTX_NOW: i32 = 0;
pub const CTX_ACTIVE_RULES: i32 = 8;
pub const CTX_ACTIVE_EXEMPTS: i32 = 16;
pub const CTX_STATE: i32 = 32;

impl EvalCtx {
    pub(super) fn new(program: &Program) -> EvalCtx {
        EvalCtx {
            now: 0,
            active_rules: std::ptr::null(),
            active_exempts: std::ptr::null(),
            program,
            state: std::ptr::null(),
            scratch: Vec::new(),
            spare_scratch: Vec::new(),
            joined: Vec::new(),
            joined_parts: Vec::new(),
            texts: Vec::new(),
            spare: Vec::new(),
            evidence: None,
            evidence_fields: std::ptr::slice_from_raw_parts(std::ptr::null(), 0),
        }
    }

    pub(super) fn clear_scratch(&mut self) {
        // A record's huge strings are not kept for the next one.
        let kept = self.scratch.drain(..).filter(|b| b.capacity() <= SCRATCH_KEPT);
        self.spare_scratch.extend(kept);
        self.joined.clear();
        self.joined_parts.clear();
        self.spare.append(&mut self.texts);
    }

    /// The index in `texts` of the text at (`ptr`, `len`) prepared for
    /// `mode`, prepared once per record.
    fn prepared(&mut self, ptr: *const u8, len: u64, mode: MatchMode) -> usize {
        let key = ptr as usize;
        if let Some(index) = self
            .texts
            .iter()
            .position(|e| e.ptr == key && e.len == len && e.mode == mode)
        {
            return index;
        }
        if self.texts.len() >= NORMALIZED_CACHE {
            if let Some(entry) = self.texts.pop() {
                self.spare.push(entry);
            }
        }
        let mut entry = self.spare.pop().unwrap_or_default();
        entry.ptr = key;
        entry.len = len;
        entry.mode = mode;
        entry.prepared.clear();
        entry.scanned = false;
        entry.fingerprint = None;
        // SAFETY: see `bytes`; compiled code passes string slots it may read.
        prepare_bytes_into(unsafe { bytes(ptr, len) }, mode, &mut entry.prepared, None);
        self.texts.push(entry);
        self.texts.len() - 1
    }

    /// The text at (`ptr`, `len`) prepared for `mode` and scanned with the
    /// merged automaton of that mode, computed once per record.
    fn scanned(&mut self, program: &Program, ptr: *const u8, len: u64, mode: MatchMode) -> Option<&TextEntry> {
        let index = self.prepared(ptr, len, mode);
        let entry = self.texts.get_mut(index)?;
        if !entry.scanned {
            if let Some(merged) = program.merged(mode) {
                merged.scan(&entry.prepared, &mut entry.found, program.keyword_sets.len());
                entry.scanned = true;
            }
        }
        Some(entry)
    }
}

/// Builds a `&str` from compiled code's (pointer, length).
///
/// # Safety
/// `ptr..ptr + len` must be readable bytes: compiled code only passes string
/// slots of validated rows, constants the compiled set owns, or scratch strings.
pub(super) unsafe fn text<'a>(ptr: *const u8, len: u64) -> std::borrow::Cow<'a, str> {
    if len == 0 {
        return std::borrow::Cow::Borrowed("");
    }
    // SAFETY: guaranteed by the caller, see above.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len as usize) };
    // Short ASCII texts (ids, names: most state keys) answered by a word
    // test, where the validator's setup costs ~70 instructions a text.
    if qlp_text::is_short_ascii(bytes) {
        // SAFETY: ASCII is UTF-8.
        return std::borrow::Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    // Rows hold valid UTF-8 (ingestion checks it): validation is the fast
    // path, the lossy conversion only for rows built otherwise. With SIMD:
    // an evidence run checks a record's joined texts, hundreds of bytes,
    // ~6x faster (short texts, keys, measured the same either way).
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// What a helper returns when it could not compute (a panic caught, a
/// missing context, set or regex). Generated code checks every guarded
/// helper's result for it and reports the rule as in error: never a silent
/// `false`.
// INVARIANT: no guarded helper computes `i64::MIN` as a value (they return
// 0/1, counts or lengths), so the sentinel is never a real answer.
pub(super) const FAILED: i64 = i64::MIN;

/// Runs `f`, turning a panic into `fallback`.
fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The raw bytes compiled code points at.
///
/// # Safety
/// As for [`text`].
unsafe fn bytes<'a>(ptr: *const u8, len: u64) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(ptr, len as usize) }
}

// Comparisons, lengths and substring tests work on the UTF-8 bytes directly:
// for valid UTF-8 (what ingestion produces) they equal the `str` operations
// the interpreter uses, without decoding.

extern "C" fn qlp_str_cmp(a: *const u8, a_len: u64, b: *const u8, b_len: u64) -> i64 {
    // SAFETY: see `bytes`.
    let (a, b) = unsafe { (bytes(a, a_len), bytes(b, b_len)) };
    match a.cmp(b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }
}

extern "C" fn qlp_str_len(a: *const u8, a_len: u64) -> i64 {
    // SAFETY: see `bytes`.
    let a = unsafe { bytes(a, a_len) };
    // Characters are the bytes that do not continue a UTF-8 sequence.
    a.iter().filter(|b| (**b as i8) >= -0x40).count() as i64
}

/// `op`: 0 contains, 1 starts_with, 2 ends_with.
extern "C" fn qlp_str_test(op: i64, a: *const u8, a_len: u64, b: *const u8, b_len: u64) -> i64 {
    guard(FAILED, || {
        // SAFETY: see `bytes`.
        let (a, b) = unsafe { (bytes(a, a_len), bytes(b, b_len)) };
        i64::from(match op {
            0 => memchr::memmem::find(a, b).is_some(),
            1 => a.starts_with(b),
            _ => a.ends_with(b),
        })
    })
}

/// Looks up the program through the context.
///
/// # Safety
/// `ctx` must be the live context compiled code was called with.
unsafe fn program<'a>(ctx: *const EvalCtx) -> Option<&'a Program> {
    // SAFETY: guaranteed by the caller; `program` was set from an `Arc` the
    // compiled set holds for as long as it can be called.
    unsafe { (*ctx).program.as_ref() }
}

/// Runs `f` on keyword set `set` and the text at (`ptr`, `len`) prepared
/// (and, with several sets of its mode, scanned) for this record. With
/// `presence`, only whether a keyword occurs is asked: a keyword found in
/// the raw text as it is answers 1 without normalizing.
fn with_keywords(
    ctx: *mut EvalCtx,
    set: u64,
    ptr: *const u8,
    len: u64,
    presence: bool,
    f: impl FnOnce(&crate::text::KeywordMatcher, &TextEntry) -> i64,
) -> i64 {
    guard(FAILED, || {
        // SAFETY: compiled code passes its live context, used by one thread.
        let Some(ctx) = (unsafe { ctx.as_mut() }) else {
            return FAILED;
        };
        // SAFETY: see `program`.
        let Some(program) = (unsafe { program(ctx) }) else {
            return FAILED;
        };
        let Some(keyword_set) = program.keyword_sets.get(set as usize) else {
            return FAILED;
        };
        // A text the raw test rules out holds no keyword: no match, no
        // count, and no normalization (the interpreter, the specification,
        // always normalizes: the differential test checks the two agree).
        // A text already scanned for this record is matched from there:
        // the raw test would read it again for nothing. One only prepared
        // (a fingerprint's) is still tested raw first: the test of one set
        // costs less than the scan of every set.
        let mode = keyword_set.matcher.mode();
        let cached = ctx
            .texts
            .iter()
            .any(|e| e.ptr == ptr as usize && e.len == len && e.mode == mode && e.scanned);
        if !cached {
            // SAFETY: see `bytes`.
            let raw = unsafe { bytes(ptr, len) };
            if !keyword_set.matcher.may_match_raw(raw) {
                return 0;
            }
            if presence && keyword_set.matcher.certain_in_raw(raw) {
                return 1;
            }
        }
        match ctx.scanned(program, ptr, len, mode) {
            Some(entry) => f(&keyword_set.matcher, entry),
            None => FAILED,
        }
    })
}

extern "C" fn qlp_has_any(ctx: *mut EvalCtx, set: u64, ptr: *const u8, len: u64) -> i64 {
    with_keywords(ctx, set, ptr, len, true, |matcher, entry| {
        let found = if entry.scanned {
            entry.found.get(set as usize).is_some_and(|f| !f.is_empty())
        } else {
            matcher.is_match_prepared(&entry.prepared)
        };
        i64::from(found)
    })
}

extern "C" fn qlp_count_matches(ctx: *mut EvalCtx, set: u64, ptr: *const u8, len: u64) -> i64 {
    with_keywords(ctx, set, ptr, len, false, |matcher, entry| {
        if entry.scanned {
            entry.found.get(set as usize).map_or(0, |f| f.len() as i64)
        } else {
            matcher.distinct_matches_prepared(&entry.prepared).len() as i64
        }
    })
}

/// `has_any` in an evidence run: whether a keyword of `set` is in the text,
/// the hits of a match added to the run's evidence under search site
/// `site`'s field.
extern "C" fn qlp_has_any_evidence(ctx: *mut EvalCtx, set: u64, site: u64, ptr: *const u8, len: u64) -> i64 {
    search_for_evidence(ctx, set, site, ptr, len, None)
}

/// `count_matches` in an evidence run: the distinct keywords of `set` in
/// the text, the hits added to the run's evidence.
extern "C" fn qlp_count_matches_evidence(ctx: *mut EvalCtx, set: u64, site: u64, ptr: *const u8, len: u64) -> i64 {
    search_for_evidence(
        ctx,
        set,
        site,
        ptr,
        len,
        Some(|matcher, text| matcher.distinct_matches_prepared(text).len() as i64),
    )
}

/// A keyword search in an evidence run, as the interpreter makes it: the
/// text prepared (with the map back to the original), `search`ed, and the
/// hits of a result above 0 added to the run's evidence under site
/// `site`'s field (`crate::explain::add_hits`, the interpreter observer's
/// code). The prepared text is not the record's cached one, which has no
/// map: a text the raw test rules out is not prepared at all. Without
/// `search` (`has_any`), the scan for hits answers: whether it found one.
fn search_for_evidence(
    ctx: *mut EvalCtx,
    set: u64,
    site: u64,
    ptr: *const u8,
    len: u64,
    search: Option<fn(&crate::text::KeywordMatcher, &str) -> i64>,
) -> i64 {
    guard(FAILED, || {
        // SAFETY: compiled code passes its live context, used by one thread.
        let Some(context) = (unsafe { ctx.as_mut() }) else {
            return FAILED;
        };
        // SAFETY: see `program`; `evidence_fields` is set, like `program`,
        // from the compiled set for the run.
        let (program, fields) = unsafe { (program(context), context.evidence_fields.as_ref()) };
        let (Some(program), Some(field), Some(evidence)) = (
            program,
            fields.and_then(|f| f.get(site as usize)),
            context.evidence.as_mut(),
        ) else {
            return FAILED;
        };
        let Some(keyword_set) = program.keyword_sets.get(set as usize) else {
            return FAILED;
        };
        let matcher = &keyword_set.matcher;
        // SAFETY: see `bytes`.
        if !matcher.may_match_raw(unsafe { bytes(ptr, len) }) {
            return 0;
        }
        // SAFETY: see `text`.
        let original = unsafe { text(ptr, len) };
        let normalized = crate::text::prepare_normalized(&original, matcher.mode(), true);
        let set_id = crate::program::KeywordSetId(set as u32);
        let mut add_hits = || crate::explain::add_hits(program, evidence, set_id, field, &original, &normalized);
        match search {
            None => i64::from(add_hits() > 0),
            Some(search) => {
                let result = search(matcher, &normalized.text);
                if result > 0 {
                    add_hits();
                }
                result
            }
        }
    })
}

// INVARIANT: a fingerprint is non-negative, so never `FAILED`.
extern "C" fn qlp_fingerprint(ctx: *mut EvalCtx, ptr: *const u8, len: u64) -> i64 {
    guard(FAILED, || {
        // SAFETY: compiled code passes its live context, used by one thread.
        let Some(ctx) = (unsafe { ctx.as_mut() }) else {
            return FAILED;
        };
        // The normalized text is the one keyword matching scans: shared.
        let index = ctx.prepared(ptr, len, MatchMode::Normalized);
        ctx.texts.get_mut(index).map_or(FAILED, |entry| {
            *entry
                .fingerprint
                .get_or_insert_with(|| crate::text::fingerprint_of_normalized(&entry.prepared))
        })
    })
}

extern "C" fn qlp_regex(ctx: *const EvalCtx, regex: u64, ptr: *const u8, len: u64) -> i64 {
    guard(FAILED, || {
        // SAFETY: see `program` and `text`.
        let (program, text) = unsafe { (program(ctx), text(ptr, len)) };
        match program.and_then(|p| p.regexes.get(regex as usize)) {
            Some(regex) => i64::from(regex.is_match(&text)),
            None => FAILED,
        }
    })
}

/// Whether a word (int, time, duration, enum or bool) is in a hashed list.
extern "C" fn qlp_in_words(ctx: *const EvalCtx, set: u64, word: i64) -> i64 {
    guard(FAILED, || {
        // SAFETY: see `program`.
        let program = unsafe { program(ctx) };
        match program.and_then(|p| p.const_sets.get(set as usize)) {
            Some(crate::program::ConstSet::Words(words)) => i64::from(words.contains(&word)),
            _ => FAILED,
        }
    })
}

/// Whether a string is in a hashed list. Bytes that are not UTF-8 equal no
/// constant, as in the interpreter.
extern "C" fn qlp_in_strings(ctx: *const EvalCtx, set: u64, ptr: *const u8, len: u64) -> i64 {
    guard(FAILED, || {
        // SAFETY: see `program` and `bytes`.
        let (program, bytes) = unsafe { (program(ctx), bytes(ptr, len)) };
        match (
            program.and_then(|p| p.const_sets.get(set as usize)),
            std::str::from_utf8(bytes),
        ) {
            (Some(crate::program::ConstSet::Strings(strings)), Ok(text)) => i64::from(strings.contains(text)),
            (Some(crate::program::ConstSet::Strings(_)), Err(_)) => 0,
            _ => FAILED,
        }
    })
}

/// Keeps `value` in the context's scratch and writes its (pointer, length) to `out`.
///
/// # Safety
/// `ctx` must be the live context and `out` point at two writable words.
unsafe fn give(ctx: *mut EvalCtx, value: Vec<u8>, out: *mut u64) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        write_str(out, &value);
        (*ctx).scratch.push(value);
    }
}

/// Writes the (pointer, length) of `value` to `out`.
///
/// # Safety
/// `out` is a two-word stack slot.
unsafe fn write_str(out: *mut u64, value: &[u8]) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        *out = value.as_ptr() as u64;
        *out.add(1) = value.len() as u64;
    }
}

/// `op`: 0 lower, 1 upper, 2 trim, 3 unescape.
extern "C" fn qlp_str_map(ctx: *mut EvalCtx, op: i64, ptr: *const u8, len: u64, out: *mut u64) -> i64 {
    guard(FAILED, || {
        // SAFETY: see `text`.
        let text = unsafe { text(ptr, len) };
        let mapped = match op {
            0 => text.to_lowercase(),
            1 => text.to_uppercase(),
            3 => crate::text::unescape(&text),
            _ => text.trim().to_string(),
        };
        // SAFETY: compiled code passes its context and a two-word stack slot.
        unsafe { give(ctx, mapped.into_bytes(), out) };
        0
    })
}

/// The most parts one call of [`qlp_concat`] joins: a longer chain of `+`
/// is joined in groups, each group's result the first part of the next.
pub const CONCAT_PARTS: usize = 32;

/// Joins `n` strings, given as (pointer, length) pairs at `parts`, into one
/// (a chain `a + b + c + ...` is one call: each byte is copied once).
extern "C" fn qlp_concat(ctx: *mut EvalCtx, parts: *const u64, n: u64, out: *mut u64) -> i64 {
    guard(FAILED, || {
        // SAFETY: compiled code passes its live context, used by one thread.
        let Some(context) = (unsafe { ctx.as_mut() }) else {
            return FAILED;
        };
        // SAFETY: compiled code passes a stack slot of `n` (pointer, length)
        // pairs, `n` at most `CONCAT_PARTS`.
        let words = unsafe { std::slice::from_raw_parts(parts, 2 * n.min(CONCAT_PARTS as u64) as usize) };
        let joined = context
            .joined
            .iter()
            .find(|(range, _)| context.joined_parts.get(range.clone()) == Some(words));
        if let Some(value) = joined.and_then(|(_, index)| context.scratch.get(*index)) {
            // SAFETY: compiled code passes a two-word stack slot.
            unsafe { write_str(out, value) };
            return 0;
        }
        let pieces = words.chunks_exact(2).map(|pair| match pair {
            // SAFETY: see `bytes`.
            [ptr, len] => unsafe { bytes(*ptr as *const u8, *len) },
            _ => &[],
        });
        // Bounded, so that a policy with thousands of joins does not pay a
        // quadratic search per record.
        if context.joined.len() < JOINED_CACHE {
            let start = context.joined_parts.len();
            context.joined_parts.extend_from_slice(words);
            context
                .joined
                .push((start..context.joined_parts.len(), context.scratch.len()));
        }
        let mut joined = context.spare_scratch.pop().unwrap_or_default();
        joined.clear();
        joined.reserve(pieces.clone().map(<[u8]>::len).sum());
        // Bytes joined as they are, not validated again: rows hold valid
        // UTF-8 (ingestion and `Row::encode` make nothing else), so the
        // result is valid too, and readers take invalid bytes as U+FFFD.
        pieces.for_each(|piece| joined.extend_from_slice(piece));
        // SAFETY: compiled code passes its context and a two-word stack slot.
        unsafe { give(ctx, joined, out) };
        0
    })
}

/// `hour_of`, `weekday_of`, `day_of`: `part` is a `ClockPart` in
/// declaration order, `zone` an index of `Program::zones` or -1 for the
/// set's zone.
extern "C" fn qlp_clock(ctx: *const EvalCtx, part: u64, zone: i64, micros: i64) -> i64 {
    use crate::program::ClockPart;
    guard(FAILED, || {
        // SAFETY: see `program`.
        let Some(program) = (unsafe { program(ctx) }) else {
            return FAILED;
        };
        let part = match part {
            0 => ClockPart::Hour,
            1 => ClockPart::Weekday,
            _ => ClockPart::Day,
        };
        part.of(program.clock_zone(u32::try_from(zone).ok()), micros)
    })
}

extern "C" fn qlp_fmod(a: f64, b: f64) -> f64 {
    a % b
}

/// The helpers' function ids in the module.
pub struct HelperIds {
    pub str_cmp: FuncId,
    pub str_len: FuncId,
    pub str_test: FuncId,
    pub has_any: FuncId,
    pub count_matches: FuncId,
    pub regex: FuncId,
    pub in_words: FuncId,
    pub in_strings: FuncId,
    pub str_map: FuncId,
    pub concat: FuncId,
    pub has_any_evidence: FuncId,
    pub count_matches_evidence: FuncId,
    pub fmod: FuncId,
    pub fingerprint: FuncId,
    pub clock: FuncId,
}

pub fn register(builder: &mut JITBuilder) {
    builder.symbol("qlp_str_cmp", qlp_str_cmp as *const u8);
    builder.symbol("qlp_str_len", qlp_str_len as *const u8);
    builder.symbol("qlp_str_test", qlp_str_test as *const u8);
    builder.symbol("qlp_has_any", qlp_has_any as *const u8);
    builder.symbol("qlp_count_matches", qlp_count_matches as *const u8);
    builder.symbol("qlp_regex", qlp_regex as *const u8);
    builder.symbol("qlp_in_words", qlp_in_words as *const u8);
    builder.symbol("qlp_in_strings", qlp_in_strings as *const u8);
    builder.symbol("qlp_str_map", qlp_str_map as *const u8);
    builder.symbol("qlp_concat", qlp_concat as *const u8);
    builder.symbol("qlp_has_any_evidence", qlp_has_any_evidence as *const u8);
    builder.symbol("qlp_count_matches_evidence", qlp_count_matches_evidence as *const u8);
    builder.symbol("qlp_fmod", qlp_fmod as *const u8);
    builder.symbol("qlp_fingerprint", qlp_fingerprint as *const u8);
    builder.symbol("qlp_clock", qlp_clock as *const u8);
}

pub fn declare(module: &mut impl Module) -> Result<HelperIds, JitError> {
    let mut declare = |name: &str, params: &[types::Type], returns: &[types::Type]| {
        let mut signature: Signature = module.make_signature();
        signature.params.extend(params.iter().map(|t| AbiParam::new(*t)));
        signature.returns.extend(returns.iter().map(|t| AbiParam::new(*t)));
        module
            .declare_function(name, Linkage::Import, &signature)
            .map_err(|e| JitError(e.to_string()))
    };
    use types::{F64, I64};
    Ok(HelperIds {
        str_cmp: declare("qlp_str_cmp", &[I64, I64, I64, I64], &[I64])?,
        str_len: declare("qlp_str_len", &[I64, I64], &[I64])?,
        str_test: declare("qlp_str_test", &[I64, I64, I64, I64, I64], &[I64])?,
        has_any: declare("qlp_has_any", &[I64, I64, I64, I64], &[I64])?,
        count_matches: declare("qlp_count_matches", &[I64, I64, I64, I64], &[I64])?,
        regex: declare("qlp_regex", &[I64, I64, I64, I64], &[I64])?,
        in_words: declare("qlp_in_words", &[I64, I64, I64], &[I64])?,
        in_strings: declare("qlp_in_strings", &[I64, I64, I64, I64], &[I64])?,
        str_map: declare("qlp_str_map", &[I64, I64, I64, I64, I64], &[I64])?,
        concat: declare("qlp_concat", &[I64, I64, I64, I64], &[I64])?,
        has_any_evidence: declare("qlp_has_any_evidence", &[I64, I64, I64, I64, I64], &[I64])?,
        count_matches_evidence: declare("qlp_count_matches_evidence", &[I64, I64, I64, I64, I64], &[I64])?,
        fmod: declare("qlp_fmod", &[F64, F64], &[F64])?,
        fingerprint: declare("qlp_fingerprint", &[I64, I64, I64], &[I64])?,
        clock: declare("qlp_clock", &[I64, I64, I64, I64], &[I64])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A helper asked about a set, regex or list the program does not have
    /// says it failed; it never answers `false`.
    #[test]
    fn helpers_report_failure_instead_of_false() {
        let program = Program::default();
        let mut ctx = EvalCtx::new(&program);
        let ctx: *mut EvalCtx = &mut ctx;
        let text = "赌博";
        let (ptr, len) = (text.as_ptr(), text.len() as u64);
        assert_eq!(qlp_has_any(ctx, 0, ptr, len), FAILED);
        assert_eq!(qlp_count_matches(ctx, 0, ptr, len), FAILED);
        assert_eq!(qlp_regex(ctx, 0, ptr, len), FAILED);
        assert_eq!(qlp_in_words(ctx, 0, 1), FAILED);
        assert_eq!(qlp_in_strings(ctx, 0, ptr, len), FAILED);
    }
}
