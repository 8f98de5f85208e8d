//! The checked program: every name resolved, every expression typed. This is
//! what the interpreter runs, the JIT compiles and the linter inspects.

pub use qlp_grammar::ast::StateKind;
use qlp_grammar::ast::{self, ActionKind, QuantifierKind};
use qlp_grammar::{FileId, SourceMap, Span};

use crate::text::KeywordMatcher;
use crate::types::Type;
use crate::value::Value;

mod merged;
mod selection;
pub use merged::MergedSets;
pub use selection::Selection;

macro_rules! id_type {
    ($($name:ident),*) => {$(
        /// An index into one of the program's tables.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// The index as a `usize`.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

id_type!(
    EnumId,
    RecordId,
    KeywordSetId,
    RegexId,
    FnId,
    CampaignId,
    RuleId,
    ExemptId,
    ConstSetId,
    StateId
);

/// The constant elements of a long `x in [...]` list, hashed: membership is
/// one lookup, not a scan. Floats never become sets (NaN and `-0.0` make
/// equality not a hash key).
#[derive(Debug, Clone)]
pub enum ConstSet {
    /// Ints, times, durations, enum variants and bools, as 64-bit words.
    Words(std::collections::HashSet<i64>),
    /// Strings.
    Strings(std::collections::HashSet<Box<str>>),
}

impl ConstSet {
    /// The set of `items`, if every one is a constant that hashes.
    pub fn of(items: &[TExpr]) -> Option<ConstSet> {
        let mut words = std::collections::HashSet::new();
        let mut strings = std::collections::HashSet::new();
        for item in items {
            match ConstSet::literal(item)? {
                Value::Str(s) => {
                    strings.insert(Box::from(&*s));
                }
                value => {
                    words.insert(ConstSet::word(&value)?);
                }
            }
        }
        match (words.is_empty(), strings.is_empty()) {
            (false, true) => Some(ConstSet::Words(words)),
            (true, false) => Some(ConstSet::Strings(strings)),
            _ => None,
        }
    }

    /// The value of a literal item: a constant, or a negated int or duration.
    fn literal(item: &TExpr) -> Option<Value> {
        match &item.kind {
            TExprKind::Const(value) => Some(value.clone()),
            TExprKind::Neg(inner, _) => match &inner.kind {
                TExprKind::Const(Value::Int(v)) => v.checked_neg().map(Value::Int),
                TExprKind::Const(Value::Duration(v)) => v.checked_neg().map(Value::Duration),
                _ => None,
            },
            _ => None,
        }
    }

    /// A scalar as the word the set holds; `None` for values that do not hash.
    pub fn word(value: &Value) -> Option<i64> {
        match value {
            Value::Int(v) | Value::Time(v) | Value::Duration(v) => Some(*v),
            Value::Enum(v) => Some(i64::from(*v)),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// Whether `value` is in the set.
    pub fn contains(&self, value: &Value) -> bool {
        match (self, value) {
            (ConstSet::Strings(strings), Value::Str(s)) => strings.contains(&**s),
            (ConstSet::Words(words), value) => ConstSet::word(value).is_some_and(|w| words.contains(&w)),
            _ => false,
        }
    }
}

/// Where a declaration was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: FileId,
    /// Where in the file.
    pub span: Span,
}

/// An enum: its variants, by index.
#[derive(Debug, Clone)]
pub struct EnumDef {
    /// Its name.
    pub name: String,
    /// Its variants, in declaration order.
    pub variants: Vec<String>,
    /// Where it is declared.
    pub location: Location,
}

/// A field of a record.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// The value a record without it takes (`strikes: int = 0`).
    pub default: Option<Value>,
    /// Where it is declared.
    pub span: Span,
}

/// A record type.
#[derive(Debug, Clone)]
pub struct RecordDef {
    /// Its name.
    pub name: String,
    /// Its fields, in declaration order (the order of a record value).
    pub fields: Vec<FieldDef>,
    /// Where it is declared.
    pub location: Location,
}

impl RecordDef {
    /// The index of the field called `name`.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// A keyword set, compiled.
#[derive(Debug)]
pub struct KeywordSet {
    /// Its name.
    pub name: String,
    /// The entries as written (after trimming), before normalization.
    pub entries: Vec<String>,
    /// Its automaton.
    pub matcher: KeywordMatcher,
    /// Where it is declared.
    pub location: Location,
    /// How many entries repeated an earlier one after normalization (merged).
    pub repeated: usize,
    /// Up to three of them: (the repeat, the entry it repeats).
    pub repeat_examples: Vec<(String, String)>,
}

/// A constant, evaluated.
#[derive(Debug, Clone)]
pub struct ConstDef {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Its value.
    pub value: Value,
    /// Where it is declared.
    pub location: Location,
}

/// A function.
#[derive(Debug, Clone)]
pub struct FnDef {
    /// Its name.
    pub name: String,
    /// Its parameters and their types (local slots 0, 1, ...).
    pub params: Vec<(String, Type)>,
    /// Its return type.
    pub ret: Type,
    /// Its body.
    pub body: TExpr,
    /// Local slots the body needs: parameters first, then `let` and
    /// quantifier variables.
    pub n_locals: u32,
    /// Where it is declared.
    pub location: Location,
}

/// A campaign.
#[derive(Debug, Clone)]
pub struct CampaignDef {
    /// Its name.
    pub name: String,
    /// Its title.
    pub title: Option<String>,
    /// Active from `start` (inclusive) to `end` (exclusive), in microseconds.
    pub active: Option<(i64, i64)>,
    /// The most severe action its rules may take.
    pub max_action: Option<ActionKind>,
    /// `shadow: true`: its rules are evaluated and reported, never part of
    /// a verdict.
    pub shadow: bool,
    /// Where it is declared.
    pub location: Location,
}

impl CampaignDef {
    /// Whether the campaign is active at `now` (always, without a period).
    pub fn is_active(&self, now: i64) -> bool {
        self.active.is_none_or(|(start, end)| start <= now && now < end)
    }
}

/// One action of a rule.
#[derive(Debug, Clone)]
pub struct Action {
    /// What it does.
    pub kind: ActionKind,
    /// The label, for `label(...)`.
    pub label: Option<String>,
    /// The duration, for `suspend(...)`, or the time to live of a
    /// `tag(...)`, in microseconds.
    pub duration: Option<i64>,
    /// The tag a `tag(...)` writes.
    pub tag: Option<StateId>,
}

/// A rule.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// Its name (decisions name rules).
    pub name: String,
    /// The record type it applies to.
    pub record: RecordId,
    /// Its campaign.
    pub campaign: Option<CampaignId>,
    /// Its condition.
    pub when: TExpr,
    /// Its actions.
    pub actions: Vec<Action>,
    /// Its reason text.
    pub reason: Option<String>,
    /// How many local slots its condition uses.
    pub n_locals: u32,
    /// The state declarations its condition reads.
    pub reads: Vec<StateId>,
    /// Whether it runs at all: false when a [`Selection`] left it out
    /// (`qlp eval --rule ...`); it is then treated as inactive.
    pub selected: bool,
    /// In shadow (`shadow: true`, its own or its campaign's): when it
    /// fires it is reported in `Outcome::shadow_fired`, never in the verdict,
    /// labels, suspensions or tags.
    pub shadow: bool,
    /// Where it is declared.
    pub location: Location,
}

impl RuleDef {
    /// The most severe of the rule's actions.
    pub fn severity(&self) -> Option<ActionKind> {
        self.actions
            .iter()
            .map(|a| a.kind)
            .filter(|kind| *kind != ActionKind::Tag)
            .max()
    }
}

/// An exemption: cancels rules for records its condition holds on.
#[derive(Debug, Clone)]
pub struct ExemptDef {
    /// Its name.
    pub name: String,
    /// The record type it applies to.
    pub record: RecordId,
    /// Its campaign.
    pub campaign: Option<CampaignId>,
    /// Its condition.
    pub when: TExpr,
    /// The rules it cancels.
    pub cancels_rules: Vec<RuleId>,
    /// The campaigns whose rules it cancels.
    pub cancels_campaigns: Vec<CampaignId>,
    /// Its reason text.
    pub reason: Option<String>,
    /// How many local slots its condition uses.
    pub n_locals: u32,
    /// The state declarations its condition reads.
    pub reads: Vec<StateId>,
    /// Where it is declared.
    pub location: Location,
}

impl ExemptDef {
    /// Whether it cancels rule `rule_id`.
    pub fn cancels(&self, rule_id: RuleId, rule: &RuleDef) -> bool {
        self.cancels_rules.contains(&rule_id) || rule.campaign.is_some_and(|c| self.cancels_campaigns.contains(&c))
    }
}

/// What a test expects.
#[derive(Debug, Clone)]
pub enum Expectation {
    /// `expect nothing`: no rule fires.
    Nothing,
    /// `expect verdict: V` (`None` is `allow`).
    Verdict(Option<ActionKind>),
    /// `expect r1, r2`: these fire.
    Fires(Vec<RuleId>),
    /// `expect not r1, r2`: these do not fire.
    NotFires(Vec<RuleId>),
    /// `expect error r`: these hit a run-time error.
    Errors(Vec<RuleId>),
}

/// A `test` block.
#[derive(Debug, Clone)]
pub struct TestDef {
    /// Its name.
    pub name: String,
    /// Its clock, in microseconds.
    pub now: i64,
    /// Whether the test sets `now:`; without it the clock is the epoch.
    pub sets_now: bool,
    /// The record type given.
    pub record: RecordId,
    /// The records given, in order, each with what is expected of it.
    pub steps: Vec<TestStep>,
    /// Where it is declared.
    pub location: Location,
}

impl TestDef {
    /// Every expectation of every step.
    pub fn expectations(&self) -> impl Iterator<Item = &(Expectation, Span)> {
        self.steps.iter().flat_map(|s| &s.expectations)
    }
}

/// One `given` of a test (repeated `count` times) and the expectations
/// written after it, which are checked on its last copy.
#[derive(Debug, Clone)]
pub struct TestStep {
    /// The record given, defaults filled in.
    pub given: Value,
    /// How many copies are evaluated, one after another.
    pub count: u32,
    /// Its expectations and where each is written.
    pub expectations: Vec<(Expectation, Span)>,
}

/// A state declaration: a windowed counter, a distinct count, a first-seen
/// record or a tag, kept per key across records. See `state.rs` for what
/// a read gives and what a record writes.
#[derive(Debug, Clone)]
pub struct StateDef {
    /// Its name.
    pub name: String,
    /// What it keeps.
    pub kind: StateKind,
    /// The record type that reads and writes it.
    pub record: RecordId,
    /// `key:` — what it is kept per (an int, string or enum).
    pub key: TExpr,
    /// `time:` — the record's event time.
    pub time: TExpr,
    /// `when:` — which records count (counters and distinct counts).
    pub when: Option<TExpr>,
    /// `of:` — what is counted distinct (distinct counts).
    pub of: Option<TExpr>,
    /// `id:` — the record's id (first-seen).
    pub id: Option<TExpr>,
    /// `window:` and `bucket:`, in microseconds (counters and distinct
    /// counts); `bucket` divides `window`.
    pub window: i64,
    /// The bucket width.
    pub bucket: i64,
    /// Buckets a window: `window / bucket` (1 for first-seen and tags).
    pub buckets: i64,
    /// `ttl:` — how long a tag lasts (tags).
    pub ttl: i64,
    /// How many local slots its expressions use.
    pub n_locals: u32,
    /// Where it is declared.
    pub location: Location,
}

impl StateDef {
    /// Its expressions of the record: `key:`, `time:`, and the `when:`,
    /// `of:` and `id:` it has.
    pub fn exprs(&self) -> impl Iterator<Item = &TExpr> {
        [
            Some(&self.key),
            Some(&self.time),
            self.when.as_ref(),
            self.of.as_ref(),
            self.id.as_ref(),
        ]
        .into_iter()
        .flatten()
    }

    /// The type a read of it gives.
    pub fn read_type(&self) -> Type {
        match self.kind {
            StateKind::Counter | StateKind::Distinct => Type::Int,
            StateKind::FirstSeen => Type::Time,
            StateKind::Tag => Type::Bool,
        }
    }
}

/// A checked policy program.
#[derive(Debug, Default)]
pub struct Program {
    /// The source files, to render diagnostics.
    pub sources: SourceMap,
    /// The zone its dates and wall-clock times are read in (`time_zone`),
    /// and the one `hour_of`, `weekday_of` and `day_of` use.
    pub zone: qlp_grammar::time::Zone,
    /// Zones named in calls (`hour_of(t, "Asia/Tokyo")`), by index.
    pub zones: Vec<qlp_grammar::time::Zone>,
    /// The parsed files, by `FileId`, for tools that work on syntax (lint, fmt).
    pub files: Vec<ast::File>,
    /// Enums, by `EnumId`.
    pub enums: Vec<EnumDef>,
    /// Records, by `RecordId`.
    pub records: Vec<RecordDef>,
    /// Keyword sets, by `KeywordSetId`.
    pub keyword_sets: Vec<KeywordSet>,
    /// All keyword sets of each match mode merged (indexed by `MatchMode::code`),
    /// for engines that scan a text once for every set: see [`Program::merged`].
    pub merged_keywords: Vec<Option<std::sync::Arc<MergedSets>>>,
    /// Regular expressions, by `RegexId`.
    pub regexes: Vec<crate::pattern::Pattern>,
    /// The hashed lists of `TExprKind::InSet`.
    pub const_sets: Vec<ConstSet>,
    /// Constants.
    pub consts: Vec<ConstDef>,
    /// Functions, by `FnId`.
    pub fns: Vec<FnDef>,
    /// Campaigns, by `CampaignId`.
    pub campaigns: Vec<CampaignDef>,
    /// Rules, by `RuleId`.
    pub rules: Vec<RuleDef>,
    /// Exemptions, by `ExemptId`.
    pub exemptions: Vec<ExemptDef>,
    /// State declarations, by `StateId`.
    pub states: Vec<StateDef>,
    /// Test blocks.
    pub tests: Vec<TestDef>,
}

impl Program {
    /// Every keyword set of `mode` in one automaton, built now if it was
    /// not; `None` when the mode has fewer than two sets, or the automaton
    /// cannot be built.
    pub fn merged(&self, mode: crate::text::MatchMode) -> Option<&crate::text::MergedKeywords> {
        self.merged_keywords
            .get(mode.code() as usize)?
            .as_ref()?
            .get(&self.keyword_sets)
    }

    /// Builds now what native code's keyword matching builds when first
    /// needed (each set's raw-text test, the merged automata), so that no
    /// record waits for it.
    pub fn build_matchers(&self) {
        for set in &self.keyword_sets {
            set.matcher.raw_prefilter();
        }
        for merged in self.merged_keywords.iter().flatten() {
            merged.get(&self.keyword_sets);
        }
    }

    /// The enum `id`.
    pub fn enum_def(&self, id: EnumId) -> Option<&EnumDef> {
        self.enums.get(id.index())
    }

    /// The record type `id`.
    pub fn record(&self, id: RecordId) -> Option<&RecordDef> {
        self.records.get(id.index())
    }

    /// The rule `id`.
    pub fn rule(&self, id: RuleId) -> Option<&RuleDef> {
        self.rules.get(id.index())
    }

    /// The campaign `id`.
    pub fn campaign(&self, id: CampaignId) -> Option<&CampaignDef> {
        self.campaigns.get(id.index())
    }

    /// The record type called `name`.
    pub fn record_by_name(&self, name: &str) -> Option<RecordId> {
        self.records
            .iter()
            .position(|r| r.name == name)
            .map(|i| RecordId(i as u32))
    }

    /// The rule called `name`.
    pub fn rule_by_name(&self, name: &str) -> Option<RuleId> {
        self.rules.iter().position(|r| r.name == name).map(|i| RuleId(i as u32))
    }

    /// Every rule with its id.
    pub fn rule_ids(&self) -> impl Iterator<Item = (RuleId, &RuleDef)> {
        self.rules.iter().enumerate().map(|(i, r)| (RuleId(i as u32), r))
    }

    /// Every exemption with its id.
    pub fn exempt_ids(&self) -> impl Iterator<Item = (ExemptId, &ExemptDef)> {
        self.exemptions.iter().enumerate().map(|(i, e)| (ExemptId(i as u32), e))
    }
}

/// A typed expression.
#[derive(Debug, Clone)]
pub struct TExpr {
    /// What it computes.
    pub kind: TExprKind,
    /// Its type.
    pub ty: Type,
    /// Where it is written.
    pub span: Span,
}

/// The kind of scalar an operator works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// `bool`.
    Bool,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `string`.
    String,
    /// `time`.
    Time,
    /// `duration`.
    Duration,
    /// An enum's variants.
    Enum,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// Arithmetic, resolved to the operand types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `int + int`.
    IntAdd,
    /// `int - int`.
    IntSub,
    /// `int * int`.
    IntMul,
    /// `int / int`, truncating.
    IntDiv,
    /// `int % int`.
    IntRem,
    /// `float + float`.
    FloatAdd,
    /// `float - float`.
    FloatSub,
    /// `float * float`.
    FloatMul,
    /// `float / float`.
    FloatDiv,
    /// `float % float`.
    FloatRem,
    /// `string + string`
    Concat,
    /// `time + duration`
    TimeAddDuration,
    /// `time - duration`
    TimeSubDuration,
    /// `time - time`, a duration
    TimeSubTime,
    /// `duration + duration`.
    DurationAdd,
    /// `duration - duration`.
    DurationSub,
    /// `duration * int`
    DurationMulInt,
    /// `duration / int`
    DurationDivInt,
}

/// Functions built into the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Characters in a string.
    StrLen,
    /// Elements in a list.
    ListLen,
    /// `lower(string)`.
    Lower,
    /// `unescape(s)`: markup and percent-encoding decoded.
    Unescape,
    /// `upper(string)`.
    Upper,
    /// `trim(string)`.
    Trim,
    /// `contains(text, part)`.
    Contains,
    /// `starts_with(text, prefix)`.
    StartsWith,
    /// `ends_with(text, suffix)`.
    EndsWith,
    /// `to_float(int)`.
    ToFloat,
    /// Float to int, truncating; an error if out of range or NaN.
    ToInt,
    /// `abs(int)`.
    IntAbs,
    /// `abs(float)`.
    FloatAbs,
    /// `min(a, b)` on this scalar kind.
    Min(Scalar),
    /// `max(a, b)` on this scalar kind.
    Max(Scalar),
    /// Number of distinct keywords of a set found in a text.
    CountMatches(KeywordSetId),
    /// `fingerprint(string)`: see [`crate::text::fingerprint`].
    Fingerprint,
    /// `hour_of(t)`, `weekday_of(t)`, `day_of(t)`: a part of a time on the
    /// clocks of the policy set's zone, or of `Program::zones[i]`.
    Clock(ClockPart, Option<u32>),
}

/// What [`Builtin::Clock`] reads of a time in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockPart {
    /// The hour, 0 to 23.
    Hour,
    /// The day of the week, 1 (Monday) to 7 (Sunday).
    Weekday,
    /// The start of the day (local midnight), a time.
    Day,
}

impl ClockPart {
    /// The part of `micros` on `zone`'s clocks.
    pub fn of(self, zone: &qlp_grammar::time::Zone, micros: i64) -> i64 {
        match self {
            ClockPart::Hour => zone.hour(micros),
            ClockPart::Weekday => zone.weekday(micros),
            ClockPart::Day => zone.day_start(micros),
        }
    }
}

/// What a typed expression computes.
#[derive(Debug, Clone)]
pub enum TExprKind {
    /// A constant value.
    Const(Value),
    /// `now`, the evaluation clock.
    Now,
    /// A local slot (parameters first).
    Local(u32),
    /// The value read from a state declaration for the record being
    /// evaluated: an input of the evaluation, like `now`.
    State(StateId),
    /// A field of a record value.
    Field(Box<TExpr>, u32),
    /// An optional that the checker has proven present (`x is some and x > 1`).
    Unwrap(Box<TExpr>),
    /// `not`.
    Not(Box<TExpr>),
    /// Negation of an int, float or duration.
    Neg(Box<TExpr>, Scalar),
    /// `and`, short-circuit.
    And(Box<TExpr>, Box<TExpr>),
    /// `or`, short-circuit.
    Or(Box<TExpr>, Box<TExpr>),
    /// Arithmetic, resolved to its operand types.
    Arith(ArithOp, Box<TExpr>, Box<TExpr>),
    /// A comparison on one scalar kind.
    Compare(CmpOp, Scalar, Box<TExpr>, Box<TExpr>),
    /// `a ?? b`: `a` if present, else `b`.
    Coalesce(Box<TExpr>, Box<TExpr>),
    /// `x is some` (or `is none` when negated).
    IsSome(Box<TExpr>, bool),
    /// `x in list`; equality on the given scalar kind.
    In(Scalar, Box<TExpr>, Box<TExpr>),
    /// `x in [...]` over a long list of constants, looked up in a hash set.
    InSet(Box<TExpr>, ConstSetId),
    /// `text has_any SET`.
    HasAny(Box<TExpr>, KeywordSetId),
    /// `text matches "regex"`.
    Matches(Box<TExpr>, RegexId),
    /// `if c then a else b`.
    If(Box<TExpr>, Box<TExpr>, Box<TExpr>),
    /// `let` into a local slot, then the body.
    Let(u32, Box<TExpr>, Box<TExpr>),
    /// A call of a program function.
    Call(FnId, Vec<TExpr>),
    /// A call of a built-in function.
    Builtin(Builtin, Vec<TExpr>),
    /// `any`/`all`/`count` over a list, the element bound to a local slot.
    Quantifier(QuantifierKind, u32, Box<TExpr>, Box<TExpr>),
    /// A list literal.
    List(Vec<TExpr>),
}

impl TExpr {
    /// The state declarations read anywhere in the expression, each once.
    pub fn state_reads(&self) -> Vec<StateId> {
        let mut reads = Vec::new();
        let mut stack = vec![self];
        while let Some(expr) = stack.pop() {
            if let TExprKind::State(id) = expr.kind {
                if !reads.contains(&id) {
                    reads.push(id);
                }
            }
            stack.extend(expr.children());
        }
        reads.sort();
        reads
    }

    /// The direct sub-expressions, in evaluation order.
    pub fn children(&self) -> Vec<&TExpr> {
        match &self.kind {
            TExprKind::Const(_) | TExprKind::Now | TExprKind::Local(_) | TExprKind::State(_) => Vec::new(),
            TExprKind::Field(a, _)
            | TExprKind::Unwrap(a)
            | TExprKind::Not(a)
            | TExprKind::Neg(a, _)
            | TExprKind::IsSome(a, _)
            | TExprKind::HasAny(a, _)
            | TExprKind::InSet(a, _)
            | TExprKind::Matches(a, _) => vec![a],
            TExprKind::And(a, b)
            | TExprKind::Or(a, b)
            | TExprKind::Arith(_, a, b)
            | TExprKind::Compare(_, _, a, b)
            | TExprKind::Coalesce(a, b)
            | TExprKind::In(_, a, b)
            | TExprKind::Let(_, a, b)
            | TExprKind::Quantifier(_, _, a, b) => vec![a, b],
            TExprKind::If(a, b, c) => vec![a, b, c],
            TExprKind::Builtin(_, args) | TExprKind::List(args) | TExprKind::Call(_, args) => args.iter().collect(),
        }
    }
}
