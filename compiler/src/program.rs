//! The checked program: every name resolved, every expression typed. This is
//! what the interpreter runs, the JIT compiles and the linter inspects.

use qlp_grammar::ast::{self, ActionKind, QuantifierKind};
use qlp_grammar::{FileId, SourceMap, Span};

use crate::text::KeywordMatcher;
use crate::types::Type;
use crate::value::Value;

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
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
    ConstSetId
);

/// The constant elements of a long `x in [...]` list, hashed: membership is
/// one lookup, not a scan. Floats never become sets (NaN and `-0.0` make
/// equality not a hash key).
#[derive(Debug, Clone)]
pub enum ConstSet {
    /// Ints, times, durations, enum variants and bools, as 64-bit words.
    Words(std::collections::HashSet<i64>),
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
    pub file: FileId,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    pub variants: Vec<String>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct RecordDef {
    pub name: String,
    pub fields: Vec<FieldDef>,
    pub location: Location,
}

impl RecordDef {
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

#[derive(Debug)]
pub struct KeywordSet {
    pub name: String,
    /// The entries as written (after trimming), before normalization.
    pub entries: Vec<String>,
    pub matcher: KeywordMatcher,
    pub location: Location,
    /// How many entries repeated an earlier one after normalization (merged).
    pub repeated: usize,
    /// Up to three of them: (the repeat, the entry it repeats).
    pub repeat_examples: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct ConstDef {
    pub name: String,
    pub ty: Type,
    pub value: Value,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct FnDef {
    pub name: String,
    pub params: Vec<(String, Type)>,
    pub ret: Type,
    pub body: TExpr,
    /// Local slots the body needs: parameters first, then `let` and
    /// quantifier variables.
    pub n_locals: u32,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct CampaignDef {
    pub name: String,
    pub title: Option<String>,
    /// Active from `start` (inclusive) to `end` (exclusive), in microseconds.
    pub active: Option<(i64, i64)>,
    pub max_action: Option<ActionKind>,
    pub location: Location,
}

impl CampaignDef {
    pub fn is_active(&self, now: i64) -> bool {
        self.active.is_none_or(|(start, end)| start <= now && now < end)
    }
}

#[derive(Debug, Clone)]
pub struct Action {
    pub kind: ActionKind,
    pub label: Option<String>,
    pub duration: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RuleDef {
    pub name: String,
    pub record: RecordId,
    pub campaign: Option<CampaignId>,
    pub when: TExpr,
    pub actions: Vec<Action>,
    pub reason: Option<String>,
    pub n_locals: u32,
    pub location: Location,
}

impl RuleDef {
    /// The most severe of the rule's actions.
    pub fn severity(&self) -> Option<ActionKind> {
        self.actions.iter().map(|a| a.kind).max()
    }
}

#[derive(Debug, Clone)]
pub struct ExemptDef {
    pub name: String,
    pub record: RecordId,
    pub campaign: Option<CampaignId>,
    pub when: TExpr,
    pub cancels_rules: Vec<RuleId>,
    pub cancels_campaigns: Vec<CampaignId>,
    pub reason: Option<String>,
    pub n_locals: u32,
    pub location: Location,
}

impl ExemptDef {
    pub fn cancels(&self, rule_id: RuleId, rule: &RuleDef) -> bool {
        self.cancels_rules.contains(&rule_id) || rule.campaign.is_some_and(|c| self.cancels_campaigns.contains(&c))
    }
}

#[derive(Debug, Clone)]
pub enum Expectation {
    Nothing,
    Verdict(Option<ActionKind>),
    Fires(Vec<RuleId>),
    NotFires(Vec<RuleId>),
    Errors(Vec<RuleId>),
}

#[derive(Debug, Clone)]
pub struct TestDef {
    pub name: String,
    pub now: i64,
    /// Whether the test sets `now:`; without it the clock is the epoch.
    pub sets_now: bool,
    pub record: RecordId,
    pub given: Value,
    pub expectations: Vec<(Expectation, Span)>,
    pub location: Location,
}

/// A checked policy program.
#[derive(Debug, Default)]
pub struct Program {
    pub sources: SourceMap,
    /// The parsed files, by `FileId`, for tools that work on syntax (lint, fmt).
    pub files: Vec<ast::File>,
    pub enums: Vec<EnumDef>,
    pub records: Vec<RecordDef>,
    pub keyword_sets: Vec<KeywordSet>,
    /// All keyword sets of each match mode merged (indexed by `MatchMode::code`),
    /// for engines that scan a text once for every set.
    pub merged_keywords: Vec<Option<crate::text::MergedKeywords>>,
    pub regexes: Vec<regex::Regex>,
    /// The hashed lists of `TExprKind::InSet`.
    pub const_sets: Vec<ConstSet>,
    pub consts: Vec<ConstDef>,
    pub fns: Vec<FnDef>,
    pub campaigns: Vec<CampaignDef>,
    pub rules: Vec<RuleDef>,
    pub exemptions: Vec<ExemptDef>,
    pub tests: Vec<TestDef>,
}

impl Program {
    pub fn enum_def(&self, id: EnumId) -> Option<&EnumDef> {
        self.enums.get(id.index())
    }

    pub fn record(&self, id: RecordId) -> Option<&RecordDef> {
        self.records.get(id.index())
    }

    pub fn rule(&self, id: RuleId) -> Option<&RuleDef> {
        self.rules.get(id.index())
    }

    pub fn campaign(&self, id: CampaignId) -> Option<&CampaignDef> {
        self.campaigns.get(id.index())
    }

    pub fn record_by_name(&self, name: &str) -> Option<RecordId> {
        self.records
            .iter()
            .position(|r| r.name == name)
            .map(|i| RecordId(i as u32))
    }

    pub fn rule_by_name(&self, name: &str) -> Option<RuleId> {
        self.rules.iter().position(|r| r.name == name).map(|i| RuleId(i as u32))
    }

    pub fn rule_ids(&self) -> impl Iterator<Item = (RuleId, &RuleDef)> {
        self.rules.iter().enumerate().map(|(i, r)| (RuleId(i as u32), r))
    }

    pub fn exempt_ids(&self) -> impl Iterator<Item = (ExemptId, &ExemptDef)> {
        self.exemptions.iter().enumerate().map(|(i, e)| (ExemptId(i as u32), e))
    }
}

/// A typed expression.
#[derive(Debug, Clone)]
pub struct TExpr {
    pub kind: TExprKind,
    pub ty: Type,
    pub span: Span,
}

/// The kind of scalar an operator works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Bool,
    Int,
    Float,
    String,
    Time,
    Duration,
    Enum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Arithmetic, resolved to the operand types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    IntAdd,
    IntSub,
    IntMul,
    IntDiv,
    IntRem,
    FloatAdd,
    FloatSub,
    FloatMul,
    FloatDiv,
    FloatRem,
    /// `string + string`
    Concat,
    /// `time + duration`
    TimeAddDuration,
    /// `time - duration`
    TimeSubDuration,
    /// `time - time`, a duration
    TimeSubTime,
    DurationAdd,
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
    Lower,
    Upper,
    Trim,
    Contains,
    StartsWith,
    EndsWith,
    ToFloat,
    /// Float to int, truncating; an error if out of range or NaN.
    ToInt,
    IntAbs,
    FloatAbs,
    Min(Scalar),
    Max(Scalar),
    /// Number of distinct keywords of a set found in a text.
    CountMatches(KeywordSetId),
}

#[derive(Debug, Clone)]
pub enum TExprKind {
    Const(Value),
    Now,
    Local(u32),
    /// A field of a record value.
    Field(Box<TExpr>, u32),
    /// An optional that the checker has proven present (`x is some and x > 1`).
    Unwrap(Box<TExpr>),
    Not(Box<TExpr>),
    /// Negation of an int, float or duration.
    Neg(Box<TExpr>, Scalar),
    And(Box<TExpr>, Box<TExpr>),
    Or(Box<TExpr>, Box<TExpr>),
    Arith(ArithOp, Box<TExpr>, Box<TExpr>),
    Compare(CmpOp, Scalar, Box<TExpr>, Box<TExpr>),
    /// `a ?? b`: `a` if present, else `b`.
    Coalesce(Box<TExpr>, Box<TExpr>),
    /// `x is some` (or `is none` when negated).
    IsSome(Box<TExpr>, bool),
    /// `x in list`; equality on the given scalar kind.
    In(Scalar, Box<TExpr>, Box<TExpr>),
    /// `x in [...]` over a long list of constants, looked up in a hash set.
    InSet(Box<TExpr>, ConstSetId),
    HasAny(Box<TExpr>, KeywordSetId),
    Matches(Box<TExpr>, RegexId),
    If(Box<TExpr>, Box<TExpr>, Box<TExpr>),
    Let(u32, Box<TExpr>, Box<TExpr>),
    Call(FnId, Vec<TExpr>),
    Builtin(Builtin, Vec<TExpr>),
    Quantifier(QuantifierKind, u32, Box<TExpr>, Box<TExpr>),
    List(Vec<TExpr>),
}

impl TExpr {
    /// The direct sub-expressions, in evaluation order.
    pub fn children(&self) -> Vec<&TExpr> {
        match &self.kind {
            TExprKind::Const(_) | TExprKind::Now | TExprKind::Local(_) => Vec::new(),
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
