//! Parties (权利人, LADM party): households, village collectives, cooperatives and enterprises.
//! A household's ID number and phone are personal data: stored, never shown without a reason.

use std::fmt;
use std::str::FromStr;

use super::code_enum;
use super::text::{self, TextError};

code_enum! {
    /// Kind of party (权利人类型).
    pub enum PartyKind {
        /// A farming household (农户), represented by its head.
        Household = "HOUSEHOLD",
        /// A village collective economic organisation (村集体经济组织 / 股份经济合作社).
        Collective = "COLLECTIVE",
        /// A farmers' cooperative (农民专业合作社).
        Cooperative = "COOPERATIVE",
        /// An enterprise (企业), e.g. a homestay or agritourism operator.
        Enterprise = "ENTERPRISE",
    }
}

/// Why a party was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartyError {
    #[error("ID number must be 18 characters: 17 digits and a check digit or X (身份证号)")]
    IdNumberFormat,
    #[error("ID number check digit is wrong: expected {expected}")]
    IdNumberChecksum { expected: char },
    #[error("phone number must be 7 to 20 digits, optionally with + and -")]
    PhoneFormat,
    #[error("unified social credit code must be 18 digits or capital letters (统一社会信用代码)")]
    CreditCodeFormat,
    #[error("a household needs a household number (户号) or an ID number")]
    HouseholdWithoutKey,
    #[error("an organisation needs its unified social credit code (统一社会信用代码)")]
    OrganisationWithoutCreditCode,
    #[error(transparent)]
    Text(#[from] TextError),
}

/// A party as submitted.
#[derive(Debug, Clone, Default)]
pub struct PartyDraft {
    pub kind: Option<PartyKind>,
    pub name: String,
    pub household_no: Option<String>,
    pub credit_code: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

/// A party, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParty {
    pub kind: PartyKind,
    pub name: String,
    pub household_no: Option<String>,
    pub credit_code: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
}

impl PartyDraft {
    pub fn validate(self) -> Result<NewParty, PartyError> {
        let kind = self.kind.unwrap_or(PartyKind::Household);
        let id_number = self
            .id_number
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let id_number = id_number.map(resident_id_number).transpose()?;
        let phone = self
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let phone = phone.map(phone_number).transpose()?;
        let credit_code = self
            .credit_code
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let credit_code = credit_code.map(credit_code_format).transpose()?;
        let household_no = text::optional("household number", self.household_no.as_deref(), 32)?;
        match kind {
            PartyKind::Household if household_no.is_none() && id_number.is_none() => {
                return Err(PartyError::HouseholdWithoutKey);
            }
            PartyKind::Collective | PartyKind::Cooperative | PartyKind::Enterprise
                if credit_code.is_none() =>
            {
                return Err(PartyError::OrganisationWithoutCreditCode);
            }
            _ => {}
        }
        Ok(NewParty {
            kind,
            name: text::required("name", &self.name, 100)?,
            household_no,
            credit_code,
            id_number,
            phone,
        })
    }
}

/// Checks an 18-character resident ID number (GB 11643) with its ISO 7064 MOD 11-2 check
/// character; a lower-case x is accepted and stored upper-case.
pub fn resident_id_number(value: &str) -> Result<String, PartyError> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let value = value.to_ascii_uppercase();
    let bytes = value.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Err(PartyError::IdNumberFormat);
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let expected = CHECK[(sum % 11) as usize];
    if bytes[17] != expected {
        return Err(PartyError::IdNumberChecksum {
            expected: char::from(expected),
        });
    }
    Ok(value)
}

fn phone_number(value: &str) -> Result<String, PartyError> {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == ' ');
    if allowed && (7..=20).contains(&digits) {
        Ok(value.to_owned())
    } else {
        Err(PartyError::PhoneFormat)
    }
}

fn credit_code_format(value: &str) -> Result<String, PartyError> {
    let value = value.to_ascii_uppercase();
    if value.len() == 18
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        Ok(value)
    } else {
        Err(PartyError::CreditCodeFormat)
    }
}

// The checked form of the unified social credit code. Parties still take the format check above
// (`credit_code_format`); collective economic organisations ("三变") will be parties whose
// code is parsed here, and the format check can give way to this one once the stored codes pass.
/// Why a unified social credit code (统一社会信用代码) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a unified social credit code (统一社会信用代码) has 18 characters, got {length}")]
    Length { length: usize },
    #[error(
        "character {position} of the credit code, {found:?}, is not allowed there \
         (digits and capital letters without I, O, Z, S, V; positions 3 to 8 are digits)"
    )]
    Character { position: usize, found: char },
    #[error("the credit code's check character is {found}, expected {expected}")]
    Check { expected: char, found: char },
}

// ---------------------------------------------------------------------------------------------
// The unified social credit code (统一社会信用代码, GB 32100-2015)

/// The 31 characters a credit code may use, in the order of their values 0 to 30: digits, then
/// the capital letters without I, O, Z, S and V (which read like 1, 0, 2, 5 and U).
const CREDIT_CODE_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The weights of positions 1 to 17: 3^(i−1) mod 31.
const CREDIT_CODE_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code (统一社会信用代码), checked: 18 characters from the code's
/// alphabet, a numeric division code, and the right check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

impl CreditCode {
    /// The code, upper-case, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Position 1, the registration authority (登记管理部门): `9` market regulation, `5` civil
    /// affairs, `N` agriculture and rural affairs (农业农村, which registers village collectives).
    pub fn registration_authority(&self) -> char {
        self.char_at(0)
    }

    /// Position 2, the kind of organisation within that authority (机构类别).
    pub fn organisation_kind(&self) -> char {
        self.char_at(1)
    }

    /// Positions 3 to 8, the registering authority's division code (行政区划码, GB/T 2260).
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }

    /// Positions 9 to 17, the organisation code (主体标识码 / 组织机构代码, GB 11714).
    pub fn organisation_code(&self) -> &str {
        &self.0[8..17]
    }

    fn char_at(&self, index: usize) -> char {
        // The code is checked ASCII, so a byte is a character.
        char::from(self.0.as_bytes()[index])
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CreditCode {
    type Err = CreditCodeError;
    fn from_str(text: &str) -> Result<Self, CreditCodeError> {
        parse_credit_code(text)
    }
}

/// Parses a unified social credit code (GB 32100-2015), trimmed and upper-cased.
///
/// Checks the length, the alphabet (no I, O, Z, S, V), that the division code (positions 3–8)
/// is digits, and the 18th character: C18 = 31 − (Σ value·weight mod 31), 31 giving 0.
/// Positions 1–2 may be letters: village collectives registered by agriculture and rural affairs
/// carry `N`. The organisation code's own GB 11714 check character (position 17) is not
/// checked: codes assigned by the rural-affairs registers are not known to us to follow it, and
/// refusing a real collective's code would be worse than the typing errors it could catch, every
/// single-character one of which the 18th character already catches (31 is prime and no weight
/// is a multiple of it).
pub fn parse_credit_code(text: &str) -> Result<CreditCode, CreditCodeError> {
    let code = text.trim().to_ascii_uppercase();
    let length = code.chars().count();
    if length != 18 {
        return Err(CreditCodeError::Length { length });
    }
    let mut values = [0u32; 18];
    for (index, found) in code.chars().enumerate() {
        let value = credit_code_value(found).filter(|&v| !(2..8).contains(&index) || v < 10);
        values[index] = value.ok_or(CreditCodeError::Character {
            position: index + 1,
            found,
        })?;
    }
    let expected = credit_code_check_character(&values);
    let found = code.chars().last().unwrap_or(' ');
    if found != expected {
        return Err(CreditCodeError::Check { expected, found });
    }
    Ok(CreditCode(code))
}

/// A character's value in the credit code's alphabet.
fn credit_code_value(c: char) -> Option<u32> {
    let byte = u8::try_from(c).ok()?;
    let index = CREDIT_CODE_ALPHABET.iter().position(|&b| b == byte)?;
    u32::try_from(index).ok()
}

/// The check character for the first 17 values of `values`.
fn credit_code_check_character(values: &[u32; 18]) -> char {
    let sum: u32 = values
        .iter()
        .zip(CREDIT_CODE_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    char::from(CREDIT_CODE_ALPHABET[check as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_are_checked_with_their_check_digit() {
        // 11010519491231002X is the standard's worked example.
        assert_eq!(
            resident_id_number("11010519491231002x"),
            Ok("11010519491231002X".into())
        );
        assert_eq!(
            resident_id_number("110105194912310021"),
            Err(PartyError::IdNumberChecksum { expected: 'X' })
        );
        for bad in [
            "1101051949123100",
            "11010519491231002XX",
            "A1010519491231002X",
        ] {
            assert_eq!(
                resident_id_number(bad),
                Err(PartyError::IdNumberFormat),
                "{bad}"
            );
        }
    }

    #[test]
    fn households_need_a_key_and_organisations_a_credit_code() {
        let household = PartyDraft {
            name: "白建国".into(),
            ..Default::default()
        };
        assert_eq!(household.validate(), Err(PartyError::HouseholdWithoutKey));
        let firm = PartyDraft {
            kind: Some(PartyKind::Enterprise),
            name: "青岚七星文旅发展有限公司".into(),
            ..Default::default()
        };
        assert_eq!(
            firm.validate(),
            Err(PartyError::OrganisationWithoutCreditCode)
        );
    }

    // Valid codes computed by hand for these tests (check characters from the standard's
    // formula, organisation codes with their GB 11714 check character too).
    const VALID_CODES: &[(&str, &str)] = &[
        (
            "91110000600037341L",
            "a company registered by market regulation",
        ),
        (
            "N2361102MF00000136",
            "a village collective registered by rural affairs (N2)",
        ),
        (
            "93361102MA35R7K273",
            "a farmers' professional cooperative (93)",
        ),
        (
            "52361102MJD12345XH",
            "a civil-affairs registrant, check character a letter",
        ),
        (
            "92361102MA350012X0",
            "a sum divisible by 31: check character 0, not 31",
        ),
        (
            "92361102MA3600235Y",
            "the last letter of the alphabet as check character",
        ),
    ];

    #[test]
    fn valid_credit_codes_are_accepted() {
        for (code, why) in VALID_CODES {
            assert_eq!(
                parse_credit_code(code).map(|c| c.to_string()),
                Ok((*code).to_owned()),
                "{why}"
            );
        }
        let code = parse_credit_code("  n2361102mf00000136 ").expect("trimmed, upper-cased");
        assert_eq!(code.as_str(), "N2361102MF00000136");
        assert_eq!(code.registration_authority(), 'N');
        assert_eq!(code.organisation_kind(), '2');
        assert_eq!(code.division_code(), "361102");
        assert_eq!(code.organisation_code(), "MF0000013");
    }

    #[test]
    fn invalid_credit_codes_are_refused_with_their_reason() {
        use CreditCodeError::*;
        let cases: &[(&str, CreditCodeError, &str)] = &[
            ("", Length { length: 0 }, "empty"),
            ("91110000600037341", Length { length: 17 }, "one short"),
            ("91110000600037341LL", Length { length: 19 }, "one long"),
            (
                "9111000060003734統",
                Length { length: 17 },
                "length counts characters, not bytes",
            ),
            (
                "91110000I0003734 L",
                Character {
                    position: 9,
                    found: 'I',
                },
                "I reads like 1",
            ),
            (
                "91110000O00037341L",
                Character {
                    position: 9,
                    found: 'O',
                },
                "O reads like 0",
            ),
            (
                "9111000060003734ZL",
                Character {
                    position: 17,
                    found: 'Z',
                },
                "Z reads like 2",
            ),
            (
                "S1110000600037341L",
                Character {
                    position: 1,
                    found: 'S',
                },
                "S reads like 5",
            ),
            (
                "91110000600037341V",
                Character {
                    position: 18,
                    found: 'V',
                },
                "V reads like U",
            ),
            (
                "91A10000600037341L",
                Character {
                    position: 3,
                    found: 'A',
                },
                "the division code is digits",
            ),
            (
                "911100006000-7341L",
                Character {
                    position: 13,
                    found: '-',
                },
                "no separators",
            ),
            (
                "91110000600037341K",
                Check {
                    expected: 'L',
                    found: 'K',
                },
                "wrong check character",
            ),
            (
                "91110000600037342L",
                Check {
                    expected: 'P',
                    found: 'L',
                },
                "one character mistyped",
            ),
            (
                "91110000600073341L",
                Check {
                    expected: 'N',
                    found: 'L',
                },
                "two neighbours swapped",
            ),
        ];
        for (code, expected, why) in cases {
            assert_eq!(
                parse_credit_code(code).as_ref(),
                Err(expected),
                "{why}: {code}"
            );
        }
    }
}
