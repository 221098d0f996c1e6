//! The GraphQL side of the access policy: the caller of a request, and guards that ask
//! `domain::access` before a field resolves. The rules themselves live in the domain.

use async_graphql::{Context, Guard, Result};

use crate::domain::access::Caller;
use crate::error::AppError;

/// The caller of the request; a request without one (never over HTTP) is anonymous.
pub fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_opt::<Caller>().unwrap_or(&Caller::Anonymous)
}

/// Asks the policy for details beyond the public map: any signed-in caller.
pub struct Details(pub &'static str);

impl Guard for Details {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        caller(ctx)
            .may_read_details(self.0)
            .map_err(|d| AppError::from(d).into())
    }
}
