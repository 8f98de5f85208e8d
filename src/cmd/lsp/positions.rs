//! Positions (UTF-16, as LSP counts them), paths and URIs.

use super::*;

pub(super) fn canonical(root: &Path, name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    joined
        .canonicalize()
        .ok()
        .or_else(|| root.join(name).canonicalize().ok())
}

/// The byte offset of an LSP position (UTF-16 column) in `text`.
pub(super) fn offset_of(text: &str, position: Position) -> Option<usize> {
    let line_start = if position.line == 0 {
        0
    } else {
        text.match_indices('\n').nth(position.line as usize - 1)?.0 + 1
    };
    let mut units = 0u32;
    for (index, c) in text.get(line_start..)?.char_indices() {
        if units >= position.character || c == '\n' {
            return Some(line_start + index);
        }
        units += c.len_utf16() as u32;
    }
    Some(text.len())
}

/// The LSP position (line, UTF-16 column) of byte `offset` in `text`.
pub(super) fn position(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column: usize = before.get(line_start..).map_or(0, |s| s.encode_utf16().count());
    Position::new(line as u32, column as u32)
}

pub(super) fn range(text: &str, start: usize, end: usize) -> Range {
    Range::new(position(text, start), position(text, end))
}

/// The path of a `file://` URI.
pub(super) fn path_of(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let mut bytes = Vec::with_capacity(rest.len());
    let mut iter = rest.bytes();
    while let Some(b) = iter.next() {
        if b == b'%' {
            let hex: String = [iter.next()?, iter.next()?].iter().map(|b| *b as char).collect();
            bytes.push(u8::from_str_radix(&hex, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    let path = PathBuf::from(String::from_utf8(bytes).ok()?);
    Some(path.canonicalize().unwrap_or(path))
}

/// The `file://` URI of a path.
pub(super) fn uri_of(path: &Path) -> Option<Uri> {
    let mut text = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => text.push(byte as char),
            other => text.push_str(&format!("%{other:02X}")),
        }
    }
    Uri::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn positions_count_utf16_code_units() {
        let text = "a\n中文x 😀y";
        let x = text.find('x').unwrap_or(0);
        assert_eq!(position(text, x), Position::new(1, 2));
        let y = text.find('y').unwrap_or(0);
        assert_eq!(position(text, y), Position::new(1, 6), "an emoji is two UTF-16 units");
    }

    #[test]
    fn paths_and_uris_round_trip() {
        let path = PathBuf::from("/tmp/a dir/政策.qlp");
        let uri = uri_of(&path).unwrap_or_else(|| panic!("no uri"));
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/%E6%94%BF%E7%AD%96.qlp");
        assert_eq!(path_of(&uri), Some(path));
    }
}
