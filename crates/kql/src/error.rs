//! Errors of parsing and planning. Syntax and semantic errors carry the span of the text
//! they are about, so every front end can say the line and column and draw a caret.

use crate::lexer::Span;

pub type Result<T, E = KqlError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum KqlError {
    #[error("Syntax error: {message}")]
    Syntax { message: String, span: Span },
    #[error("Semantic error: {message}")]
    Semantic { message: String, span: Option<Span> },
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

impl KqlError {
    pub fn syntax(message: impl Into<String>, span: Span) -> Self {
        KqlError::Syntax {
            message: message.into(),
            span,
        }
    }

    pub fn semantic(message: impl Into<String>, span: Span) -> Self {
        KqlError::Semantic {
            message: message.into(),
            span: Some(span),
        }
    }

    pub fn span(&self) -> Option<Span> {
        match self {
            KqlError::Syntax { span, .. } => Some(*span),
            KqlError::Semantic { span, .. } => *span,
            KqlError::DataFusion(_) => None,
        }
    }

    /// The message with the 1-based line and column of the span in `src`, e.g.
    /// `Syntax error: expected an expression (line 1, column 12)`.
    pub fn describe(&self, src: &str) -> String {
        match self.span() {
            Some(span) => {
                let (line, col) = line_col(src, span.start);
                format!("{self} (line {line}, column {col})")
            }
            None => self.to_string(),
        }
    }

    /// The failing line of `src` with a caret under the span, for terminals.
    pub fn caret(&self, src: &str) -> Option<String> {
        let span = self.span()?;
        let (line, col) = line_col(src, span.start);
        let text = src.lines().nth(line - 1).unwrap_or("");
        let width = src
            .get(span.start..span.end)
            .map(|s| s.lines().next().unwrap_or("").chars().count())
            .unwrap_or(1)
            .max(1);
        Some(format!(
            "{text}\n{}{}",
            " ".repeat(col - 1),
            "^".repeat(width)
        ))
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        let e = KqlError::syntax("expected x", Span::new(3, 5));
        assert_eq!(
            e.describe("ab\ncde"),
            "Syntax error: expected x (line 2, column 1)"
        );
        assert_eq!(e.caret("ab\ncde").unwrap(), "cde\n^^");
    }
}
