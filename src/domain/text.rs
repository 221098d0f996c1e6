//! Free text as cadres type it: trimmed, not empty, bounded.

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is {len} characters long; at most {max} are allowed")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} must not contain control characters")]
    ControlCharacter { field: &'static str },
}

/// Trims `value` and checks it is non-empty, at most `max` characters (not bytes: Chinese text
/// is three bytes a character) and free of control characters.
pub fn required(field: &'static str, value: &str, max: usize) -> Result<String, TextError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(TextError::Empty { field });
    }
    let len = value.chars().count();
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    if value.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter { field });
    }
    Ok(value.to_owned())
}

/// Like [`required`], but an absent or blank value is `None`.
pub fn optional(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, TextError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required(field, v, max).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(required("name", " 白家村 ", 3), Ok("白家村".to_owned()));
        assert!(matches!(
            required("name", "白家村村", 3),
            Err(TextError::TooLong { len: 4, .. })
        ));
    }

    #[test]
    fn refuses_blank_and_control_characters() {
        assert!(matches!(
            required("name", "   ", 10),
            Err(TextError::Empty { .. })
        ));
        assert!(matches!(
            required("name", "a\u{7}b", 10),
            Err(TextError::ControlCharacter { .. })
        ));
        assert_eq!(optional("name", Some("  "), 10), Ok(None));
        assert_eq!(optional("name", None, 10), Ok(None));
    }
}
