//! Time and duration literals: RFC 3339 instants and `1h30m` durations,
//! both as microseconds.

/// Microseconds in a second: times and durations are microseconds.
pub const MICROS_PER_SECOND: i64 = 1_000_000;

const UNITS: [(&str, i64); 7] = [
    ("w", 7 * 86_400 * MICROS_PER_SECOND),
    ("d", 86_400 * MICROS_PER_SECOND),
    ("h", 3_600 * MICROS_PER_SECOND),
    ("m", 60 * MICROS_PER_SECOND),
    ("s", MICROS_PER_SECOND),
    ("ms", 1_000),
    ("us", 1),
];

/// A time zone in which dates and times without an offset are read: UTC,
/// or an IANA zone such as `Asia/Shanghai`, from the time-zone database
/// bundled with qlp (a machine without `/usr/share/zoneinfo` reads times
/// the same way).
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
    /// Where its clocks stop changing, if they do (see [`Settled`]).
    settled: Option<Settled>,
}

/// A zone's last offset: from the civil time `from` (microseconds, on its
/// clocks) on, a civil time is the instant `offset` microseconds earlier
/// than the same digits in UTC. A date read in `Asia/Shanghai` (no change
/// since 1991) then needs no search of the zone's transitions: one
/// subtraction. Zones whose clocks still change (daylight saving time)
/// have none.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Settled {
    from: i64,
    offset: i64,
}

/// Civil times before this one (1000-01-01, as microseconds) or from
/// [`SETTLED_UNTIL`] on take the general path: clear of the edges of the
/// range `jiff` reads.
const SETTLED_FROM: i64 = -30_610_224_000 * MICROS_PER_SECOND;
/// 9000-01-01, as microseconds: see [`SETTLED_FROM`].
const SETTLED_UNTIL: i64 = 221_845_392_000 * MICROS_PER_SECOND;

impl Settled {
    fn of(tz: &jiff::tz::TimeZone) -> Option<Settled> {
        let until = jiff::Timestamp::from_microsecond(SETTLED_UNTIL).ok()?;
        // Rules that go on (daylight saving time) change the clocks after it.
        if tz.following(until).next().is_some() {
            return None;
        }
        // Two days after the last change, whatever the offsets around it.
        let last = tz.preceding(until).next().map(|t| t.timestamp().as_microsecond());
        let from = last.map_or(i64::MIN, |at| at.saturating_add(2 * 86_400 * MICROS_PER_SECOND));
        Some(Settled {
            from: from.max(SETTLED_FROM),
            offset: i64::from(tz.to_offset(until).seconds()) * MICROS_PER_SECOND,
        })
    }

    /// The instant of `civil`, when it is in the settled span.
    fn instant(self, civil: i64) -> Option<i64> {
        (self.from..SETTLED_UNTIL).contains(&civil).then(|| civil - self.offset)
    }
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::utc()
    }
}

impl Zone {
    /// Coordinated Universal Time: what a policy set without a `time_zone` uses.
    pub fn utc() -> Zone {
        Zone {
            name: String::from("UTC"),
            settled: Settled::of(&jiff::tz::TimeZone::UTC),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// The IANA zone `name` (`Asia/Shanghai`, `UTC`).
    pub fn named(name: &str) -> Result<Zone, String> {
        if name.eq_ignore_ascii_case("utc") {
            return Ok(Zone::utc());
        }
        jiff::tz::db()
            .get(name)
            .map(|tz| Zone {
                name: name.to_string(),
                settled: Settled::of(&tz),
                tz,
            })
            .map_err(|_| format!("`{name}` is not a time zone of the IANA database (like `Asia/Shanghai` or `UTC`)"))
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instant of a civil (wall-clock) time in this zone; a time that
    /// a clock change skips or repeats is read as before the change.
    fn instant_of(&self, civil: jiff::civil::DateTime) -> Result<i64, String> {
        self.tz
            .to_ambiguous_timestamp(civil)
            .compatible()
            .map(|timestamp| timestamp.as_microsecond())
            .map_err(|e| format!("`{civil}` is out of range in {}: {e}", self.name))
    }

    /// The wall-clock time of an instant in this zone (`None` out of range:
    /// years beyond -9999..=9999).
    pub fn civil(&self, micros: i64) -> Option<jiff::civil::DateTime> {
        let timestamp = jiff::Timestamp::from_microsecond(micros).ok()?;
        Some(self.tz.to_datetime(timestamp))
    }

    /// The hour (0 to 23) of an instant on this zone's clocks.
    pub fn hour(&self, micros: i64) -> i64 {
        self.civil(micros).map_or(0, |c| i64::from(c.hour()))
    }

    /// The day of the week of an instant in this zone, 1 (Monday) to 7 (Sunday).
    pub fn weekday(&self, micros: i64) -> i64 {
        self.civil(micros)
            .map_or(0, |c| i64::from(c.weekday().to_monday_one_offset()))
    }

    /// The start (local midnight) of the day of an instant in this zone.
    pub fn day_start(&self, micros: i64) -> i64 {
        self.civil(micros)
            .and_then(|c| {
                self.tz
                    .to_ambiguous_timestamp(c.date().to_datetime(jiff::civil::Time::midnight()))
                    .compatible()
                    .ok()
            })
            .map_or(micros, |timestamp| timestamp.as_microsecond())
    }
}

/// A time as written: an instant (it had `Z` or an offset), or a civil
/// time to be read in a zone (a date alone, or a time without an offset),
/// kept as microseconds as if that zone were UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Microseconds since the Unix epoch.
    Instant(i64),
    /// A wall-clock time, as microseconds since 1970-01-01T00:00 on that clock.
    Local(i64),
}

impl Written {
    /// The instant it means in `zone`.
    pub fn in_zone(self, zone: &Zone) -> Result<i64, String> {
        match self {
            Written::Instant(micros) => Ok(micros),
            Written::Local(civil) => {
                if let Some(instant) = zone.settled.and_then(|settled| settled.instant(civil)) {
                    return Ok(instant);
                }
                let civil = jiff::Timestamp::from_microsecond(civil)
                    .map(|t| jiff::tz::Offset::UTC.to_datetime(t))
                    .map_err(|_| String::from("the time is out of range"))?;
                zone.instant_of(civil)
            }
        }
    }
}

/// Reads `2022-03-17`, `2022-03-17T08:30:00Z`, `2022-03-17 08:30:00.5+08:00`,
/// `2022-03-17T08:30:00+0800` or `2022-03-17T08:30` (no offset: a civil
/// time), without choosing a zone for the civil forms.
pub fn parse_written(text: &str) -> Result<Written, String> {
    match plain(text.as_bytes()) {
        Some(written) => Ok(written),
        None => parse_written_in_full(text),
    }
}

/// The two forms records use most, read without a general parser:
/// `2022-03-17T08:30:00Z` and `2022-03-17`. Anything else (or anything out
/// of range) is `None`, for [`parse_written_in_full`] to read or refuse.
fn plain(text: &[u8]) -> Option<Written> {
    let digits = |at: usize, n: usize| -> Option<i64> {
        let part = text.get(at..at + n)?;
        part.iter().try_fold(0i64, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
        })
    };
    let date = |text: &[u8]| -> Option<i64> {
        let [_, _, _, _, b'-', _, _, b'-', _, _, ..] = text else {
            return None;
        };
        let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let length = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            1..=12 => 31,
            _ => return None,
        };
        // jiff's instants end in 9999 (and its civil times start at year 1).
        ((1..=9998).contains(&year) && (1..=length).contains(&day)).then(|| days_from_civil(year, month, day))
    };
    match text.len() {
        10 => Some(Written::Local(date(text)? * 86_400 * MICROS_PER_SECOND)),
        20 => {
            let [.., b'T', _, _, b':', _, _, b':', _, _, b'Z'] = text else {
                return None;
            };
            let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
            if hour > 23 || minute > 59 || second > 59 {
                return None;
            }
            let seconds = date(text)? * 86_400 + hour * 3_600 + minute * 60 + second;
            Some(Written::Instant(seconds * MICROS_PER_SECOND))
        }
        _ => None,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// [`parse_written`] by jiff, for every form.
fn parse_written_in_full(text: &str) -> Result<Written, String> {
    let bad = |detail: String| format!("`{text}` is not a date or an RFC 3339 time ({detail})");
    check_offset(text)?;
    // jiff reads the RFC 3339 / ISO 8601 forms; `+0800` is an ISO 8601 offset.
    let pieces = jiff::fmt::temporal::Pieces::parse(text).map_err(|e| bad(e.to_string()))?;
    if pieces.time_zone_annotation().is_some() {
        return Err(bad(String::from("a `[zone]` annotation is not read: give an offset")));
    }
    let time = pieces.time().unwrap_or(jiff::civil::Time::midnight());
    let civil = pieces.date().to_datetime(time);
    let as_utc = jiff::tz::TimeZone::UTC
        .to_ambiguous_zoned_datetime(civil)
        .compatible()
        .map_err(|e| bad(e.to_string()))?
        .timestamp()
        .as_microsecond();
    match pieces.offset() {
        None => Ok(Written::Local(as_utc)),
        Some(jiff::fmt::temporal::PiecesOffset::Zulu) => Ok(Written::Instant(as_utc)),
        Some(offset) => {
            let seconds = match offset {
                jiff::fmt::temporal::PiecesOffset::Numeric(numeric) => numeric.offset().seconds(),
                _ => 0,
            };
            if seconds.abs() >= 24 * 3600 {
                let (sign, minutes) = (if seconds < 0 { '-' } else { '+' }, seconds.abs() / 60);
                return Err(format!(
                    "`{text}` has the offset {sign}{:02}:{:02}: offsets run from -23:59 to +23:59",
                    minutes / 60,
                    minutes % 60
                ));
            }
            Ok(Written::Instant(as_utc - i64::from(seconds) * MICROS_PER_SECOND))
        }
    }
}

/// An offset at the end of `text` (`+08:00`, `-0530`) out of the range
/// -23:59..=+23:59, said as such (jiff's own message is about parsing).
fn check_offset(text: &str) -> Result<(), String> {
    // Only after a time of day (`2022-05-01T08:00+25:00`): a date's own `-`
    // is not an offset.
    let bytes = text.as_bytes();
    if bytes.len() < 22 {
        return Ok(());
    }
    let tail = bytes.get(bytes.len() - 6..).unwrap_or_default();
    let [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] = tail else {
        return Ok(());
    };
    if ![h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let (h, m) = (
        i64::from(h1 - b'0') * 10 + i64::from(h2 - b'0'),
        i64::from(m1 - b'0') * 10 + i64::from(m2 - b'0'),
    );
    if h > 23 || m > 59 {
        return Err(format!(
            "`{text}` has the offset {}{h:02}:{m:02}: offsets run from -23:59 to +23:59",
            char::from(*sign)
        ));
    }
    Ok(())
}

/// Parses a time as [`parse_written`] does, reading civil times in `zone`.
pub fn parse_time_in(text: &str, zone: &Zone) -> Result<i64, String> {
    parse_written(text)?.in_zone(zone)
}

/// Parses a time as [`parse_written`] does, reading civil times in UTC.
pub fn parse_time(text: &str) -> Result<i64, String> {
    parse_time_in(text, &Zone::utc())
}

/// Formats microseconds since the Unix epoch as RFC 3339 in UTC, as short as
/// is exact: `2022-03-17`, `2022-03-17T08:30:00Z`, `2022-03-17T08:30:00.25Z`.
pub fn format_time(micros: i64) -> String {
    let Some(civil) = Zone::utc().civil(micros) else {
        return format!("{micros}us since 1970-01-01T00:00:00Z");
    };
    let date = format!("{:04}-{:02}-{:02}", civil.year(), civil.month(), civil.day());
    let (h, m, s) = (civil.hour(), civil.minute(), civil.second());
    let frac = micros.rem_euclid(MICROS_PER_SECOND);
    if (h, m, s, frac) == (0, 0, 0, 0) {
        date
    } else if frac == 0 {
        format!("{date}T{h:02}:{m:02}:{s:02}Z")
    } else {
        let frac = format!("{frac:06}");
        format!("{date}T{h:02}:{m:02}:{s:02}.{}Z", frac.trim_end_matches('0'))
    }
}

/// Formats a time as a policy writes it: an instant in UTC (`...Z`), a
/// wall-clock time without an offset.
pub fn format_written(value: Written) -> String {
    match value {
        // Never a date alone: that would read as a wall-clock date.
        Written::Instant(micros) => {
            let text = format_time(micros);
            if text.len() == 10 {
                format!("{text}T00:00:00Z")
            } else {
                text
            }
        }
        Written::Local(civil) => format_local(civil),
    }
}

/// Formats a civil time (microseconds as if its zone were UTC) the way a
/// policy writes it: `2022-03-17`, `2022-03-17T22:00:00`.
pub fn format_local(civil: i64) -> String {
    let utc = format_time(civil);
    utc.strip_suffix('Z').map(str::to_string).unwrap_or(utc)
}

/// Parses `30m`, `24h`, `7d`, `1h30m`, `500ms` into microseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let overflow = || format!("duration `{text}` is too large");
    let mut total: i64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return Err(String::from("empty duration"));
    }
    while !rest.is_empty() {
        let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (digits, tail) = rest.split_at(digits_end);
        if digits.is_empty() {
            return Err(format!("`{text}` is not a duration like `30m`, `24h` or `1h30m`"));
        }
        let amount: i64 = digits.parse().map_err(|_| overflow())?;
        let (unit, scale) = UNITS
            .iter()
            .filter(|(unit, _)| tail.starts_with(unit))
            .max_by_key(|(unit, _)| unit.len())
            .ok_or_else(|| format!("`{text}` has no unit: use `us`, `ms`, `s`, `m`, `h`, `d` or `w`"))?;
        let part = amount.checked_mul(*scale).ok_or_else(overflow)?;
        total = total.checked_add(part).ok_or_else(overflow)?;
        rest = tail.get(unit.len()..).unwrap_or("");
    }
    Ok(total)
}

/// For a duration whose units are repeated or not largest first (`1m30h`),
/// the same length of time written in order (`30h1m`).
pub fn units_out_of_order(text: &str) -> Option<String> {
    let mut parts: Vec<(&str, &str, i64)> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let tail = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        let digits = rest.get(..rest.len() - tail.len())?;
        let (unit, scale) = UNITS
            .iter()
            .filter(|(unit, _)| tail.starts_with(unit))
            .max_by_key(|(unit, _)| unit.len())?;
        parts.push((digits, unit, *scale));
        rest = tail.get(unit.len()..).unwrap_or("");
    }
    if parts.windows(2).all(|w| matches!(w, [a, b] if a.2 > b.2)) {
        return None;
    }
    parts.sort_by_key(|part| std::cmp::Reverse(part.2));
    if parts.windows(2).any(|w| matches!(w, [a, b] if a.2 == b.2)) {
        // A unit repeated: the total, in order.
        return parse_duration(text).ok().map(format_duration);
    }
    Some(
        parts
            .iter()
            .map(|(digits, unit, _)| format!("{digits}{unit}"))
            .collect(),
    )
}

/// Formats microseconds as a duration literal: `1h30m`, `7d`, `0s`.
pub fn format_duration(micros: i64) -> String {
    use std::fmt::Write;
    if micros == 0 {
        return String::from("0s");
    }
    let mut out = String::new();
    if micros < 0 {
        out.push('-');
    }
    let mut rest = micros.unsigned_abs();
    // Weeks parse but print as days: `7d` stays `7d`.
    for (unit, scale) in UNITS.into_iter().skip(1) {
        let scale = scale.unsigned_abs();
        if rest >= scale {
            // Into `out` itself: no string of its own per unit.
            let _ = write!(out, "{}{unit}", rest / scale);
            rest %= scale;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_settled_zone_reads_civil_times_as_its_transitions_do() {
        let zones = [
            "UTC",
            "Asia/Shanghai",
            "Asia/Kolkata",
            "Asia/Tehran",
            "Europe/London",
            "America/New_York",
            "Australia/Lord_Howe",
            "Pacific/Apia",
            "Africa/Casablanca",
            "Asia/Pyongyang",
        ];
        let day = 86_400 * MICROS_PER_SECOND;
        let settled = zones
            .iter()
            .filter(|name| Zone::named(name).unwrap().settled.is_some())
            .count();
        // Shanghai, Kolkata, Tehran (no daylight saving time since 2022),
        // Apia, Pyongyang and UTC; London and New York still change.
        assert!(settled >= 4, "{settled} settled zones");
        for name in zones {
            let zone = Zone::named(name).unwrap();
            let general = Zone {
                settled: None,
                ..zone.clone()
            };
            // Every quarter hour around the last change of its clocks.
            let until = jiff::Timestamp::from_microsecond(SETTLED_UNTIL).unwrap();
            let last = zone
                .tz
                .preceding(until)
                .next()
                .map_or(0, |t| t.timestamp().as_microsecond());
            let around = (-3 * 96..3 * 96).map(|i| last + i * 900 * MICROS_PER_SECOND);
            // Every 5th day from 1900 to 2100 at a few hours, and the edges.
            let start = -25_567 * day;
            let times = (0..14_610)
                .flat_map(|i| [0, 1, 2, 3, 12, 23].map(move |h| start + i * 5 * day + h * 3_600 * MICROS_PER_SECOND))
                .chain([i64::MIN / 2, SETTLED_FROM - 1, SETTLED_FROM, SETTLED_UNTIL - 1])
                .chain([SETTLED_UNTIL, 253_402_300_799 * MICROS_PER_SECOND])
                .chain(around);
            for civil in times {
                assert_eq!(
                    Written::Local(civil).in_zone(&zone),
                    Written::Local(civil).in_zone(&general),
                    "{name} {civil}"
                );
            }
        }
    }

    /// Every day, valid or not, of years that test each leap-year rule, at
    /// the edges of the clock.
    #[test]
    fn plain_forms_read_every_calendar_edge_as_jiff_does() {
        for year in [
            0, 1, 4, 100, 200, 400, 1600, 1700, 1900, 1969, 1970, 2000, 2022, 2024, 2100, 2400, 9999,
        ] {
            for month in 0..=13 {
                for day in 0..=32 {
                    let date = format!("{year:04}-{month:02}-{day:02}");
                    let times = ["00:00:00", "23:59:59", "12:30:45", "24:00:00", "23:60:00", "23:59:60"];
                    let texts = std::iter::once(date.clone()).chain(times.iter().map(|t| format!("{date}T{t}Z")));
                    for text in texts {
                        let full = super::parse_written_in_full(&text);
                        match super::plain(text.as_bytes()) {
                            Some(plain) => assert_eq!(Ok(plain), full, "{text}"),
                            None => assert!(
                                full.is_err() || [0, 9999].contains(&year) || text.contains(":60"),
                                "{text}: {full:?}"
                            ),
                        }
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 20_000, ..Default::default() })]

        /// The plain forms read by hand agree with jiff on every date and
        /// time, valid or not, and refuse nothing jiff reads differently.
        #[test]
        fn plain_forms_read_as_jiff_reads_them(
            year in 0i64..10_000, month in 0i64..14, day in 0i64..33,
            hour in 0i64..26, minute in 0i64..62, second in 0i64..62, instant in proptest::bool::ANY,
        ) {
            let text = if instant {
                format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
            } else {
                format!("{year:04}-{month:02}-{day:02}")
            };
            if let Some(plain) = super::plain(text.as_bytes()) {
                proptest::prop_assert_eq!(Ok(plain), super::parse_written_in_full(&text), "{}", text);
            } else if (1..=12).contains(&month) && (1..=28).contains(&day) && (1..=9998).contains(&year) && hour < 24 && minute < 60 && second < 60 {
                proptest::prop_assert!(false, "{} should be read by hand", text);
            }
        }
    }

    use super::*;

    #[test]
    fn dates_and_times_round_trip() {
        for text in [
            "1970-01-01",
            "2022-03-17",
            "2000-02-29T23:59:59Z",
            "1969-12-31T12:00:00.5Z",
        ] {
            assert_eq!(format_time(parse_time(text).unwrap()), text);
        }
        assert_eq!(parse_time("1970-01-02").unwrap(), 86_400 * MICROS_PER_SECOND);
        assert_eq!(
            parse_time("2022-03-17T08:00:00+08:00").unwrap(),
            parse_time("2022-03-17").unwrap()
        );
    }

    #[test]
    fn bad_dates_are_rejected() {
        for text in [
            "2022-02-30",
            "2022-13-01",
            "2022-01-01T25:00:00Z",
            "2022-01-01T10:00:00+25:00",
            "2022-01-01T10:00:00+99:99",
            "2022-01-01T10:00:00+23:60",
            "2022-01-01T10:00:00-24:00",
        ] {
            assert!(parse_time(text).is_err(), "{text}");
        }
        let error = parse_time("2022-01-01T10:00:00+25:00").unwrap_err();
        assert!(error.contains("offsets run from -23:59 to +23:59"), "{error}");
        for text in [
            "2022-01-01T10:00:00+23:59",
            "2022-01-01T10:00:00-23:59",
            "2022-01-01T10:00:00+14:00",
        ] {
            assert!(parse_time(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn civil_times_are_read_in_a_zone() {
        let shanghai = Zone::named("Asia/Shanghai").unwrap();
        let utc_midnight = parse_time("2022-07-01").unwrap();
        assert_eq!(
            parse_time_in("2022-07-01", &shanghai).unwrap(),
            utc_midnight - 8 * 3600 * MICROS_PER_SECOND
        );
        assert_eq!(
            parse_time_in("2022-07-01T22:00:00", &shanghai).unwrap(),
            parse_time("2022-07-01T14:00:00Z").unwrap()
        );
        // An offset wins over the zone; `+0800` is `+08:00`; a space may separate date and time.
        for text in [
            "2022-07-01T22:00:00+08:00",
            "2022-07-01T22:00:00+0800",
            "2022-07-01 22:00:00+08:00",
        ] {
            assert_eq!(
                parse_time_in(text, &Zone::utc()).unwrap(),
                parse_time("2022-07-01T14:00:00Z").unwrap(),
                "{text}"
            );
        }
        let night = parse_time("2022-07-01T15:30:00Z").unwrap();
        assert_eq!(shanghai.hour(night), 23);
        assert_eq!(Zone::utc().hour(night), 15);
        assert_eq!(shanghai.weekday(night), 5, "a Friday");
        assert_eq!(
            shanghai.day_start(night),
            parse_time_in("2022-07-01", &shanghai).unwrap()
        );
        let after_midnight = parse_time("2022-07-01T16:30:00Z").unwrap();
        assert_eq!(shanghai.hour(after_midnight), 0);
        assert_eq!(shanghai.weekday(after_midnight), 6);
        assert!(Zone::named("Mars/Olympus").unwrap_err().contains("IANA"));
        assert_eq!(
            format_local(parse_time("2022-07-01T22:00:00Z").unwrap()),
            "2022-07-01T22:00:00"
        );
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("1h30m").unwrap(), 90 * 60 * MICROS_PER_SECOND);
        assert_eq!(parse_duration("500ms").unwrap(), 500_000);
        assert_eq!(format_duration(parse_duration("1d2h").unwrap()), "1d2h");
        assert_eq!(format_duration(parse_duration("2w").unwrap()), "14d");
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("9999999999999d").is_err());
    }
}
