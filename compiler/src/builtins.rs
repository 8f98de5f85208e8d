//! The built-in functions: one table of their names, arities and
//! signatures, which the checker resolves calls against and quotes in help
//! lines. (How each one is typed is in `typeck.rs`; what each one computes is
//! `program::Builtin`, which every engine implements.)

/// One built-in function as a policy author calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinFn {
    /// What policies call it.
    pub name: &'static str,
    /// How many arguments it takes.
    pub arity: usize,
    /// How many more it may take.
    pub optional: usize,
    /// Its signature and what it does, for help lines and docs.
    pub signature: &'static str,
}

const fn builtin(name: &'static str, arity: usize, signature: &'static str) -> BuiltinFn {
    BuiltinFn {
        name,
        arity,
        optional: 0,
        signature,
    }
}

/// A clock function: a time, and optionally the zone to read it in.
const fn clock(name: &'static str, signature: &'static str) -> BuiltinFn {
    BuiltinFn {
        name,
        arity: 1,
        optional: 1,
        signature,
    }
}

/// Every built-in function.
pub const BUILTINS: &[BuiltinFn] = &[
    builtin(
        "len",
        1,
        "`len(string) -> int` counts characters; `len([T]) -> int` counts elements",
    ),
    builtin("lower", 1, "`lower(string) -> string`, `upper(..)`, `trim(..)`"),
    builtin("upper", 1, "`lower(string) -> string`, `upper(..)`, `trim(..)`"),
    builtin("trim", 1, "`lower(string) -> string`, `upper(..)`, `trim(..)`"),
    builtin("contains", 2, "`contains(text: string, part: string) -> bool`"),
    builtin("starts_with", 2, "`starts_with(text: string, prefix: string) -> bool`"),
    builtin("ends_with", 2, "`ends_with(text: string, suffix: string) -> bool`"),
    builtin(
        "unescape",
        1,
        "`unescape(string) -> string`: tags removed, HTML character references and `%XX` escapes decoded, for fields that hold markup or URLs",
    ),
    builtin("to_float", 1, "`to_float(int) -> float`"),
    builtin("to_int", 1, "`to_int(float) -> int`, truncating"),
    builtin("abs", 1, "`abs(int) -> int`, `abs(float) -> float`"),
    builtin(
        "min",
        2,
        "`min(a, b)` and `max(a, b)` take two values of one type: int, float, string, time or duration",
    ),
    builtin(
        "max",
        2,
        "`min(a, b)` and `max(a, b)` take two values of one type: int, float, string, time or duration",
    ),
    builtin(
        "count_matches",
        2,
        "`count_matches(text: string, KEYWORDS) -> int` counts the distinct keywords found",
    ),
    clock(
        "hour_of",
        "`hour_of(time) -> int`: the hour (0 to 23) on the clocks of the policy set's `time_zone`; `hour_of(t, \"Asia/Tokyo\")` in another zone",
    ),
    clock(
        "weekday_of",
        "`weekday_of(time) -> int`: the day of the week, 1 (Monday) to 7 (Sunday), in the policy set's `time_zone` (or a zone given second)",
    ),
    clock(
        "day_of",
        "`day_of(time) -> time`: the start (local midnight) of the day, in the policy set's `time_zone` (or a zone given second)",
    ),
    builtin(
        "fingerprint",
        1,
        "`fingerprint(string) -> int`: a hash of the text as keyword matching normalizes it, so that spellings of one text share a key",
    ),
];

/// The built-in function called `name`.
pub fn find(name: &str) -> Option<&'static BuiltinFn> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The names of every built-in function.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::MemoryLoader;

    /// Every function in the table is one the checker knows how to type.
    #[test]
    fn every_builtin_in_the_table_checks() {
        let calls = [
            ("len", "len(\"ab\") == 2"),
            ("lower", "lower(\"A\") == \"a\""),
            ("upper", "upper(\"a\") == \"A\""),
            ("trim", "trim(\" a \") == \"a\""),
            ("unescape", "unescape(\"&#36172;%E5%8D%9A\") == \"赌博\""),
            ("contains", "contains(\"ab\", \"b\")"),
            ("starts_with", "starts_with(\"ab\", \"a\")"),
            ("ends_with", "ends_with(\"ab\", \"b\")"),
            ("to_float", "to_float(1) > 0.5"),
            ("to_int", "to_int(1.5) == 1"),
            ("abs", "abs(-1) == 1"),
            ("min", "min(1, 2) == 1"),
            ("max", "max(1, 2) == 2"),
            ("count_matches", "count_matches(\"赌博\", k) == 1"),
            ("fingerprint", "fingerprint(\"赌 博\") == fingerprint(\"賭博\")"),
            ("hour_of", "hour_of(2022-07-01T23:30:00Z) == 23"),
            ("weekday_of", "weekday_of(2022-07-01T23:30:00Z, \"Asia/Shanghai\") == 6"),
            ("day_of", "day_of(2022-07-01T23:30:00Z) == 2022-07-01"),
        ];
        assert_eq!(calls.len(), super::BUILTINS.len());
        for (name, call) in calls {
            assert!(super::find(name).is_some(), "{name} is not in the table");
            let source = format!(
                "keywords k = [\"赌博\"]\nrecord R {{ n: int }}\nrule r(c: R) {{ when: {call} then: review }}\n"
            );
            let loader = MemoryLoader::new().with("p.qlp", source);
            let checked = crate::check(&[PathBuf::from("p.qlp")], &loader);
            assert!(!checked.has_errors(), "{name}: {:?}", checked.diagnostics);
        }
    }
}
