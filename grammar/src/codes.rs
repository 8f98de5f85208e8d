//! Every diagnostic code the front end and the checker report, with a
//! one-line summary: the one table `docs/errors/` is generated from
//! (`tests/error_docs.rs`), and that test also fails when a code in the
//! sources is missing here or a code here is no longer reported.

/// A diagnostic code and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// `qlp::type_mismatch`.
    pub code: &'static str,
    /// What went wrong, in a policy author's words.
    pub summary: &'static str,
    /// The stage that reports it: `parse`, `files`, `names`, `types`, ...
    pub group: &'static str,
}

const fn code(code: &'static str, group: &'static str, summary: &'static str) -> Code {
    Code { code, summary, group }
}

/// Every code, grouped by stage.
pub const CODES: &[Code] = &[
    code(
        "qlp::parse_error",
        "parse",
        "the text does not follow the grammar; the message says what was expected",
    ),
    code(
        "qlp::unterminated_string",
        "parse",
        "a string has no closing `\"` on its line",
    ),
    code(
        "qlp::bad_escape",
        "parse",
        "a string holds an escape that is not `\\n`, `\\t`, `\\\\`, `\\\"` or `\\u{...}`",
    ),
    code(
        "qlp::number_out_of_range",
        "parse",
        "a number literal does not fit an `int` or a `float`",
    ),
    code(
        "qlp::bad_time",
        "parse",
        "a time literal is not a valid date or RFC 3339 time",
    ),
    code(
        "qlp::bad_duration",
        "parse",
        "a duration is not whole numbers each followed by `w`, `d`, `h`, `m`, `s`, `ms` or `us`, largest first (`30days`, `1.5h`, `30D`, `1m30h`, `suspend(7)`)",
    ),
    code(
        "qlp::single_quotes",
        "parse",
        "a string is written in single quotes; qlp strings use double quotes",
    ),
    code(
        "qlp::method_call",
        "parse",
        "method-call syntax from another language (`x.startsWith(..)`); qlp calls functions with the value first (`starts_with(x, ..)`)",
    ),
    code(
        "qlp::unquoted_text",
        "parse",
        "a `reason:` or `title:` is not in double quotes",
    ),
    code(
        "qlp::too_deep",
        "limits",
        "brackets, `if`/`let` or prefix operators nested past the parser's limit",
    ),
    code(
        "qlp::too_complex",
        "limits",
        "a rule, the program, a list literal, a record type's state declarations or the work of running the tests is larger than its budget (the message gives the figure)",
    ),
    code(
        "qlp::chain_too_long",
        "limits",
        "constants or functions depend on each other in a chain longer than 64",
    ),
    code(
        "qlp::file_too_large",
        "limits",
        "a policy file is larger than the parser accepts",
    ),
    code(
        "qlp::keywords_too_large",
        "limits",
        "a keyword set is too large to compile into an automaton, or the keyword sets together take more memory than `[limits] keyword_memory_bytes` (512 MiB)",
    ),
    code(
        "qlp::too_many_files",
        "limits",
        "a check would load more than 10,000 policy files",
    ),
    code(
        "qlp::file_not_found",
        "files",
        "a policy file named on the command line cannot be read",
    ),
    code(
        "qlp::file_refused",
        "files",
        "a file outside the policy root, behind a hidden directory, or not a regular file",
    ),
    code(
        "qlp::import_not_found",
        "files",
        "an imported file cannot be read, or its path is absolute",
    ),
    code("qlp::import_cycle", "files", "files import each other in a cycle"),
    code(
        "qlp::keywords_file",
        "files",
        "a keyword file cannot be read, or its path is absolute",
    ),
    code(
        "qlp::keyword_option",
        "files",
        "a keyword set option other than `word`, `exact`, `lookalike`, `sound` or `initials`, or two of them at once",
    ),
    code(
        "qlp::empty_keyword",
        "files",
        "a keyword normalizes to nothing and never matches (warning)",
    ),
    code(
        "qlp::duplicate_declaration",
        "names",
        "a name is declared twice in the policy set",
    ),
    code(
        "qlp::reserved_name",
        "names",
        "a declaration uses a reserved word as its name",
    ),
    code(
        "qlp::not_imported",
        "names",
        "a name is declared in a file this file does not import",
    ),
    code("qlp::unknown_name", "names", "a name that nothing declares"),
    code(
        "qlp::unknown_function",
        "names",
        "a call of a function that nothing declares",
    ),
    code("qlp::unknown_field", "schema", "a record has no field of that name"),
    code(
        "qlp::unknown_time_zone",
        "schema",
        "`time_zone` or a clock function names a zone the IANA database does not have",
    ),
    code(
        "qlp::time_zone_conflict",
        "schema",
        "two files of one policy set declare different time zones",
    ),
    code(
        "qlp::zone_not_literal",
        "types",
        "a clock function's zone is not a string literal",
    ),
    code("qlp::unknown_variant", "schema", "an enum has no variant of that name"),
    code(
        "qlp::ambiguous_variant",
        "schema",
        "a variant name belongs to several enums and the context does not say which",
    ),
    code("qlp::duplicate_field", "schema", "a record declares a field twice"),
    code("qlp::duplicate_variant", "schema", "an enum declares a variant twice"),
    code(
        "qlp::duplicate_param",
        "schema",
        "a function or rule declares a parameter twice",
    ),
    code(
        "qlp::recursive_record",
        "schema",
        "a record contains itself, directly or not",
    ),
    code(
        "qlp::record_too_large",
        "schema",
        "a record takes more than 64 KiB in each row (records and optionals are stored inline)",
    ),
    code(
        "qlp::record_too_deep",
        "schema",
        "records nested in a record more than 32 deep (records and optionals are stored inline)",
    ),
    code("qlp::double_optional", "schema", "an optional of an optional (`int??`)"),
    code("qlp::empty_enum", "schema", "an enum without variants"),
    code(
        "qlp::nested_list",
        "types",
        "a list literal of records or lists, which only holds scalars",
    ),
    code(
        "qlp::type_mismatch",
        "types",
        "a value of one type where another is needed",
    ),
    code(
        "qlp::bad_operands",
        "types",
        "an operator applied to types it does not take",
    ),
    code("qlp::not_comparable", "types", "two values that cannot be compared"),
    code(
        "qlp::optional_used",
        "types",
        "an optional value used where a present one is needed: give a default or check `is some`",
    ),
    code(
        "qlp::not_optional",
        "types",
        "`??` or `is some` on a value that is never missing",
    ),
    code(
        "qlp::no_fields",
        "types",
        "a field access on a value that is not a record",
    ),
    code(
        "qlp::empty_list",
        "types",
        "an empty list literal, whose element type cannot be known",
    ),
    code(
        "qlp::not_a_value",
        "types",
        "a name of a type, rule or keyword set used as a value",
    ),
    code("qlp::not_a_type", "types", "a name that is not a type used as one"),
    code(
        "qlp::not_a_function",
        "types",
        "a call of something that is not a function",
    ),
    code(
        "qlp::not_a_keyword_set",
        "types",
        "`has_any` or `count_matches` with something that is not a keyword set",
    ),
    code("qlp::wrong_arity", "types", "a call with the wrong number of arguments"),
    code(
        "qlp::invalid_regex",
        "regex",
        "a regular expression that does not compile or is too large",
    ),
    code(
        "qlp::regex_not_literal",
        "regex",
        "`matches` with a pattern that is not a string literal",
    ),
    code(
        "qlp::recursion",
        "functions",
        "a function calls itself, directly or not",
    ),
    code(
        "qlp::const_cycle",
        "functions",
        "constants defined in terms of each other in a cycle",
    ),
    code(
        "qlp::const_eval",
        "functions",
        "a constant's value hits a run-time error (overflow, division by zero)",
    ),
    code(
        "qlp::now_not_allowed",
        "functions",
        "`now` in a constant or function, which have no clock",
    ),
    code(
        "qlp::call_not_allowed",
        "functions",
        "a call where only constants are allowed",
    ),
    code(
        "qlp::missing_item",
        "declarations",
        "a rule, campaign or test without an item it needs (`when:`, `then:`, ...)",
    ),
    code(
        "qlp::duplicate_item",
        "declarations",
        "a rule, campaign or test sets an item twice",
    ),
    code(
        "qlp::misplaced_item",
        "declarations",
        "an item in a declaration that does not take it",
    ),
    code(
        "qlp::rule_param",
        "declarations",
        "a rule or exemption whose parameter is not one record",
    ),
    code(
        "qlp::action_argument",
        "declarations",
        "an action with a wrong or missing argument (`suspend(7d)`, `label(\"...\")`)",
    ),
    code(
        "qlp::empty_period",
        "declarations",
        "a campaign period that ends before it starts",
    ),
    code(
        "qlp::exempt_mismatch",
        "declarations",
        "an exemption cancels a rule of another record type",
    ),
    code(
        "qlp::not_a_rule",
        "declarations",
        "a test or exemption names something that is not a rule",
    ),
    code(
        "qlp::not_a_campaign",
        "declarations",
        "a rule or exemption names something that is not a campaign",
    ),
    code(
        "qlp::test_record",
        "declarations",
        "a test's `given` names something that is not a record type",
    ),
    code(
        "qlp::state_window",
        "state",
        "a `window:`, `bucket:` or `ttl:` is not a positive duration, or the bucket does not divide the window (or makes too many buckets)",
    ),
    code(
        "qlp::state_key",
        "state",
        "a `key:`, `of:` or `id:` is not an `int`, `string` or enum (a list, a record, an optional)",
    ),
    code(
        "qlp::state_read_not_allowed",
        "state",
        "state is read outside a rule's or exemption's `when:` (in a function, constant or another state declaration)",
    ),
    code(
        "qlp::state_argument",
        "state",
        "state is read for something other than the record the rule evaluates",
    ),
    code(
        "qlp::state_record",
        "state",
        "a rule tags with a tag kept for another record type",
    ),
    code(
        "qlp::not_a_tag",
        "state",
        "`tag(..)` names something that is not a `tag` declaration",
    ),
    code(
        "qlp::tag_never_written",
        "state",
        "a `tag` is declared (and maybe read) but no rule's `then:` writes it",
    ),
];
