//! The "three changes" (三变) and the collective shareholding reform: collective economic
//! organisations, their members, share classes, holdings and the changes that open and close
//! them, contributions turned into shares, and the yearly distributions with their payouts.
//!
//! Holdings are never edited: a change closes holdings and opens new ones, so the register's
//! history stays. Each organisation carries a `register_version` that every change of its
//! holdings bumps first, so that two changes of one register never interleave on PostgreSQL
//! (SQLite writes one transaction at a time anyway).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Record {
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Party {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Village {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IdleAsset {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Revitalization {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PropertyRight {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CollectiveOrganization {
    Table,
    Id,
    PartyId,
    VillageId,
    Kind,
    RegisteredOn,
    ReformCompletedOn,
    HoldingPolicy,
    AdjustEveryYears,
    ReserveBp,
    DividendSplit,
    RegisterVersion,
}

#[derive(DeriveIden)]
enum CollectiveMember {
    Table,
    Id,
    OrganizationId,
    PartyId,
    Basis,
    JoinedOn,
    LeftOn,
    Document,
    LeftReason,
}

#[derive(DeriveIden)]
enum ShareClass {
    Table,
    Id,
    OrganizationId,
    Kind,
    Name,
    IssuedHundredths,
    WeightBp,
}

#[derive(DeriveIden)]
enum ShareChange {
    Table,
    Id,
    OrganizationId,
    Kind,
    OccurredOn,
    Reason,
    Document,
    ContributorPartyId,
    RecordedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ShareHolding {
    Table,
    Id,
    OrganizationId,
    ClassId,
    HolderPartyId,
    SharesHundredths,
    CertificateNo,
    ValidFrom,
    ValidTo,
    OpenedBy,
    ClosedBy,
}

#[derive(DeriveIden)]
enum ShareContribution {
    Table,
    Id,
    OrganizationId,
    ContributorPartyId,
    Kind,
    AssetId,
    RevitalizationId,
    RightId,
    FundSource,
    Description,
    AppraisedValueFen,
    ContributedOn,
    ChangeId,
    ClassId,
    SharesHundredths,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Distribution {
    Table,
    Id,
    OrganizationId,
    Year,
    DeclaredOn,
    RecordDate,
    DistributableFen,
    ReserveBp,
    ReserveFen,
    HoldersFen,
    Split,
    Document,
}

#[derive(DeriveIden)]
enum DistributionClass {
    Table,
    DistributionId,
    ClassId,
    WeightBp,
    Fen,
}

#[derive(DeriveIden)]
enum Payout {
    Table,
    Id,
    DistributionId,
    HoldingId,
    HolderPartyId,
    ClassId,
    Fen,
    PaidOn,
    PaidMethod,
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

fn record_columns(t: &mut TableCreateStatement) {
    t.col(integer(Record::Version).default(1))
        .col(timestamp_with_time_zone(Record::CreatedAt))
        .col(timestamp_with_time_zone(Record::UpdatedAt));
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: Vec<DynIden>,
    unique: bool,
) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c);
    }
    if unique {
        i.unique();
    }
    manager.create_index(i.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use CollectiveOrganization as Org;
        let mut org = Table::create()
            .table(Org::Table)
            .col(big_pk_auto(Org::Id))
            .col(big_integer_uniq(Org::PartyId))
            .col(big_integer(Org::VillageId))
            .col(string_len(Org::Kind, 32))
            .col(date(Org::RegisteredOn))
            .col(date_null(Org::ReformCompletedOn))
            .col(string_len(Org::HoldingPolicy, 16).default("STATIC"))
            .col(integer_null(Org::AdjustEveryYears))
            .col(integer(Org::ReserveBp).default(0))
            .col(string_len(Org::DividendSplit, 16).default("PER_SHARE"))
            .col(integer(Org::RegisterVersion).default(0))
            .foreign_key(&mut fk(
                (Org::Table, Org::PartyId),
                (Party::Table, Party::Id),
            ))
            .foreign_key(&mut fk(
                (Org::Table, Org::VillageId),
                (Village::Table, Village::Id),
            ))
            .to_owned();
        record_columns(&mut org);
        manager.create_table(org).await?;
        index(
            manager,
            "idx_collective_organization_village",
            Org::Table,
            vec![Org::VillageId.into_iden()],
            false,
        )
        .await?;
        // A village has one collective economic organisation (村集体经济组织); cooperatives and
        // enterprises beside it are not limited. SeaQuery has no partial indexes; this reads the
        // same on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_collective_organization_village_collective \
                 ON collective_organization (village_id) \
                 WHERE kind IN ('STOCK_ECONOMIC_COOPERATIVE', 'ECONOMIC_COOPERATIVE')",
            )
            .await?;

        let mut member = Table::create()
            .table(CollectiveMember::Table)
            .col(big_pk_auto(CollectiveMember::Id))
            .col(big_integer(CollectiveMember::OrganizationId))
            .col(big_integer(CollectiveMember::PartyId))
            .col(string_len(CollectiveMember::Basis, 16))
            .col(date(CollectiveMember::JoinedOn))
            .col(date_null(CollectiveMember::LeftOn))
            .col(string_null(CollectiveMember::Document))
            .col(string_null(CollectiveMember::LeftReason))
            .foreign_key(&mut fk(
                (CollectiveMember::Table, CollectiveMember::OrganizationId),
                (Org::Table, Org::Id),
            ))
            .foreign_key(&mut fk(
                (CollectiveMember::Table, CollectiveMember::PartyId),
                (Party::Table, Party::Id),
            ))
            .to_owned();
        record_columns(&mut member);
        manager.create_table(member).await?;
        index(
            manager,
            "idx_collective_member_organization",
            CollectiveMember::Table,
            vec![
                CollectiveMember::OrganizationId.into_iden(),
                CollectiveMember::PartyId.into_iden(),
            ],
            false,
        )
        .await?;
        index(
            manager,
            "idx_collective_member_party",
            CollectiveMember::Table,
            vec![CollectiveMember::PartyId.into_iden()],
            false,
        )
        .await?;

        let mut class = Table::create()
            .table(ShareClass::Table)
            .col(big_pk_auto(ShareClass::Id))
            .col(big_integer(ShareClass::OrganizationId))
            .col(string_len(ShareClass::Kind, 16))
            .col(string_len(ShareClass::Name, 60))
            .col(big_integer(ShareClass::IssuedHundredths))
            .col(integer_null(ShareClass::WeightBp))
            .foreign_key(&mut fk(
                (ShareClass::Table, ShareClass::OrganizationId),
                (Org::Table, Org::Id),
            ))
            .to_owned();
        record_columns(&mut class);
        manager.create_table(class).await?;
        index(
            manager,
            "idx_share_class_organization_name",
            ShareClass::Table,
            vec![
                ShareClass::OrganizationId.into_iden(),
                ShareClass::Name.into_iden(),
            ],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ShareChange::Table)
                    .col(big_pk_auto(ShareChange::Id))
                    .col(big_integer(ShareChange::OrganizationId))
                    .col(string_len(ShareChange::Kind, 16))
                    .col(date(ShareChange::OccurredOn))
                    .col(string_null(ShareChange::Reason))
                    .col(string_null(ShareChange::Document))
                    .col(big_integer_null(ShareChange::ContributorPartyId))
                    .col(string(ShareChange::RecordedBy))
                    .col(timestamp_with_time_zone(ShareChange::CreatedAt))
                    .foreign_key(&mut fk(
                        (ShareChange::Table, ShareChange::OrganizationId),
                        (Org::Table, Org::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ShareChange::Table, ShareChange::ContributorPartyId),
                        (Party::Table, Party::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_share_change_organization",
            ShareChange::Table,
            vec![
                ShareChange::OrganizationId.into_iden(),
                ShareChange::Id.into_iden(),
            ],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ShareHolding::Table)
                    .col(big_pk_auto(ShareHolding::Id))
                    .col(big_integer(ShareHolding::OrganizationId))
                    .col(big_integer(ShareHolding::ClassId))
                    .col(big_integer_null(ShareHolding::HolderPartyId))
                    .col(big_integer(ShareHolding::SharesHundredths))
                    .col(string_len_null(ShareHolding::CertificateNo, 40))
                    .col(date(ShareHolding::ValidFrom))
                    .col(date_null(ShareHolding::ValidTo))
                    .col(big_integer(ShareHolding::OpenedBy))
                    .col(big_integer_null(ShareHolding::ClosedBy))
                    .foreign_key(&mut fk(
                        (ShareHolding::Table, ShareHolding::OrganizationId),
                        (Org::Table, Org::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ShareHolding::Table, ShareHolding::ClassId),
                        (ShareClass::Table, ShareClass::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ShareHolding::Table, ShareHolding::HolderPartyId),
                        (Party::Table, Party::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ShareHolding::Table, ShareHolding::OpenedBy),
                        (ShareChange::Table, ShareChange::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ShareHolding::Table, ShareHolding::ClosedBy),
                        (ShareChange::Table, ShareChange::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_share_holding_organization",
            ShareHolding::Table,
            vec![
                ShareHolding::OrganizationId.into_iden(),
                ShareHolding::Id.into_iden(),
            ],
            false,
        )
        .await?;
        index(
            manager,
            "idx_share_holding_holder",
            ShareHolding::Table,
            vec![ShareHolding::HolderPartyId.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ShareContribution::Table)
                    .col(big_pk_auto(ShareContribution::Id))
                    .col(big_integer(ShareContribution::OrganizationId))
                    .col(big_integer_null(ShareContribution::ContributorPartyId))
                    .col(string_len(ShareContribution::Kind, 16))
                    .col(big_integer_null(ShareContribution::AssetId))
                    .col(big_integer_null(ShareContribution::RevitalizationId))
                    .col(big_integer_null(ShareContribution::RightId))
                    .col(string_len_null(ShareContribution::FundSource, 16))
                    .col(string_null(ShareContribution::Description))
                    .col(big_integer(ShareContribution::AppraisedValueFen))
                    .col(date(ShareContribution::ContributedOn))
                    .col(big_integer(ShareContribution::ChangeId))
                    .col(big_integer(ShareContribution::ClassId))
                    .col(big_integer(ShareContribution::SharesHundredths))
                    .col(timestamp_with_time_zone(ShareContribution::CreatedAt))
                    .foreign_key(&mut fk(
                        (ShareContribution::Table, ShareContribution::OrganizationId),
                        (Org::Table, Org::Id),
                    ))
                    .foreign_key(&mut fk(
                        (
                            ShareContribution::Table,
                            ShareContribution::ContributorPartyId,
                        ),
                        (Party::Table, Party::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ShareContribution::Table, ShareContribution::AssetId),
                        (IdleAsset::Table, IdleAsset::Id),
                    ))
                    .foreign_key(&mut fk(
                        (
                            ShareContribution::Table,
                            ShareContribution::RevitalizationId,
                        ),
                        (Revitalization::Table, Revitalization::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ShareContribution::Table, ShareContribution::RightId),
                        (PropertyRight::Table, PropertyRight::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ShareContribution::Table, ShareContribution::ChangeId),
                        (ShareChange::Table, ShareChange::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ShareContribution::Table, ShareContribution::ClassId),
                        (ShareClass::Table, ShareClass::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_share_contribution_organization",
            ShareContribution::Table,
            vec![ShareContribution::OrganizationId.into_iden()],
            false,
        )
        .await?;
        // A revitalization by equity contribution is turned into shares once (NULLs are
        // distinct on both engines, so contributions of funds do not collide).
        index(
            manager,
            "idx_share_contribution_revitalization",
            ShareContribution::Table,
            vec![ShareContribution::RevitalizationId.into_iden()],
            true,
        )
        .await?;

        let mut distribution = Table::create()
            .table(Distribution::Table)
            .col(big_pk_auto(Distribution::Id))
            .col(big_integer(Distribution::OrganizationId))
            .col(integer(Distribution::Year))
            .col(date(Distribution::DeclaredOn))
            .col(date(Distribution::RecordDate))
            .col(big_integer(Distribution::DistributableFen))
            .col(integer(Distribution::ReserveBp))
            .col(big_integer(Distribution::ReserveFen))
            .col(big_integer(Distribution::HoldersFen))
            .col(string_len(Distribution::Split, 16))
            .col(string_null(Distribution::Document))
            .foreign_key(&mut fk(
                (Distribution::Table, Distribution::OrganizationId),
                (Org::Table, Org::Id),
            ))
            .to_owned();
        record_columns(&mut distribution);
        manager.create_table(distribution).await?;
        // One distribution per organisation and year: declaring a year twice is a conflict.
        index(
            manager,
            "idx_distribution_organization_year",
            Distribution::Table,
            vec![
                Distribution::OrganizationId.into_iden(),
                Distribution::Year.into_iden(),
            ],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(DistributionClass::Table)
                    .col(big_integer(DistributionClass::DistributionId))
                    .col(big_integer(DistributionClass::ClassId))
                    .col(integer_null(DistributionClass::WeightBp))
                    .col(big_integer(DistributionClass::Fen))
                    .primary_key(
                        Index::create()
                            .col(DistributionClass::DistributionId)
                            .col(DistributionClass::ClassId),
                    )
                    .foreign_key(&mut fk(
                        (DistributionClass::Table, DistributionClass::DistributionId),
                        (Distribution::Table, Distribution::Id),
                    ))
                    .foreign_key(&mut fk(
                        (DistributionClass::Table, DistributionClass::ClassId),
                        (ShareClass::Table, ShareClass::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        let mut payout = Table::create()
            .table(Payout::Table)
            .col(big_pk_auto(Payout::Id))
            .col(big_integer(Payout::DistributionId))
            .col(big_integer(Payout::HoldingId))
            .col(big_integer_null(Payout::HolderPartyId))
            .col(big_integer(Payout::ClassId))
            .col(big_integer(Payout::Fen))
            .col(date_null(Payout::PaidOn))
            .col(string_len_null(Payout::PaidMethod, 16))
            .foreign_key(&mut fk(
                (Payout::Table, Payout::DistributionId),
                (Distribution::Table, Distribution::Id),
            ))
            .foreign_key(&mut fk(
                (Payout::Table, Payout::HoldingId),
                (ShareHolding::Table, ShareHolding::Id),
            ))
            .foreign_key(&mut fk(
                (Payout::Table, Payout::HolderPartyId),
                (Party::Table, Party::Id),
            ))
            .foreign_key(&mut fk(
                (Payout::Table, Payout::ClassId),
                (ShareClass::Table, ShareClass::Id),
            ))
            .to_owned();
        record_columns(&mut payout);
        manager.create_table(payout).await?;
        index(
            manager,
            "idx_payout_distribution_holding",
            Payout::Table,
            vec![
                Payout::DistributionId.into_iden(),
                Payout::HoldingId.into_iden(),
            ],
            true,
        )
        .await?;
        index(
            manager,
            "idx_payout_holder",
            Payout::Table,
            vec![Payout::HolderPartyId.into_iden()],
            false,
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Payout::Table.into_iden(),
            DistributionClass::Table.into_iden(),
            Distribution::Table.into_iden(),
            ShareContribution::Table.into_iden(),
            ShareHolding::Table.into_iden(),
            ShareChange::Table.into_iden(),
            ShareClass::Table.into_iden(),
            CollectiveMember::Table.into_iden(),
            CollectiveOrganization::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
