//! Payment codes for generated purchases: templates where each `?` becomes a random
//! digit, so every purchase scans a fresh code from the same scenario range.

use rand::Rng;

/// The default template: `28` and 16 random digits (a plain Alipay-style success code).
pub const DEFAULT_TEMPLATE: &str = "28????????????????";

/// Why a code list is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodesError {
    /// No template left after removing blank and comment lines.
    #[error("the code list is empty")]
    Empty,
    /// A template holds something other than digits and `?`.
    #[error("line {line}: a code template is digits and '?' only")]
    BadTemplate {
        /// 1-based line number.
        line: usize,
    },
}

/// A list of code templates, picked uniformly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeList {
    templates: Vec<String>,
}

impl Default for CodeList {
    fn default() -> Self {
        CodeList {
            templates: vec![DEFAULT_TEMPLATE.to_owned()],
        }
    }
}

impl CodeList {
    /// Parses one template per line; blank lines and lines starting with `#` are skipped.
    pub fn parse(text: &str) -> Result<Self, CodesError> {
        let mut templates = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !line.bytes().all(|b| b.is_ascii_digit() || b == b'?') {
                return Err(CodesError::BadTemplate { line: i + 1 });
            }
            templates.push(line.to_owned());
        }
        if templates.is_empty() {
            return Err(CodesError::Empty);
        }
        Ok(CodeList { templates })
    }

    /// A code from a random template with its `?` filled in.
    pub fn pick(&self, rng: &mut impl Rng) -> String {
        let index = rng.random_range(0..self.templates.len());
        let template = self.templates.get(index).map_or(DEFAULT_TEMPLATE, |t| t);
        template
            .chars()
            .map(|c| {
                if c == '?' {
                    char::from(b'0' + rng.random_range(0..10u8))
                } else {
                    c
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn templates_fill_random_digits() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let code = CodeList::default().pick(&mut rng);
        assert_eq!(code.len(), 18);
        assert!(code.starts_with("28"));
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        let list = CodeList::parse("# comment\n\n281111111111111111\n").unwrap();
        assert_eq!(list.pick(&mut rng), "281111111111111111");
        assert_eq!(CodeList::parse("# only\n"), Err(CodesError::Empty));
        assert_eq!(
            CodeList::parse("28ab\n"),
            Err(CodesError::BadTemplate { line: 1 })
        );
    }
}
