//! A task's reminders (CreateTaskRequest and TaskPatch `reminders`) read into the domain's.

use std::time::Duration;

use crate::{
    domain::{
        input::{Field, Text, Violations},
        tasks::reminders::{MAX_BEFORE_DUE, MAX_REMINDERS, Reminder, ReminderTime},
        timers::action::Reminded,
    },
    grpc::{
        parse::{duration, instant, uuid},
        pb,
    },
};

/// A task's reminders, at most MAX_REMINDERS; `has_due` says whether one before the due can
/// count from one (a create knows; an update leaves it to the domain).
pub(super) fn read(
    v: &mut Violations,
    reminders: &[pb::Reminder],
    has_due: bool,
) -> Option<Vec<Reminder>> {
    if !v.within("reminders", reminders.len(), MAX_REMINDERS) {
        return None;
    }
    let mut read = Vec::with_capacity(reminders.len());
    for (index, reminder) in reminders.iter().enumerate() {
        let field = |part| Field::ItemPart("reminders", index, part);
        let when = match &reminder.when {
            Some(pb::reminder::When::At(at)) => {
                v.check(field("at"), instant(at)).map(ReminderTime::At)
            }
            Some(pb::reminder::When::BeforeDue(_)) if !has_due => {
                v.add(field("before_due"), "the task has no due to count from");
                None
            }
            Some(pb::reminder::When::BeforeDue(before)) => v
                .check(
                    field("before_due"),
                    duration(before, Duration::ZERO..=MAX_BEFORE_DUE),
                )
                .map(ReminderTime::BeforeDue),
            None => {
                v.add(field("when"), "give at or before_due");
                None
            }
        };
        let users_field = format!("reminders[{index}].user_ids");
        let user_ids = v.each(&users_field, &reminder.user_ids, 100, |id| uuid(id));
        let note = v.check(field("note"), Text::optional(&reminder.note));
        let nobody = !reminder.assignees && !reminder.author && reminder.user_ids.is_empty();
        if let (Some(when), Some(note)) = (when, note) {
            read.push(Reminder {
                when,
                reminded: Reminded {
                    assignees: reminder.assignees || nobody,
                    author: reminder.author,
                    user_ids,
                    note,
                    of_task: true,
                    before_due: None,
                },
            });
        }
    }
    Some(read)
}
