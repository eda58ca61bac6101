//! When to read, list again or pause while following a change feed, with no IO: the policy of
//! the widget's loop over the agent's feed (`feed.rs`) and of the wallboard's over its team's
//! (`wallboard.rs`). The loops send, wait and draw; what they do next is decided here from what
//! the last step found, so the policy is tested natively, without a browser.

/// The pause after a read that found nothing new (a server that does not wait answers at
/// once; after a read that waited, a change during the pause is answered by the next read).
pub const QUIET_PAUSE_MILLIS: f64 = 1_000.0;
/// The longest pause after failed reads (it doubles from one second).
pub const MAX_BACKOFF_MILLIS: f64 = 16_000.0;

/// The pause after `failures` failed reads in a row: 1 s, 2 s, 4 s, … up to 16 s.
pub fn backoff(failures: u32) -> f64 {
    (1_000.0 * 2f64.powi(failures.saturating_sub(1).min(10) as i32)).min(MAX_BACKOFF_MILLIS)
}

/// What a step of the widget's loop found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Found {
    /// There is no cursor yet (no list was read, or the service was unreachable).
    NoList,
    /// A feed read answered 200 with `events` events, all of them the agent's availability
    /// when `availability_only`.
    Page {
        events: usize,
        availability_only: bool,
    },
    /// The feed no longer keeps the cursor (410).
    Gone,
    /// The read failed: no answer (network down, laptop asleep) or another status.
    Failed,
}

/// What the widget's loop does next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Read the list (it gives the cursor), then pause this long.
    ListThenPause(f64),
    /// Show the availability the events tell and read on from the page's cursor at once (no
    /// list read: only the availability changed).
    ShowAvailability,
    /// Read the list again (tasks changed, or a cursor the feed no longer keeps), then read on.
    Relist,
    /// Go on from the page's cursor after this pause.
    AdvanceAndPause(f64),
    /// Pause this long, then read from the same cursor again.
    Pause(f64),
}

/// The widget's follow policy: counts failures in a row for the backoff.
#[derive(Clone, Debug, Default)]
pub struct Follower {
    failures: u32,
}

impl Follower {
    pub fn step(&mut self, found: Found) -> Step {
        match found {
            Found::NoList => {
                self.failures += 1;
                Step::ListThenPause(backoff(self.failures))
            }
            Found::Page {
                events,
                availability_only,
            } => {
                self.failures = 0;
                if availability_only {
                    Step::ShowAvailability
                } else if events > 0 {
                    Step::Relist
                } else {
                    Step::AdvanceAndPause(QUIET_PAUSE_MILLIS)
                }
            }
            Found::Gone => {
                self.failures = 0;
                Step::Relist
            }
            Found::Failed => {
                self.failures += 1;
                Step::Pause(backoff(self.failures))
            }
        }
    }
}

/// The read the wallboard's loop sends next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoardRead {
    /// The feed without a cursor: answers at once with the cursor to follow from.
    Listing,
    /// A waiting read from this cursor.
    WaitFrom(String),
}

/// What a wallboard read found.
#[derive(Clone, Debug, PartialEq)]
pub enum BoardFound {
    /// 200: the page's cursor and whether it had events.
    Page {
        cursor: Option<String>,
        changed: bool,
    },
    /// 410: the feed no longer keeps the cursor.
    Gone,
    /// No answer, or another status.
    Failed,
}

/// What the wallboard's loop does next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BoardStep {
    /// The first page: read the team's name and the figures, then read on at once.
    NameAndFigures,
    /// Events came: read the figures again, then read on at once.
    Figures,
    /// Read on at once (from the start after a 410).
    ReadOn,
    /// Read the figures (they show the failure) and pause this long.
    FiguresThenPause(f64),
    /// Pause this long, then read on.
    Pause(f64),
}

/// The wallboard's follow policy: its cursor (none before the first page and after a 410) and
/// the failures in a row.
#[derive(Clone, Debug, Default)]
pub struct BoardFollower {
    cursor: Option<String>,
    failures: u32,
}

impl BoardFollower {
    pub fn read(&self) -> BoardRead {
        match &self.cursor {
            None => BoardRead::Listing,
            Some(cursor) => BoardRead::WaitFrom(cursor.clone()),
        }
    }

    pub fn step(&mut self, found: BoardFound) -> BoardStep {
        match found {
            BoardFound::Page { cursor, changed } => {
                self.failures = 0;
                let first = self.cursor.is_none();
                self.cursor = cursor;
                if first {
                    BoardStep::NameAndFigures
                } else if changed {
                    BoardStep::Figures
                } else {
                    BoardStep::Pause(QUIET_PAUSE_MILLIS)
                }
            }
            BoardFound::Gone => {
                self.cursor = None;
                BoardStep::ReadOn
            }
            BoardFound::Failed => {
                self.failures += 1;
                let pause = backoff(self.failures);
                if self.cursor.is_none() {
                    BoardStep::FiguresThenPause(pause)
                } else {
                    BoardStep::Pause(pause)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTHING: Found = Found::Page {
        events: 0,
        availability_only: false,
    };
    const TASKS_CHANGED: Found = Found::Page {
        events: 2,
        availability_only: false,
    };
    const AVAILABILITY: Found = Found::Page {
        events: 1,
        availability_only: true,
    };

    #[test]
    fn the_widget_relists_on_changes_and_410_and_backs_off_on_failures() {
        // A run of the loop: found → step, as feed.rs documents it.
        let run = [
            (Found::NoList, Step::ListThenPause(1_000.0)),
            (NOTHING, Step::AdvanceAndPause(1_000.0)),
            (TASKS_CHANGED, Step::Relist),
            (AVAILABILITY, Step::ShowAvailability),
            (Found::Failed, Step::Pause(1_000.0)),
            (Found::Failed, Step::Pause(2_000.0)),
            (Found::Failed, Step::Pause(4_000.0)),
            (Found::Failed, Step::Pause(8_000.0)),
            (Found::Failed, Step::Pause(16_000.0)),
            (Found::Failed, Step::Pause(16_000.0)),
            (NOTHING, Step::AdvanceAndPause(1_000.0)),
            (Found::Failed, Step::Pause(1_000.0)),
            (Found::Gone, Step::Relist),
            (Found::Failed, Step::Pause(1_000.0)),
            (Found::NoList, Step::ListThenPause(2_000.0)),
            (Found::NoList, Step::ListThenPause(4_000.0)),
            (TASKS_CHANGED, Step::Relist),
            (Found::NoList, Step::ListThenPause(1_000.0)),
        ];
        let mut follower = Follower::default();
        for (n, (found, expected)) in run.into_iter().enumerate() {
            assert_eq!(follower.step(found), expected, "step {n}: {found:?}");
        }
    }

    #[test]
    fn the_backoff_doubles_from_one_second_to_sixteen() {
        let pauses: Vec<f64> = (1..=7).map(backoff).collect();
        assert_eq!(
            pauses,
            [1_000.0, 2_000.0, 4_000.0, 8_000.0, 16_000.0, 16_000.0, 16_000.0]
        );
        assert_eq!(backoff(u32::MAX), 16_000.0);
    }

    #[test]
    fn the_wallboard_starts_from_a_listing_and_starts_over_after_410() {
        let page = |cursor: &str, changed: bool| BoardFound::Page {
            cursor: Some(cursor.to_string()),
            changed,
        };
        let wait = |cursor: &str| BoardRead::WaitFrom(cursor.to_string());
        // (read sent, found) → step, as wallboard.rs documents it.
        let run = [
            (
                BoardRead::Listing,
                BoardFound::Failed,
                BoardStep::FiguresThenPause(1_000.0),
            ),
            (
                BoardRead::Listing,
                BoardFound::Failed,
                BoardStep::FiguresThenPause(2_000.0),
            ),
            (
                BoardRead::Listing,
                page("10", false),
                BoardStep::NameAndFigures,
            ),
            (wait("10"), page("10", false), BoardStep::Pause(1_000.0)),
            (wait("10"), page("12", true), BoardStep::Figures),
            (wait("12"), BoardFound::Failed, BoardStep::Pause(1_000.0)),
            (wait("12"), BoardFound::Failed, BoardStep::Pause(2_000.0)),
            (wait("12"), BoardFound::Gone, BoardStep::ReadOn),
            (
                BoardRead::Listing,
                page("40", true),
                BoardStep::NameAndFigures,
            ),
            (wait("40"), page("41", true), BoardStep::Figures),
        ];
        let mut board = BoardFollower::default();
        for (n, (read, found, expected)) in run.into_iter().enumerate() {
            assert_eq!(board.read(), read, "step {n}");
            assert_eq!(board.step(found.clone()), expected, "step {n}: {found:?}");
        }
    }
}
