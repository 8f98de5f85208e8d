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
        let Some(text) = self.get(file).map(|f| f.text.as_str()) else {
            return (0, 0);
        };
        let offset = (offset as usize).min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, col)
    }

    /// `file.qlp:3:7`, for messages that point into another file.
    pub fn location(&self, file: FileId, offset: u32) -> String {
        let (line, col) = self.line_col(file, offset);
        format!("{}:{line}:{col}", self.name(file))
    }
}
