//! The plain CSV these sets use: a header, comma-separated fields, no quoting (checked: none of the files quotes).

use crate::LinkageSetError;

/// The header's column names and each row's fields, trimmed.
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn read(path: &str) -> Result<Table, LinkageSetError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| LinkageSetError::Io { path: path.to_string(), source })?;
        let mut lines = text.lines();
        let header = lines.next().ok_or_else(|| LinkageSetError::Format {
            path: path.to_string(),
            line: 1,
            message: "no header".into(),
        })?;
        let columns: Vec<String> = header.split(',').map(|column| column.trim().to_string()).collect();
        let mut rows = Vec::new();
        for (line_idx, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<String> = line.split(',').map(|field| field.trim().to_string()).collect();
            if fields.len() != columns.len() {
                return Err(LinkageSetError::Format {
                    path: path.to_string(),
                    line: line_idx + 2,
                    message: format!("{} fields where the header has {}", fields.len(), columns.len()),
                });
            }
            rows.push(fields);
        }
        Ok(Table { columns, rows })
    }

    /// The index of a column, or a format error naming it.
    pub fn column(&self, path: &str, name: &str) -> Result<usize, LinkageSetError> {
        self.columns.iter().position(|column| column == name).ok_or_else(|| LinkageSetError::Format {
            path: path.to_string(),
            line: 1,
            message: format!("no column {name}"),
        })
    }
}

/// `Some(value)` unless the field is empty.
pub fn present(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}
