//! Property rights and the credit built on them: rights with their holders and source documents,
//! banks and their loan products, appraisals, pre-credit lines, party-branch recommendations,
//! loan applications, mortgages and the loan's events, expropriation zones, and the district's
//! mortgage policy as versioned data.
//!
//! At most one ACTIVE mortgage per right and rank is a partial unique index, so that the
//! database refuses a second one whatever the code does.

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
enum IdleAsset {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Village {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PropertyRight {
    Table,
    Id,
    Code,
    Kind,
    AssetId,
    CertificateNo,
    CertificateKind,
    IssuedOn,
    ExpiresOn,
    Status,
    Disputed,
    Seized,
}

#[derive(DeriveIden)]
enum RightHolder {
    Table,
    RightId,
    PartyId,
    ShareBp,
}

#[derive(DeriveIden)]
enum SourceDocument {
    Table,
    Id,
    RightId,
    Kind,
    Number,
    Issuer,
    IssuedOn,
    PartyId,
}

#[derive(DeriveIden)]
enum Bank {
    Table,
    Id,
    Code,
    Name,
}

#[derive(DeriveIden)]
enum LoanProduct {
    Table,
    Id,
    BankId,
    Code,
    Name,
    RightKind,
    CreditModel,
    MaxLtvBp,
    MinTermMonths,
    MaxTermMonths,
    MinAmountFen,
    MaxAmountFen,
    MinRateBp,
    MaxRateBp,
    NeedsCollectiveConsent,
}

#[derive(DeriveIden)]
enum Appraisal {
    Table,
    Id,
    RightId,
    Method,
    Appraiser,
    ValueFen,
    ValuedOn,
    ValidUntil,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CreditLine {
    Table,
    Id,
    BankId,
    PartyId,
    RightId,
    AmountFen,
    GrantedOn,
    ExpiresOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Recommendation {
    Table,
    Id,
    PartyId,
    VillageId,
    Grade,
    Issuer,
    IssuedOn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LoanApplication {
    Table,
    Id,
    Code,
    BankId,
    ProductId,
    RightId,
    BorrowerId,
    RecommendationId,
    AmountFen,
    TermMonths,
    Rank,
    Status,
    Report,
    DecidedAt,
    SubmittedBy,
    DecidedBy,
}

#[derive(DeriveIden)]
enum Mortgage {
    Table,
    Id,
    ApplicationId,
    RightId,
    BankId,
    AmountFen,
    Rank,
    RegistrationNo,
    RegisteredOn,
    ReleasedOn,
    Status,
}

#[derive(DeriveIden)]
enum LoanEvent {
    Table,
    Id,
    ApplicationId,
    Kind,
    AmountFen,
    OccurredOn,
    Method,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ExpropriationZone {
    Table,
    Id,
    Code,
    Name,
    Boundary,
    MinLon,
    MinLat,
    MaxLon,
    MaxLat,
    AnnouncedOn,
    Authority,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PolicyVersion {
    Table,
    Id,
    Version,
    Body,
    CreatedAt,
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
        let mut right = Table::create()
            .table(PropertyRight::Table)
            .col(big_pk_auto(PropertyRight::Id))
            .col(string_len_uniq(PropertyRight::Code, 40))
            .col(string_len(PropertyRight::Kind, 32))
            .col(big_integer_null(PropertyRight::AssetId))
            .col(string_len_null(PropertyRight::CertificateNo, 64))
            .col(string_len_null(PropertyRight::CertificateKind, 64))
            .col(date_null(PropertyRight::IssuedOn))
            .col(date_null(PropertyRight::ExpiresOn))
            .col(string_len(PropertyRight::Status, 16))
            .col(boolean(PropertyRight::Disputed).default(false))
            .col(boolean(PropertyRight::Seized).default(false))
            .foreign_key(&mut fk(
                (PropertyRight::Table, PropertyRight::AssetId),
                (IdleAsset::Table, IdleAsset::Id),
            ))
            .to_owned();
        record_columns(&mut right);
        manager.create_table(right).await?;
        index(
            manager,
            "idx_property_right_asset",
            PropertyRight::Table,
            vec![PropertyRight::AssetId.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(RightHolder::Table)
                    .col(big_integer(RightHolder::RightId))
                    .col(big_integer(RightHolder::PartyId))
                    .col(integer(RightHolder::ShareBp))
                    .primary_key(
                        Index::create()
                            .col(RightHolder::RightId)
                            .col(RightHolder::PartyId),
                    )
                    .foreign_key(&mut fk(
                        (RightHolder::Table, RightHolder::RightId),
                        (PropertyRight::Table, PropertyRight::Id),
                    ))
                    .foreign_key(&mut fk(
                        (RightHolder::Table, RightHolder::PartyId),
                        (Party::Table, Party::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_right_holder_party",
            RightHolder::Table,
            vec![RightHolder::PartyId.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(SourceDocument::Table)
                    .col(big_pk_auto(SourceDocument::Id))
                    .col(big_integer(SourceDocument::RightId))
                    .col(string_len(SourceDocument::Kind, 32))
                    .col(string_len(SourceDocument::Number, 64))
                    .col(string(SourceDocument::Issuer))
                    .col(date(SourceDocument::IssuedOn))
                    .col(big_integer_null(SourceDocument::PartyId))
                    .foreign_key(&mut fk(
                        (SourceDocument::Table, SourceDocument::RightId),
                        (PropertyRight::Table, PropertyRight::Id),
                    ))
                    .foreign_key(&mut fk(
                        (SourceDocument::Table, SourceDocument::PartyId),
                        (Party::Table, Party::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_source_document_right",
            SourceDocument::Table,
            vec![SourceDocument::RightId.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Bank::Table)
                    .col(big_pk_auto(Bank::Id))
                    .col(string_len_uniq(Bank::Code, 32))
                    .col(string(Bank::Name))
                    .to_owned(),
            )
            .await?;

        let mut product = Table::create()
            .table(LoanProduct::Table)
            .col(big_pk_auto(LoanProduct::Id))
            .col(big_integer(LoanProduct::BankId))
            .col(string_len_uniq(LoanProduct::Code, 40))
            .col(string(LoanProduct::Name))
            .col(string_len(LoanProduct::RightKind, 32))
            .col(string_len(LoanProduct::CreditModel, 24))
            .col(integer(LoanProduct::MaxLtvBp))
            .col(integer(LoanProduct::MinTermMonths))
            .col(integer(LoanProduct::MaxTermMonths))
            .col(big_integer(LoanProduct::MinAmountFen))
            .col(big_integer(LoanProduct::MaxAmountFen))
            .col(integer(LoanProduct::MinRateBp))
            .col(integer(LoanProduct::MaxRateBp))
            .col(boolean(LoanProduct::NeedsCollectiveConsent).default(false))
            .foreign_key(&mut fk(
                (LoanProduct::Table, LoanProduct::BankId),
                (Bank::Table, Bank::Id),
            ))
            .to_owned();
        record_columns(&mut product);
        manager.create_table(product).await?;
        // "一权一品": one product per kind of right at each bank.
        index(
            manager,
            "idx_loan_product_bank_kind",
            LoanProduct::Table,
            vec![
                LoanProduct::BankId.into_iden(),
                LoanProduct::RightKind.into_iden(),
            ],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Appraisal::Table)
                    .col(big_pk_auto(Appraisal::Id))
                    .col(big_integer(Appraisal::RightId))
                    .col(string_len(Appraisal::Method, 24))
                    .col(string(Appraisal::Appraiser))
                    .col(big_integer(Appraisal::ValueFen))
                    .col(date(Appraisal::ValuedOn))
                    .col(date_null(Appraisal::ValidUntil))
                    .col(timestamp_with_time_zone(Appraisal::CreatedAt))
                    .foreign_key(&mut fk(
                        (Appraisal::Table, Appraisal::RightId),
                        (PropertyRight::Table, PropertyRight::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_appraisal_right",
            Appraisal::Table,
            vec![Appraisal::RightId.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(CreditLine::Table)
                    .col(big_pk_auto(CreditLine::Id))
                    .col(big_integer(CreditLine::BankId))
                    .col(big_integer(CreditLine::PartyId))
                    .col(big_integer(CreditLine::RightId))
                    .col(big_integer(CreditLine::AmountFen))
                    .col(date(CreditLine::GrantedOn))
                    .col(date(CreditLine::ExpiresOn))
                    .col(timestamp_with_time_zone(CreditLine::CreatedAt))
                    .foreign_key(&mut fk(
                        (CreditLine::Table, CreditLine::BankId),
                        (Bank::Table, Bank::Id),
                    ))
                    .foreign_key(&mut fk(
                        (CreditLine::Table, CreditLine::PartyId),
                        (Party::Table, Party::Id),
                    ))
                    .foreign_key(&mut fk(
                        (CreditLine::Table, CreditLine::RightId),
                        (PropertyRight::Table, PropertyRight::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Recommendation::Table)
                    .col(big_pk_auto(Recommendation::Id))
                    .col(big_integer(Recommendation::PartyId))
                    .col(big_integer(Recommendation::VillageId))
                    .col(string_len(Recommendation::Grade, 8))
                    .col(string(Recommendation::Issuer))
                    .col(date(Recommendation::IssuedOn))
                    .col(timestamp_with_time_zone(Recommendation::CreatedAt))
                    .foreign_key(&mut fk(
                        (Recommendation::Table, Recommendation::PartyId),
                        (Party::Table, Party::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Recommendation::Table, Recommendation::VillageId),
                        (Village::Table, Village::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        let mut application = Table::create()
            .table(LoanApplication::Table)
            .col(big_pk_auto(LoanApplication::Id))
            .col(string_len_uniq(LoanApplication::Code, 40))
            .col(big_integer(LoanApplication::BankId))
            .col(big_integer(LoanApplication::ProductId))
            .col(big_integer(LoanApplication::RightId))
            .col(big_integer(LoanApplication::BorrowerId))
            .col(big_integer_null(LoanApplication::RecommendationId))
            .col(big_integer(LoanApplication::AmountFen))
            .col(integer(LoanApplication::TermMonths))
            .col(integer(LoanApplication::Rank))
            .col(string_len(LoanApplication::Status, 16))
            .col(text_null(LoanApplication::Report))
            .col(timestamp_with_time_zone_null(LoanApplication::DecidedAt))
            .col(string(LoanApplication::SubmittedBy))
            .col(string_null(LoanApplication::DecidedBy))
            .foreign_key(&mut fk(
                (LoanApplication::Table, LoanApplication::BankId),
                (Bank::Table, Bank::Id),
            ))
            .foreign_key(&mut fk(
                (LoanApplication::Table, LoanApplication::ProductId),
                (LoanProduct::Table, LoanProduct::Id),
            ))
            .foreign_key(&mut fk(
                (LoanApplication::Table, LoanApplication::RightId),
                (PropertyRight::Table, PropertyRight::Id),
            ))
            .foreign_key(&mut fk(
                (LoanApplication::Table, LoanApplication::BorrowerId),
                (Party::Table, Party::Id),
            ))
            .foreign_key(&mut fk(
                (LoanApplication::Table, LoanApplication::RecommendationId),
                (Recommendation::Table, Recommendation::Id),
            ))
            .to_owned();
        record_columns(&mut application);
        manager.create_table(application).await?;
        index(
            manager,
            "idx_loan_application_bank",
            LoanApplication::Table,
            vec![
                LoanApplication::BankId.into_iden(),
                LoanApplication::Status.into_iden(),
            ],
            false,
        )
        .await?;
        index(
            manager,
            "idx_loan_application_right",
            LoanApplication::Table,
            vec![LoanApplication::RightId.into_iden()],
            false,
        )
        .await?;

        let mut mortgage = Table::create()
            .table(Mortgage::Table)
            .col(big_pk_auto(Mortgage::Id))
            .col(big_integer_uniq(Mortgage::ApplicationId))
            .col(big_integer(Mortgage::RightId))
            .col(big_integer(Mortgage::BankId))
            .col(big_integer(Mortgage::AmountFen))
            .col(integer(Mortgage::Rank))
            .col(string_len_uniq(Mortgage::RegistrationNo, 64))
            .col(date(Mortgage::RegisteredOn))
            .col(date_null(Mortgage::ReleasedOn))
            .col(string_len(Mortgage::Status, 16))
            .foreign_key(&mut fk(
                (Mortgage::Table, Mortgage::ApplicationId),
                (LoanApplication::Table, LoanApplication::Id),
            ))
            .foreign_key(&mut fk(
                (Mortgage::Table, Mortgage::RightId),
                (PropertyRight::Table, PropertyRight::Id),
            ))
            .foreign_key(&mut fk(
                (Mortgage::Table, Mortgage::BankId),
                (Bank::Table, Bank::Id),
            ))
            .to_owned();
        record_columns(&mut mortgage);
        manager.create_table(mortgage).await?;
        // SeaQuery has no partial indexes; this statement reads the same on SQLite and
        // PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_mortgage_active_rank ON mortgage (right_id, rank) \
                 WHERE status = 'ACTIVE'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoanEvent::Table)
                    .col(big_pk_auto(LoanEvent::Id))
                    .col(big_integer(LoanEvent::ApplicationId))
                    .col(string_len(LoanEvent::Kind, 24))
                    .col(big_integer_null(LoanEvent::AmountFen))
                    .col(date(LoanEvent::OccurredOn))
                    .col(string_len_null(LoanEvent::Method, 32))
                    .col(string_null(LoanEvent::Note))
                    .col(timestamp_with_time_zone(LoanEvent::CreatedAt))
                    .foreign_key(&mut fk(
                        (LoanEvent::Table, LoanEvent::ApplicationId),
                        (LoanApplication::Table, LoanApplication::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_loan_event_application",
            LoanEvent::Table,
            vec![LoanEvent::ApplicationId.into_iden()],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(ExpropriationZone::Table)
                    .col(big_pk_auto(ExpropriationZone::Id))
                    .col(string_len_uniq(ExpropriationZone::Code, 40))
                    .col(string(ExpropriationZone::Name))
                    .col(text(ExpropriationZone::Boundary))
                    .col(double(ExpropriationZone::MinLon))
                    .col(double(ExpropriationZone::MinLat))
                    .col(double(ExpropriationZone::MaxLon))
                    .col(double(ExpropriationZone::MaxLat))
                    .col(date(ExpropriationZone::AnnouncedOn))
                    .col(string(ExpropriationZone::Authority))
                    .col(timestamp_with_time_zone(ExpropriationZone::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PolicyVersion::Table)
                    .col(big_pk_auto(PolicyVersion::Id))
                    .col(string_len_uniq(PolicyVersion::Version, 40))
                    .col(text(PolicyVersion::Body))
                    .col(timestamp_with_time_zone(PolicyVersion::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PolicyVersion::Table.into_iden(),
            ExpropriationZone::Table.into_iden(),
            LoanEvent::Table.into_iden(),
            Mortgage::Table.into_iden(),
            LoanApplication::Table.into_iden(),
            Recommendation::Table.into_iden(),
            CreditLine::Table.into_iden(),
            Appraisal::Table.into_iden(),
            LoanProduct::Table.into_iden(),
            Bank::Table.into_iden(),
            SourceDocument::Table.into_iden(),
            RightHolder::Table.into_iden(),
            PropertyRight::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
