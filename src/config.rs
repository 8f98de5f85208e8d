//! `qlp.toml`: the configuration at the root of a policy tree (lint levels,
//! ignored paths, limits). Found at the policy root, not in the current
//! directory, so that every command sees the same settings wherever it runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use qlp_runtime::fs::{find_root, read_regular_file, Limits, PolicyTree, CONFIG_FILE};

/// The largest `qlp.toml` read.
const CONFIG_BYTES: u64 = 1 << 20;

/// `qlp.toml`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub lint: LintConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintConfig {
    /// Lint code or name → `allow` | `warn` | `error`.
    #[serde(default)]
    pub levels: HashMap<String, String>,
    /// Paths (prefixes, or `dir/**`) whose findings are not reported.
    #[serde(default)]
    pub ignore: Vec<String>,
    pub today: Option<String>,
    /// Where the lint pages (`docs/lints/*.md`) are published: SARIF's
    /// `helpUri` is this plus `/NAME.md`.
    pub docs_url: Option<String>,
}

/// `[limits]`: every bound on what qlp reads, in bytes (see `docs/security.md`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub policy_file_bytes: Option<u64>,
    pub keyword_file_bytes: Option<u64>,
    pub keyword_memory_bytes: Option<u64>,
    pub record_bytes: Option<u64>,
}

impl LimitsConfig {
    pub fn files(&self) -> Limits {
        Limits {
            policy_file_bytes: self.policy_file_bytes.unwrap_or(Limits::DEFAULT.policy_file_bytes),
            keyword_file_bytes: self.keyword_file_bytes.unwrap_or(Limits::DEFAULT.keyword_file_bytes),
            keyword_memory_bytes: self
                .keyword_memory_bytes
                .unwrap_or(Limits::DEFAULT.keyword_memory_bytes),
        }
    }
}

impl Config {
    /// Reads `path`; a missing file is the default configuration when `required` is false.
    pub fn read(path: &Path, required: bool) -> anyhow::Result<Config> {
        if !required && !path.exists() {
            return Ok(Config::default());
        }
        let bytes =
            read_regular_file(path, CONFIG_BYTES).with_context(|| format!("cannot read `{}`", path.display()))?;
        let text = String::from_utf8(bytes).with_context(|| format!("`{}` is not UTF-8", path.display()))?;
        toml::from_str(&text).with_context(|| format!("`{}` is not a valid qlp configuration", path.display()))
    }
}

/// A policy tree and its configuration, as every command opens them.
pub struct Workspace {
    pub tree: PolicyTree,
    pub config: Config,
}

impl Workspace {
    /// Finds the root of `paths`, reads its `qlp.toml` (or `config`, when
    /// given) and lists the `.qlp` files inside the root.
    pub fn open(paths: &[PathBuf], config: Option<&Path>) -> anyhow::Result<Workspace> {
        let root = find_root(paths).context("cannot find the policy root")?;
        let config = match config {
            Some(path) => Config::read(path, true)?,
            None => Config::read(&root.join(CONFIG_FILE), false)?,
        };
        let tree = PolicyTree::open_in(&root, paths, config.limits.files()).context("cannot list the policy files")?;
        Ok(Workspace { tree, config })
    }

    /// Loads, parses and type-checks the tree.
    pub fn check(&self) -> qlp_compiler::Checked {
        qlp_compiler::check(&self.tree.files, &self.tree.loader)
    }
}
