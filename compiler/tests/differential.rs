//! Differential testing: a type-directed generator builds random well-typed
//! programs over a random schema, and random records for it (absent
//! optionals, extreme numbers, empty and non-ASCII strings). The interpreter
//! (the specification) and the JIT must agree on every rule's result and
//! error, every exemption, and the final outcome.
//!
//! Failing seeds are kept by proptest in `proptest-regressions/`; the program
//! and record of a failure are printed in full.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use proptest::prelude::*;
use qlp_compiler::explain::{explain_condition, keyword_evidence, show, Explanation};
use qlp_compiler::interp::{record_frame, Interpreter, Observer};
use qlp_compiler::jit::{CompileOptions, CompiledPolicySet};
use qlp_compiler::layout::Row;
use qlp_compiler::outcome::{conditions, conditions_observed, Conditions, Outcome};
use qlp_compiler::program::{Program, RecordId, TExpr, TExprKind};
use qlp_compiler::{MemoryLoader, Type, Value};

/// xorshift64*: a small deterministic generator driven by proptest's seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A field type of the generated schema, as written in qlp.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Bool,
    Int,
    Float,
    Str,
    Time,
    Duration,
    Kind,
    Sub,
    List(Box<Ty>),
    Opt(Box<Ty>),
}

impl Ty {
    fn qlp(&self) -> String {
        match self {
            Ty::Bool => "bool".into(),
            Ty::Int => "int".into(),
            Ty::Float => "float".into(),
            Ty::Str => "string".into(),
            Ty::Time => "time".into(),
            Ty::Duration => "duration".into(),
            Ty::Kind => "Kind".into(),
            Ty::Sub => "Sub".into(),
            Ty::List(t) => format!("[{}]", t.qlp()),
            Ty::Opt(t) => format!("{}?", t.qlp()),
        }
    }
}

const SCALARS: [Ty; 7] = [Ty::Bool, Ty::Int, Ty::Float, Ty::Str, Ty::Time, Ty::Duration, Ty::Kind];

fn random_field_type(rng: &mut Rng, allow_sub: bool) -> Ty {
    let base = if allow_sub && rng.chance(15) {
        Ty::Sub
    } else {
        rng.pick(&SCALARS).clone()
    };
    match rng.below(10) {
        0..=1 => Ty::List(Box::new(base)),
        2..=4 => Ty::Opt(Box::new(base)),
        _ => base,
    }
}

/// The schema: `record Sub` (scalars only) and `record R` (anything).
struct Schema {
    sub: Vec<(String, Ty)>,
    root: Vec<(String, Ty)>,
}

impl Schema {
    fn random(rng: &mut Rng) -> Schema {
        let sub = (0..1 + rng.below(3))
            .map(|i| (format!("s{i}"), random_field_type(rng, false)))
            .collect();
        let mut root: Vec<(String, Ty)> = (0..3 + rng.below(8))
            .map(|i| (format!("f{i}"), random_field_type(rng, true)))
            .collect();
        // Make sure the common types are reachable.
        root.push((String::from("n"), Ty::Int));
        root.push((String::from("t"), Ty::Str));
        root.push((String::from("x"), Ty::Float));
        Schema { sub, root }
    }

    fn source(&self) -> String {
        let mut out = String::from("enum Kind { alpha, beta, 甲 }\n");
        out.push_str("record Sub {\n");
        for (name, ty) in &self.sub {
            let _ = writeln!(out, "  {name}: {}", ty.qlp());
        }
        out.push_str("}\nrecord R {\n");
        for (name, ty) in &self.root {
            let _ = writeln!(out, "  {name}: {}", ty.qlp());
        }
        out.push_str("}\n");
        out
    }
}

/// A readable value: a path from the record parameter and its type.
#[derive(Clone)]
struct Path {
    text: String,
    ty: Ty,
}

struct Generator<'a> {
    rng: &'a mut Rng,
    /// Values in scope (fields of `c`, nested fields, bound variables).
    paths: Vec<Path>,
    next_var: usize,
    /// Generating the helper's own body, which must not call it.
    in_helper: bool,
}

const INTS: [&str; 12] = [
    "0",
    "1",
    "2",
    "3",
    "7",
    "100",
    "1000000",
    "9223372036854775807",
    "4611686018427387904",
    "(-9223372036854775807 - 1)",
    "(-1)",
    "(-42)",
];
const FLOATS: [&str; 11] = [
    "0.0",
    "1.5",
    "(-2.25)",
    "1e300",
    "1e-300",
    "0.1",
    "3.0",
    "(-0.0)",
    "100.0",
    // Infinity and NaN, which no literal spells.
    "(1e300 * 1e300)",
    "(1e300 * 1e300 - 1e300 * 1e300)",
];
const STRINGS: [&str; 12] = [
    "\"\"",
    "\"a\"",
    "\"赌博\"",
    "\"Abc\"",
    "\"  spaced  \"",
    "\"quote\\\"d\"",
    "\"网 赌\"",
    "\"ＢＥＴ\"",
    "\"zzz\"",
    "\"É\"",
    "\"菠菜&#36172;%E5%8D%9A\"",
    "\"<b>ВЕТ</b> ⻢上\"",
];
const DURATIONS: [&str; 6] = ["0s", "1ms", "30m", "24h", "7d", "106751d"];
const TIMES: [&str; 4] = ["1970-01-01", "2022-03-17", "2022-03-17T08:30:00Z", "1900-01-01"];

impl Generator<'_> {
    fn paths_of(&self, ty: &Ty) -> Vec<Path> {
        self.paths.iter().filter(|p| p.ty == *ty).cloned().collect()
    }

    fn literal(&mut self, ty: &Ty) -> String {
        match ty {
            Ty::Bool => self.rng.pick(&["true", "false"]).to_string(),
            Ty::Int => self.rng.pick(&INTS).to_string(),
            Ty::Float => self.rng.pick(&FLOATS).to_string(),
            Ty::Str => self.rng.pick(&STRINGS).to_string(),
            Ty::Time => self.rng.pick(&TIMES).to_string(),
            Ty::Duration => self.rng.pick(&DURATIONS).to_string(),
            Ty::Kind => self.rng.pick(&["alpha", "beta", "甲"]).to_string(),
            _ => String::from("0"),
        }
    }

    /// An expression of scalar type `ty`.
    fn expr(&mut self, ty: &Ty, depth: usize) -> String {
        let leaf = depth == 0 || self.rng.chance(25);
        let paths = self.paths_of(ty);
        if leaf {
            if !paths.is_empty() && self.rng.chance(65) {
                return self.rng.pick(&paths).text.clone();
            }
            let optionals = self.paths_of(&Ty::Opt(Box::new(ty.clone())));
            if !optionals.is_empty() && self.rng.chance(30) {
                let p = self.rng.pick(&optionals).text.clone();
                let default = self.literal(ty);
                return format!("({p} ?? {default})");
            }
            return self.literal(ty);
        }
        let d = depth - 1;
        match ty {
            Ty::Bool => self.bool_expr(d),
            Ty::Int => match self.rng.below(12) {
                0..=4 => {
                    let op = self.rng.pick(&["+", "-", "*", "/", "%"]);
                    format!("({} {op} {})", self.expr(&Ty::Int, d), self.expr(&Ty::Int, d))
                }
                5 => format!("len({})", self.expr(&Ty::Str, d)),
                6 => match self.list_path() {
                    Some(p) => format!("len({})", p.text),
                    None => format!("-{}", self.expr(&Ty::Int, d)),
                },
                7 => format!("abs({})", self.expr(&Ty::Int, d)),
                8 => format!("to_int({})", self.expr(&Ty::Float, d)),
                9 => {
                    let f = self.rng.pick(&["min", "max"]);
                    format!("{f}({}, {})", self.expr(&Ty::Int, d), self.expr(&Ty::Int, d))
                }
                10 => self.quantifier(true, d),
                _ => self.conditional(ty, d),
            },
            Ty::Float => match self.rng.below(6) {
                0..=2 => {
                    let op = self.rng.pick(&["+", "-", "*", "/", "%"]);
                    format!("({} {op} {})", self.expr(&Ty::Float, d), self.expr(&Ty::Float, d))
                }
                3 => format!("to_float({})", self.expr(&Ty::Int, d)),
                4 => format!("abs({})", self.expr(&Ty::Float, d)),
                _ => self.conditional(ty, d),
            },
            Ty::Str => match self.rng.below(5) {
                0 => format!("({} + {})", self.expr(&Ty::Str, d), self.expr(&Ty::Str, d)),
                1 => format!(
                    "{}({})",
                    self.rng.pick(&["lower", "upper", "trim", "unescape"]),
                    self.expr(&Ty::Str, d)
                ),
                2 => format!("max({}, {})", self.expr(&Ty::Str, d), self.expr(&Ty::Str, d)),
                _ => self.conditional(ty, d),
            },
            Ty::Time => match self.rng.below(3) {
                0 => String::from("now"),
                1 => format!("({} + {})", self.expr(&Ty::Time, d), self.expr(&Ty::Duration, d)),
                _ => format!("({} - {})", self.expr(&Ty::Time, d), self.expr(&Ty::Duration, d)),
            },
            Ty::Duration => match self.rng.below(4) {
                0 => format!("({} - {})", self.expr(&Ty::Time, d), self.expr(&Ty::Time, d)),
                1 => format!("({} * {})", self.expr(&Ty::Duration, d), self.expr(&Ty::Int, d)),
                2 => format!("({} / {})", self.expr(&Ty::Duration, d), self.expr(&Ty::Int, d)),
                _ => format!("({} + {})", self.expr(&Ty::Duration, d), self.expr(&Ty::Duration, d)),
            },
            _ => self.conditional(ty, d),
        }
    }

    fn list_path(&mut self) -> Option<Path> {
        let lists: Vec<Path> = self
            .paths
            .iter()
            .filter(|p| matches!(p.ty, Ty::List(_)))
            .cloned()
            .collect();
        (!lists.is_empty()).then(|| self.rng.pick(&lists).clone())
    }

    fn conditional(&mut self, ty: &Ty, d: usize) -> String {
        match self.rng.below(3) {
            0 => {
                // Narrowing: use an optional after checking it.
                let optionals = self.paths_of(&Ty::Opt(Box::new(ty.clone())));
                if let Some(p) = (!optionals.is_empty()).then(|| self.rng.pick(&optionals).clone()) {
                    let other = self.expr(ty, d);
                    return format!("(if {} is some then {} else {other})", p.text, p.text);
                }
                format!(
                    "(if {} then {} else {})",
                    self.bool_expr(d),
                    self.expr(ty, d),
                    self.expr(ty, d)
                )
            }
            1 => {
                let var = format!("v{}", self.next_var);
                self.next_var += 1;
                let value = self.expr(ty, d);
                self.paths.push(Path {
                    text: var.clone(),
                    ty: ty.clone(),
                });
                let body = self.expr(ty, d);
                self.paths.pop();
                format!("(let {var} = {value}; {body})")
            }
            _ => format!(
                "(if {} then {} else {})",
                self.bool_expr(d),
                self.expr(ty, d),
                self.expr(ty, d)
            ),
        }
    }

    fn quantifier(&mut self, count: bool, d: usize) -> String {
        let Some(list) = self.list_path() else {
            return self.literal(if count { &Ty::Int } else { &Ty::Bool });
        };
        let Ty::List(element) = &list.ty else { unreachable!() };
        let var = format!("v{}", self.next_var);
        self.next_var += 1;
        self.paths.push(Path {
            text: var.clone(),
            ty: (**element).clone(),
        });
        if **element == Ty::Sub {
            self.push_sub_fields(&var);
        }
        let predicate = self.bool_expr(d);
        self.paths
            .retain(|p| !(p.text == var || p.text.starts_with(&format!("{var}."))));
        let kind = if count {
            "count"
        } else {
            *self.rng.pick(&["any", "all"])
        };
        format!("{kind}({var} in {}: {predicate})", list.text)
    }

    fn push_sub_fields(&mut self, base: &str) {
        let fields: Vec<(String, Ty)> = SUB_FIELDS.with(|f| f.borrow().clone());
        for (name, ty) in fields {
            self.paths.push(Path {
                text: format!("{base}.{name}"),
                ty,
            });
        }
    }

    fn bool_expr(&mut self, depth: usize) -> String {
        if depth == 0 {
            return self.expr(&Ty::Bool, 0);
        }
        let d = depth - 1;
        match self.rng.below(16) {
            0 => format!("({} and {})", self.bool_expr(d), self.bool_expr(d)),
            1 => format!("({} or {})", self.bool_expr(d), self.bool_expr(d)),
            2 => format!("not {}", self.bool_expr(d)),
            3..=6 => {
                let ty = self
                    .rng
                    .pick(&[Ty::Int, Ty::Float, Ty::Str, Ty::Time, Ty::Duration])
                    .clone();
                let op = self.rng.pick(&["==", "!=", "<", "<=", ">", ">="]);
                format!("({} {op} {})", self.expr(&ty, d), self.expr(&ty, d))
            }
            7 => {
                let ty = self.rng.pick(&[Ty::Bool, Ty::Kind]).clone();
                let op = self.rng.pick(&["==", "!="]);
                format!("({} {op} {})", self.expr(&ty, d), self.expr(&ty, d))
            }
            8 => {
                let optionals: Vec<Path> = self
                    .paths
                    .iter()
                    .filter(|p| matches!(p.ty, Ty::Opt(_)))
                    .cloned()
                    .collect();
                if optionals.is_empty() {
                    return self.expr(&Ty::Bool, 0);
                }
                let p = self.rng.pick(&optionals).clone();
                let Ty::Opt(inner) = &p.ty else { unreachable!() };
                if matches!(**inner, Ty::Int | Ty::Float | Ty::Str) && self.rng.chance(60) {
                    // Narrowed use on the right of `and`.
                    let other = self.expr(inner, d);
                    return format!("({} is some and {} == {other})", p.text, p.text);
                }
                let test = self.rng.pick(&["is some", "is none"]);
                format!("({} {test})", p.text)
            }
            9 => {
                let ty = self.rng.pick(&[Ty::Int, Ty::Str, Ty::Kind, Ty::Float]).clone();
                let lists = self.paths_of(&Ty::List(Box::new(ty.clone())));
                if !lists.is_empty() && self.rng.chance(50) {
                    let list = self.rng.pick(&lists).text.clone();
                    return format!("({} in {list})", self.expr(&ty, d));
                }
                if self.rng.chance(30) {
                    // A list long enough to be hashed (floats and non-constant
                    // items stay a scan): every scalar type.
                    let ty = self
                        .rng
                        .pick(&[Ty::Int, Ty::Str, Ty::Kind, Ty::Float, Ty::Bool, Ty::Time, Ty::Duration])
                        .clone();
                    let items: Vec<String> = (0..16 + self.rng.below(8)).map(|_| self.literal(&ty)).collect();
                    return format!("({} in [{}])", self.expr(&ty, d), items.join(", "));
                }
                let items: Vec<String> = (0..1 + self.rng.below(3)).map(|_| self.expr(&ty, d)).collect();
                format!("({} in [{}])", self.expr(&ty, d), items.join(", "))
            }
            10 => {
                let set = self.rng.pick(&[
                    "words",
                    "more_words",
                    "latin",
                    "verbatim",
                    "sounds",
                    "shapes",
                    "abbreviations",
                ]);
                format!("({} has_any {set})", self.expr(&Ty::Str, d))
            }
            11 => format!("({} matches \"^[a-z]+$\")", self.expr(&Ty::Str, d)),
            12 => {
                let f = self.rng.pick(&["contains", "starts_with", "ends_with"]);
                format!("{f}({}, {})", self.expr(&Ty::Str, d), self.expr(&Ty::Str, d))
            }
            13 => self.quantifier(false, d),
            14 if !self.in_helper => {
                format!("(helper(c, {}) > {})", self.expr(&Ty::Int, d), self.expr(&Ty::Int, d))
            }
            _ => {
                let set = self.rng.pick(&["words", "more_words", "latin", "verbatim"]);
                format!("(count_matches({}, {set}) >= 1)", self.expr(&Ty::Str, d))
            }
        }
    }
}

thread_local! {
    static SUB_FIELDS: std::cell::RefCell<Vec<(String, Ty)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn record_paths(schema: &Schema) -> Vec<Path> {
    let mut paths = Vec::new();
    for (name, ty) in &schema.root {
        let text = format!("c.{name}");
        paths.push(Path {
            text: text.clone(),
            ty: ty.clone(),
        });
        if *ty == Ty::Sub {
            for (sub_name, sub_ty) in &schema.sub {
                paths.push(Path {
                    text: format!("{text}.{sub_name}"),
                    ty: sub_ty.clone(),
                });
            }
        }
    }
    paths
}

fn program_source(rng: &mut Rng, schema: &Schema) -> String {
    SUB_FIELDS.with(|f| *f.borrow_mut() = schema.sub.clone());
    let mut out = schema.source();
    out.push_str("keywords words = [\"赌博\", \"bet\", \"abc\"]\n");
    out.push_str("keywords more_words = [\"网赌\", \"bet\", \"z\"]\n");
    out.push_str("keywords latin(word) = [\"bet\", \"abc\", \"x\"]\n");
    out.push_str("keywords verbatim(exact) = [\"Abc\", \"赌博\", \" \"]\n");
    out.push_str("keywords sounds(sound) = [\"博彩\", \"bet\"]\n");
    out.push_str("keywords shapes(lookalike) = [\"bet\", \"马上\"]\n");
    out.push_str("keywords abbreviations(initials) = [\"赌博\", \"甲乙\"]\n");
    out.push_str("campaign camp { title: \"c\" active: 2022-01-01 .. 2022-12-31 }\n");
    let paths = record_paths(schema);
    let mut generator = Generator {
        rng,
        paths: paths.clone(),
        next_var: 0,
        in_helper: true,
    };
    // A helper with a parameter, inlined by the JIT.
    generator.paths.push(Path {
        text: String::from("k"),
        ty: Ty::Int,
    });
    let body = generator.expr(&Ty::Int, 3);
    generator.paths.pop();
    generator.in_helper = false;
    let _ = writeln!(out, "fn helper(c: R, k: int) -> int = {body}");
    // A one-parameter function of the record, which the JIT may compute once per record.
    let view = generator.expr(&Ty::Str, 2);
    let _ = writeln!(out, "fn view(c: R) -> string = {view}");
    let flag = generator.bool_expr(2);
    let _ = writeln!(out, "fn flag(c: R) -> bool = {flag}");
    generator.paths.push(Path {
        text: String::from("view(c)"),
        ty: Ty::Str,
    });
    generator.paths.push(Path {
        text: String::from("flag(c)"),
        ty: Ty::Bool,
    });
    let n_rules = 1 + generator.rng.below(6);
    for i in 0..n_rules {
        let when = generator.bool_expr(4);
        let campaign = if generator.rng.chance(30) {
            "  campaign: camp\n"
        } else {
            ""
        };
        let action = generator
            .rng
            .pick(&["review", "remove", "label(\"x\")", "ban", "suspend(7d)"]);
        let _ = writeln!(
            out,
            "rule r{i}(c: R) {{\n{campaign}  when: {when}\n  then: {action}\n}}"
        );
    }
    if generator.rng.chance(50) {
        let when = generator.bool_expr(3);
        let target = generator.rng.below(n_rules);
        let _ = writeln!(out, "exempt e(c: R) {{\n  when: {when}\n  cancels: r{target}\n}}");
    }
    out
}

const STRING_VALUES: [&str; 13] = [
    "",
    "a",
    "abc",
    "赌博",
    "一起 赌.博 吧",
    "BET365",
    "Zz",
    "  x ",
    "é",
    "甲乙",
    "菠菜 ВЕТ &#x535A;%E5%BD%A9 <i>⻢</i>上",
    "来 d.b 吗 jy",
    "dbz 大部 feedback",
];

fn random_value(rng: &mut Rng, program: &Program, ty: &Type) -> Value {
    match ty {
        Type::Optional(inner) => {
            if rng.chance(35) {
                Value::Absent
            } else {
                random_value(rng, program, inner)
            }
        }
        Type::Bool => Value::Bool(rng.chance(50)),
        Type::Int => Value::Int(*rng.pick(&[0, 1, -1, 2, 3, 10, 1000, i64::MAX, i64::MIN, i64::MIN + 1, 42, -7])),
        Type::Float => Value::Float(*rng.pick(&[0.0, -0.0, 1.0, -1.5, 1e308, 1e-308, 0.5, 3.0, f64::MAX, 2.5])),
        Type::String => Value::str(rng.pick::<&str>(&STRING_VALUES)),
        Type::Time => Value::Time(*rng.pick(&[
            0,
            1_647_475_200_000_000,
            -1_000_000,
            i64::MAX - 5,
            1_650_000_000_000_000,
        ])),
        Type::Duration => Value::Duration(*rng.pick(&[0, 1_000_000, 86_400_000_000, -5, i64::MAX])),
        Type::Enum(id) => {
            let n = program.enums[id.index()].variants.len();
            Value::Enum(rng.below(n) as u32)
        }
        Type::List(element) => {
            let items: Vec<Value> = (0..rng.below(4)).map(|_| random_value(rng, program, element)).collect();
            Value::List(items.into())
        }
        Type::Record(id) => {
            let fields: Vec<Value> = program.records[id.index()]
                .fields
                .iter()
                .map(|f| random_value(rng, program, &f.ty))
                .collect();
            Value::Record(fields.into())
        }
        Type::Error => Value::Absent,
    }
}

fn error_spans(conditions: &Conditions) -> Vec<(u32, u32)> {
    let rules = conditions.rules.iter().map(|(_, r)| r);
    let exempts = conditions.exempts.iter().map(|(_, r)| r);
    rules
        .chain(exempts)
        .filter_map(|r| r.as_ref().err())
        .map(|e| (e.span.start, e.span.end))
        .collect()
}

fn check_seed(seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng(seed | 1);
    let schema = Schema::random(&mut rng);
    let source = program_source(&mut rng, &schema);
    let loader = MemoryLoader::new().with("p.qlp", source.clone());
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let Some(program) = checked.program else {
        return Err(TestCaseError::fail(format!(
            "generated program does not check:\n{source}\n{:#?}",
            checked.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )));
    };
    let program = Arc::new(program);
    let compiled =
        CompiledPolicySet::compile(program.clone()).map_err(|e| TestCaseError::fail(format!("{e}\n{source}")))?;
    // The same program with every function compiled on its own and called.
    let outlined = CompiledPolicySet::compile_with(
        program.clone(),
        CompileOptions {
            outline_every_function: true,
            ..CompileOptions::default()
        },
    )
    .map_err(|e| TestCaseError::fail(format!("{e}\n{source}")))?;
    let record = RecordId(program.records.iter().position(|r| r.name == "R").unwrap() as u32);
    let mut context = compiled.context();
    let mut outlined_context = outlined.context();
    for _ in 0..16 {
        let value = random_value(&mut rng, &program, &Type::Record(record));
        let now = *rng.pick(&[0, 1_650_000_000_000_000, 1_700_000_000_000_000]);
        let expected = conditions(&program, record, &value, now);
        // Unobserved, the interpreter reads fields of locals in place; watched,
        // it evaluates (and clones) every record on the way: the same results.
        let watched = conditions_observed(&program, record, &value, now, &EveryValue);
        prop_assert_eq!(&watched, &expected, "in-place field reads disagree\n{}", source);
        prop_assert_eq!(error_spans(&watched), error_spans(&expected));
        let row = Row::encode(&program, compiled.layout(), record, &value);
        prop_assert_eq!(row.decode(&program, compiled.layout(), record), Some(value.clone()));
        let actual = compiled.conditions(record, &row, now, &mut context);
        let actual_outlined = outlined.conditions(record, &row, now, &mut outlined_context);
        if actual != expected || actual_outlined != expected {
            write_regression(seed, &source, &program, record, &value, now);
        }
        prop_assert_eq!(
            &actual_outlined,
            &expected,
            "outlined functions disagree\nprogram:\n{}\nrecord: {:?}\nnow: {}",
            source,
            value,
            now
        );
        prop_assert_eq!(error_spans(&actual_outlined), error_spans(&expected));
        prop_assert_eq!(
            &actual,
            &expected,
            "engines disagree\nprogram:\n{}\nrecord: {:?}\nnow: {}",
            source,
            value,
            now
        );
        // Spans compare equal to each other; compare error locations explicitly.
        prop_assert_eq!(
            error_spans(&actual),
            error_spans(&expected),
            "error locations differ\n{}",
            source
        );
        prop_assert_eq!(
            Outcome::from_conditions(&program, &actual),
            Outcome::from_conditions(&program, &expected)
        );
        // The outcome the JIT reads from its bits when nothing erred.
        prop_assert_eq!(
            compiled.evaluate(record, &row, now, &mut context),
            Outcome::from_conditions(&program, &expected),
            "outcomes disagree\nprogram:\n{}\nrecord: {:?}\nnow: {}",
            source,
            value,
            now
        );
        prop_assert_eq!(
            outlined.evaluate(record, &row, now, &mut outlined_context),
            Outcome::from_conditions(&program, &expected)
        );
        explanations_match_the_interpreter(&program, &value, now, &source)?;
        // Each rule's keyword evidence, found by native code over the row,
        // is the interpreter's (whether or not the rule fired or erred).
        for (id, rule) in program.rule_ids() {
            let expected = keyword_evidence(
                &program,
                rule.location.file,
                &rule.when,
                rule.n_locals,
                &value,
                now,
                &[],
            );
            for (set, context) in [(&compiled, &mut context), (&outlined, &mut outlined_context)] {
                let found = set.evidence(id, &row, now, &[], context);
                match found {
                    Some(found) => prop_assert_eq!(
                        &found,
                        &expected,
                        "evidence of `{}` disagrees\nprogram:\n{}\nrecord: {:?}\nnow: {}",
                        rule.name,
                        source,
                        value,
                        now
                    ),
                    // A rule that searches no keywords has none to find.
                    None => prop_assert_eq!(&expected, &Default::default()),
                }
            }
        }
    }
    Ok(())
}

/// An observer that watches every value, so the interpreter evaluates each
/// node (no field is read in place).
struct EveryValue;

impl Observer for EveryValue {
    fn value(&self, _expr: &TExpr, _result: &qlp_compiler::interp::Eval) {}
}

/// The operands of an `and` (or `or`) chain, as `qlp explain` lists them.
fn chain<'e>(expr: &'e TExpr, is_and: bool, out: &mut Vec<&'e TExpr>) {
    match &expr.kind {
        TExprKind::And(a, b) if is_and => {
            chain(a, is_and, out);
            chain(b, is_and, out);
        }
        TExprKind::Or(a, b) if !is_and => {
            chain(a, is_and, out);
            chain(b, is_and, out);
        }
        _ => out.push(expr),
    }
}

/// Checks an explanation node by node against its own oracle: whether a
/// sub-condition ran follows from short-circuiting alone, and every value
/// shown equals the interpreter's value for that sub-condition evaluated on
/// its own.
fn check_explanation(
    expr: &TExpr,
    shown: &Explanation,
    evaluated: bool,
    value_of: &mut dyn FnMut(&TExpr) -> String,
    source: &str,
) -> Result<(), TestCaseError> {
    if !evaluated {
        prop_assert_eq!(&shown.value, "not evaluated", "{}\n{}", shown.source, source);
    } else {
        prop_assert_eq!(&shown.value, &value_of(expr), "{}\n{}", shown.source, source);
    }
    let children: Vec<&TExpr> = match &expr.kind {
        TExprKind::And(..) | TExprKind::Or(..) => {
            let mut operands = Vec::new();
            chain(expr, matches!(expr.kind, TExprKind::And(..)), &mut operands);
            operands
        }
        TExprKind::Not(inner) => vec![&**inner],
        _ => Vec::new(),
    };
    prop_assert_eq!(children.len(), shown.children.len());
    let is_and = matches!(expr.kind, TExprKind::And(..));
    let mut still = evaluated;
    for (child, shown_child) in children.iter().zip(&shown.children) {
        check_explanation(child, shown_child, still, value_of, source)?;
        if matches!(expr.kind, TExprKind::And(..) | TExprKind::Or(..)) && still {
            still = value_of(child) == if is_and { "true" } else { "false" };
        }
    }
    Ok(())
}

fn explanations_match_the_interpreter(
    program: &Program,
    record: &Value,
    now: i64,
    source: &str,
) -> Result<(), TestCaseError> {
    let interpreter = Interpreter::new(program);
    for rule in &program.rules {
        let explanation = explain_condition(program, rule.location.file, &rule.when, rule.n_locals, record, now, &[]);
        let mut value_of = |expr: &TExpr| {
            let mut frame = record_frame(record, rule.n_locals);
            match interpreter.eval_expr(expr, &mut frame, now) {
                Ok(v) => show(program, &v, &expr.ty),
                Err(e) => format!("error: {}", e.kind),
            }
        };
        check_explanation(&rule.when, &explanation, true, &mut value_of, source)?;
        // Evidence comes from searches the interpreter made: none at all
        // when the rule's only keyword searches were skipped, and every hit
        // is the text it names.
        for hit in keyword_evidence(program, rule.location.file, &rule.when, rule.n_locals, record, now, &[]).hits {
            prop_assert!(hit.start <= hit.end, "{:?}", hit);
            prop_assert!(!hit.keyword.is_empty(), "{:?}", hit);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("QLP_DIFFERENTIAL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000)
    ))]

    #[test]
    fn interpreter_and_jit_agree(seed in any::<u64>()) {
        check_seed(seed)?;
    }
}

#[test]
fn rows_pointing_outside_themselves_are_refused() {
    let source = "record R { id: string  tags: [string]  n: int }\nrule r(c: R) { when: len(c.id) > 0 or c.n > 0 then: review }\n";
    let loader = MemoryLoader::new().with("p.qlp", source);
    let program = Arc::new(qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap());
    let compiled = CompiledPolicySet::compile(program.clone()).unwrap();
    let record = RecordId(0);
    let value = Value::Record(
        vec![
            Value::str("x"),
            Value::List(vec![Value::str("a")].into()),
            Value::Int(1),
        ]
        .into(),
    );
    let good = Row::encode(&program, compiled.layout(), record, &value);
    let mut context = compiled.context();
    assert_eq!(compiled.evaluate(record, &good, 0, &mut context).fired.len(), 1);
    // Point the string, then a list element, far outside the row.
    for slot in [0usize, 16] {
        let mut bytes = good.bytes().to_vec();
        bytes[slot..slot + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let outcome = compiled.evaluate(record, &Row::from_bytes(bytes), 0, &mut context);
        assert!(outcome.fired.is_empty());
        assert_eq!(
            outcome.errors[0].error.kind,
            qlp_compiler::interp::EvalErrorKind::BadRecord
        );
    }
    let mut bytes = good.bytes().to_vec();
    let element = u64::from_le_bytes(bytes[16..24].try_into().unwrap()) as usize;
    bytes[element + 8..element + 16].copy_from_slice(&u64::MAX.to_le_bytes());
    let outcome = compiled.evaluate(record, &Row::from_bytes(bytes), 0, &mut context);
    assert_eq!(
        outcome.errors[0].error.kind,
        qlp_compiler::interp::EvalErrorKind::BadRecord
    );
    // A truncated row too.
    let outcome = compiled.evaluate(record, &Row::from_bytes(good.bytes()[..8].to_vec()), 0, &mut context);
    assert_eq!(
        outcome.errors[0].error.kind,
        qlp_compiler::interp::EvalErrorKind::BadRecord
    );
}

/// A row remembers being valid for one compiled set's layout and one record
/// type, and for nothing else: evaluated as another type, or by another
/// set whose layout it does not fit, it is checked again and refused.
#[test]
fn a_row_found_valid_is_checked_again_for_another_type_or_set() {
    let source = "record R { id: string  n: int }\nrecord S { a: string  b: string  c: string }\n\
                  rule r(c: R) { when: c.n > 0 then: review }\nrule s(x: S) { when: len(x.c) > 0 then: review }\n";
    let loader = MemoryLoader::new().with("p.qlp", source);
    let program = Arc::new(qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap());
    let compiled = CompiledPolicySet::compile(program.clone()).unwrap();
    let (r, s) = (RecordId(0), RecordId(1));
    let row = Row::encode(
        &program,
        compiled.layout(),
        r,
        &Value::Record(vec![Value::str("x"), Value::Int(1)].into()),
    );
    let mut context = compiled.context();
    assert_eq!(compiled.evaluate(r, &row, 0, &mut context).fired.len(), 1);
    // Valid for R (and remembered), too short for S.
    let as_s = compiled.evaluate(s, &row, 0, &mut context);
    assert_eq!(
        as_s.errors[0].error.kind,
        qlp_compiler::interp::EvalErrorKind::BadRecord
    );
    // Another set, where R's row is longer: R's row of the first set does not fit.
    let longer = "record R { id: string  n: int  more: string }\nrule r(c: R) { when: c.n > 0 then: review }\n";
    let loader = MemoryLoader::new().with("p.qlp", longer);
    let other = Arc::new(qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap());
    let other = CompiledPolicySet::compile(other).unwrap();
    let mut other_context = other.context();
    let outcome = other.evaluate(r, &row, 0, &mut other_context);
    assert_eq!(
        outcome.errors[0].error.kind,
        qlp_compiler::interp::EvalErrorKind::BadRecord
    );
    // And the first set still takes it.
    assert_eq!(compiled.evaluate(r, &row, 0, &mut context).fired.len(), 1);
}

// ---------------------------------------------------------------- regression files

/// Where minimized disagreements are written, and replayed from.
const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/differential");

/// A value as JSON, by its type: enums by variant name, floats that JSON
/// cannot hold as strings (`"NaN"`, `"inf"`, `"-inf"`), missing as `null`.
fn value_to_json(program: &Program, ty: &Type, value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match (ty, value) {
        (_, Value::Absent) => J::Null,
        (Type::Optional(inner), value) => value_to_json(program, inner, value),
        (_, Value::Bool(b)) => J::from(*b),
        (_, Value::Int(v) | Value::Time(v) | Value::Duration(v)) => J::from(*v),
        (_, Value::Float(v)) if v.is_finite() => J::from(*v),
        (_, Value::Float(v)) => J::from(if v.is_nan() {
            "NaN"
        } else if *v > 0.0 {
            "inf"
        } else {
            "-inf"
        }),
        (_, Value::Str(s)) => J::from(&**s),
        (Type::Enum(id), Value::Enum(v)) => J::from(program.enum_def(*id).unwrap().variants[*v as usize].clone()),
        (Type::List(element), Value::List(items)) => {
            J::Array(items.iter().map(|item| value_to_json(program, element, item)).collect())
        }
        (Type::Record(id), Value::Record(fields)) => {
            let def = program.record(*id).unwrap();
            J::Object(
                def.fields
                    .iter()
                    .zip(fields.iter())
                    .map(|(field, value)| (field.name.clone(), value_to_json(program, &field.ty, value)))
                    .collect(),
            )
        }
        (ty, value) => panic!("no JSON for {value:?} as {ty:?}"),
    }
}

/// The inverse of [`value_to_json`].
fn json_to_value(program: &Program, ty: &Type, json: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match (ty, json) {
        (_, J::Null) => Value::Absent,
        (Type::Optional(inner), json) => json_to_value(program, inner, json),
        (Type::Bool, J::Bool(b)) => Value::Bool(*b),
        (Type::Int, json) => Value::Int(json.as_i64().unwrap()),
        (Type::Time, json) => Value::Time(json.as_i64().unwrap()),
        (Type::Duration, json) => Value::Duration(json.as_i64().unwrap()),
        (Type::Float, J::String(s)) => Value::Float(match s.as_str() {
            "NaN" => f64::NAN,
            "inf" => f64::INFINITY,
            _ => f64::NEG_INFINITY,
        }),
        (Type::Float, json) => Value::Float(json.as_f64().unwrap()),
        (Type::String, J::String(s)) => Value::str(s),
        (Type::Enum(id), J::String(s)) => Value::Enum(
            program
                .enum_def(*id)
                .unwrap()
                .variants
                .iter()
                .position(|v| v == s)
                .unwrap() as u32,
        ),
        (Type::List(element), J::Array(items)) => {
            Value::List(items.iter().map(|item| json_to_value(program, element, item)).collect())
        }
        (Type::Record(id), J::Object(fields)) => {
            let def = program.record(*id).unwrap();
            Value::Record(
                def.fields
                    .iter()
                    .map(|field| json_to_value(program, &field.ty, fields.get(&field.name).unwrap_or(&J::Null)))
                    .collect(),
            )
        }
        (ty, json) => panic!("no value for {json} as {ty:?}"),
    }
}

/// Whether the engines disagree on `record` (JSON) at `now` for `source`;
/// `None` when the source does not check.
fn disagrees(source: &str, record: &serde_json::Value, now: i64) -> Option<bool> {
    let loader = MemoryLoader::new().with("p.qlp", source);
    let program = Arc::new(qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program?);
    let record_id = RecordId(program.records.iter().position(|r| r.name == "R")? as u32);
    let value = json_to_value(&program, &Type::Record(record_id), record);
    let expected = conditions(&program, record_id, &value, now);
    for options in [
        CompileOptions::default(),
        CompileOptions {
            outline_every_function: true,
            ..CompileOptions::default()
        },
    ] {
        let compiled = CompiledPolicySet::compile_with(program.clone(), options).ok()?;
        let row = Row::encode(&program, compiled.layout(), record_id, &value);
        let actual = compiled.conditions(record_id, &row, now, &mut compiled.context());
        if actual != expected || error_spans(&actual) != error_spans(&expected) {
            return Some(true);
        }
    }
    Some(false)
}

/// The program's rules and exemptions, each a block from its first line to
/// its closing `}` line; everything before them is kept whole.
fn blocks(source: &str) -> (String, Vec<String>) {
    let mut head = String::new();
    let mut items: Vec<String> = Vec::new();
    for line in source.lines() {
        if line.starts_with("rule ") || line.starts_with("exempt ") {
            items.push(String::new());
        }
        match items.last_mut() {
            Some(item) => {
                item.push_str(line);
                item.push('\n');
            }
            None => {
                head.push_str(line);
                head.push('\n');
            }
        }
    }
    (head, items)
}

/// Writes a disagreement as `seed-N.qlp` and `seed-N.json` (the record and
/// the clock), after dropping every rule and exemption it does not need.
/// Only the first disagreement of a run is written (proptest's shrinking
/// finds more of the same).
fn write_regression(seed: u64, source: &str, program: &Program, record: RecordId, value: &Value, now: i64) {
    static WRITTEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if WRITTEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let json = value_to_json(program, &Type::Record(record), value);
    let (head, mut items) = blocks(source);
    let mut i = 0;
    while i < items.len() {
        let mut fewer = items.clone();
        fewer.remove(i);
        let candidate = format!("{head}{}", fewer.concat());
        if disagrees(&candidate, &json, now) == Some(true) {
            items = fewer;
        } else {
            i += 1;
        }
    }
    let minimized = format!("{head}{}", items.concat());
    let _ = std::fs::create_dir_all(REGRESSIONS);
    let _ = std::fs::write(format!("{REGRESSIONS}/seed-{seed}.qlp"), minimized);
    let _ = std::fs::write(
        format!("{REGRESSIONS}/seed-{seed}.json"),
        serde_json::to_string_pretty(&serde_json::json!({ "now": now, "record": json })).unwrap_or_default(),
    );
}

/// Every kept disagreement (and every case put there by hand) stays agreed.
#[test]
fn regression_files_agree() {
    let mut replayed = 0;
    for entry in std::fs::read_dir(REGRESSIONS).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "qlp") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap()).unwrap();
        let now = case["now"].as_i64().unwrap();
        assert_eq!(
            disagrees(&source, &case["record"], now),
            Some(false),
            "{} disagrees again",
            path.display()
        );
        replayed += 1;
    }
    assert!(replayed > 0, "no regression files in {REGRESSIONS}");
}

/// The writer and the minimizer work: a generated case written out comes
/// back as the same record, and its program still checks.
#[test]
fn regression_files_round_trip() {
    let mut rng = Rng(7 | 1);
    let schema = Schema::random(&mut rng);
    let source = program_source(&mut rng, &schema);
    let loader = MemoryLoader::new().with("p.qlp", source.clone());
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    let record = RecordId(program.records.iter().position(|r| r.name == "R").unwrap() as u32);
    for _ in 0..32 {
        let value = random_value(&mut rng, &program, &Type::Record(record));
        let json = value_to_json(&program, &Type::Record(record), &value);
        let back = json_to_value(&program, &Type::Record(record), &json);
        // NaN is not equal to itself: compare through JSON again.
        assert_eq!(value_to_json(&program, &Type::Record(record), &back), json);
        assert_eq!(disagrees(&source, &json, 0), Some(false));
    }
    let (head, items) = blocks(&source);
    assert!(!items.is_empty());
    assert_eq!(format!("{head}{}", items.concat()), source);
}
