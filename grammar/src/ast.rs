//! The syntax tree of a `.qlp` file, as written: every node carries its [`Span`].
//!
//! Spans are excluded from equality, so two trees that differ only in layout
//! compare equal (`parse(print(ast)) == ast`).

use crate::span::Span;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// Its name.
    pub name: String,
    /// Where it is in the file.
    pub span: Span,
}

/// One parsed `.qlp` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// Its items, in source order.
    pub items: Vec<Item>,
}

/// A top-level declaration.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `import "path.qlp"`
    Import(Import),
    /// `enum NAME { ... }`
    Enum(EnumDecl),
    /// `record NAME { ... }`
    Record(RecordDecl),
    /// `keywords NAME = ...`
    Keywords(KeywordsDecl),
    /// `const NAME = value`
    Const(ConstDecl),
    /// `fn NAME(params) -> type = body`
    Fn(FnDecl),
    /// `campaign NAME { ... }`
    Campaign(CampaignDecl),
    /// `rule NAME(param) { ... }`
    Rule(RuleDecl),
    /// `exempt NAME(param) { ... }`
    Exempt(ExemptDecl),
    /// `counter NAME(param) { ... }` and the other state declarations.
    State(StateDecl),
    /// `test "name" { ... }`
    Test(TestDecl),
    /// `time_zone "Asia/Shanghai"`
    TimeZone(TimeZoneDecl),
}

/// `time_zone "Asia/Shanghai"`: the zone the policy set's dates and
/// wall-clock times are read in (UTC without one).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeZoneDecl {
    /// The IANA zone name, as written.
    pub zone: StrLit,
    /// Where it is in the file.
    pub span: Span,
}

impl Item {
    /// The declared name, for items that declare one.
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Item::Import(_) | Item::Test(_) | Item::TimeZone(_) => None,
            Item::Enum(d) => Some(&d.name),
            Item::Record(d) => Some(&d.name),
            Item::Keywords(d) => Some(&d.name),
            Item::Const(d) => Some(&d.name),
            Item::Fn(d) => Some(&d.name),
            Item::Campaign(d) => Some(&d.name),
            Item::Rule(d) => Some(&d.name),
            Item::State(d) => Some(&d.name),
            Item::Exempt(d) => Some(&d.name),
        }
    }

    /// Where it is in the file.
    pub fn span(&self) -> Span {
        match self {
            Item::Import(d) => d.span,
            Item::Enum(d) => d.span,
            Item::Record(d) => d.span,
            Item::Keywords(d) => d.span,
            Item::Const(d) => d.span,
            Item::Fn(d) => d.span,
            Item::Campaign(d) => d.span,
            Item::Rule(d) => d.span,
            Item::Exempt(d) => d.span,
            Item::State(d) => d.span,
            Item::Test(d) => d.span,
            Item::TimeZone(d) => d.span,
        }
    }
}

/// `import "../schema.qlp"`
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The path as written.
    pub path: StrLit,
    /// Where it is in the file.
    pub span: Span,
}

/// A string literal with its decoded value.
#[derive(Debug, Clone, PartialEq)]
pub struct StrLit {
    /// The value.
    pub value: String,
    /// Where it is in the file.
    pub span: Span,
}

/// `enum ContentKind { post, article }`
#[derive(Debug, Clone, PartialEq)]
pub struct EnumDecl {
    /// Its name.
    pub name: Ident,
    /// Its variants, in order.
    pub variants: Vec<Ident>,
    /// Where it is in the file.
    pub span: Span,
}

/// `record Account { id: string  age: int? }`
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDecl {
    /// Its name.
    pub name: Ident,
    /// Its fields, in order.
    pub fields: Vec<FieldDecl>,
    /// Where it is in the file.
    pub span: Span,
}

/// A field of a record: `name: type`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeExpr,
    /// The value a record without the field takes (`strikes: int = 0`).
    pub default: Option<Value>,
    /// Where it is in the file.
    pub span: Span,
}

/// A type as written: `int`, `Account`, `[string]`, `int?`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    /// What kind it is.
    pub kind: TypeExprKind,
    /// Where it is in the file.
    pub span: Span,
}

/// A type as written.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeExprKind {
    /// A type by name: `int`, `Content`.
    Named(Ident),
    /// `[T]`.
    List(Box<TypeExpr>),
    /// `T?`.
    Optional(Box<TypeExpr>),
}

/// `keywords gambling = ["赌博", "博彩"]` or `keywords ads = file("ads.txt")`
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordsDecl {
    /// Its name.
    pub name: Ident,
    /// Match options: `keywords ads(word) = [...]`.
    pub options: Vec<Ident>,
    /// Where its keywords come from.
    pub source: KeywordsSource,
    /// Where it is in the file.
    pub span: Span,
}

/// Where a keyword set's entries come from.
#[derive(Debug, Clone, PartialEq)]
pub enum KeywordsSource {
    /// `["...", ...]`.
    Inline(Vec<StrLit>),
    /// `file("path")`, one keyword per line.
    File(StrLit),
}

/// `const ADULT: int = 18`
#[derive(Debug, Clone, PartialEq)]
pub struct ConstDecl {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: Option<TypeExpr>,
    /// The value.
    pub value: Expr,
    /// Where it is in the file.
    pub span: Span,
}

/// `fn is_live(c: Content) -> bool = ...`
#[derive(Debug, Clone, PartialEq)]
pub struct FnDecl {
    /// Its name.
    pub name: Ident,
    /// Its parameters.
    pub params: Vec<Param>,
    /// Its return type.
    pub ret: TypeExpr,
    /// Its body.
    pub body: Expr,
    /// Where it is in the file.
    pub span: Span,
}

/// A parameter: `name: type`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeExpr,
    /// Where it is in the file.
    pub span: Span,
}

/// `campaign livestream_2022 { title: "..." active: 2022-03-17 .. 2022-12-31 }`
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignDecl {
    /// Its name.
    pub name: Ident,
    /// Its properties, in source order.
    pub props: Vec<CampaignProp>,
    /// Where it is in the file.
    pub span: Span,
}

/// One property of a campaign.
#[derive(Debug, Clone, PartialEq)]
pub enum CampaignProp {
    /// `title: "..."`.
    Title(StrLit),
    /// Start and end instants in microseconds since the Unix epoch, end inclusive.
    Active {
        /// The first instant.
        start: TimeLit,
        /// The last day or instant, as written.
        end: TimeLit,
        /// Where it is in the file.
        span: Span,
    },
    /// `max_action: ACTION`.
    MaxAction(ActionKindLit),
    /// `shadow: true`: the campaign's rules are evaluated and reported, never
    /// part of a verdict.
    Shadow(bool, Span),
}

/// A time literal, and whether it was a date alone.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeLit {
    /// The instant, or the wall-clock time read in the policy set's zone.
    pub value: crate::time::Written,
    /// Written as a date alone (`2022-12-31`): as the end of a period it
    /// includes that whole day.
    pub date_only: bool,
    /// Where it is in the file.
    pub span: Span,
}

/// The kinds of action, ordered by severity (weakest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKind {
    /// `tag(NAME)`: writes an entity tag; no verdict.
    Tag,
    /// `label("...")`.
    Label,
    /// `limit`.
    Limit,
    /// `review`.
    Review,
    /// `remove`.
    Remove,
    /// `block`.
    Block,
    /// `suspend(duration)`.
    Suspend,
    /// `ban`.
    Ban,
}

impl ActionKind {
    /// Every action, from least to most severe.
    pub const ALL: [ActionKind; 7] = [
        ActionKind::Label,
        ActionKind::Limit,
        ActionKind::Review,
        ActionKind::Remove,
        ActionKind::Block,
        ActionKind::Suspend,
        ActionKind::Ban,
    ];

    /// As the language spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Tag => "tag",
            ActionKind::Label => "label",
            ActionKind::Limit => "limit",
            ActionKind::Review => "review",
            ActionKind::Remove => "remove",
            ActionKind::Block => "block",
            ActionKind::Suspend => "suspend",
            ActionKind::Ban => "ban",
        }
    }
}

/// An action word as written.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionKindLit {
    /// What kind it is.
    pub kind: ActionKind,
    /// Where it is in the file.
    pub span: Span,
}

/// `remove`, `label("未成年人打赏")`, `suspend(7d)`, `tag(water_army, 7d)`
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// What kind it is.
    pub kind: ActionKind,
    /// The text of a `label(..)`.
    pub label: Option<StrLit>,
    /// The length of a `suspend(..)`, or of a `tag(.., ttl)`, in microseconds.
    pub duration: Option<i64>,
    /// The tag a `tag(..)` writes.
    pub tag: Option<Ident>,
    /// Where it is in the file.
    pub span: Span,
}

/// What a state declaration keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateKind {
    /// `counter`: records per key in a window.
    Counter,
    /// `distinct`: distinct values per key in a window.
    Distinct,
    /// `first_seen`: the earliest record per key.
    FirstSeen,
    /// `tag`: a mark on a key, written by rules, with a time to live.
    Tag,
}

impl StateKind {
    /// As the language spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Counter => "counter",
            StateKind::Distinct => "distinct",
            StateKind::FirstSeen => "first_seen",
            StateKind::Tag => "tag",
        }
    }
}

/// `counter posts_by_author(c: Content) { key: c.author.id  time: c.created_at  window: 1h  bucket: 1m }`
#[derive(Debug, Clone, PartialEq)]
pub struct StateDecl {
    /// What it keeps.
    pub kind: StateKind,
    /// Its name.
    pub name: Ident,
    /// The record parameter.
    pub param: Param,
    /// Its items (`key: expr`, ...), in source order.
    pub items: Vec<StateItem>,
    /// Where it is in the file.
    pub span: Span,
}

/// `key: c.author.id`: one item of a state declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct StateItem {
    /// The item's word: `key`, `of`, `id`, `time`, `window`, `bucket`, `ttl`, `when`.
    pub field: Ident,
    /// Its value.
    pub value: Expr,
    /// Where it is in the file.
    pub span: Span,
}

/// `rule minor_tipping(c: Content) { campaign: ... when: ... then: ... reason: ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDecl {
    /// Its name.
    pub name: Ident,
    /// The record parameter.
    pub param: Param,
    /// Its items, in source order.
    pub items: Vec<RuleItem>,
    /// Where it is in the file.
    pub span: Span,
}

/// `exempt official_media(c: Content) { when: ... cancels: rule_a, campaign news_2022 }`
#[derive(Debug, Clone, PartialEq)]
pub struct ExemptDecl {
    /// Its name.
    pub name: Ident,
    /// The record parameter.
    pub param: Param,
    /// Its items, in source order.
    pub items: Vec<RuleItem>,
    /// Where it is in the file.
    pub span: Span,
}

/// One `key: value` line of a rule or exemption, in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleItem {
    /// `campaign: NAME`.
    Campaign(Ident),
    /// `when: condition`.
    When(Expr),
    /// `then: actions`.
    Then(Vec<Action>),
    /// `reason: "..."`.
    Reason(StrLit),
    /// `cancels: rules or campaigns` (exemptions).
    Cancels(Vec<CancelTarget>),
    /// `shadow: true`: the rule is evaluated and reported, never part of a
    /// verdict.
    Shadow(bool, Span),
}

/// What an exemption cancels.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelTarget {
    /// A rule by name.
    Rule(Ident),
    /// Every rule of a campaign.
    Campaign(Ident),
}

/// `test "..." { now: ... given Content { ... } expect ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct TestDecl {
    /// Its name.
    pub name: StrLit,
    /// Its items, in source order.
    pub items: Vec<TestItem>,
    /// Where it is in the file.
    pub span: Span,
}

/// One item of a test block.
#[derive(Debug, Clone, PartialEq)]
pub enum TestItem {
    /// `now: TIME`, the test's clock.
    Now(Expr),
    /// `given TYPE { ... }`, a record tested; several make a sequence.
    Given {
        /// `given 20 TYPE { ... }`: that many copies, one after another.
        count: Option<u32>,
        /// The record type.
        ty: Ident,
        /// The fields given; others take their type's default.
        value: RecordValue,
    },
    /// `expect ...`.
    Expect(Expectation),
}

/// What a test expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// No rule fires.
    Nothing(Span),
    /// The decision's verdict; `None` is `allow`.
    Verdict(Option<ActionKind>, Span),
    /// These rules fire.
    Fires(Vec<Ident>),
    /// These rules do not fire.
    NotFires(Vec<Ident>),
    /// These rules hit a run-time error.
    Errors(Vec<Ident>),
}

/// `{ kind: livestream, author: { age: 15 } }` in a test's `given`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordValue {
    /// Its fields, in order.
    pub fields: Vec<(Ident, Value)>,
    /// Where it is in the file.
    pub span: Span,
}

/// A value in a test's `given` record.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `{ field: value, ... }`.
    Record(RecordValue),
    /// `[value, ...]`.
    List(Vec<Value>, Span),
    /// An expression (a literal or a constant).
    Expr(Expr),
}

impl Value {
    /// Where it is in the file.
    pub fn span(&self) -> Span {
        match self {
            Value::Record(r) => r.span,
            Value::List(_, span) => *span,
            Value::Expr(e) => e.span,
        }
    }
}

/// An expression and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What kind it is.
    pub kind: ExprKind,
    /// Where it is in the file.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An int literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// Microseconds since the Unix epoch.
    Time(crate::time::Written),
    /// Microseconds.
    Duration(i64),
    /// `now`, the evaluation clock.
    Now,
    /// A name: a local, constant or enum variant.
    Name(Ident),
    /// `base.field`.
    Field(Box<Expr>, Ident),
    /// `f(args)`.
    Call(Ident, Vec<Expr>),
    /// `[items]`.
    List(Vec<Expr>),
    /// `(expr)`, kept as written.
    Paren(Box<Expr>),
    /// A prefix operator.
    Unary(UnaryOp, Box<Expr>),
    /// An infix operator.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `x is some` (`negated: false`) or `x is none` (`negated: true`).
    IsSome {
        /// The value tested.
        operand: Box<Expr>,
        /// `is none` rather than `is some`.
        negated: bool,
    },
    /// `if c then a else b`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `let x = value; body`.
    Let(Ident, Box<Expr>, Box<Expr>),
    /// `any`, `all` or `count` over a list.
    Quantifier {
        /// What kind it is.
        kind: QuantifierKind,
        /// The variable bound to each element.
        var: Ident,
        /// The list walked.
        list: Box<Expr>,
        /// The condition for each element.
        predicate: Box<Expr>,
    },
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`.
    Not,
    /// `-`.
    Neg,
}

/// Infix operators, from loosest to tightest binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `or`.
    Or,
    /// `and`.
    And,
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
    /// `in`.
    In,
    /// `has_any`.
    HasAny,
    /// `matches`.
    Matches,
    /// `??`.
    Coalesce,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Rem,
}

impl BinaryOp {
    /// The comparison with its operands swapped: `a < b` is `b > a`.
    pub fn flipped(self) -> BinaryOp {
        match self {
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::Le => BinaryOp::Ge,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::Ge => BinaryOp::Le,
            other => other,
        }
    }

    /// As the language spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::HasAny => "has_any",
            BinaryOp::Matches => "matches",
            BinaryOp::Coalesce => "??",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Binding strength: higher binds tighter. All binary operators are
    /// left-associative.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            // 3 is prefix `not`.
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::HasAny
            | BinaryOp::Matches => 4,
            BinaryOp::Coalesce => 5,
            BinaryOp::Add | BinaryOp::Sub => 6,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 7,
        }
    }
}

/// Precedence of prefix `not`.
pub const NOT_PRECEDENCE: u8 = 3;
/// Precedence of postfix `is some` / `is none` (same level as comparisons).
pub const IS_PRECEDENCE: u8 = 4;
/// Precedence of prefix `-`.
pub const NEG_PRECEDENCE: u8 = 8;

/// The list quantifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantifierKind {
    /// `any(x in list: predicate)`.
    Any,
    /// `all(x in list: predicate)`.
    All,
    /// `count(x in list: predicate)`.
    Count,
}

impl QuantifierKind {
    /// As the language spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            QuantifierKind::Any => "any",
            QuantifierKind::All => "all",
            QuantifierKind::Count => "count",
        }
    }
}
