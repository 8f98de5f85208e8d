//! One module per subcommand.

pub mod backtest;
pub mod bench;
pub mod check;
pub mod compile;
pub mod eval;
pub mod explain;
pub mod fmt;
pub mod lint;
pub mod lsp;
pub mod schema;
pub mod serve;
pub mod test;

use std::path::Path;

use anyhow::{bail, Context};
use qlp_compiler::program::RecordId;
use qlp_compiler::Engine;
use qlp_runtime::{PolicySet, Selection};

use crate::render::{print_diagnostics, Format};

/// Loads a policy directory; prints its diagnostics and returns `None` if it has errors.
pub fn load_policies(path: &Path) -> anyhow::Result<Option<PolicySet>> {
    let workspace = crate::config::Workspace::open(&[path.to_path_buf()], None)?;
    load_policies_in(&workspace, path, Engine::Jit, &Selection::default())
}

/// Loads the policy directory `path` of an opened workspace, as
/// [`load_policies`], running the rules `selection` names; for
/// [`Engine::Interp`] nothing is compiled.
pub fn load_policies_in(
    workspace: &crate::config::Workspace,
    path: &Path,
    kind: Engine,
    selection: &Selection,
) -> anyhow::Result<Option<PolicySet>> {
    match PolicySet::load_selected(&workspace.tree, path, kind, selection) {
        Ok(set) => Ok(Some(set)),
        Err(error) if !error.diagnostics.is_empty() => {
            print_diagnostics(&error.diagnostics, &error.sources, Format::Human)?;
            eprintln!("error: {}", error.message);
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// The record type named by `--type`, or the only one rules apply to.
pub fn record_type(set: &PolicySet, name: Option<&str>) -> anyhow::Result<RecordId> {
    let program = set.program();
    if let Some(name) = name {
        return set.record_type(name).with_context(|| {
            let names: Vec<&str> = program.records.iter().map(|r| r.name.as_str()).collect();
            format!("no record type `{name}`; the policies declare {}", names.join(", "))
        });
    }
    match set.evaluated_record_types().as_slice() {
        [only] => Ok(*only),
        [] => bail!("no rule applies to any record type"),
        several => {
            let names: Vec<&str> = several
                .iter()
                .filter_map(|r| program.record(*r).map(|r| r.name.as_str()))
                .collect();
            bail!(
                "rules apply to several record types ({}): choose one with `--type`",
                names.join(", ")
            )
        }
    }
}

/// Parses `--now`: an RFC 3339 time or a date; without an offset, in the
/// policy set's time zone.
pub fn parse_now(text: &str, set: &PolicySet) -> anyhow::Result<i64> {
    qlp_grammar::time::parse_time_in(text, &set.program().zone).map_err(|e| anyhow::anyhow!("--now: {e}"))
}

/// Parses `--engine jit|interp` into the one backend enum.
pub fn engine_parser() -> impl clap::builder::TypedValueParser<Value = Engine> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["jit", "interp"]).map(|text| match text.as_str() {
        "interp" => Engine::Interp,
        _ => Engine::Jit,
    })
}
