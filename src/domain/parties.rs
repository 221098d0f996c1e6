//! Parties (权利人, LADM party): households, village collectives, cooperatives and enterprises.
//! A household's ID number and phone are personal data: stored, never shown without a reason.

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
}
