//! Who may do what: the access policy, in one place. Resolvers and mutations ask these
//! functions; none of them decides on its own.
//!
//! - ADMIN (district office): everything.
//! - CADRE (one township): reads the district; writes, and sees personal data, only in its
//!   township.
//! - BANK (one bank): reads like any signed-in caller; of the lending business (products,
//!   applications, loans, mortgages, credit lines) only its own, and the party branches'
//!   recommendations that back its own applications.
//! - Anonymous: demonstration sites, township and village boundaries, aggregate counts, and idle
//!   assets reduced to kind, status and a location snapped to a 0.005° grid (about 500 m): an
//!   investor's map of what is on offer, never a way to find a household.

use super::code_enum;
use super::geometry::Location;

code_enum! {
    /// Role of an access token (角色).
    pub enum Role {
        /// District office (区级管理员): everything.
        Admin = "ADMIN",
        /// Township cadre (乡镇干部): writes and sees personal data in one township.
        Cadre = "CADRE",
        /// Partner bank (合作银行).
        Bank = "BANK",
    }
}

/// A signed-in caller: who holds the token and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub token_id: i64,
    pub label: String,
    pub role: Role,
    /// The township a CADRE token is for.
    pub township_id: Option<i64>,
    /// The bank a BANK token is for.
    pub bank_code: Option<String>,
}

/// Whoever sent a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Signed(Actor),
}

/// Why a caller may not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("sign in: {0} needs a token (Authorization: Bearer …)")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(String),
}

/// The grid anonymous callers see locations on, in degrees (about 500 m).
pub const PUBLIC_GRID_DEG: f64 = 0.005;

impl Caller {
    pub fn actor(&self, what: &'static str) -> Result<&Actor, Denied> {
        match self {
            Caller::Signed(actor) => Ok(actor),
            Caller::Anonymous => Err(Denied::Unauthenticated(what)),
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Caller::Anonymous)
    }

    /// Details of assets, parties and records beyond the public map: any signed-in caller.
    pub fn may_read_details(&self, what: &'static str) -> Result<(), Denied> {
        self.actor(what).map(|_| ())
    }

    /// Filtering or ordering assets by their details: anonymous callers may narrow the public
    /// map by place, kind and status only, so no filter singles out a household.
    pub fn may_narrow_assets(&self, by_details: bool) -> Result<(), Denied> {
        if by_details {
            self.may_read_details("filtering or ordering assets by their details")
        } else {
            Ok(())
        }
    }

    /// A party's name and kind: households are people, so their names need a token; an
    /// organisation (an operator of a demonstration site, say) is public.
    pub fn may_see_party_identity(&self, is_household: bool) -> Result<(), Denied> {
        if is_household {
            self.may_read_details("a household's name")
        } else {
            Ok(())
        }
    }

    /// Personal data (ID number, phone) of a party living in `township_id` (None: a party
    /// not tied to a village, which only the district sees).
    pub fn may_see_personal_data(&self, township_id: Option<i64>) -> Result<(), Denied> {
        let actor = self.actor("personal data (身份证号, 电话)")?;
        match actor.role {
            Role::Admin => Ok(()),
            Role::Cadre if township_id.is_some() && actor.township_id == township_id => Ok(()),
            Role::Cadre => Err(Denied::Forbidden(
                "personal data is shown only to the district office and to cadres of the party's township".into(),
            )),
            Role::Bank => Err(Denied::Forbidden(
                "a bank sees personal data only of its own borrowers".into(),
            )),
        }
    }

    /// A step only the lending bank takes (deciding, disbursing, granting a credit line): a
    /// BANK token of `bank_code`.
    pub fn may_lend_as(&self, bank_code: &str) -> Result<&Actor, Denied> {
        let actor = self.may_see_bank_business(bank_code)?;
        match actor.role {
            Role::Bank => Ok(actor),
            _ => Err(Denied::Forbidden(format!(
                "only bank {bank_code} takes this step on its own business"
            ))),
        }
    }

    /// Applying for a loan: the product's bank, a cadre for a right on an asset of its township
    /// (`right_township`), or the district office.
    pub fn may_apply(
        &self,
        bank_code: &str,
        right_township: Option<i64>,
    ) -> Result<&Actor, Denied> {
        let actor = self.actor("a loan application")?;
        match (actor.role, right_township) {
            (Role::Bank, _) => self.may_see_bank_business(bank_code),
            (Role::Cadre, Some(t)) => self.may_write_in(t),
            (Role::Cadre, None) => Err(Denied::Forbidden(
                "a cadre applies for rights on assets of its township".into(),
            )),
            (Role::Admin, _) => Ok(actor),
        }
    }

    /// Where an import may place rows: anywhere for the district office (None), in its own
    /// township for a cadre; a bank imports nothing.
    pub fn import_scope(&self) -> Result<Option<i64>, Denied> {
        let actor = self.actor("importing a file")?;
        match actor.role {
            Role::Admin => Ok(None),
            Role::Cadre => Ok(actor.township_id),
            Role::Bank => Err(Denied::Forbidden(
                "a bank token cannot change the registry".into(),
            )),
        }
    }

    /// Whose import jobs the caller reads: every one for the district office (None), else only
    /// those its own token started.
    pub fn import_jobs_scope(&self) -> Result<Option<i64>, Denied> {
        let actor = self.actor("reading import jobs")?;
        Ok((actor.role != Role::Admin).then_some(actor.token_id))
    }

    /// Recording an appraisal: the banks and the district office value collateral.
    pub fn may_appraise(&self) -> Result<&Actor, Denied> {
        let actor = self.actor("an appraisal")?;
        match actor.role {
            Role::Bank | Role::Admin => Ok(actor),
            Role::Cadre => Err(Denied::Forbidden(
                "appraisals are recorded by the banks and the district office".into(),
            )),
        }
    }

    /// A bank sees the personal data of its own borrowers (parties who applied to it for a
    /// loan), and no one else's.
    pub fn may_see_borrower_data(&self, applied_to_caller: bool) -> Result<(), Denied> {
        let actor = self.actor("personal data (身份证号, 电话)")?;
        match actor.role {
            Role::Bank if applied_to_caller => Ok(()),
            _ => Err(Denied::Forbidden(
                "a bank sees personal data only of its own borrowers".into(),
            )),
        }
    }

    /// Registering or changing records located in `township_id`.
    pub fn may_write_in(&self, township_id: i64) -> Result<&Actor, Denied> {
        let actor = self.actor("changing the registry")?;
        match actor.role {
            Role::Admin => Ok(actor),
            Role::Cadre if actor.township_id == Some(township_id) => Ok(actor),
            Role::Cadre => Err(Denied::Forbidden(
                "a cadre changes records only inside the township of the token".into(),
            )),
            Role::Bank => Err(Denied::Forbidden(
                "a bank token cannot change the registry".into(),
            )),
        }
    }

    /// District-wide administration: boundaries, tokens, the audit trail.
    pub fn may_administer(&self, what: &'static str) -> Result<&Actor, Denied> {
        let actor = self.actor(what)?;
        match actor.role {
            Role::Admin => Ok(actor),
            _ => Err(Denied::Forbidden(format!(
                "{what} is for the district office (ADMIN) only"
            ))),
        }
    }

    /// A bank's products and its business are its own: another bank's are FORBIDDEN. The
    /// district office and the township cadres may look at every bank's.
    pub fn may_see_bank_business(&self, bank_code: &str) -> Result<&Actor, Denied> {
        let actor = self.actor("a bank's products and loans")?;
        match (&actor.role, actor.bank_code.as_deref()) {
            (Role::Bank, Some(own)) if own == bank_code => Ok(actor),
            (Role::Bank, _) => Err(Denied::Forbidden(format!(
                "this is bank {bank_code}'s business; a bank token sees its own only"
            ))),
            _ => Ok(actor),
        }
    }

    /// Whose lending business a listing shows: one bank's (`Some(code)`) to a BANK token, every
    /// bank's (`None`) to the district office and the township cadres, nothing to anonymous
    /// callers.
    pub fn lending_scope(&self, what: &'static str) -> Result<Option<&str>, Denied> {
        let actor = self.actor(what)?;
        Ok(match actor.role {
            // A BANK token always names its bank (`check_scope`); an empty code matches none.
            Role::Bank => Some(actor.bank_code.as_deref().unwrap_or_default()),
            Role::Admin | Role::Cadre => None,
        })
    }

    /// A party branch's recommendation of a household (党建+金融服务), which names no bank:
    /// the district office and the cadres read every one; a bank reads one once it backs an
    /// application to that bank (`backed_banks`: the codes of the banks of the applications it
    /// backs), so that no bank learns the grades of another bank's customers.
    pub fn may_see_recommendation(&self, backed_banks: &[&str]) -> Result<&Actor, Denied> {
        let actor = self.actor("a party branch's recommendation")?;
        match (&actor.role, actor.bank_code.as_deref()) {
            (Role::Bank, Some(own)) if backed_banks.contains(&own) => Ok(actor),
            (Role::Bank, _) => Err(Denied::Forbidden(
                "a bank sees a recommendation only once it backs an application to that bank"
                    .into(),
            )),
            _ => Ok(actor),
        }
    }

    /// How far, in degrees, the location this caller sees may lie from the true one: a
    /// spatial search must look that much wider to find what the caller sees inside it.
    pub fn location_slack_deg(&self) -> f64 {
        if self.is_anonymous() {
            PUBLIC_GRID_DEG
        } else {
            0.0
        }
    }

    /// The location as this caller may see it: exact when signed in, else snapped to the
    /// public grid.
    pub fn visible_location(&self, location: Location) -> Location {
        if self.is_anonymous() {
            snap(location, PUBLIC_GRID_DEG)
        } else {
            location
        }
    }
}

/// The centre of the grid cell a location falls in.
pub fn snap(location: Location, grid: f64) -> Location {
    let cell = |v: f64| ((v / grid).floor() + 0.5) * grid;
    let snapped = |v: f64, limit: f64| cell(v).clamp(-limit, limit);
    Location::parse(
        snapped(location.lon(), 180.0),
        snapped(location.lat(), 90.0),
    )
    .unwrap_or(location)
}

/// Scope a new token must have for its role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("a CADRE token needs --township (the township it may write in)")]
    CadreWithoutTownship,
    #[error("a BANK token needs --bank (the bank it speaks for)")]
    BankWithoutBank,
    #[error("an {0} token takes no township or bank scope")]
    UnexpectedScope(Role),
}

/// Checks that a role comes with exactly the scope it needs.
pub fn check_scope(role: Role, township: bool, bank: bool) -> Result<(), ScopeError> {
    match (role, township, bank) {
        (Role::Admin, false, false) | (Role::Cadre, true, false) | (Role::Bank, false, true) => {
            Ok(())
        }
        (Role::Cadre, false, _) => Err(ScopeError::CadreWithoutTownship),
        (Role::Bank, _, false) => Err(ScopeError::BankWithoutBank),
        (role, _, _) => Err(ScopeError::UnexpectedScope(role)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(role: Role, township_id: Option<i64>) -> Caller {
        Caller::Signed(Actor {
            token_id: 1,
            label: "t".into(),
            role,
            township_id,
            bank_code: None,
        })
    }

    #[test]
    fn personal_data_goes_to_admin_and_the_partys_own_cadres() {
        assert!(
            signed(Role::Admin, None)
                .may_see_personal_data(Some(3))
                .is_ok()
        );
        assert!(
            signed(Role::Admin, None)
                .may_see_personal_data(None)
                .is_ok()
        );
        assert!(
            signed(Role::Cadre, Some(3))
                .may_see_personal_data(Some(3))
                .is_ok()
        );
        assert!(matches!(
            signed(Role::Cadre, Some(3)).may_see_personal_data(Some(4)),
            Err(Denied::Forbidden(_))
        ));
        assert!(matches!(
            signed(Role::Cadre, Some(3)).may_see_personal_data(None),
            Err(Denied::Forbidden(_))
        ));
        assert!(matches!(
            signed(Role::Bank, None).may_see_personal_data(Some(3)),
            Err(Denied::Forbidden(_))
        ));
        assert!(matches!(
            Caller::Anonymous.may_see_personal_data(Some(3)),
            Err(Denied::Unauthenticated(_))
        ));
    }

    #[test]
    fn cadres_write_only_in_their_township() {
        assert!(signed(Role::Cadre, Some(3)).may_write_in(3).is_ok());
        assert!(matches!(
            signed(Role::Cadre, Some(3)).may_write_in(4),
            Err(Denied::Forbidden(_))
        ));
        assert!(signed(Role::Admin, None).may_write_in(4).is_ok());
        assert!(matches!(
            signed(Role::Bank, None).may_write_in(4),
            Err(Denied::Forbidden(_))
        ));
        assert!(matches!(
            Caller::Anonymous.may_write_in(4),
            Err(Denied::Unauthenticated(_))
        ));
    }

    #[test]
    fn anonymous_callers_narrow_the_map_by_place_kind_and_status_only() {
        assert!(Caller::Anonymous.may_narrow_assets(false).is_ok());
        assert!(matches!(
            Caller::Anonymous.may_narrow_assets(true),
            Err(Denied::Unauthenticated(_))
        ));
        assert!(signed(Role::Bank, None).may_narrow_assets(true).is_ok());
    }

    #[test]
    fn anonymous_callers_see_locations_on_a_500_metre_grid() {
        let exact = Location::parse(117.01234, 28.20678).expect("valid");
        let seen = Caller::Anonymous.visible_location(exact);
        assert!(
            (seen.lon() - 117.0125).abs() < 1e-9 && (seen.lat() - 28.2075).abs() < 1e-9,
            "{seen:?}"
        );
        let near = Location::parse(117.0101, 28.2051).expect("valid");
        assert_eq!(
            Caller::Anonymous.visible_location(near),
            seen,
            "houses of one cell look alike"
        );
        assert_eq!(signed(Role::Bank, None).visible_location(exact), exact);
    }

    fn bank(code: &str) -> Caller {
        Caller::Signed(Actor {
            token_id: 2,
            label: "b".into(),
            role: Role::Bank,
            township_id: None,
            bank_code: Some(code.into()),
        })
    }

    #[test]
    fn a_bank_lists_its_own_lending_and_the_district_lists_every_banks() {
        assert_eq!(bank("A").lending_scope("x"), Ok(Some("A")));
        assert_eq!(signed(Role::Admin, None).lending_scope("x"), Ok(None));
        assert_eq!(signed(Role::Cadre, Some(3)).lending_scope("x"), Ok(None));
        assert!(matches!(
            Caller::Anonymous.lending_scope("x"),
            Err(Denied::Unauthenticated(_))
        ));
    }

    #[test]
    fn a_bank_sees_a_recommendation_once_it_backs_an_application_to_it() {
        assert!(bank("A").may_see_recommendation(&["B", "A"]).is_ok());
        for backed in [&[][..], &["B"][..]] {
            assert!(matches!(
                bank("A").may_see_recommendation(backed),
                Err(Denied::Forbidden(_))
            ));
        }
        assert!(
            signed(Role::Admin, None)
                .may_see_recommendation(&[])
                .is_ok()
        );
        assert!(
            signed(Role::Cadre, Some(4))
                .may_see_recommendation(&[])
                .is_ok()
        );
        assert!(matches!(
            Caller::Anonymous.may_see_recommendation(&["A"]),
            Err(Denied::Unauthenticated(_))
        ));
    }

    #[test]
    fn each_role_takes_exactly_its_scope() {
        assert!(check_scope(Role::Admin, false, false).is_ok());
        assert!(check_scope(Role::Cadre, true, false).is_ok());
        assert!(check_scope(Role::Bank, false, true).is_ok());
        assert_eq!(
            check_scope(Role::Cadre, false, false),
            Err(ScopeError::CadreWithoutTownship)
        );
        assert_eq!(
            check_scope(Role::Bank, false, false),
            Err(ScopeError::BankWithoutBank)
        );
        assert_eq!(
            check_scope(Role::Admin, true, false),
            Err(ScopeError::UnexpectedScope(Role::Admin))
        );
    }
}
