//! Demonstration sites (示范点 / 惠农共富样板): villages and bases that show what revitalization
//! achieved, with yearly indicators.

use chrono::{Datelike, NaiveDate};

use super::code_enum;
use super::geometry::{GeometryError, Location};
use super::text::{self, TextError};

code_enum! {
    /// Level of the designation (命名级别).
    pub enum DemoSiteLevel {
        /// District level (区级).
        District = "DISTRICT",
        /// City level (市级).
        City = "CITY",
        /// Provincial level (省级).
        Province = "PROVINCE",
        /// National level (国家级).
        National = "NATIONAL",
    }
}

code_enum! {
    /// Unit of an indicator's value (计量单位).
    pub enum IndicatorUnit {
        /// Money in fen (分, 1/100 yuan).
        Fen = "FEN",
        /// Households (户).
        Household = "HOUSEHOLD",
        /// People (人).
        Person = "PERSON",
        /// Items counted (个/处).
        Count = "COUNT",
        /// Square metres (平方米).
        SquareMeter = "SQUARE_METER",
        /// Visits (人次).
        Visit = "VISIT",
    }
}

code_enum! {
    /// What a yearly indicator measures (指标).
    pub enum IndicatorCode {
        /// Village collective operating income (村集体经营性收入), fen.
        CollectiveOperatingIncome = "COLLECTIVE_OPERATING_INCOME",
        /// Village collective total assets (村集体资产总额), fen.
        CollectiveTotalAssets = "COLLECTIVE_TOTAL_ASSETS",
        /// Households that benefited (受益农户), households.
        HouseholdsBenefited = "HOUSEHOLDS_BENEFITED",
        /// Average income gain per household (户均增收), fen.
        AvgHouseholdIncomeGain = "AVG_HOUSEHOLD_INCOME_GAIN",
        /// Per-capita disposable income (人均可支配收入), fen.
        PerCapitaDisposableIncome = "PER_CAPITA_DISPOSABLE_INCOME",
        /// Jobs created (带动就业), people.
        JobsCreated = "JOBS_CREATED",
        /// Wages paid to villagers (劳务收入), fen.
        LabourIncomePaid = "LABOUR_INCOME_PAID",
        /// Total investment (总投资), fen.
        InvestmentTotal = "INVESTMENT_TOTAL",
        /// Idle houses put back to use (盘活闲置农房), count.
        IdleHousesRevitalized = "IDLE_HOUSES_REVITALIZED",
        /// Idle homestead area put back to use (盘活闲置宅基地面积), m².
        IdleHomesteadAreaRevitalized = "IDLE_HOMESTEAD_AREA_REVITALIZED",
        /// Rooms or beds offered (客房/床位), count.
        RoomsOrBeds = "ROOMS_OR_BEDS",
        /// Visitors received (接待游客), visits.
        Visitors = "VISITORS",
        /// Dividends paid to shareholders (分红), fen.
        DividendsPaid = "DIVIDENDS_PAID",
        /// Mortgage loans granted (农权抵押贷款笔数), count.
        MortgageLoansCount = "MORTGAGE_LOANS_COUNT",
        /// Mortgage loan amount (农权抵押贷款金额), fen.
        MortgageLoansAmount = "MORTGAGE_LOANS_AMOUNT",
    }
}

impl IndicatorCode {
    /// Whether sites' values add up to a township's or the district's: every indicator but the
    /// averages (a household's income gain, per-capita income), which are averaged instead.
    pub fn is_additive(self) -> bool {
        !matches!(
            self,
            IndicatorCode::AvgHouseholdIncomeGain | IndicatorCode::PerCapitaDisposableIncome
        )
    }

    /// Each indicator has one unit, so values of one code always compare.
    pub fn unit(self) -> IndicatorUnit {
        use IndicatorCode::*;
        match self {
            CollectiveOperatingIncome
            | CollectiveTotalAssets
            | AvgHouseholdIncomeGain
            | PerCapitaDisposableIncome
            | LabourIncomePaid
            | InvestmentTotal
            | DividendsPaid
            | MortgageLoansAmount => IndicatorUnit::Fen,
            HouseholdsBenefited => IndicatorUnit::Household,
            JobsCreated => IndicatorUnit::Person,
            IdleHousesRevitalized | RoomsOrBeds | MortgageLoansCount => IndicatorUnit::Count,
            IdleHomesteadAreaRevitalized => IndicatorUnit::SquareMeter,
            Visitors => IndicatorUnit::Visit,
        }
    }
}

/// Why a demonstration site or indicator was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DemoSiteError {
    #[error("year {year} must be between 1949 and {this_year}")]
    YearOutOfRange { year: i32, this_year: i32 },
    #[error("indicator {code} must not be negative")]
    NegativeIndicator { code: IndicatorCode },
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    Geometry(#[from] GeometryError),
}

/// Checks a designation or indicator year against today.
pub fn year(year: i32, today: NaiveDate) -> Result<i32, DemoSiteError> {
    let this_year = today.year();
    if (1949..=this_year).contains(&year) {
        Ok(year)
    } else {
        Err(DemoSiteError::YearOutOfRange { year, this_year })
    }
}

/// A demonstration site, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDemoSite {
    pub code: String,
    pub name: String,
    pub level: DemoSiteLevel,
    pub designation_year: i32,
    pub theme: Option<String>,
    pub description: Option<String>,
    pub location: Location,
}

/// A demonstration site as submitted.
#[derive(Debug, Clone)]
pub struct DemoSiteDraft {
    pub code: String,
    pub name: String,
    pub level: DemoSiteLevel,
    pub designation_year: i32,
    pub theme: Option<String>,
    pub description: Option<String>,
    pub lon: f64,
    pub lat: f64,
}

impl DemoSiteDraft {
    pub fn validate(self, today: NaiveDate) -> Result<NewDemoSite, DemoSiteError> {
        Ok(NewDemoSite {
            code: text::required("code", &self.code, 32)?,
            name: text::required("name", &self.name, 100)?,
            level: self.level,
            designation_year: year(self.designation_year, today)?,
            theme: text::optional("theme", self.theme.as_deref(), 100)?,
            description: text::optional("description", self.description.as_deref(), 2000)?,
            location: Location::parse(self.lon, self.lat)?,
        })
    }
}

/// One yearly indicator value, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    pub year: i32,
    pub code: IndicatorCode,
    pub value: i64,
    pub source: Option<String>,
}

impl Indicator {
    pub fn parse(
        year_: i32,
        code: IndicatorCode,
        value: i64,
        source: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, DemoSiteError> {
        if value < 0 {
            return Err(DemoSiteError::NegativeIndicator { code });
        }
        Ok(Self {
            year: year(year_, today)?,
            code,
            value,
            source: text::optional("source", source, 200)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date")
    }

    #[test]
    fn money_indicators_are_in_fen() {
        assert_eq!(
            IndicatorCode::CollectiveOperatingIncome.unit(),
            IndicatorUnit::Fen
        );
        assert_eq!(IndicatorCode::Visitors.unit(), IndicatorUnit::Visit);
    }

    #[test]
    fn indicators_refuse_negative_values_and_future_years() {
        let code = IndicatorCode::JobsCreated;
        assert!(Indicator::parse(2024, code, 12, None, today()).is_ok());
        assert!(Indicator::parse(2024, code, -1, None, today()).is_err());
        assert!(Indicator::parse(2027, code, 1, None, today()).is_err());
        assert!(Indicator::parse(1900, code, 1, None, today()).is_err());
    }
}
