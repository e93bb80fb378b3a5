//! SQL written by hand: statements Diesel's DSL cannot express (CTEs that write several tables in
//! one round trip, per-request filter shapes), as text pieces and the values bound between them.
//!
//! A statement whose best plan does not depend on its values (a lookup by key, an insert) can be
//! marked [`Sql::prepared`]: Diesel then caches it by its text (made only of the pieces pushed here
//! and the placeholders Diesel numbers itself, so one shape is always one text), and each
//! connection parses and plans it once. Filtered listings and counts are not: PostgreSQL would
//! soon settle on one generic plan for all values, and the right plan for a tag rare in this
//! workspace is not the one for a tag on half its tasks.

use diesel::{
    QueryResult,
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    serialize::ToSql,
    sql_types::{HasSqlType, Untyped},
};

/// A value bound to a placeholder, with its SQL type.
trait Bound: Send + Sync {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

struct Typed<ST, V>(V, std::marker::PhantomData<fn() -> ST>);

impl<ST, V> Bound for Typed<ST, V>
where
    Pg: HasSqlType<ST>,
    V: ToSql<ST, Pg> + Send + Sync,
{
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, V>(&self.0)
    }
}

enum Piece {
    Text(String),
    Bind(Box<dyn Bound>),
}

/// SQL text and the values bound in it, in order.
#[derive(Default)]
pub(crate) struct Sql {
    pieces: Vec<Piece>,
    prepared: bool,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        let mut sql = Self::default();
        sql.push(text);
        sql
    }

    pub(crate) fn push(&mut self, text: &str) {
        match self.pieces.last_mut() {
            Some(Piece::Text(last)) => last.push_str(text),
            _ => self.pieces.push(Piece::Text(text.to_owned())),
        }
    }

    /// Appends the next placeholder and remembers its value.
    pub(crate) fn bind<ST, V>(&mut self, value: V)
    where
        ST: 'static,
        Pg: HasSqlType<ST>,
        V: ToSql<ST, Pg> + Send + Sync + 'static,
    {
        self.pieces.push(Piece::Bind(Box::new(Typed::<ST, V>(
            value,
            std::marker::PhantomData,
        ))));
    }

    /// Marks the statement as one whose plan does not depend on its values, to be prepared once
    /// per connection.
    pub(crate) fn prepared(mut self) -> Self {
        self.prepared = true;
        self
    }

    /// Appends another statement's text and values.
    pub(crate) fn append(&mut self, other: Sql) {
        for piece in other.pieces {
            match piece {
                Piece::Text(text) => self.push(&text),
                bind => self.pieces.push(bind),
            }
        }
    }

    /// `append`, for chaining.
    pub(crate) fn then(mut self, other: Sql) -> Self {
        self.append(other);
        self
    }

    /// `bind`, for chaining: `Sql::new("... = ").with::<Uuid, _>(id).text(" AND ...")`.
    pub(crate) fn with<ST, V>(mut self, value: V) -> Self
    where
        ST: 'static,
        Pg: HasSqlType<ST>,
        V: ToSql<ST, Pg> + Send + Sync + 'static,
    {
        self.bind::<ST, V>(value);
        self
    }

    /// `with`, bound as `(SELECT $n)` so that the planner cannot see the value. Meant for the
    /// arrays a prepared statement for many rows unnests: seen, their lengths make every custom
    /// plan look cheaper than the generic one (estimated at 10 elements), and PostgreSQL would
    /// then plan the statement afresh on every call instead of settling on its generic plan.
    pub(crate) fn with_opaque<ST, V>(self, value: V) -> Self
    where
        ST: 'static,
        Pg: HasSqlType<ST>,
        V: ToSql<ST, Pg> + Send + Sync + 'static,
    {
        self.text("(SELECT ").with::<ST, V>(value).text(")")
    }

    /// `push`, for chaining.
    pub(crate) fn text(mut self, text: &str) -> Self {
        self.push(text);
        self
    }
}

impl QueryFragment<Pg> for Sql {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if !self.prepared {
            out.unsafe_to_cache_prepared();
        }
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_sql(text),
                Piece::Bind(value) => value.push(&mut out)?,
            }
        }
        Ok(())
    }
}

impl QueryId for Sql {
    type QueryId = ();
    // The text decides: Diesel then keys its statement cache by the SQL.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Sql {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    use diesel::{debug_query, sql_types::BigInt};

    use super::*;

    #[test]
    fn placeholders_are_numbered_by_diesel_in_order() {
        let sql = Sql::new("SELECT ")
            .with::<BigInt, _>(1_i64)
            .text(" + ")
            .with::<BigInt, _>(2_i64);
        let shown = debug_query::<Pg, _>(&sql).to_string();
        assert!(shown.starts_with("SELECT $1 + $2"), "{shown}");
    }
}
