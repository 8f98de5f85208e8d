//! The syntax tree of a `.qlp` file, as written: every node carries its [`Span`].
//!
//! Spans are excluded from equality, so two trees that differ only in layout
//! compare equal (`parse(print(ast)) == ast`).

use crate::span::Span;

/// A name as written, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One parsed `.qlp` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Import(Import),
    Enum(EnumDecl),
    Record(RecordDecl),
    Keywords(KeywordsDecl),
    Const(ConstDecl),
    Fn(FnDecl),
    Campaign(CampaignDecl),
    Rule(RuleDecl),
    Exempt(ExemptDecl),
    Test(TestDecl),
}

impl Item {
    /// The declared name, for items that declare one.
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Item::Import(_) | Item::Test(_) => None,
            Item::Enum(d) => Some(&d.name),
            Item::Record(d) => Some(&d.name),
            Item::Keywords(d) => Some(&d.name),
            Item::Const(d) => Some(&d.name),
            Item::Fn(d) => Some(&d.name),
            Item::Campaign(d) => Some(&d.name),
            Item::Rule(d) => Some(&d.name),
            Item::Exempt(d) => Some(&d.name),
        }
    }

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
            Item::Test(d) => d.span,
        }
    }
}

/// `import "../schema.qlp"`
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub path: StrLit,
    pub span: Span,
}

/// A string literal with its decoded value.
#[derive(Debug, Clone, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// `enum ContentKind { post, article }`
#[derive(Debug, Clone, PartialEq)]
pub struct EnumDecl {
    pub name: Ident,
    pub variants: Vec<Ident>,
    pub span: Span,
}

/// `record Account { id: string  age: int? }`
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDecl {
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

/// A type as written: `int`, `Account`, `[string]`, `int?`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeExprKind {
    Named(Ident),
    List(Box<TypeExpr>),
    Optional(Box<TypeExpr>),
}

/// `keywords gambling = ["赌博", "博彩"]` or `keywords ads = file("ads.txt")`
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordsDecl {
    pub name: Ident,
    /// Match options: `keywords ads(word) = [...]`.
    pub options: Vec<Ident>,
    pub source: KeywordsSource,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeywordsSource {
    Inline(Vec<StrLit>),
    File(StrLit),
}

/// `const ADULT: int = 18`
#[derive(Debug, Clone, PartialEq)]
pub struct ConstDecl {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
    pub span: Span,
}

/// `fn is_live(c: Content) -> bool = ...`
#[derive(Debug, Clone, PartialEq)]
pub struct FnDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: TypeExpr,
    pub body: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

/// `campaign livestream_2022 { title: "..." active: 2022-03-17 .. 2022-12-31 }`
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignDecl {
    pub name: Ident,
    pub props: Vec<CampaignProp>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CampaignProp {
    Title(StrLit),
    /// Start and end instants in microseconds since the Unix epoch, end inclusive.
    Active {
        start: TimeLit,
        end: TimeLit,
        span: Span,
    },
    MaxAction(ActionKindLit),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimeLit {
    pub micros: i64,
    /// Written as a date alone (`2022-12-31`): as the end of a period it
    /// includes that whole day.
    pub date_only: bool,
    pub span: Span,
}

/// The kinds of action, ordered by severity (weakest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKind {
    Label,
    Limit,
    Review,
    Remove,
    Block,
    Suspend,
    Ban,
}

impl ActionKind {
    pub const ALL: [ActionKind; 7] = [
        ActionKind::Label,
        ActionKind::Limit,
        ActionKind::Review,
        ActionKind::Remove,
        ActionKind::Block,
        ActionKind::Suspend,
        ActionKind::Ban,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
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

#[derive(Debug, Clone, PartialEq)]
pub struct ActionKindLit {
    pub kind: ActionKind,
    pub span: Span,
}

/// `remove`, `label("未成年人打赏")`, `suspend(7d)`
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    /// The text of a `label(..)`.
    pub label: Option<StrLit>,
    /// The length of a `suspend(..)`, in microseconds.
    pub duration: Option<i64>,
    pub span: Span,
}

/// `rule minor_tipping(c: Content) { campaign: ... when: ... then: ... reason: ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDecl {
    pub name: Ident,
    pub param: Param,
    pub items: Vec<RuleItem>,
    pub span: Span,
}

/// `exempt official_media(c: Content) { when: ... cancels: rule_a, campaign news_2022 }`
#[derive(Debug, Clone, PartialEq)]
pub struct ExemptDecl {
    pub name: Ident,
    pub param: Param,
    pub items: Vec<RuleItem>,
    pub span: Span,
}

/// One `key: value` line of a rule or exemption, in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleItem {
    Campaign(Ident),
    When(Expr),
    Then(Vec<Action>),
    Reason(StrLit),
    Cancels(Vec<CancelTarget>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum CancelTarget {
    Rule(Ident),
    Campaign(Ident),
}

/// `test "..." { now: ... given Content { ... } expect ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct TestDecl {
    pub name: StrLit,
    pub items: Vec<TestItem>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TestItem {
    Now(Expr),
    Given { ty: Ident, value: RecordValue },
    Expect(Expectation),
}

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
    pub fields: Vec<(Ident, Value)>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Record(RecordValue),
    List(Vec<Value>, Span),
    Expr(Expr),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Record(r) => r.span,
            Value::List(_, span) => *span,
            Value::Expr(e) => e.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    /// Microseconds since the Unix epoch.
    Time(i64),
    /// Microseconds.
    Duration(i64),
    Now,
    Name(Ident),
    Field(Box<Expr>, Ident),
    Call(Ident, Vec<Expr>),
    List(Vec<Expr>),
    Paren(Box<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `x is some` (`negated: false`) or `x is none` (`negated: true`).
    IsSome {
        operand: Box<Expr>,
        negated: bool,
    },
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Let(Ident, Box<Expr>, Box<Expr>),
    Quantifier {
        kind: QuantifierKind,
        var: Ident,
        list: Box<Expr>,
        predicate: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    HasAny,
    Matches,
    Coalesce,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantifierKind {
    Any,
    All,
    Count,
}

impl QuantifierKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuantifierKind::Any => "any",
            QuantifierKind::All => "all",
            QuantifierKind::Count => "count",
        }
    }
}
