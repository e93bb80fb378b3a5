//! Who is calling: the workspace, the actor and the scopes that authentication established. The
//! auth layer puts a [`Caller`] in every Docket request's extensions; handlers read it typed and
//! never look at credentials themselves.

use std::fmt;

use uuid::Uuid;

/// A permission a credential carries. The wire form (`tasks:read`, ...) is what JWT `scope` claims
/// and the CLI use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    TasksRead,
    TasksWrite,
    DirectoryRead,
    DirectoryWrite,
    WorkspaceAdmin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::TasksRead,
        Scope::TasksWrite,
        Scope::DirectoryRead,
        Scope::DirectoryWrite,
        Scope::WorkspaceAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TasksRead => "tasks:read",
            Scope::TasksWrite => "tasks:write",
            Scope::DirectoryRead => "directory:read",
            Scope::DirectoryWrite => "directory:write",
            Scope::WorkspaceAdmin => "workspace:admin",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

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

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    /// The contract's actor type name.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "USER",
            Actor::ApiToken(_) => "API_TOKEN",
            Actor::System => "SYSTEM",
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
    fn scopes_round_trip_their_wire_form() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("tasks:admin"), None);
    }

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
