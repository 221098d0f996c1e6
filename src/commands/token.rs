//! `token create|list|revoke`: the access tokens. `create` prints the secret alone on stdout,
//! so that a script can capture it; everything else it says goes to stderr.

use std::collections::HashMap;

use anyhow::Context as _;
use rural_registry::db;
use rural_registry::domain::access::{Role, check_scope};
use rural_registry::domain::text;

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Create a token. The secret alone goes to stdout, shown this once; the rest to stderr.
    Create {
        /// What the token may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// For a cadre token: the 12-digit code of its township.
        #[arg(long)]
        township: Option<String>,
        /// For a bank token: the bank's code.
        #[arg(long)]
        bank: Option<String>,
        /// Who holds it, e.g. "东川镇 王干事"; recorded in the audit trail of every change.
        #[arg(long)]
        label: String,
    },
    /// Revoke a token by its number (see `token list`); it stops working at once.
    Revoke { id: i64 },
    /// List tokens: number, label, role, scope, created, last used, revoked. Never secrets.
    List,
}

/// Roles as typed on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Cadre,
    Bank,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Self::Admin,
            RoleArg::Cadre => Self::Cadre,
            RoleArg::Bank => Self::Bank,
        }
    }
}

pub async fn run(database_url: &str, action: Action) -> anyhow::Result<()> {
    let conn = super::open(database_url).await?;
    match action {
        Action::Create {
            role,
            township,
            bank,
            label,
        } => {
            let role = Role::from(role);
            check_scope(role, township.is_some(), bank.is_some())?;
            let label = text::required("label", &label, 100)?;
            let township_id = match &township {
                Some(code) => Some(
                    db::places::township_by_code(&conn, code)
                        .await?
                        .with_context(|| format!("no township has the code {code}"))?
                        .id,
                ),
                None => None,
            };
            let (row, secret) =
                db::access::create(&conn, &label, role, township_id, bank.as_deref()).await?;
            eprintln!(
                "created token {} for {label:?}: {role}{}",
                row.id,
                scope(township.as_deref(), bank.as_deref())
            );
            eprintln!("the secret follows on stdout; it is not stored and cannot be shown again");
            println!("{secret}");
        }
        Action::Revoke { id } => {
            if db::access::revoke(&conn, id).await? {
                eprintln!("revoked token {id}");
            } else {
                anyhow::bail!(
                    "no live token has the number {id} (see `rural-registry token list`)"
                );
            }
        }
        Action::List => {
            let townships: HashMap<i64, String> = db::places::all_townships(&conn)
                .await?
                .into_iter()
                .map(|t| (t.id, t.code))
                .collect();
            println!(
                "{:>4}  {:<6} {:<14} {:<20} {:<20} {:<20} label",
                "id", "role", "scope", "created", "last used", "revoked"
            );
            for t in db::access::list(&conn).await? {
                let township = t
                    .township_id
                    .and_then(|id| townships.get(&id))
                    .map(String::as_str);
                let when = |d: Option<chrono::DateTime<chrono::Utc>>| {
                    d.map_or("-".to_owned(), |d| {
                        d.format("%Y-%m-%d %H:%M:%S").to_string()
                    })
                };
                println!(
                    "{:>4}  {:<6} {:<14} {:<20} {:<20} {:<20} {}",
                    t.id,
                    t.role,
                    township.or(t.bank_code.as_deref()).unwrap_or("district"),
                    when(Some(t.created_at)),
                    when(t.last_used_at),
                    when(t.revoked_at),
                    t.label
                );
            }
        }
    }
    Ok(())
}

/// How a token's reach reads after its role: " in township …", " for bank …", or nothing.
fn scope(township: Option<&str>, bank: Option<&str>) -> String {
    match (township, bank) {
        (Some(t), _) => format!(" in township {t}"),
        (_, Some(b)) => format!(" for bank {b}"),
        _ => String::new(),
    }
}
