//! The registry core: townships, villages, parties, idle assets, their revitalization, the
//! demonstration sites with their indicators, and the audit trail.
//!
//! Geometry is GeoJSON text with bounding-box columns beside it (no spatial extension is needed
//! on either engine); point locations are plain longitude/latitude columns.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns every record table has: optimistic-locking version and timestamps.
#[derive(DeriveIden)]
enum Record {
    Version,
    CreatedAt,
    UpdatedAt,
}

/// Bounding-box columns beside a stored boundary, for cheap spatial pre-filtering.
#[derive(DeriveIden)]
enum Bbox {
    MinLon,
    MinLat,
    MaxLon,
    MaxLat,
}

#[derive(DeriveIden)]
enum Township {
    Table,
    Id,
    Code,
    Name,
    Boundary,
}

#[derive(DeriveIden)]
enum Village {
    Table,
    Id,
    TownshipId,
    Code,
    Name,
    Boundary,
    CenterLon,
    CenterLat,
}

#[derive(DeriveIden)]
enum Party {
    Table,
    Id,
    Kind,
    Name,
    HouseholdNo,
    CreditCode,
    IdNumber,
    Phone,
    VillageId,
}

#[derive(DeriveIden)]
enum IdleAsset {
    Table,
    Id,
    Code,
    Kind,
    Status,
    OwnerId,
    TownshipId,
    VillageId,
    Lon,
    Lat,
    Footprint,
    LandAreaM2,
    FloorAreaM2,
    Structure,
    YearBuilt,
    Condition,
    IdleSince,
    IdleCause,
    OwnerWillingness,
    Address,
}

#[derive(DeriveIden)]
enum Revitalization {
    Table,
    Id,
    AssetId,
    ContractNo,
    Mode,
    EndUse,
    CounterpartyId,
    StartDate,
    TermMonths,
    AnnualRentFen,
    InvestmentFen,
    CompensationFen,
    JobsCreated,
    CollectiveShareBp,
    OperatorShareBp,
    FarmerShareBp,
}

#[derive(DeriveIden)]
enum DemoSite {
    Table,
    Id,
    Code,
    Name,
    Level,
    DesignationYear,
    Theme,
    Description,
    OperatorId,
    TownshipId,
    VillageId,
    Lon,
    Lat,
}

#[derive(DeriveIden)]
enum DemoSiteAsset {
    Table,
    DemoSiteId,
    AssetId,
}

#[derive(DeriveIden)]
enum DemoIndicator {
    Table,
    Id,
    DemoSiteId,
    Year,
    Code,
    Value,
    Source,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    At,
    ActorLabel,
    ActorRole,
    Action,
    Entity,
    EntityId,
    Before,
    After,
    RequestId,
}

fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

fn bbox_columns(table: &mut TableCreateStatement, nullable: bool) {
    for col in [Bbox::MinLon, Bbox::MinLat, Bbox::MaxLon, Bbox::MaxLat] {
        table.col(if nullable {
            double_null(col)
        } else {
            double(col)
        });
    }
}

fn record_columns(table: &mut TableCreateStatement) {
    table
        .col(integer(Record::Version).default(1))
        .col(timestamp_with_time_zone(Record::CreatedAt))
        .col(timestamp_with_time_zone(Record::UpdatedAt));
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut township = Table::create()
            .table(Township::Table)
            .col(big_pk_auto(Township::Id))
            .col(string_len_uniq(Township::Code, 12))
            .col(string(Township::Name))
            .col(text(Township::Boundary))
            .to_owned();
        bbox_columns(&mut township, false);
        record_columns(&mut township);
        manager.create_table(township).await?;

        let mut village = Table::create()
            .table(Village::Table)
            .col(big_pk_auto(Village::Id))
            .col(big_integer(Village::TownshipId))
            .col(string_len_uniq(Village::Code, 12))
            .col(string(Village::Name))
            .col(text_null(Village::Boundary))
            .col(double(Village::CenterLon))
            .col(double(Village::CenterLat))
            .foreign_key(&mut fk(
                (Village::Table, Village::TownshipId),
                (Township::Table, Township::Id),
            ))
            .to_owned();
        bbox_columns(&mut village, true);
        record_columns(&mut village);
        manager.create_table(village).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_village_township")
                    .table(Village::Table)
                    .col(Village::TownshipId)
                    .to_owned(),
            )
            .await?;

        let mut party = Table::create()
            .table(Party::Table)
            .col(big_pk_auto(Party::Id))
            .col(string_len(Party::Kind, 24))
            .col(string(Party::Name))
            .col(string_len_null(Party::HouseholdNo, 32).unique_key())
            .col(string_len_null(Party::CreditCode, 18).unique_key())
            .col(string_len_null(Party::IdNumber, 18).unique_key())
            .col(string_len_null(Party::Phone, 20))
            .col(big_integer_null(Party::VillageId))
            .foreign_key(&mut fk(
                (Party::Table, Party::VillageId),
                (Village::Table, Village::Id),
            ))
            .to_owned();
        record_columns(&mut party);
        manager.create_table(party).await?;

        let mut asset = Table::create()
            .table(IdleAsset::Table)
            .col(big_pk_auto(IdleAsset::Id))
            .col(string_len_uniq(IdleAsset::Code, 40))
            .col(string_len(IdleAsset::Kind, 24))
            .col(string_len(IdleAsset::Status, 24))
            .col(big_integer(IdleAsset::OwnerId))
            .col(big_integer(IdleAsset::TownshipId))
            .col(big_integer_null(IdleAsset::VillageId))
            .col(double(IdleAsset::Lon))
            .col(double(IdleAsset::Lat))
            .col(text_null(IdleAsset::Footprint))
            .col(double_null(IdleAsset::LandAreaM2))
            .col(double_null(IdleAsset::FloorAreaM2))
            .col(string_len_null(IdleAsset::Structure, 24))
            .col(integer_null(IdleAsset::YearBuilt))
            .col(string_len_null(IdleAsset::Condition, 24))
            .col(date_null(IdleAsset::IdleSince))
            .col(string_len_null(IdleAsset::IdleCause, 24))
            .col(string_len_null(IdleAsset::OwnerWillingness, 24))
            .col(string_null(IdleAsset::Address))
            .foreign_key(&mut fk(
                (IdleAsset::Table, IdleAsset::OwnerId),
                (Party::Table, Party::Id),
            ))
            .foreign_key(&mut fk(
                (IdleAsset::Table, IdleAsset::TownshipId),
                (Township::Table, Township::Id),
            ))
            .foreign_key(&mut fk(
                (IdleAsset::Table, IdleAsset::VillageId),
                (Village::Table, Village::Id),
            ))
            .to_owned();
        record_columns(&mut asset);
        manager.create_table(asset).await?;
        // The indexes behind the township / village listings and their orderings.
        for (name, cols) in [
            (
                "idx_idle_asset_township_status",
                vec![IdleAsset::TownshipId, IdleAsset::Status],
            ),
            ("idx_idle_asset_village", vec![IdleAsset::VillageId]),
            ("idx_idle_asset_owner", vec![IdleAsset::OwnerId]),
            (
                "idx_idle_asset_idle_since",
                vec![IdleAsset::IdleSince, IdleAsset::Id],
            ),
            (
                "idx_idle_asset_floor_area",
                vec![IdleAsset::FloorAreaM2, IdleAsset::Id],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(IdleAsset::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        let mut revitalization = Table::create()
            .table(Revitalization::Table)
            .col(big_pk_auto(Revitalization::Id))
            .col(big_integer(Revitalization::AssetId))
            .col(string_len_null(Revitalization::ContractNo, 64).unique_key())
            .col(string_len(Revitalization::Mode, 32))
            .col(string_null(Revitalization::EndUse))
            .col(big_integer_null(Revitalization::CounterpartyId))
            .col(date(Revitalization::StartDate))
            .col(integer_null(Revitalization::TermMonths))
            .col(big_integer_null(Revitalization::AnnualRentFen))
            .col(big_integer_null(Revitalization::InvestmentFen))
            .col(big_integer_null(Revitalization::CompensationFen))
            .col(integer_null(Revitalization::JobsCreated))
            .col(integer_null(Revitalization::CollectiveShareBp))
            .col(integer_null(Revitalization::OperatorShareBp))
            .col(integer_null(Revitalization::FarmerShareBp))
            .foreign_key(&mut fk(
                (Revitalization::Table, Revitalization::AssetId),
                (IdleAsset::Table, IdleAsset::Id),
            ))
            .foreign_key(&mut fk(
                (Revitalization::Table, Revitalization::CounterpartyId),
                (Party::Table, Party::Id),
            ))
            .to_owned();
        record_columns(&mut revitalization);
        manager.create_table(revitalization).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_revitalization_asset")
                    .table(Revitalization::Table)
                    .col(Revitalization::AssetId)
                    .to_owned(),
            )
            .await?;

        let mut demo_site = Table::create()
            .table(DemoSite::Table)
            .col(big_pk_auto(DemoSite::Id))
            .col(string_len_uniq(DemoSite::Code, 32))
            .col(string(DemoSite::Name))
            .col(string_len(DemoSite::Level, 16))
            .col(integer(DemoSite::DesignationYear))
            .col(string_null(DemoSite::Theme))
            .col(text_null(DemoSite::Description))
            .col(big_integer_null(DemoSite::OperatorId))
            .col(big_integer(DemoSite::TownshipId))
            .col(big_integer_null(DemoSite::VillageId))
            .col(double(DemoSite::Lon))
            .col(double(DemoSite::Lat))
            .foreign_key(&mut fk(
                (DemoSite::Table, DemoSite::OperatorId),
                (Party::Table, Party::Id),
            ))
            .foreign_key(&mut fk(
                (DemoSite::Table, DemoSite::TownshipId),
                (Township::Table, Township::Id),
            ))
            .foreign_key(&mut fk(
                (DemoSite::Table, DemoSite::VillageId),
                (Village::Table, Village::Id),
            ))
            .to_owned();
        record_columns(&mut demo_site);
        manager.create_table(demo_site).await?;

        manager
            .create_table(
                Table::create()
                    .table(DemoSiteAsset::Table)
                    .col(big_integer(DemoSiteAsset::DemoSiteId))
                    .col(big_integer(DemoSiteAsset::AssetId))
                    .primary_key(
                        Index::create()
                            .col(DemoSiteAsset::DemoSiteId)
                            .col(DemoSiteAsset::AssetId),
                    )
                    .foreign_key(&mut fk(
                        (DemoSiteAsset::Table, DemoSiteAsset::DemoSiteId),
                        (DemoSite::Table, DemoSite::Id),
                    ))
                    .foreign_key(&mut fk(
                        (DemoSiteAsset::Table, DemoSiteAsset::AssetId),
                        (IdleAsset::Table, IdleAsset::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DemoIndicator::Table)
                    .col(big_pk_auto(DemoIndicator::Id))
                    .col(big_integer(DemoIndicator::DemoSiteId))
                    .col(integer(DemoIndicator::Year))
                    .col(string_len(DemoIndicator::Code, 48))
                    .col(big_integer(DemoIndicator::Value))
                    .col(string_null(DemoIndicator::Source))
                    .foreign_key(&mut fk(
                        (DemoIndicator::Table, DemoIndicator::DemoSiteId),
                        (DemoSite::Table, DemoSite::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_demo_indicator_site_year_code")
                    .table(DemoIndicator::Table)
                    .col(DemoIndicator::DemoSiteId)
                    .col(DemoIndicator::Year)
                    .col(DemoIndicator::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .col(big_pk_auto(AuditEvent::Id))
                    .col(timestamp_with_time_zone(AuditEvent::At))
                    .col(string(AuditEvent::ActorLabel))
                    .col(string_len(AuditEvent::ActorRole, 16))
                    .col(string_len(AuditEvent::Action, 48))
                    .col(string_len(AuditEvent::Entity, 32))
                    .col(big_integer_null(AuditEvent::EntityId))
                    .col(text_null(AuditEvent::Before))
                    .col(text_null(AuditEvent::After))
                    .col(string_len_null(AuditEvent::RequestId, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_entity")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::Entity)
                    .col(AuditEvent::EntityId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvent::Table.into_iden(),
            DemoIndicator::Table.into_iden(),
            DemoSiteAsset::Table.into_iden(),
            DemoSite::Table.into_iden(),
            Revitalization::Table.into_iden(),
            IdleAsset::Table.into_iden(),
            Party::Table.into_iden(),
            Village::Table.into_iden(),
            Township::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
