//! Import jobs (导入任务): the rows `services::import::jobs` keeps of the files it imports in
//! the background. Every statement here is its own short write, outside the import's
//! transaction: a job's row tells the other instances what the import is doing while the
//! import's own writes are not yet visible.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::StoreResult;
use super::entities::import_job::{self, Column, Entity};

/// A job about to be queued.
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub file_name: &'a str,
    /// The import's options, as JSON.
    pub options: String,
    pub token_id: i64,
    pub township_id: Option<i64>,
}

/// Queues a job: `QUEUED`, with its heartbeat at `now`.
pub async fn create(
    conn: &impl ConnectionTrait,
    job: NewJob<'_>,
    now: DateTime<Utc>,
) -> StoreResult<import_job::Model> {
    Ok(import_job::ActiveModel {
        kind: Set(job.kind.to_owned()),
        file_name: Set(job.file_name.to_owned()),
        status: Set("QUEUED".to_owned()),
        options: Set(job.options),
        token_id: Set(job.token_id),
        township_id: Set(job.township_id),
        rows_done: Set(0),
        rows_total: Set(0),
        created_at: Set(now),
        heartbeat_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// Marks a job `RUNNING`.
pub async fn start(conn: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::val("RUNNING"))
        .col_expr(Column::StartedAt, Expr::val(now))
        .col_expr(Column::HeartbeatAt, Expr::val(now))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// A running or queued job's progress: its rows done and expected.
#[derive(Debug, Clone, Copy)]
pub struct Beat {
    pub id: i64,
    pub rows_done: i64,
    pub rows_total: i64,
}

/// Records that the jobs of `beats` are alive at `now`, with their progress.
pub async fn heartbeat(
    conn: &impl ConnectionTrait,
    beats: &[Beat],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for beat in beats {
        Entity::update_many()
            .col_expr(Column::RowsDone, Expr::val(beat.rows_done))
            .col_expr(Column::RowsTotal, Expr::val(beat.rows_total))
            .col_expr(Column::HeartbeatAt, Expr::val(now))
            .filter(Column::Id.eq(beat.id))
            .filter(Column::Status.is_in(["QUEUED", "RUNNING"]))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// How a job ended.
pub struct Ended<'a> {
    /// `WRITTEN`, `REFUSED` or `FAILED`.
    pub status: &'a str,
    pub rows_done: i64,
    pub report: Option<String>,
    pub error: Option<String>,
}

/// Records a job's end. A job that has ended already keeps its first end.
pub async fn finish(
    conn: &impl ConnectionTrait,
    id: i64,
    ended: Ended<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::val(ended.status))
        .col_expr(Column::RowsDone, Expr::val(ended.rows_done))
        .col_expr(Column::RowsTotal, Expr::val(ended.rows_done))
        .col_expr(Column::Report, Expr::val(ended.report))
        .col_expr(Column::Error, Expr::val(ended.error))
        .col_expr(Column::FinishedAt, Expr::val(now))
        .col_expr(Column::HeartbeatAt, Expr::val(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.is_in(["QUEUED", "RUNNING"]))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &impl ConnectionTrait, id: i64) -> StoreResult<Option<import_job::Model>> {
    Ok(Entity::find_by_id(id).one(conn).await?)
}

/// The newest jobs, at most `limit`: of one token, or of all.
pub async fn newest(
    conn: &impl ConnectionTrait,
    token_id: Option<i64>,
    limit: u64,
) -> StoreResult<Vec<import_job::Model>> {
    let mut query = Entity::find().order_by_desc(Column::Id).limit(limit);
    if let Some(token) = token_id {
        query = query.filter(Column::TokenId.eq(token));
    }
    Ok(query.all(conn).await?)
}

/// Deletes the jobs last heard of before `before` (ended, or dead with their instance), with
/// their reports.
pub async fn prune(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> StoreResult<u64> {
    let done = Entity::delete_many()
        .filter(Column::HeartbeatAt.lt(before))
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}
