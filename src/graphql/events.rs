//! Live events (订阅) over WebSocket: `assetEvents` and `mortgageEvents`, read from the event
//! log through the process's hub (`services::events`), so a subscriber on any instance hears
//! every change committed on any instance, or by the command line, in one order. Each event has
//! an id; a subscriber that comes back passes the last id it saw as `after` and hears what it
//! missed, nothing twice.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::db;
use crate::db::events::{Event, Position};
use crate::domain::access::{Caller, Denied, Role};
use crate::domain::assets::{AssetKind, AssetStatus};
use crate::domain::datum::Crs;
use crate::domain::geometry::Location;
use crate::domain::loans::{LoanStatus, MortgageStatus};
use crate::error::AppError;
use crate::graphql::common::context::{Details, caller, db_conn, stored};
use crate::graphql::common::geo;
use crate::graphql::common::ids::{Kind, decode_as};
use crate::graphql::common::scalars::GeoJson;
use crate::services::events::EventHub;

/// Live events (订阅), over WebSocket at `/graphql/ws`.
#[derive(Default)]
pub struct Subscription;

/// Where a subscription starts: after the event `after`, or from now on.
async fn start(ctx: &Context<'_>, after: Option<ID>) -> Result<Option<Position>> {
    let Some(id) = after else {
        return Ok(None);
    };
    let seq: i64 = id
        .parse()
        .map_err(|_| AppError::bad_input(format!("`after` is an event id, not {:?}", id.0)))?;
    match db::events::position_of(db_conn(ctx)?, seq).await? {
        Some(position) => Ok(Some(position)),
        None => Err(AppError::not_found(format!(
            "no event {seq} in the log: subscribe without `after` to hear events from now on"
        ))
        .into()),
    }
}

fn hub<'a>(ctx: &Context<'a>) -> Result<&'a EventHub> {
    ctx.data::<EventHub>()
}

/// Live events (订阅), over WebSocket at `/graphql/ws` (graphql-transport-ws), the token in
/// the `connection_init` payload as `{"Authorization": "Bearer …"}`. Every event has an `id`:
/// pass the last one seen as `after` to resume after a break without missing or repeating one.
#[Subscription]
impl Subscription {
    /// Changes to idle assets (闲置资产动态) as they commit, from every server instance and
    /// import: registered, changed, status changed, moved (a new location, or a boundary
    /// change that moved it to another village or township), removed. A CADRE hears its own
    /// township's; anyone else the whole district's, narrowed by `township`. Without a token,
    /// the public fields only: the location on the 500 m grid, no code.
    async fn asset_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Resume after this event id (事件编号).")] after: Option<ID>,
        #[graphql(desc = "Only this township's assets (乡镇).")] township: Option<ID>,
    ) -> Result<impl Stream<Item = AssetEvent> + use<>> {
        let mut scope = township
            .map(|id| decode_as(&id, Kind::Township))
            .transpose()?;
        if let Caller::Signed(actor) = caller(ctx)
            && actor.role == Role::Cadre
        {
            let own = actor.township_id;
            if scope.is_some() && scope != own {
                return Err(AppError::from(Denied::Forbidden(
                    "a cadre hears the events of its own township only".into(),
                ))
                .into());
            }
            scope = own.or(Some(-1));
        }
        let from = start(ctx, after).await?;
        Ok(hub(ctx)?.follow(from).filter_map(move |event| {
            let hear = event.entity == "asset"
                && scope.is_none_or(|t| {
                    event.township_id == Some(t) || event.previous_township_id == Some(t)
                });
            async move { hear.then_some(AssetEvent(event)) }
        }))
    }

    /// Status changes of loan applications and mortgages (贷款与抵押动态), as they commit,
    /// from every server instance: a bank token gets its own bank's, ADMIN every bank's.
    async fn mortgage_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Resume after this event id (事件编号).")] after: Option<ID>,
    ) -> Result<impl Stream<Item = MortgageEvent> + use<>> {
        let actor = caller(ctx)
            .actor("loan and mortgage events")
            .map_err(AppError::from)?;
        let bank = match (&actor.role, actor.bank_code.as_deref()) {
            (Role::Admin, _) => None,
            (Role::Bank, Some(code)) => Some(
                db::credit::bank_ids(db_conn(ctx)?)
                    .await?
                    .get(code)
                    .copied()
                    .unwrap_or(-1),
            ),
            _ => {
                return Err(AppError::from(Denied::Forbidden(
                    "loan events are for the banks and the district office".into(),
                ))
                .into());
            }
        };
        let from = start(ctx, after).await?;
        Ok(hub(ctx)?.follow(from).filter_map(move |event| {
            let hear =
                event.entity == "loan_application" && bank.is_none_or(|b| event.bank_id == Some(b));
            async move { hear.then(|| MortgageEvent::of(&event)).flatten() }
        }))
    }
}

/// What happened to an idle asset (动态类型).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AssetEventAction {
    /// Registered (登记).
    Registered,
    /// Edited: its details (信息变更).
    Changed,
    /// Its status moved (状态变更).
    StatusChanged,
    /// Its location, village or township changed (位置变更).
    Moved,
    /// Taken out of the registry (删除).
    Removed,
}

impl AssetEventAction {
    fn parse(stored: &str) -> Option<Self> {
        Some(match stored {
            "REGISTERED" => Self::Registered,
            "CHANGED" => Self::Changed,
            "STATUS_CHANGED" => Self::StatusChanged,
            "MOVED" => Self::Moved,
            "REMOVED" => Self::Removed,
            _ => return None,
        })
    }
}

/// A change to an idle asset (闲置资产动态), as it was when committed.
pub struct AssetEvent(Arc<Event>);

impl AssetEvent {
    fn text(&self, field: &str) -> Option<&str> {
        self.0.data[field].as_str()
    }

    fn visible_location(&self, ctx: &Context<'_>) -> Result<Location> {
        let lon = self.0.data["lon"].as_f64().unwrap_or(f64::NAN);
        let lat = self.0.data["lat"].as_f64().unwrap_or(f64::NAN);
        let exact = Location::parse(lon, lat).map_err(AppError::internal)?;
        Ok(caller(ctx).visible_location(exact))
    }
}

/// A change to an idle asset (闲置资产动态), as it was when committed.
#[Object]
impl AssetEvent {
    /// The event's id (事件编号): pass it as `after` to resume after it.
    async fn id(&self) -> ID {
        ID(self.0.position.seq.to_string())
    }

    /// What happened (动态类型).
    async fn action(&self) -> Result<AssetEventAction> {
        AssetEventAction::parse(&self.0.action).ok_or_else(|| {
            AppError::internal(format!("unknown asset event {}", self.0.action)).into()
        })
    }

    /// The asset (闲置资产).
    async fn asset_id(&self) -> ID {
        Kind::IdleAsset.id(self.0.entity_id)
    }

    /// Survey code (资产编号).
    #[graphql(guard = "Details(\"an asset's details\")")]
    async fn code(&self) -> &str {
        self.text("code").unwrap_or_default()
    }

    /// Idle farmhouse or idle homestead (类型).
    async fn kind(&self) -> Result<AssetKind> {
        stored(AssetKind::parse(self.text("kind").unwrap_or_default()))
    }

    /// Its status after the change (状态).
    async fn status(&self) -> Result<AssetStatus> {
        stored(AssetStatus::parse(self.text("status").unwrap_or_default()))
    }

    /// Its status before the change, on edits (原状态).
    async fn previous_status(&self) -> Result<Option<AssetStatus>> {
        self.text("previousStatus")
            .map(|s| stored(AssetStatus::parse(s)))
            .transpose()
    }

    /// The township it is in after the change (乡镇).
    async fn township_id(&self) -> ID {
        Kind::Township.id(self.0.township_id.unwrap_or_default())
    }

    /// The township it was in before, when a move took it across (原乡镇).
    async fn previous_township_id(&self) -> Option<ID> {
        self.0
            .previous_township_id
            .filter(|&id| Some(id) != self.0.township_id)
            .map(|id| Kind::Township.id(id))
    }

    /// The village it is in after the change, if any (行政村).
    async fn village_id(&self) -> Option<ID> {
        self.0.data["villageId"]
            .as_i64()
            .map(|id| Kind::Village.id(id))
    }

    /// Location (位置) as a GeoJSON Point; on the 500 m public grid without a token.
    async fn location(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default,
            desc = "Datum of the coordinates returned (坐标系); WGS84 unless asked."
        )]
        crs: Crs,
    ) -> Result<GeoJson> {
        Ok(geo::point_in(self.visible_location(ctx)?, crs))
    }

    /// When it was written (时间).
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// A loan or mortgage status change (贷款/抵押状态变化).
#[derive(async_graphql::SimpleObject, Clone)]
pub struct MortgageEvent {
    /// The event's id (事件编号): pass it as `after` to resume after it.
    pub id: ID,
    /// The loan application (贷款申请).
    pub application_id: ID,
    /// What was done (操作): `submit`, `approve`, `reject`, `register_mortgage`, or the loan
    /// event recorded: `DISBURSEMENT`, `REPAYMENT`, `RELEASE`, `DEFAULT`, `DISPOSAL`.
    pub action: String,
    /// The application's status after it (贷款状态).
    pub status: LoanStatus,
    /// The mortgage's status after it, when it changed (抵押状态).
    pub mortgage_status: Option<MortgageStatus>,
    /// When it was committed (时间).
    pub at: DateTime<Utc>,
}

impl MortgageEvent {
    /// The event as subscribers see it; None for a row this version cannot read.
    fn of(event: &Event) -> Option<Self> {
        let status = LoanStatus::parse(event.data["status"].as_str()?).ok()?;
        let mortgage_status = event.data["mortgageStatus"]
            .as_str()
            .and_then(|s| MortgageStatus::parse(s).ok());
        Some(Self {
            id: ID(event.position.seq.to_string()),
            application_id: Kind::LoanApplication.id(event.entity_id),
            action: event.action.clone(),
            status,
            mortgage_status,
            at: event.at,
        })
    }
}
