//! Reading rows as the domain's records (`domain::records`): each entity module keeps a row
//! struct that derives diesel's mapping from the schema, and [`read_as!`] lets the domain's
//! record stand wherever the row would (`as_select`, `as_returning`, `load`, `sql_query`),
//! converting each row as it is read. The domain's types so carry no diesel attribute, and no
//! query has to convert its results by hand.

/// `read_as!(Record, Row)`: `Record` is read from the database as `Row` is, then converted with
/// `From<Row>`.
macro_rules! read_as {
    ($record:ty, $row:ty) => {
        impl diesel::Selectable<diesel::pg::Pg> for $record {
            type SelectExpression = <$row as diesel::Selectable<diesel::pg::Pg>>::SelectExpression;

            fn construct_selection() -> Self::SelectExpression {
                <$row as diesel::Selectable<diesel::pg::Pg>>::construct_selection()
            }
        }

        impl<ST> diesel::Queryable<ST, diesel::pg::Pg> for $record
        where
            $row: diesel::Queryable<ST, diesel::pg::Pg>,
        {
            type Row = <$row as diesel::Queryable<ST, diesel::pg::Pg>>::Row;

            fn build(row: Self::Row) -> diesel::deserialize::Result<Self> {
                <$row as diesel::Queryable<ST, diesel::pg::Pg>>::build(row).map(Self::from)
            }
        }

        impl diesel::QueryableByName<diesel::pg::Pg> for $record {
            fn build<'a>(
                row: &impl diesel::row::NamedRow<'a, diesel::pg::Pg>,
            ) -> diesel::deserialize::Result<Self> {
                <$row as diesel::QueryableByName<diesel::pg::Pg>>::build(row).map(Self::from)
            }
        }
    };
}

pub(crate) use read_as;
