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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let slice = self.bytes.get(self.pos..self.pos + n)?;
        if !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(slice.iter().fold(0, |acc, b| acc * 10 + i64::from(b - b'0')))
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.bytes.get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
}

/// Parses `2022-03-17`, `2022-03-17T08:30:00Z`, `2022-03-17T08:30:00.5+08:00`
/// (a date alone is midnight UTC) into microseconds since the Unix epoch.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let mut c = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let bad = || format!("`{text}` is not a date or an RFC 3339 time");
    let year = c.digits(4).ok_or_else(bad)?;
    if !c.eat(b'-') {
        return Err(bad());
    }
    let month = c.digits(2).ok_or_else(bad)?;
    if !c.eat(b'-') {
        return Err(bad());
    }
    let day = c.digits(2).ok_or_else(bad)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(format!("`{text}` is not a valid calendar date"));
    }
    let mut micros = days_from_civil(year, month, day) * 86_400 * MICROS_PER_SECOND;
    if c.peek().is_none() {
        return Ok(micros);
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return Err(bad());
    }
    let hour = c.digits(2).ok_or_else(bad)?;
    if !c.eat(b':') {
        return Err(bad());
    }
    let minute = c.digits(2).ok_or_else(bad)?;
    let second = if c.eat(b':') { c.digits(2).ok_or_else(bad)? } else { 0 };
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!("`{text}` has an hour, minute or second out of range"));
    }
    micros += (hour * 3600 + minute * 60 + second) * MICROS_PER_SECOND;
    if c.eat(b'.') {
        let mut scale = 100_000;
        let mut any = false;
        while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
            micros += i64::from(d - b'0') * scale;
            scale /= 10;
            c.pos += 1;
            any = true;
        }
        if !any {
            return Err(bad());
        }
    }
    let offset = match c.peek() {
        Some(b'Z' | b'z') => {
            c.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let h = c.digits(2).ok_or_else(bad)?;
            if !c.eat(b':') {
                return Err(bad());
            }
            let m = c.digits(2).ok_or_else(bad)?;
            if h > 23 || m > 59 {
                return Err(format!(
                    "`{text}` has the offset {}{h:02}:{m:02}: offsets run from -23:59 to +23:59",
                    char::from(sign)
                ));
            }
            let minutes = h * 60 + m;
            if sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return Err(format!("`{text}` needs a time zone: `Z` or an offset like `+08:00`")),
    };
    if c.pos != text.len() {
        return Err(bad());
    }
    Ok(micros - offset * 60 * MICROS_PER_SECOND)
}

/// Formats microseconds since the Unix epoch as RFC 3339 in UTC, as short as
/// is exact: `2022-03-17`, `2022-03-17T08:30:00Z`, `2022-03-17T08:30:00.25Z`.
pub fn format_time(micros: i64) -> String {
    let days = micros.div_euclid(86_400 * MICROS_PER_SECOND);
    let in_day = micros.rem_euclid(86_400 * MICROS_PER_SECOND);
    let (year, month, day) = civil_from_days(days);
    let date = format!("{year:04}-{month:02}-{day:02}");
    if in_day == 0 {
        return date;
    }
    let secs = in_day / MICROS_PER_SECOND;
    let frac = in_day % MICROS_PER_SECOND;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        format!("{date}T{h:02}:{m:02}:{s:02}Z")
    } else {
        let frac = format!("{frac:06}");
        format!("{date}T{h:02}:{m:02}:{s:02}.{}Z", frac.trim_end_matches('0'))
    }
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

/// Formats microseconds as a duration literal: `1h30m`, `7d`, `0s`.
pub fn format_duration(micros: i64) -> String {
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
            out.push_str(&format!("{}{unit}", rest / scale));
            rest %= scale;
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
            "2022-01-01T10:00:00",
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
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("1h30m").unwrap(), 90 * 60 * MICROS_PER_SECOND);
        assert_eq!(parse_duration("500ms").unwrap(), 500_000);
        assert_eq!(format_duration(parse_duration("1d2h").unwrap()), "1d2h");
        assert_eq!(format_duration(parse_duration("2w").unwrap()), "14d");
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("9999999999999d").is_err());
    }
}
