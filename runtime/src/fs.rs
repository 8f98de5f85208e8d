//! Policy trees on disk. A policy tree is untrusted input (in CI it comes
//! from pull requests), so every file the compiler reads is resolved inside
//! one root directory by its canonical path, only regular files are opened,
//! and every read is bounded before it happens. See `docs/security.md`.

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use qlp_compiler::load::{clean_path, FileKind};
use qlp_compiler::SourceLoader;

/// The name of the configuration file that marks a policy root.
pub const CONFIG_FILE: &str = "qlp.toml";

/// How much the loader reads of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest `.qlp` file, in bytes.
    pub policy_file_bytes: u64,
    /// The largest keyword file, in bytes.
    pub keyword_file_bytes: u64,
    /// The most heap the keyword sets take together, in bytes.
    pub keyword_memory_bytes: u64,
}

impl Limits {
    /// 4 MiB per policy file, 16 MiB per keyword file, 512 MiB of keyword
    /// sets.
    pub const DEFAULT: Limits = Limits {
        policy_file_bytes: 4 << 20,
        keyword_file_bytes: 16 << 20,
        keyword_memory_bytes: qlp_compiler::MAX_KEYWORD_MEMORY as u64,
    };

    fn for_kind(&self, kind: FileKind) -> u64 {
        match kind {
            FileKind::Policy => self.policy_file_bytes,
            FileKind::Keywords => self.keyword_file_bytes,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// Reads policy and keyword files inside one root directory.
///
/// A path is read only if its canonical form (every symlink resolved) lies
/// inside the root, passes through no hidden file or directory (`.git`,
/// `.env`), and names a regular file no larger than the limit for its kind.
#[derive(Debug, Clone)]
pub struct FsLoader {
    root: PathBuf,
    limits: Limits,
}

impl FsLoader {
    /// A loader confined to `root`, which must exist.
    pub fn new(root: &Path, limits: Limits) -> io::Result<FsLoader> {
        let root = root.canonicalize().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open the policy root `{}`: {e}", root.display()),
            )
        })?;
        Ok(FsLoader { root, limits })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Replaces the contents of a regular file inside the root, through its
    /// canonical path (never through a link out of the tree).
    pub fn write(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        let real = self.confine(path)?;
        if !real.symlink_metadata()?.is_file() {
            return Err(refused(String::from("it is not a regular file")));
        }
        std::fs::write(real, contents)
    }

    /// The canonical form of `path`, if it may be read: inside the root and
    /// through no hidden component.
    pub fn confine(&self, path: &Path) -> io::Result<PathBuf> {
        let real = path.canonicalize()?;
        let inside = real.strip_prefix(&self.root).map_err(|_| {
            refused(format!(
                "`{}` is outside the policy root `{}`",
                path.display(),
                self.root.display()
            ))
        })?;
        if let Some(hidden) = inside.components().find_map(|c| match c {
            Component::Normal(name) if name.to_string_lossy().starts_with('.') => Some(name.to_string_lossy()),
            _ => None,
        }) {
            return Err(refused(format!(
                "`{}` goes through the hidden entry `{hidden}`, which policies may not read",
                path.display()
            )));
        }
        Ok(real)
    }
}

impl SourceLoader for FsLoader {
    fn read(&self, path: &Path, kind: FileKind) -> io::Result<Vec<u8>> {
        // INVARIANT: every byte the compiler sees comes through here, from a
        // canonical path inside the root, read as a bounded regular file.
        let real = self.confine(path)?;
        read_regular_file(&real, self.limits.for_kind(kind))
    }

    fn keyword_memory(&self) -> usize {
        usize::try_from(self.limits.keyword_memory_bytes).unwrap_or(usize::MAX)
    }

    fn policy_files_in(&self, dir: &Path) -> Vec<String> {
        let Ok(real) = self.confine(dir) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(real) else {
            return Vec::new();
        };
        // Bounded: a directory of a million files is not listed whole.
        entries
            .take(1_000)
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".qlp") && !name.starts_with('.'))
            .collect()
    }
}

fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, message)
}

/// Reads a regular file of at most `limit` bytes. Devices, FIFOs and sockets
/// are refused without blocking: the file is opened non-blocking and checked
/// before anything is read, and no more than `limit + 1` bytes are read.
pub fn read_regular_file(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(refused(String::from("it is not a regular file")));
    }
    if metadata.len() > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("it is larger than the limit of {limit} bytes (raise it under `[limits]` in `{CONFIG_FILE}`)"),
    )
}

/// The root of the policy tree that holds `paths`: the nearest directory at
/// or above their common directory that holds a `qlp.toml` or is the top of a
/// git repository (has `.git`); without either, the common directory itself.
///
/// The paths are taken as written, without following symlinks: a policy
/// directory that is a link (to `/etc`, say) does not move the root there;
/// its files are then outside the root and refused.
pub fn find_root(paths: &[PathBuf]) -> io::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let mut common: Option<PathBuf> = None;
    for path in paths {
        let absolute = clean_path(&cwd.join(path));
        let is_real_dir = absolute.symlink_metadata().is_ok_and(|m| m.is_dir());
        let dir = if is_real_dir {
            absolute
        } else {
            absolute.parent().map_or_else(|| absolute.clone(), Path::to_path_buf)
        };
        common = Some(match common {
            None => dir,
            Some(current) => common_ancestor(&current, &dir),
        });
    }
    let start = common.unwrap_or(cwd);
    let root = start
        .ancestors()
        .find(|dir| dir.join(CONFIG_FILE).is_file() || dir.join(".git").exists())
        .unwrap_or(&start);
    // The nearest existing directory: a missing path is reported when it is read.
    root.ancestors()
        .find_map(|dir| dir.canonicalize().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no policy root"))
}

fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// A policy tree: its root, its loader and the `.qlp` files named on the
/// command line (directories searched recursively).
#[derive(Debug, Clone)]
pub struct PolicyTree {
    /// Reads the tree's files, inside its root.
    pub loader: FsLoader,
    /// The `.qlp` files, in sorted order so that every run sees the same program.
    pub files: Vec<PathBuf>,
}

/// Directories deeper than this below a named directory are not searched.
const MAX_DEPTH: usize = 64;

impl PolicyTree {
    /// Finds the root of `paths` (see [`find_root`]) and their `.qlp` files.
    pub fn open(paths: &[PathBuf], limits: Limits) -> io::Result<PolicyTree> {
        let root = find_root(paths)?;
        PolicyTree::open_in(&root, paths, limits)
    }

    /// The `.qlp` files of `paths`, confined to `root`.
    pub fn open_in(root: &Path, paths: &[PathBuf], limits: Limits) -> io::Result<PolicyTree> {
        let loader = FsLoader::new(root, limits)?;
        let mut files = Vec::new();
        let mut visited = HashSet::new();
        for path in paths {
            if path.symlink_metadata().is_err() {
                // Missing: the loader says so, with the path as written.
                files.push(path.clone());
                continue;
            }
            if !path.is_dir() {
                // A file is checked when it is read, so that a refusal is a
                // diagnostic like any other.
                files.push(path.clone());
                continue;
            }
            let real = loader.confine(path)?;
            if real.is_dir() {
                collect(&loader, path, &real, &mut files, &mut visited, 0)?;
            } else {
                files.push(path.clone());
            }
        }
        Ok(PolicyTree { loader, files })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        self.loader.root()
    }
}

/// The `.qlp` files under `dir` (as the user named it; `real` is its
/// canonical path). Hidden entries are skipped, and a directory reached twice
/// (through symlinks) or outside the root is not searched. Every `.qlp` entry
/// is listed whatever it is, so that the loader reports a FIFO or a link out
/// of the root instead of silently skipping it.
fn collect(
    loader: &FsLoader,
    dir: &Path,
    real: &Path,
    files: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    depth: usize,
) -> io::Result<()> {
    if depth > MAX_DEPTH || !visited.insert(real.to_path_buf()) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        if path.extension().is_some_and(|ext| ext == "qlp") {
            files.push(path);
            continue;
        }
        // A directory, or a symlink to one: searched only when it resolves inside the root.
        if let Ok(real) = loader.confine(&path) {
            if real.is_dir() {
                collect(loader, &path, &real, files, visited, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// The `.qlp` files named by `paths`, confined to the root [`find_root`]
/// finds for them.
pub fn policy_files(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    Ok(PolicyTree::open(paths, Limits::DEFAULT)?.files)
}
