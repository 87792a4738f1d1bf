//! The dialect: how each field and the message header are laid out on the wire.
//!
//! A dialect is data, loaded from TOML and validated once at load time, so that the
//! decoder and encoder can trust it and an acquirer can adapt the switch to its
//! terminals without recompiling. The TOML format is documented in the crate README.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// Highest field number of a 1987 message with a secondary bitmap.
pub const MAX_FIELD: u8 = 128;

/// The content type of a field's value (ISO 8583 attribute notation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Digits `0`–`9`.
    N,
    /// Letters, digits and the space used to fill fixed fields.
    An,
    /// Printable ASCII (0x20–0x7E).
    Ans,
    /// Opaque bytes.
    B,
    /// Track data: digits and the `=` separator (nibble `D` in BCD).
    Z,
    /// A sign character (`C`/`D`, or a digit as jPOS writes it) followed by digits.
    Xn,
}

impl Format {
    /// Short name as used in ISO 8583 tables and in the TOML files.
    pub fn name(self) -> &'static str {
        match self {
            Format::N => "n",
            Format::An => "an",
            Format::Ans => "ans",
            Format::B => "b",
            Format::Z => "z",
            Format::Xn => "xn",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a field has a fixed size or a length prefix, and how many digits the prefix has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LengthKind {
    /// Always exactly `max` units long, no prefix.
    Fixed,
    /// Two-digit length prefix (LLVAR).
    Ll,
    /// Three-digit length prefix (LLLVAR).
    Lll,
    /// Four-digit length prefix (LLLLVAR).
    Llll,
}

impl LengthKind {
    /// Number of decimal digits of the length prefix (0 for fixed fields).
    pub fn digits(self) -> u8 {
        match self {
            LengthKind::Fixed => 0,
            LengthKind::Ll => 2,
            LengthKind::Lll => 3,
            LengthKind::Llll => 4,
        }
    }
}

/// How a field's value is represented on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataEncoding {
    /// One ASCII byte per character.
    Ascii,
    /// Packed BCD, two digits per byte (for `n`, `z`; for `xn` the sign stays ASCII).
    Bcd,
    /// Raw bytes (for `b`).
    Binary,
    /// Upper-case hexadecimal text, two characters per byte (for `b` in ASCII dialects).
    Hex,
}

/// How a length prefix is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrefixEncoding {
    /// ASCII decimal digits, one byte per digit (`"19"`).
    Ascii,
    /// Packed BCD, one byte for LL, two for LLL/LLLL (`0x19`, `0x00 0x25`).
    Bcd,
    /// Unsigned big-endian binary, one byte for LL, two for LLL/LLLL.
    Binary,
}

/// What the number in a length prefix counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LengthCounts {
    /// Characters of the value (= wire bytes for ASCII/binary; bytes before hex encoding).
    Bytes,
    /// Digits of a BCD value (a 19-digit PAN has length 19 in 10 bytes).
    Nibbles,
    /// Digits of a BCD value including the pad nibble (37 digits + `F` → 38), seen on
    /// some terminals' track 2.
    NibblesWithPad,
}

/// Where the pad nibble of an odd-length BCD value goes and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Pad {
    /// Pad nibble `0` before the first digit (fixed numerics: `n3 643` → `06 43`).
    #[serde(rename = "left-0")]
    Left0,
    /// Pad nibble `F` before the first digit.
    #[serde(rename = "left-f")]
    LeftF,
    /// Pad nibble `0` after the last digit.
    #[serde(rename = "right-0")]
    Right0,
    /// Pad nibble `F` after the last digit (variable numerics on POS terminals).
    #[serde(rename = "right-f")]
    RightF,
}

impl Pad {
    pub(crate) fn nibble(self) -> u8 {
        match self {
            Pad::Left0 | Pad::Right0 => 0x0,
            Pad::LeftF | Pad::RightF => 0xF,
        }
    }
    pub(crate) fn is_left(self) -> bool {
        matches!(self, Pad::Left0 | Pad::LeftF)
    }
}

/// How the MTI is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MtiEncoding {
    /// Four ASCII digits.
    Ascii,
    /// Two bytes of packed BCD.
    Bcd,
}

/// How each bitmap is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BitmapEncoding {
    /// Eight raw bytes.
    Binary,
    /// Sixteen hexadecimal characters (upper case on output; lower case accepted).
    Hex,
}

/// The validated definition of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldSpec {
    /// Content type.
    pub format: Format,
    /// Fixed or variable, and the prefix size.
    pub length: LengthKind,
    /// Size of a fixed field, or the largest length of a variable one, in logical
    /// units: digits for `n`/`z`, characters for `an`/`ans`, bytes for `b`, sign plus
    /// digits for `xn`.
    pub max: u16,
    /// Wire representation of the value.
    pub encoding: DataEncoding,
    /// Wire representation of the length prefix (ignored for fixed fields).
    pub prefix: PrefixEncoding,
    /// What the length prefix counts (ignored for fixed fields).
    pub counts: LengthCounts,
    /// Pad nibble placement for odd-length BCD values.
    pub pad: Pad,
}

impl FieldSpec {
    /// Number of wire bytes the length prefix takes (0 for fixed fields).
    pub fn prefix_len(&self) -> usize {
        let digits = usize::from(self.length.digits());
        match self.prefix {
            PrefixEncoding::Ascii => digits,
            PrefixEncoding::Bcd | PrefixEncoding::Binary => digits.div_ceil(2),
        }
    }

    /// Largest number the length prefix can carry.
    pub fn prefix_capacity(&self) -> u32 {
        let digits = u32::from(self.length.digits());
        match self.prefix {
            PrefixEncoding::Ascii | PrefixEncoding::Bcd => 10u32.pow(digits) - 1,
            PrefixEncoding::Binary => (1u32 << (8 * digits.div_ceil(2))) - 1,
        }
    }

    /// Number of wire bytes the value of logical length `len` takes (without prefix).
    pub fn wire_len(&self, len: usize) -> usize {
        match (self.encoding, self.format) {
            (DataEncoding::Bcd, Format::Xn) => 1 + len.saturating_sub(1).div_ceil(2),
            (DataEncoding::Bcd, _) => len.div_ceil(2),
            (DataEncoding::Hex, _) => len * 2,
            (DataEncoding::Ascii | DataEncoding::Binary, _) => len,
        }
    }

    /// The number written in the length prefix for a value of logical length `len`.
    pub fn prefix_value(&self, len: usize) -> usize {
        match self.counts {
            LengthCounts::Bytes | LengthCounts::Nibbles => len,
            LengthCounts::NibblesWithPad => len + (len & 1),
        }
    }

    /// Whether the field has a length prefix.
    pub fn is_variable(&self) -> bool {
        self.length != LengthKind::Fixed
    }

    fn validate(&self) -> Result<(), String> {
        use DataEncoding as D;
        use Format as F;
        if self.max == 0 {
            return Err("max must be at least 1".into());
        }
        if self.max > 9999 {
            return Err(format!("max {} is above 9999", self.max));
        }
        match (self.format, self.encoding) {
            (F::N | F::Z | F::Xn, D::Ascii | D::Bcd) => {}
            (F::An | F::Ans, D::Ascii) => {}
            (F::B, D::Binary | D::Hex) => {}
            (format, encoding) => {
                return Err(format!(
                    "encoding {encoding:?} cannot carry format {format} \
                     (BCD is only for n/z/xn, binary/hex only for b)"
                ));
            }
        }
        if self.format == F::Xn && self.is_variable() {
            return Err("xn fields must be fixed".into());
        }
        if self.format == F::Xn && self.max < 2 {
            return Err("xn fields need a sign and at least one digit (max >= 2)".into());
        }
        if self.is_variable() {
            match (self.encoding, self.counts) {
                (D::Bcd, LengthCounts::Nibbles | LengthCounts::NibblesWithPad) => {}
                (D::Bcd, LengthCounts::Bytes) => {
                    return Err("variable BCD fields must count nibbles: a byte count \
                                cannot tell whether the last digit is padding"
                        .into());
                }
                (_, LengthCounts::Bytes) => {}
                (_, _) => return Err("nibble counts only apply to BCD data".into()),
            }
            if self.counts == LengthCounts::NibblesWithPad && self.pad != Pad::RightF {
                return Err("nibbles-with-pad needs pad = \"right-f\" to recognise the pad".into());
            }
            let needed = self.prefix_value(usize::from(self.max));
            let capacity = self.prefix_capacity();
            if needed > capacity as usize {
                return Err(format!(
                    "max {} needs a length of {needed}, the prefix can express at most {capacity}",
                    self.max
                ));
            }
        }
        Ok(())
    }
}

/// One problem found while loading a dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectProblem {
    /// The field concerned, if the problem is about one field.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DialectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field {field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a dialect could not be loaded. Configuration errors: retrying without fixing the
/// file will not help.
#[derive(Debug, thiserror::Error)]
pub enum DialectError {
    /// The TOML text is not well formed or has unknown keys / wrong types.
    #[error("dialect TOML is malformed: {0}")]
    Toml(#[from] toml::de::Error),
    /// `extends` names a dialect that is not built in.
    #[error("dialect extends unknown built-in {0:?} (known: \"ascii\", \"pos-binary\")")]
    UnknownBase(String),
    /// The table parsed but violates the rules; every problem is listed.
    #[error("dialect {name:?} is invalid: {}", join(.problems))]
    Invalid {
        /// Dialect name.
        name: String,
        /// Every problem found.
        problems: Vec<DialectProblem>,
    },
}

fn join(problems: &[DialectProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A complete, validated dialect: message header settings plus one definition per field.
#[derive(Clone, PartialEq, Eq)]
pub struct Dialect {
    name: String,
    mti: MtiEncoding,
    bitmap: BitmapEncoding,
    secondary_bitmap: bool,
    field_65: bool,
    fields: [Option<FieldSpec>; 129],
}

impl fmt::Debug for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialect")
            .field("name", &self.name)
            .field("mti", &self.mti)
            .field("bitmap", &self.bitmap)
            .field("secondary_bitmap", &self.secondary_bitmap)
            .field("field_65", &self.field_65)
            .field("defined_fields", &self.fields.iter().flatten().count())
            .finish()
    }
}

/// TOML text of the built-in profile B ("pos-binary"), the default.
pub const POS_BINARY_TOML: &str = include_str!("../dialects/pos-binary.toml");
/// TOML text of the built-in profile A ("ascii").
pub const ASCII_TOML: &str = include_str!("../dialects/ascii.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialectToml {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    mti: Option<MtiEncoding>,
    #[serde(default)]
    bitmap: Option<BitmapEncoding>,
    #[serde(default)]
    secondary_bitmap: Option<bool>,
    #[serde(default)]
    field_65: Option<bool>,
    #[serde(default)]
    fields: BTreeMap<String, FieldToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldToml {
    format: Format,
    length: LengthKind,
    max: u16,
    #[serde(default)]
    encoding: Option<DataEncoding>,
    #[serde(default)]
    prefix: Option<PrefixEncoding>,
    #[serde(default)]
    counts: Option<LengthCounts>,
    #[serde(default)]
    pad: Option<Pad>,
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
}

impl FieldToml {
    fn resolve(&self) -> FieldSpec {
        let encoding = self.encoding.unwrap_or(match self.format {
            Format::B => DataEncoding::Binary,
            _ => DataEncoding::Ascii,
        });
        let counts = self.counts.unwrap_or(match encoding {
            DataEncoding::Bcd => LengthCounts::Nibbles,
            _ => LengthCounts::Bytes,
        });
        let pad = self.pad.unwrap_or(match self.length {
            LengthKind::Fixed => Pad::Left0,
            _ => Pad::Right0,
        });
        FieldSpec {
            format: self.format,
            length: self.length,
            max: self.max,
            encoding,
            prefix: self.prefix.unwrap_or(PrefixEncoding::Ascii),
            counts,
            pad,
        }
    }
}

impl Dialect {
    /// Loads and validates a dialect from TOML text. A file may `extends` a built-in
    /// dialect and then only list what differs.
    pub fn from_toml(text: &str) -> Result<Self, DialectError> {
        let raw: DialectToml = toml::from_str(text)?;
        let mut dialect = match raw.extends.as_deref() {
            None => Dialect {
                name: String::new(),
                mti: MtiEncoding::Ascii,
                bitmap: BitmapEncoding::Hex,
                secondary_bitmap: true,
                field_65: false,
                fields: [None; 129],
            },
            Some("ascii") => Self::ascii()?,
            Some("pos-binary") => Self::pos_binary()?,
            Some(other) => return Err(DialectError::UnknownBase(other.to_string())),
        };
        let mut problems = Vec::new();
        if raw.extends.is_none() {
            for (key, value) in [("mti", raw.mti.is_some()), ("bitmap", raw.bitmap.is_some())] {
                if !value {
                    problems.push(DialectProblem {
                        field: None,
                        message: format!("`{key}` is required unless the dialect extends another"),
                    });
                }
            }
        }
        dialect.name = raw.name;
        dialect.mti = raw.mti.unwrap_or(dialect.mti);
        dialect.bitmap = raw.bitmap.unwrap_or(dialect.bitmap);
        dialect.secondary_bitmap = raw.secondary_bitmap.unwrap_or(dialect.secondary_bitmap);
        dialect.field_65 = raw.field_65.unwrap_or(dialect.field_65);
        for (key, field) in &raw.fields {
            let number = match key.parse::<u8>() {
                Ok(n) if (2..=MAX_FIELD).contains(&n) => n,
                _ => {
                    problems.push(DialectProblem {
                        field: Some(key.clone()),
                        message: "field numbers go from 2 to 128 (1 is the secondary bitmap)"
                            .into(),
                    });
                    continue;
                }
            };
            let spec = field.resolve();
            if let Err(message) = spec.validate() {
                problems.push(DialectProblem {
                    field: Some(key.clone()),
                    message,
                });
            }
            dialect.fields[usize::from(number)] = Some(spec);
        }
        if dialect.field_65 && dialect.fields[65].is_none() {
            problems.push(DialectProblem {
                field: Some("65".into()),
                message: "field_65 = true needs a definition of field 65".into(),
            });
        }
        if problems.is_empty() {
            Ok(dialect)
        } else {
            Err(DialectError::Invalid {
                name: dialect.name,
                problems,
            })
        }
    }

    /// The default dialect, profile B "pos-binary": BCD MTI, binary bitmap, BCD numerics.
    pub fn pos_binary() -> Result<Self, DialectError> {
        Self::from_toml(POS_BINARY_TOML)
    }

    /// Profile A "ascii": ASCII MTI, hex bitmap, ASCII everything (pyiso8583
    /// `default_ascii` / jPOS ISO87A compatible).
    pub fn ascii() -> Result<Self, DialectError> {
        Self::from_toml(ASCII_TOML)
    }

    /// Name given in the TOML file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// MTI encoding.
    pub fn mti_encoding(&self) -> MtiEncoding {
        self.mti
    }

    /// Bitmap encoding.
    pub fn bitmap_encoding(&self) -> BitmapEncoding {
        self.bitmap
    }

    /// Whether fields 65–128 (and so a secondary bitmap) are allowed.
    pub fn secondary_bitmap_allowed(&self) -> bool {
        self.secondary_bitmap
    }

    /// Whether bit 65 may be set (field 65 then decodes per its definition; no tertiary
    /// bitmap is supported).
    pub fn field_65_allowed(&self) -> bool {
        self.field_65
    }

    /// The definition of field `n`, if the dialect has one.
    pub fn field(&self, n: u8) -> Option<&FieldSpec> {
        self.fields.get(usize::from(n)).and_then(Option::as_ref)
    }

    /// Whether field `n` may appear in a message of this dialect.
    pub fn allows(&self, n: u8) -> bool {
        match n {
            65 => self.field_65 && self.field(65).is_some(),
            66..=128 => self.secondary_bitmap && self.field(n).is_some(),
            _ => self.field(n).is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_and_cover_all_fields() {
        for d in [Dialect::pos_binary().unwrap(), Dialect::ascii().unwrap()] {
            for n in 2..=128u8 {
                assert!(d.field(n).is_some(), "{} lacks field {n}", d.name());
            }
            assert!(!d.field_65_allowed());
            assert!(d.field(1).is_none());
        }
    }

    #[test]
    fn fixed_field_needs_length() {
        let err = Dialect::from_toml(
            "name = \"x\"\nmti = \"ascii\"\nbitmap = \"hex\"\n[fields]\n3 = { format = \"n\", length = \"fixed\", max = 0 }\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("field 3"), "{err}");
    }

    #[test]
    fn bcd_only_for_numerics() {
        let err = Dialect::from_toml(
            "name = \"x\"\nextends = \"ascii\"\n[fields]\n41 = { format = \"ans\", length = \"fixed\", max = 8, encoding = \"bcd\" }\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("BCD is only"), "{err}");
    }

    #[test]
    fn max_must_fit_the_prefix() {
        let err = Dialect::from_toml(
            "name = \"x\"\nextends = \"ascii\"\n[fields]\n2 = { format = \"n\", length = \"ll\", max = 100 }\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("at most 99"), "{err}");
        // A binary 1-byte LL prefix can say 255.
        Dialect::from_toml(
            "name = \"x\"\nextends = \"ascii\"\n[fields]\n2 = { format = \"ans\", length = \"ll\", max = 200, prefix = \"binary\" }\n",
        )
        .unwrap();
    }

    #[test]
    fn several_problems_reported_at_once() {
        let err = Dialect::from_toml(
            "name = \"x\"\n[fields]\n1 = { format = \"b\", length = \"fixed\", max = 8 }\n\
             2 = { format = \"b\", length = \"ll\", max = 8, encoding = \"ascii\" }\n",
        )
        .unwrap_err();
        match err {
            DialectError::Invalid { problems, .. } => assert_eq!(problems.len(), 4, "{problems:?}"),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn unknown_keys_and_bases_rejected() {
        assert!(matches!(
            Dialect::from_toml("name = \"x\"\nextends = \"ebcdic\"\n"),
            Err(DialectError::UnknownBase(_))
        ));
        assert!(matches!(
            Dialect::from_toml("name = \"x\"\nextends = \"ascii\"\nmti_enc = \"bcd\"\n"),
            Err(DialectError::Toml(_))
        ));
    }

    #[test]
    fn prefix_capacity() {
        let mut spec = Dialect::ascii().unwrap().field(48).copied().unwrap();
        assert_eq!(spec.prefix_capacity(), 999);
        spec.prefix = PrefixEncoding::Binary;
        assert_eq!(spec.prefix_capacity(), 65535);
        assert_eq!(spec.prefix_len(), 2);
    }
}
