//! Aligned columns for a terminal: each cell has its plain text (which sets the width) and
//! the text to print (the same, perhaps coloured).

use std::io::{self, Write};

/// One cell: what it says, and how it is printed.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The text without colour codes.
    pub plain: String,
    /// The text as printed.
    pub shown: String,
}

impl Cell {
    /// A cell printed as it is.
    pub fn plain(text: impl Into<String>) -> Self {
        let plain = text.into();
        Cell {
            shown: plain.clone(),
            plain,
        }
    }

    /// A cell printed as `shown` (the same words as `plain`, coloured).
    pub fn styled(plain: impl Into<String>, shown: String) -> Self {
        Cell {
            plain: plain.into(),
            shown,
        }
    }
}

/// Writes `rows` (the first is the header) with columns aligned, two spaces apart, each
/// line after `indent`; the last column is not padded.
pub fn write_table(rows: &[Vec<Cell>], indent: &str, out: &mut dyn Write) -> io::Result<()> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.plain.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from(indent);
        for (i, cell) in row.iter().enumerate() {
            line.push_str(&cell.shown);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.plain.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
