//! SQL assembled per request, for queries whose shape depends on which filters a caller sets:
//! the text with numbered parameters (`$1`, `$2`, ...) and the values bound to them, in order.

use diesel::{
    pg::Pg,
    query_builder::{BoxedSqlQuery, SqlQuery},
};

type Binder = Box<
    dyn FnOnce(BoxedSqlQuery<'static, Pg, SqlQuery>) -> BoxedSqlQuery<'static, Pg, SqlQuery> + Send,
>;

/// SQL text with numbered parameters, and the values to bind to them in order.
#[derive(Default)]
pub(crate) struct Sql {
    text: String,
    binds: Vec<Binder>,
}

impl Sql {
    pub(crate) fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Appends the next parameter (`$n`) and remembers its value.
    pub(crate) fn bind<ST, V>(&mut self, value: V)
    where
        ST: Send + 'static,
        Pg: diesel::sql_types::HasSqlType<ST>,
        V: diesel::serialize::ToSql<ST, Pg> + Send + 'static,
    {
        self.binds
            .push(Box::new(move |query| query.bind::<ST, V>(value)));
        self.text.push_str(&format!("${}", self.binds.len()));
    }

    pub(crate) fn build(self) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut query = diesel::sql_query(self.text).into_boxed::<Pg>();
        for bind in self.binds {
            query = bind(query);
        }
        query
    }
}
