//! Who is calling: the workspace, the actor and the scopes that authentication established. The
//! auth layer puts a [`Caller`] in every Docket request's extensions; handlers read it typed and
//! never look at credentials themselves.

use std::fmt;

use uuid::Uuid;

pub use crate::domain::vocabulary::{ActorType, Scope};

impl Scope {
    /// The scopes holding this one also grants: a resource's `write` includes its `read`.
    fn implied(self) -> &'static [Scope] {
        match self {
            Scope::TasksWrite => &[Scope::TasksRead],
            Scope::DirectoryWrite => &[Scope::DirectoryRead],
            _ => &[],
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The scopes a credential grants, including the ones they imply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScopeSet(u8);

impl ScopeSet {
    pub fn allows(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        let mut bits = 0;
        for scope in scopes {
            bits |= scope.bit();
            for implied in scope.implied() {
                bits |= implied.bit();
            }
        }
        ScopeSet(bits)
    }
}

/// Who acts, as recorded in `created_by` (`{type, id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A workspace member.
    User(Uuid),
    /// A service credential, identified by its service name (stable across token rotation).
    ApiToken(String),
    /// Docket itself.
    System,
}

impl Actor {
    /// The contract's actor type.
    pub fn kind(&self) -> ActorType {
        match self {
            Actor::User(_) => ActorType::User,
            Actor::ApiToken(_) => ActorType::ApiToken,
            Actor::System => ActorType::System,
        }
    }

    pub fn id(&self) -> String {
        match self {
            Actor::User(id) => id.to_string(),
            Actor::ApiToken(service) => service.clone(),
            Actor::System => "docket".to_owned(),
        }
    }

    /// The user this actor is, if it is one.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Actor::User(id) => Some(*id),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}

/// The authenticated caller of one RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub workspace_id: Uuid,
    pub actor: Actor,
    pub scopes: ScopeSet,
    /// The id of the call (`x-request-id`), which the changes it makes record.
    pub request_id: Option<String>,
}

impl Caller {
    pub fn is_workspace_admin(&self) -> bool {
        self.scopes.allows(Scope::WorkspaceAdmin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_implies_read_of_the_same_resource_only() {
        let set: ScopeSet = [Scope::TasksWrite].into_iter().collect();
        assert!(set.allows(Scope::TasksWrite));
        assert!(set.allows(Scope::TasksRead));
        assert!(!set.allows(Scope::DirectoryRead));
        assert!(!set.allows(Scope::WorkspaceAdmin));

        let admin: ScopeSet = [Scope::WorkspaceAdmin].into_iter().collect();
        assert!(
            !admin.allows(Scope::TasksRead),
            "admin does not imply other scopes"
        );
    }
}
