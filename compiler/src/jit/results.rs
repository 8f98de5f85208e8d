//! A run's output words read back: where each rule and exemption writes
//! its result ([`OutLayout`]), every active rule's result listed
//! ([`Conditions`]), or, when nothing erred, the outcome straight from the
//! bits.

use super::{CompiledPolicySet, EvalContext, Run};
use crate::interp::{EvalError, EvalErrorKind};
use crate::outcome::{Conditions, Outcome};
use crate::program::{ExemptId, Program, RecordId, RuleId};

/// Where each rule and exemption writes its result in the output buffer.
///
/// `out` holds `n_words` words of rule bits, `n_exempt_words` of exemption
/// bits, then two words per rule and per exemption: the error kind (0 for
/// none) and its span (`start << 32 | end`).
#[derive(Debug, Clone, Copy)]
pub(super) struct OutLayout {
    pub(super) rule_words: usize,
    pub(super) exempt_words: usize,
    n_rules: usize,
    n_exempts: usize,
}

impl OutLayout {
    pub(super) fn new(program: &Program) -> OutLayout {
        OutLayout {
            rule_words: program.rules.len().div_ceil(64),
            exempt_words: program.exemptions.len().div_ceil(64),
            n_rules: program.rules.len(),
            n_exempts: program.exemptions.len(),
        }
    }

    pub(super) fn exempt_bits_word(&self, index: usize) -> usize {
        self.rule_words + index / 64
    }

    pub(super) fn rule_error_word(&self, index: usize) -> usize {
        self.rule_words + self.exempt_words + 2 * index
    }

    pub(super) fn exempt_error_word(&self, index: usize) -> usize {
        self.rule_words + self.exempt_words + 2 * (self.n_rules + index)
    }

    pub(super) fn len(&self) -> usize {
        self.rule_words + self.exempt_words + 2 * (self.n_rules + self.n_exempts)
    }
}

impl CompiledPolicySet {
    /// The conditions a run of the native code left in `context`.
    pub(super) fn conditions_of(&self, run: Run, record_type: RecordId, context: &EvalContext) -> Conditions {
        match run {
            Run::NoRules => return Conditions::default(),
            // A row this crate did not lay out for this type: report, never read it.
            Run::BadRow => return crate::outcome::undecodable(&self.program, record_type),
            Run::Done => {}
        }
        // Sized once: one entry per active rule, pushed without regrowth.
        let mut conditions = Conditions {
            rules: Vec::with_capacity(self.program.rules.len()),
            exempts: Vec::with_capacity(self.program.exemptions.len()),
        };
        let out = &context.out;
        let bit_of =
            |words: &[u64], word: usize, index: usize| words.get(word).is_some_and(|w| w >> (index % 64) & 1 == 1);
        let bit = |word: usize, index: usize| bit_of(out, word, index);
        let error = |word: usize| error_at(out, word);
        // `run` set the masks of the rules and exemptions active at `now`.
        let (rules_active, exempts_active) = (&context.active_rules, &context.active_exempts);
        for (id, rule) in self.program.rule_ids() {
            if rule.record != record_type || !bit_of(rules_active, id.index() / 64, id.index()) {
                continue;
            }
            let index = id.index();
            let result = match error(self.out_layout.rule_error_word(index)) {
                Some(e) => Err(e),
                None => Ok(bit(index / 64, index)),
            };
            conditions.rules.push((id, result));
        }
        for (id, exempt) in self.program.exempt_ids() {
            if exempt.record != record_type || !bit_of(exempts_active, id.index() / 64, id.index()) {
                continue;
            }
            let index = id.index();
            let result = match error(self.out_layout.exempt_error_word(index)) {
                Some(e) => Err(e),
                None => Ok(bit(self.out_layout.exempt_bits_word(index), index)),
            };
            conditions.exempts.push((id, result));
        }
        conditions
    }

    /// The outcome of a run straight from its bits, without listing every
    /// active rule's result: `None` when a condition erred (then
    /// [`Outcome::from_conditions`] says which). The same outcome, since a
    /// rule holds exactly when its bit, its campaign's and its type agree.
    pub(super) fn outcome_of_bits(&self, record_type: RecordId, context: &EvalContext) -> Option<Outcome> {
        let layout = &self.out_layout;
        let out = &context.out;
        // Folded, not searched: a loop without an early exit is vectorized.
        let errors = out.get(layout.rule_error_word(0)..).unwrap_or(&[]);
        if errors.iter().fold(0, |any, word| any | word) != 0 {
            return None;
        }

        let rule_words = out.get(..layout.rule_words)?;
        let exempt_words = out.get(layout.rule_words..layout.rule_words + layout.exempt_words)?;
        // A rule (exemption) holds when its bit and its campaign's are set.
        let holds = set_bits(rule_words.iter().zip(&context.active_rules).map(|(w, a)| w & a))
            .map(|i| RuleId(i as u32))
            .filter(|id| self.program.rule(*id).is_some_and(|rule| rule.record == record_type));
        let exemptions: Vec<ExemptId> = set_bits(exempt_words.iter().zip(&context.active_exempts).map(|(w, a)| w & a))
            .map(|i| ExemptId(i as u32))
            .filter(|id| {
                self.program
                    .exemptions
                    .get(id.index())
                    .is_some_and(|e| e.record == record_type)
            })
            .collect();
        let mut outcome = Outcome::default();
        outcome.apply_exemptions(&self.program, holds, &exemptions);
        Some(outcome)
    }
}

/// The indices of the bits set in `words` (bit `i % 64` of word `i / 64`),
/// in order, a step per set bit.
pub(super) fn set_bits(words: impl Iterator<Item = u64>) -> impl Iterator<Item = usize> {
    words.enumerate().flat_map(|(w, mut bits)| {
        std::iter::from_fn(move || {
            let index = w * 64 + bits.trailing_zeros() as usize;
            (bits != 0).then(|| {
                bits &= bits - 1;
                index
            })
        })
    })
}

/// The run-time error native code stored at `out[word..word + 2]` (its
/// kind, then its span), if any.
pub(super) fn error_at(out: &[u64], word: usize) -> Option<EvalError> {
    let kind = match out.get(word).copied().unwrap_or(0) {
        0 => return None,
        1 => EvalErrorKind::Overflow,
        2 => EvalErrorKind::DivisionByZero,
        3 => EvalErrorKind::OutOfRange,
        5 => EvalErrorKind::Internal,
        _ => EvalErrorKind::BadRecord,
    };
    let span = out.get(word + 1).copied().unwrap_or(0);
    Some(EvalError {
        kind,
        span: qlp_grammar::Span {
            start: (span >> 32) as u32,
            end: span as u32,
        },
    })
}
