//! The directory.

use super::{encode, keys, Repo, TeamIndex, UserIndex};
use crate::error::ApiError;
use crate::model::Directory;

impl Repo<'_> {
    // ---- directory ------------------------------------------------------------------

    /// The directory; empty before an operator stores one.
    pub fn directory(&self) -> Result<Directory, ApiError> {
        Ok(self
            .read(keys::DIRECTORY)?
            .map(|v| v.value)
            .unwrap_or_default())
    }

    /// Replaces the directory (a blind write: PUT semantics) after creating the indexes of
    /// its teams and users, so that no task request ever sees a team without an index.
    pub fn replace_directory(&self, directory: &Directory) -> Result<(), ApiError> {
        let empty_team = encode(&TeamIndex::default())?;
        let empty_user = encode(&UserIndex::default())?;
        for team in &directory.teams {
            self.ensure_exists(&keys::team_index(team.id), &empty_team, true)?;
        }
        for user in &directory.users {
            self.ensure_exists(&keys::user_index(user.id), &empty_user, true)?;
        }
        Ok(self.store.set(keys::DIRECTORY, &encode(directory)?)?)
    }

    /// Changes the stored directory through compare-and-swap (e.g. blocking a user).
    pub fn update_directory<F>(&self, change: F) -> Result<Option<Directory>, ApiError>
    where
        F: FnMut(&mut Directory) -> Result<bool, ApiError>,
    {
        self.update(keys::DIRECTORY, change)
    }
}
