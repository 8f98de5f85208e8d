//! `qlp fmt`: rewrite policies in the canonical layout, keeping comments;
//! `--check` only reports the files that would change (for CI), `--diff`
//! shows how, and `qlp fmt -` formats standard input to standard output
//! (for editors).

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
    /// Policy files or directories; `-` formats standard input to standard output.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Change nothing; exit 1 if any file is not formatted.
    #[arg(long)]
    pub check: bool,
    /// Change nothing; print a unified diff of what formatting would
    /// change, and exit 1 if anything would.
    #[arg(long)]
    pub diff: bool,
}

pub fn run(args: &FmtArgs) -> anyhow::Result<ExitCode> {
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        anyhow::ensure!(args.paths.len() == 1, "`-` (standard input) is formatted alone");
        return stdin(args);
    }
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
                if args.diff {
                    print!("{}", unified_diff(&path.display().to_string(), &text, &formatted));
                } else if args.check {
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
    let failed = broken > 0 || ((args.check || args.diff) && unformatted > 0);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The largest standard input formatted.
const STDIN_BYTES: u64 = 16 << 20;

/// `qlp fmt -`: standard input, formatted, on standard output (with
/// `--check` or `--diff`, only the verdict or the diff).
fn stdin(args: &FmtArgs) -> anyhow::Result<ExitCode> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(STDIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    anyhow::ensure!(
        bytes.len() as u64 <= STDIN_BYTES,
        "standard input is larger than {STDIN_BYTES} bytes"
    );
    let text = String::from_utf8(bytes).context("standard input is not UTF-8")?;
    let formatted = match format_source(&text, FileId(0)) {
        Ok(formatted) => formatted,
        Err(diagnostics) => {
            let mut sources = SourceMap::new();
            sources.add("<stdin>", text);
            print_diagnostics(&diagnostics, &sources, Format::Human)?;
            return Ok(ExitCode::from(1));
        }
    };
    let changed = formatted != text;
    if args.diff {
        print!("{}", unified_diff("<stdin>", &text, &formatted));
    } else if args.check {
        if changed {
            println!("would reformat <stdin>");
        }
    } else {
        print!("{formatted}");
        return Ok(ExitCode::SUCCESS);
    }
    Ok(if changed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// A unified diff (3 lines of context) from `before` to `after`.
fn unified_diff(name: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .to_string()
}
