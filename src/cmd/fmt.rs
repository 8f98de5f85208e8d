//! `qlp fmt`: rewrite policies in the canonical layout, keeping comments;
//! `--check` only reports the files that would change (for CI).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use qlp_compiler::load::FileKind;
use qlp_compiler::SourceLoader;
use qlp_grammar::format::format_source;
use qlp_grammar::{FileId, SourceMap};

use crate::config::Workspace;

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
    let tree = Workspace::open(&args.paths, None)?.tree;
    let mut unformatted = 0;
    let mut broken = 0;
    for path in &tree.files {
        // Read and written only as a regular file inside the policy root,
        // through its canonical path: never through a link out of the tree.
        let real = tree
            .loader
            .confine(path)
            .with_context(|| format!("cannot format `{}`", path.display()))?;
        let bytes = tree
            .loader
            .read(&real, FileKind::Policy)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let text = String::from_utf8(bytes).with_context(|| format!("`{}` is not UTF-8", path.display()))?;
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
                    tree.loader
                        .write(&real, formatted.as_bytes())
                        .with_context(|| format!("cannot write `{}`", path.display()))?;
                    println!("formatted {}", path.display());
                }
            }
            Ok(_) => {}
        }
    }
    let failed = broken > 0 || (args.check && unformatted > 0);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
