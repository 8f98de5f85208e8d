//! The set of source files of one policy program, and line/column lookup.

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// One source file: its name and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should see it.
    pub name: String,
    /// The whole text.
    pub text: String,
    /// Where lines start and how many characters come before every
    /// `CHUNK`-th byte, built the first time a position is asked for, so
    /// that each diagnostic's line and column cost a search, not a scan of
    /// the file (50,000 diagnostics in one file took minutes).
    index: std::sync::OnceLock<Index>,
}

/// Line starts and character counts of a text.
#[derive(Debug, Clone, Default)]
struct Index {
    line_starts: Vec<u32>,
    /// Characters before byte `i * CHUNK`, for each `i`.
    chars_before: Vec<u32>,
}

/// Bytes between two character-count checkpoints.
const CHUNK: usize = 1024;

impl SourceFile {
    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let bytes = self.text.as_bytes();
            let line_starts = std::iter::once(0)
                .chain(newlines(bytes).map(|at| at as u32 + 1))
                .collect();
            let chars_before = bytes
                .chunks(CHUNK)
                .scan(0u32, |before, chunk| {
                    let here = *before;
                    *before += count_chars(chunk);
                    Some(here)
                })
                .collect();
            Index {
                line_starts,
                chars_before,
            }
        })
    }

    /// Characters (UTF-8 sequences started) before byte `offset`.
    fn chars_before(&self, offset: usize) -> usize {
        let index = self.index();
        let chunk = offset / CHUNK;
        let counted = index.chars_before.get(chunk).copied().unwrap_or(0) as usize;
        let rest = self.text.as_bytes().get(chunk * CHUNK..offset).unwrap_or(&[]);
        counted + count_chars(rest) as usize
    }
}

/// The positions of the newlines of `bytes`.
fn newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(at, _)| at)
}

/// The characters `bytes` start (bytes that are not continuation bytes).
fn count_chars(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|b| **b & 0xC0 != 0x80).count() as u32
}

/// Every source file of a program, by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// No files.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file; its id is the next index.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
            index: std::sync::OnceLock::new(),
        });
        id
    }

    /// The file `file`.
    pub fn get(&self, file: FileId) -> Option<&SourceFile> {
        self.files.get(file.0 as usize)
    }

    /// The name of `file`, or `<unknown>`.
    pub fn name(&self, file: FileId) -> &str {
        self.get(file).map_or("<unknown>", |f| f.name.as_str())
    }

    /// Every file with its id.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        let Some(source) = self.get(file) else {
            return (0, 0);
        };
        let offset = (offset as usize).min(source.text.len());
        let starts = &source.index().line_starts;
        // Lines starting at or before `offset`: at least the first.
        let line = starts.partition_point(|&start| start as usize <= offset).max(1);
        let line_start = starts.get(line - 1).copied().unwrap_or(0) as usize;
        let col = source.chars_before(offset) - source.chars_before(line_start) + 1;
        (line, col)
    }

    /// `file.qlp:3:7`, for messages that point into another file.
    pub fn location(&self, file: FileId, offset: u32) -> String {
        let (line, col) = self.line_col(file, offset);
        format!("{}:{line}:{col}", self.name(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line and column as a scan from the start counts them.
    fn scanned(text: &str, offset: usize) -> (usize, usize) {
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    #[test]
    fn positions_match_a_scan_from_the_start() {
        // Long lines of multi-byte characters across the index's chunks.
        let mut text = String::new();
        for i in 0..300 {
            text.push_str(&"赌博 bet ".repeat(i % 7 * 60));
            text.push('\n');
        }
        let mut sources = SourceMap::new();
        let file = sources.add("p.qlp", text.clone());
        for offset in (0..=text.len()).filter(|o| text.is_char_boundary(*o)).step_by(97) {
            assert_eq!(
                sources.line_col(file, offset as u32),
                scanned(&text, offset),
                "at {offset}"
            );
        }
        assert_eq!(
            sources.line_col(file, text.len() as u32 + 10),
            scanned(&text, text.len())
        );
    }
}
