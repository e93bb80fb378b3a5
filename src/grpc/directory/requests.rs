//! DirectoryService requests read into checked domain values, one parser per request message.

use uuid::Uuid;

use crate::{
    domain::{
        directory::{
            ChannelName, Email, MAX_MEMBERS_PER_CALL, Members, Page, PersonNames, UserProfile,
        },
        input::{Field, Text, Violations},
    },
    grpc::{
        parse::{Parse, one_id, page, uuid},
        pb,
    },
};

pub(crate) struct UpsertUser {
    pub user_id: Uuid,
    pub profile: UserProfile,
    pub active: Option<bool>,
}

impl Parse for pb::UpsertUserRequest {
    type Checked = UpsertUser;

    fn parse(&self, v: &mut Violations) -> Option<UpsertUser> {
        let user_id = v.check("user_id", uuid(&self.user_id));
        let first = v.check("first_name", Text::parse(&self.first_name));
        let last = v.check("last_name", Text::parse(&self.last_name));
        let names = match (first, last) {
            (Some(first), Some(last)) => v.check("first_name", PersonNames::new(first, last)),
            _ => None,
        };
        let email = v.check("email", Email::parse(&self.email));
        Some(UpsertUser {
            user_id: user_id?,
            profile: UserProfile {
                names: names?,
                email: email?,
            },
            active: self.active,
        })
    }
}

one_id!(user_id: GetUserRequest, DeactivateUserRequest);
one_id!(channel_id: GetChannelRequest);

impl Parse for pb::ListUsersRequest {
    type Checked = (bool, Page);

    fn parse(&self, v: &mut Violations) -> Option<(bool, Page)> {
        Some((
            self.include_inactive,
            page(v, &self.page_cursor, self.page_limit)?,
        ))
    }
}

impl Parse for pb::UpsertChannelRequest {
    type Checked = (Uuid, Text<ChannelName>);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Text<ChannelName>)> {
        let channel_id = v.check("channel_id", uuid(&self.channel_id));
        let name = v.check("name", Text::parse(&self.name));
        Some((channel_id?, name?))
    }
}

impl Parse for pb::AddChannelMembersRequest {
    type Checked = (Uuid, Members<(Uuid, bool)>);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Members<(Uuid, bool)>)> {
        let channel_id = v.check("channel_id", uuid(&self.channel_id));
        let mut members = Vec::new();
        if v.within("members", self.members.len(), MAX_MEMBERS_PER_CALL) {
            for (index, member) in self.members.iter().enumerate() {
                let field = Field::ItemPart("members", index, "user_id");
                if let Some(user) = v.check(field, uuid(&member.user_id)) {
                    members.push((user, member.admin));
                }
            }
        }
        let complete = members.len() == self.members.len();
        let members = complete
            .then(|| Members::check("members", members, |(user, _)| *user, v))
            .flatten();
        Some((channel_id?, members?))
    }
}

impl Parse for pb::RemoveChannelMembersRequest {
    type Checked = (Uuid, Members<Uuid>);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Members<Uuid>)> {
        let channel_id = v.check("channel_id", uuid(&self.channel_id));
        let users = v.each("user_ids", &self.user_ids, MAX_MEMBERS_PER_CALL, |id| {
            uuid(id)
        });
        let complete = users.len() == self.user_ids.len();
        let users = complete
            .then(|| Members::check("user_ids", users, |user| *user, v))
            .flatten();
        Some((channel_id?, users?))
    }
}

impl Parse for pb::ListChannelMembersRequest {
    type Checked = (Uuid, Page);

    fn parse(&self, v: &mut Violations) -> Option<(Uuid, Page)> {
        let channel_id = v.check("channel_id", uuid(&self.channel_id));
        let page = page(v, &self.page_cursor, self.page_limit);
        Some((channel_id?, page?))
    }
}
