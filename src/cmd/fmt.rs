//! `qlp fmt`: rewrite policies in the canonical layout, keeping comments;
//! `--check` only reports the files that would change (for CI).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use qlp_grammar::format::format_source;
use qlp_grammar::{FileId, SourceMap};
use qlp_runtime::policy_files;

use crate::render::{print_diagnostics, Format};

#[derive(clap::Args)]
pub struct FmtArgs {
    /// Policy files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Change nothing; exit 1 if any file is not formatted.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &FmtArgs) -> anyhow::Result<ExitCode> {
    let files = policy_files(&args.paths).context("cannot list the policy files")?;
    let mut unformatted = 0;
    let mut broken = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
        match format_source(&text, FileId(0)) {
            Err(diagnostics) => {
                let mut sources = SourceMap::new();
                sources.add(path.display().to_string(), text);
                print_diagnostics(&diagnostics, &sources, Format::Human)?;
                broken += 1;
            }
            Ok(formatted) if formatted != text => {
                unformatted += 1;
                if args.check {
                    println!("would reformat {}", path.display());
                } else {
                    std::fs::write(&path, formatted).with_context(|| format!("cannot write `{}`", path.display()))?;
                    println!("formatted {}", path.display());
                }
            }
            Ok(_) => {}
        }
    }
    let failed = broken > 0 || (args.check && unformatted > 0);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
