//! Statements kept whole, as readable `.sql` files beside the code that runs them (as quickwit
//! keeps `queries/shards/insert.sql`), rather than assembled from fragments in Rust.
//!
//! A statement file names its values (`:workspace_ids`), and the code binds each once, by name
//! ([`Binds`]). Blocks between `-- if NAME` and `-- end` lines are in the statement only when the
//! code turns NAME on: the few shapes a statement takes for the executor's sake (a table a batch
//! does not write is left out, since each table a statement names costs it the opening and
//! locking of the table and its indexes), each one text, so that each is prepared once per
//! connection (`Sql::prepared`). Other comment lines are left out of the text sent.
//!
//! Written here rather than taken from a crate: the SQL template crates found either need a
//! second database driver (sqlx's `query_file!`) or do not fit diesel's typed binds.

use diesel::{pg::Pg, serialize::ToSql, sql_types::HasSqlType};

use super::sql::Sql;

/// A parsed statement file.
pub(crate) struct Statement {
    name: &'static str,
    pieces: Vec<Piece>,
}

#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Value(String),
    If(String),
    End,
}

/// Values for a statement's names.
#[derive(Default)]
pub(crate) struct Binds {
    values: Vec<(&'static str, Sql)>,
}

impl Binds {
    /// Binds `value` (of SQL type `ST`) to `:name`.
    pub(crate) fn bind<ST, V>(mut self, name: &'static str, value: V) -> Self
    where
        ST: 'static,
        Pg: HasSqlType<ST>,
        V: ToSql<ST, Pg> + Send + Sync + 'static,
    {
        self.values.push((name, Sql::new("").with::<ST, V>(value)));
        self
    }

    /// These binds and `more`'s.
    pub(crate) fn and(mut self, more: Binds) -> Self {
        self.values.extend(more.values);
        self
    }
}

impl Statement {
    /// Parses `text`, the file `name` (for errors).
    pub(crate) fn parse(name: &'static str, text: &str) -> Self {
        let mut pieces = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(block) = trimmed.strip_prefix("-- if ") {
                pieces.push(Piece::If(block.trim().to_owned()));
            } else if trimmed == "-- end" {
                pieces.push(Piece::End);
            } else if !trimmed.is_empty() && !trimmed.starts_with("--") {
                values_and_text(trimmed, &mut pieces);
                pieces.push(Piece::Text(" ".to_owned()));
            }
        }
        Self { name, pieces }
    }

    /// The statement with the blocks `on` names, and `binds` in place of its names. A name the
    /// statement uses that `binds` lacks, or uses twice, is an error; values of blocks left out
    /// are dropped.
    pub(crate) fn fill(&self, on: &[&str], mut binds: Binds) -> diesel::QueryResult<Sql> {
        let mut sql = Sql::default();
        let mut skipping = 0_usize;
        let mut open = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::If(block) => {
                    let included = skipping == 0 && on.contains(&block.as_str());
                    open.push(included);
                    if !included {
                        skipping += 1;
                    }
                }
                Piece::End => {
                    if open.pop() == Some(false) {
                        skipping -= 1;
                    }
                }
                _ if skipping > 0 => {}
                Piece::Text(text) => sql.push(text),
                Piece::Value(name) => {
                    let at = binds.values.iter().position(|(n, _)| *n == name.as_str());
                    let Some(at) = at else {
                        return Err(self.error(&format!("no value bound to :{name}")));
                    };
                    sql.append(binds.values.swap_remove(at).1);
                }
            }
        }
        Ok(sql.prepared())
    }

    fn error(&self, problem: &str) -> diesel::result::Error {
        diesel::result::Error::QueryBuilderError(format!("{}: {problem}", self.name).into())
    }
}

/// Splits a line into text and `:name` values (`::` is a cast, left as it is).
fn values_and_text(line: &str, pieces: &mut Vec<Piece>) {
    let mut text = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            (':', Some(':')) => {
                text.push_str("::");
                chars.next();
            }
            (':', Some(n)) if n.is_ascii_lowercase() => {
                let mut name = String::new();
                while let Some(n) = chars.next_if(|n| n.is_ascii_lowercase() || *n == '_') {
                    name.push(n);
                }
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(Piece::Value(name));
            }
            _ => text.push(c),
        }
    }
    pieces.push(Piece::Text(text));
}

#[cfg(test)]
mod tests {
    use diesel::{debug_query, sql_types::BigInt};

    use super::*;

    const TEXT: &str =
        "-- A statement.\nSELECT :a::bigint + :b\n-- if more\n  , :c\n-- end\nFROM t";

    fn shown(on: &[&str]) -> diesel::QueryResult<String> {
        let binds = Binds::default()
            .bind::<BigInt, _>("b", 2_i64)
            .bind::<BigInt, _>("a", 1_i64)
            .bind::<BigInt, _>("c", 3_i64);
        let sql = Statement::parse("test.sql", TEXT).fill(on, binds)?;
        Ok(debug_query::<Pg, _>(&sql).to_string())
    }

    #[test]
    fn names_become_placeholders_in_the_order_they_appear() {
        let all = shown(&["more"]).expect("filled");
        assert!(
            all.starts_with("SELECT $1::bigint + $2 , $3 FROM t"),
            "{all}"
        );
        assert!(all.contains("binds: [1, 2, 3]"), "{all}");
    }

    #[test]
    fn blocks_left_out_take_their_values_with_them() {
        let less = shown(&[]).expect("filled");
        assert!(less.starts_with("SELECT $1::bigint + $2 FROM t"), "{less}");
        assert!(less.contains("binds: [1, 2]"), "{less}");
    }

    #[test]
    fn a_name_without_a_value_is_an_error() {
        let statement = Statement::parse("test.sql", "SELECT :missing");
        let error = statement.fill(&[], Binds::default()).err();
        assert!(error.is_some_and(|e| {
            e.to_string()
                .contains("test.sql: no value bound to :missing")
        }));
    }
}
