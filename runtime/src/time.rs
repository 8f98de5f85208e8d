//! Time for embedders: the evaluation clock as a type, and the parsing and
//! formatting the policies use (re-exported, so that an embedder needs no
//! other qlp crate).

use std::fmt;
use std::str::FromStr;

pub use qlp_grammar::time::{format_duration, format_time, parse_duration, parse_time, parse_time_in, Zone};

/// An instant: the clock a record is evaluated at (`now` in policies).
/// Microseconds since the Unix epoch, UTC.
///
/// ```
/// use qlp_runtime::time::Timestamp;
///
/// let now: Timestamp = "2022-06-01T20:00:00+08:00".parse()?;
/// assert_eq!(now.to_string(), "2022-06-01T12:00:00Z");
/// assert_eq!(now, Timestamp::from_micros(1_654_084_800_000_000));
/// # Ok::<(), qlp_runtime::time::TimeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z.
    pub const fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// The current time of this machine's clock.
    pub fn now() -> Timestamp {
        Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as i64),
        )
    }

    /// Reads a date or an RFC 3339 time; a date or a time without an offset
    /// is read in `zone` (a policy set's is `PolicySet::program().zone`).
    pub fn parse_in(text: &str, zone: &Zone) -> Result<Timestamp, TimeError> {
        parse_time_in(text, zone).map(Timestamp).map_err(TimeError)
    }
}

impl FromStr for Timestamp {
    type Err = TimeError;

    /// Reads a date or an RFC 3339 time; without an offset, in UTC.
    fn from_str(text: &str) -> Result<Timestamp, TimeError> {
        Timestamp::parse_in(text, &Zone::utc())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_time(self.0))
    }
}

impl From<i64> for Timestamp {
    fn from(micros: i64) -> Timestamp {
        Timestamp(micros)
    }
}

impl From<Timestamp> for i64 {
    fn from(time: Timestamp) -> i64 {
        time.0
    }
}

/// A time that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeError {}
