//! The change feed (变更流): every change to the records a partner or an office copy follows,
//! in one order, read from the event log (`db::events`) by cursor. A reader that pages through
//! it never skips a change committed after it read: on PostgreSQL, where sequence numbers are
//! not handed out in commit order, a page holds only changes below every transaction still
//! running (see `db::events`), so a change that commits later sorts after the page's end.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db;
use crate::db::events::{Event, Position};
use crate::error::{AppError, ErrorCode};
use crate::graphql::common::context::{caller, db_conn};
use crate::graphql::common::ids::Kind;
use crate::graphql::node::{Node, load_node};

/// The largest page of changes.
pub const MAX_CHANGES: i32 = 1_000;

/// What changed: the kinds of record the feed follows (变更对象).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChangeEntity {
    /// Townships (乡镇).
    Township,
    /// Villages (村).
    Village,
    /// Parties (权利人).
    Party,
    /// Idle assets (闲置资产).
    IdleAsset,
    /// Revitalization records (盘活利用).
    Revitalization,
    /// Demonstration sites (示范点).
    DemoSite,
    /// Property rights (产权).
    PropertyRight,
    /// Collective economic organisations (农村集体经济组织).
    Organization,
    /// Share classes of the organisations (股种).
    ShareClass,
    /// Members of collective economic organisations (集体经济组织成员).
    Member,
    /// Share holdings (股权).
    ShareHolding,
    /// Targets (目标任务).
    Target,
}

impl ChangeEntity {
    const ALL: [ChangeEntity; 12] = [
        ChangeEntity::Township,
        ChangeEntity::Village,
        ChangeEntity::Party,
        ChangeEntity::IdleAsset,
        ChangeEntity::Revitalization,
        ChangeEntity::DemoSite,
        ChangeEntity::PropertyRight,
        ChangeEntity::Organization,
        ChangeEntity::ShareClass,
        ChangeEntity::Member,
        ChangeEntity::ShareHolding,
        ChangeEntity::Target,
    ];

    /// The entity's name in the event log.
    fn logged(self) -> &'static str {
        match self {
            Self::Township => "township",
            Self::Village => "village",
            Self::Party => "party",
            Self::IdleAsset => "asset",
            Self::Revitalization => "revitalization",
            Self::DemoSite => "demo_site",
            Self::PropertyRight => "property_right",
            Self::Organization => "organization",
            Self::ShareClass => "share_class",
            Self::Member => "member",
            Self::ShareHolding => "holding",
            Self::Target => "target",
        }
    }

    fn of_logged(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.logged() == name)
    }

    fn kind(self) -> Kind {
        match self {
            Self::Township => Kind::Township,
            Self::Village => Kind::Village,
            Self::Party => Kind::Party,
            Self::IdleAsset => Kind::IdleAsset,
            Self::Revitalization => Kind::Revitalization,
            Self::DemoSite => Kind::DemoSite,
            Self::PropertyRight => Kind::PropertyRight,
            Self::Organization => Kind::CollectiveOrganization,
            Self::ShareClass => Kind::ShareClass,
            Self::Member => Kind::Member,
            Self::ShareHolding => Kind::ShareHolding,
            Self::Target => Kind::Target,
        }
    }
}

/// How a record changed (变更类型).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChangeKind {
    /// Created (新增).
    Created,
    /// Changed: any field, its status or its place (修改).
    Updated,
    /// Deleted (删除): the entry is a tombstone.
    Deleted,
}

impl ChangeKind {
    /// The kind of a logged action: assets log theirs in detail.
    fn of_action(action: &str) -> Self {
        match action {
            "CREATED" | "REGISTERED" => Self::Created,
            "DELETED" | "REMOVED" => Self::Deleted,
            _ => Self::Updated,
        }
    }
}

fn decode(cursor: &str) -> Result<Position, AppError> {
    Position::from_cursor(cursor).ok_or_else(|| {
        AppError::bad_input(format!(
            "{cursor:?} is not a cursor of the change feed: pass an `endCursor` or a `cursor` \
             it gave, or nothing to start from the oldest change kept"
        ))
    })
}

/// One change (变更): what changed and how, and the record as it is now.
pub struct Change(Event, ChangeEntity);

/// One change (变更): what changed and how, and the record as it is now.
#[Object]
impl Change {
    /// Where the change stands in the feed: pass it as `after` to read on from it (游标).
    async fn cursor(&self) -> String {
        self.0.position.to_cursor()
    }

    /// What kind of record changed (变更对象).
    async fn entity(&self) -> ChangeEntity {
        self.1
    }

    /// The record's global ID, as `node(id:)` takes it (记录编号).
    async fn id(&self) -> ID {
        self.1.kind().id(self.0.entity_id)
    }

    /// Created, updated or deleted (变更类型).
    async fn kind(&self) -> ChangeKind {
        ChangeKind::of_action(&self.0.action)
    }

    /// The record's version after the change, for records that carry one (版本).
    async fn version(&self) -> Option<i64> {
        self.0.data.get("version").and_then(|v| v.as_i64())
    }

    /// When it was written (变更时间).
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// The record as it is now, as the caller may see it; null for a record deleted since
    /// (a tombstone) (当前记录).
    async fn node(&self, ctx: &Context<'_>) -> Result<Option<Node>> {
        if ChangeKind::of_action(&self.0.action) == ChangeKind::Deleted {
            return Ok(None);
        }
        load_node(ctx, self.1.kind(), self.0.entity_id).await
    }
}

/// A page of the change feed (变更页).
#[derive(SimpleObject)]
pub struct ChangePage {
    /// The changes, oldest first (变更).
    pub changes: Vec<Change>,
    /// Pass as `after` for the next page; the same cursor when there was nothing new (续读游标).
    pub end_cursor: String,
    /// Whether more changes are ready now (还有更多).
    pub has_more: bool,
}

#[derive(Default)]
pub struct ChangesQuery;

#[Object]
impl ChangesQuery {
    /// Changes since a cursor (变更流), oldest first, up to `first` (at most 1,000) a page: each
    /// record created, updated or deleted through any path (the API, every row of an import,
    /// records a boundary change moved), with the record as it is now. Start with no `after`
    /// (the oldest change kept), or from `changeCursor` taken before a full download; then pass
    /// each page's `endCursor`. Changes are kept `CHANGE_RETENTION_DAYS`: an older cursor is
    /// CURSOR_EXPIRED. Needs a token.
    #[graphql(complexity = "first.clamp(1, MAX_CHANGES) as usize * child_complexity + 1")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Read on after this cursor (游标).")] after: Option<String>,
        #[graphql(desc = "Only these kinds of record; all when absent (变更对象).")]
        entities: Option<Vec<ChangeEntity>>,
        #[graphql(default = 100, desc = "Changes a page, 1 to 1,000 (每页条数).")] first: i32,
    ) -> Result<ChangePage> {
        caller(ctx)
            .may_read_details("the change feed")
            .map_err(AppError::from)?;
        if !(1..=MAX_CHANGES).contains(&first) {
            let message = format!("`first` is 1 to {MAX_CHANGES} changes a page, not {first}");
            return Err(if first > MAX_CHANGES {
                AppError::limit_exceeded(message)
            } else {
                AppError::bad_input(message)
            }
            .into());
        }
        let conn = db_conn(ctx)?;
        let from = after.as_deref().map(decode).transpose()?;
        let from = match from {
            Some(position) if db::events::expired(conn, position).await? => {
                return Err(AppError::new(
                    ErrorCode::CursorExpired,
                    "the cursor is older than the changes kept (CHANGE_RETENTION_DAYS): take a \
                     full copy again (the listings or /export), with `changeCursor` read before \
                     it, and read the feed on from that",
                )
                .into());
            }
            Some(position) => position,
            None => db::events::pruned(conn).await?,
        };
        let wanted = entities.unwrap_or_else(|| ChangeEntity::ALL.to_vec());
        let names: Vec<&str> = wanted.iter().map(|e| e.logged()).collect();
        let limit = u64::from(first.unsigned_abs()) + 1;
        let mut events = db::events::of_entities_after(conn, from, &names, limit).await?;
        let has_more = events.len() as u64 == limit;
        events.truncate(first.unsigned_abs() as usize);
        let end_cursor = events.last().map_or(from, |e| e.position).to_cursor();
        let changes = events
            .into_iter()
            .filter_map(|e| ChangeEntity::of_logged(&e.entity).map(|entity| Change(e, entity)))
            .collect();
        Ok(ChangePage {
            changes,
            end_cursor,
            has_more,
        })
    }

    /// The change feed's position now (变更游标): take a full copy after reading it, then read
    /// `changes(after:)` from it, and nothing is missed in between. Needs a token.
    async fn change_cursor(&self, ctx: &Context<'_>) -> Result<String> {
        caller(ctx)
            .may_read_details("the change feed")
            .map_err(AppError::from)?;
        let conn = db_conn(ctx)?;
        let end = db::events::end(conn).await?;
        Ok(end.max(db::events::pruned(conn).await?).to_cursor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn cursors_round_trip_and_anything_else_is_bad_input() {
        let p = Position { tx: 812, seq: 77 };
        assert_eq!(decode(&p.to_cursor()).ok(), Some(p));
        for bad in [
            "",
            "!!",
            "Y2hhbmdlOjE",
            &URL_SAFE_NO_PAD.encode("change:1:2:3"),
            &URL_SAFE_NO_PAD.encode("change:-1:2"),
            &URL_SAFE_NO_PAD.encode("other:1:2"),
        ] {
            assert_eq!(
                decode(bad).map_err(|e| e.code()),
                Err(ErrorCode::BadInput),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_entity_has_its_own_logged_name() {
        for e in ChangeEntity::ALL {
            assert_eq!(ChangeEntity::of_logged(e.logged()), Some(e));
        }
        assert_eq!(ChangeKind::of_action("REGISTERED"), ChangeKind::Created);
        assert_eq!(ChangeKind::of_action("MOVED"), ChangeKind::Updated);
        assert_eq!(ChangeKind::of_action("REMOVED"), ChangeKind::Deleted);
    }
}
