//! The vocabularies (`domain::vocabulary`) as the text columns that store them: each is written as
//! its name and read back through its parser, so a stored value Docket does not know is a read
//! error, never a silent default. Diesel's derives would put diesel into the domain's types; these
//! few impls, through each word's `&'static str` name, keep it here.

use diesel::{
    backend::Backend,
    deserialize::{self, FromSql, Queryable},
    expression::AsExpression,
    pg::{Pg, PgValue},
    serialize::{self, Output, ToSql},
    sql_types::{Nullable, SingleValue, Text},
};

use crate::domain::vocabulary::{
    ActorType, BodyFormat, CatchUp, CompletionPolicy, DeliveryPurpose, Disposition, EventKind,
    Priority, ProgressStatus, RecurrenceMode, ScheduleState, Scope, Status, TimerAction,
    TimerState, WebhookState,
};

/// Stores a vocabulary in a text column.
macro_rules! text_column {
    ($($name:ident),+ $(,)?) => {$(
        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), &mut out.reborrow())
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                Ok(text.parse()?)
            }
        }

        impl<DB: Backend, ST: SingleValue> Queryable<ST, DB> for $name
        where
            Self: FromSql<ST, DB>,
        {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        text_column!(@bind $name, Text);
        text_column!(@bind $name, Nullable<Text>);
    )+};
    (@bind $name:ident, $sql:ty) => {
        impl AsExpression<$sql> for $name {
            type Expression = <&'static str as AsExpression<$sql>>::Expression;

            fn as_expression(self) -> Self::Expression {
                AsExpression::<$sql>::as_expression(self.as_str())
            }
        }

        impl AsExpression<$sql> for &$name {
            type Expression = <&'static str as AsExpression<$sql>>::Expression;

            fn as_expression(self) -> Self::Expression {
                AsExpression::<$sql>::as_expression(self.as_str())
            }
        }
    };
}

text_column!(
    Status,
    Priority,
    CompletionPolicy,
    Disposition,
    ProgressStatus,
    ActorType,
    EventKind,
    BodyFormat,
    Scope,
    TimerAction,
    TimerState,
    RecurrenceMode,
    CatchUp,
    ScheduleState,
    WebhookState,
    DeliveryPurpose,
);
